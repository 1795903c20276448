"""Event intake: one report in, one complete case out, in one transaction.

The core writes reports in order on a connection's transaction and never commits::

    write_reports(conn, lookup, reports, settings=None, now=None, personal=None)
        -> [Intake | GisError]
    create_event(session, lookup, *, category_code, lon=None, lat=None, x=None, y=None,
                 crs="EPSG:4326", building_code=None, address=None, description=None,
                 channel="app", reporter=None, photos=(), idempotency_key=None,
                 actor=None, settings=None, now=None, personal=None) -> Event

- ``write_reports`` takes :class:`Report` items and gives one outcome per report:
  an :class:`Intake` (event id, the 201 body as JSON text, ``replayed``) or the
  4xx error that refused it (nothing of that report is stored). The server's
  group commit (``api.events.writer``) writes concurrent reports with it
  in one transaction; ``create_event`` is the one-report form on a session
  (Open311, scripts) and returns the ``Event``, persistent in the session;
- ``lookup``: the app's ``GridLookup`` (``api.deps.GridLookupDep``);
- the location is, in this order of precedence, ``building_code`` (the
  building's point on surface), ``lon``/``lat`` in EPSG:4326, ``x``/``y`` in
  ``crs`` (a CRS ``gis_core.crs.parse_crs`` accepts, ``"GCJ02"``/``"BD09"``
  included), or ``address`` (normalised exact match on ``buildings.address``:
  NFKC, lower case, no spaces or punctuation; at most :data:`MAX_ADDRESS`
  characters). An address given with coordinates is stored as given but does
  not locate the report;
- ``reporter``: ``{"name", "phone", "email"}`` (personal data: stored encrypted by
  ``personal``, the app's ``PersonalCipher``, with lookup hashes; never shown
  publicly; see ``api.personal``); ``photos``: ``PhotoRef`` items (URL or stored file);
- ``idempotency_key``: a key seen before gives the event it created and the 201
  body stored with the key, and nothing new is written (a concurrent retry waits
  for the first one's commit);
- ``settings``: ``EventSettings`` (duplicate radius and window), defaults when None.

Every new event writes an ``event.create`` audit row (one statement per batch) in
the same transaction.

What it does: the event gets its grid in every layer (outside every grid of the
exclusive basic layer -> ``OutsideJurisdiction``, nothing stored), the building
whose footprint covers the point, its community and street, the department by
the routing rules (``api.events.routing``), the due time (report time + the
category's time limit) and its first history rows: ``register``, then an
automatic ``dispatch`` by ``system`` when a department is found (the event is
``dispatched``; without a department it stays ``registered`` for a dispatcher).
A report of the same category within ``duplicate_radius_m`` metres (geodesic)
and ``duplicate_window_hours`` of an open event becomes status ``duplicate``
with ``attributes.duplicate_of`` = the open event's id and is not dispatched.
The notifications of a batch's new dispatched and duplicate events are queued
in the same pipeline (``api.notify.outbox.NOTIFY_CREATED_PG``).

Errors (all 422 unless said): ``unknown_category`` (field ``category``),
``invalid_coordinates``/``unknown_crs`` (field ``location``),
``building_not_found`` (``building_code``), ``address_not_found`` (``address``,
with ``suggestions``), ``idempotency_key_reused`` (the key came with another
body), ``location_required``, ``outside_jurisdiction``,
``invalid_channel``; 401/403 for a staff channel without the right token.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
from geoalchemy2 import WKTElement
from psycopg.rows import dict_row
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from api.auth.policy import check_channel, role_for_token
from api.db.models import NORMALISED_ADDRESS, OPEN_EVENTS_SQL, Building, Event
from api.events.models import EventPhoto
from api.events.routing import (
    BASIC_LAYERS_SQL,
    COMMUNITY_SQL,
    INSIDE_SQL,
    MATCHING_RULE_SQL,
    STREET_SQL,
    grid_codes,
)
from api.grids.lookup import GridLookup
from api.media.images import is_photo_url
from api.notify.outbox import NOTIFY_CREATED_PG, created_params
from api.personal.cipher import PersonalCipher
from api.personal.service import seal
from api.settings import EventSettings
from gis_core.crs import to_wgs84
from gis_core.errors import GisError, InvalidCoordinates, InvalidInput, OutsideJurisdiction
from layers.vocabulary import CHANNELS

#: the longest address matched against the buildings (characters)
MAX_ADDRESS = 200


@dataclass(frozen=True)
class PhotoRef:
    """A photo of a report: a URL, or a file stored under the photo directory."""

    url: str | None = None
    path: str | None = None
    content_type: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Place:
    """Where a report is: EPSG:4326 point and, when known, the building."""

    lon: float
    lat: float
    building_id: int | None = None


def _fail(message: str, code: str, **details: Any) -> InvalidInput:
    return InvalidInput(message, code=code, **details)


def _check_lonlat(lon: float, lat: float) -> Place:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidCoordinates("field 'location': coordinates must be finite numbers",
                                 field="location")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidCoordinates("field 'location': lon must be in [-180, 180] and lat in "
                                 "[-90, 90] (give 'crs' for projected coordinates)",
                                 field="location")
    return Place(float(lon), float(lat))


def resolve_building(session: Session | Connection, code: str) -> Place:
    """The point of the building with ``code`` (a point on its footprint)."""
    row = session.execute(
        select(Building.id, Building.geom.ST_PointOnSurface().ST_X(),
               Building.geom.ST_PointOnSurface().ST_Y()).where(Building.code == code)
    ).one_or_none()
    if row is None:
        raise _fail(f"field 'building_code': no building with code {code!r}",
                    "building_not_found", field="building_code")
    return Place(float(row[1]), float(row[2]), int(row[0]))


def resolve_address(session: Session | Connection, address: str, limit: int = 5) -> Place:
    """The building whose address equals ``address`` once both are normalised.

    Unresolved: 422 ``address_not_found`` with up to ``limit`` close addresses
    (pg_trgm similarity above its threshold, nearest first, from the trigram
    index) in ``details.suggestions``. Longer than :data:`MAX_ADDRESS`: 422.
    """
    if len(address) > MAX_ADDRESS:
        raise _fail(f"field 'address': at most {MAX_ADDRESS} characters", "address_too_long",
                    field="address")
    norm = NORMALISED_ADDRESS.format(col="b.address")
    given = NORMALISED_ADDRESS.format(col="CAST(:a AS text)")
    row = session.execute(text(
        f"SELECT b.id, ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom)) "  # noqa: S608 - SQL from trusted parts; values bound
        f"FROM buildings b WHERE {norm} = {given} ORDER BY b.id LIMIT 1"), {"a": address}
    ).one_or_none()
    if row is not None:
        return Place(float(row[1]), float(row[2]), int(row[0]))
    suggestions = session.execute(text(
        "SELECT address FROM buildings WHERE address % CAST(:a AS text) "
        "ORDER BY address <-> CAST(:a AS text), address LIMIT :n"),
        {"a": address, "n": limit}).scalars().all()
    raise _fail(f"field 'address': no building has the address {address!r}",
                "address_not_found", field="address", suggestions=list(suggestions))


def resolve_place(session: Session | Connection, *, lon: float | None, lat: float | None,
                  x: float | None, y: float | None, crs: str,
                  building_code: str | None, address: str | None) -> Place:
    """Turn one of the accepted location forms into an EPSG:4326 point."""
    if building_code:
        return resolve_building(session, building_code)
    if lon is not None and lat is not None:
        return _check_lonlat(lon, lat)
    if x is not None and y is not None:
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidCoordinates("field 'location': x and y must be finite numbers",
                                     field="location")
        try:
            lons, lats = to_wgs84(np.array([x], float), np.array([y], float), crs)
        except InvalidInput as exc:
            raise type(exc)(f"field 'location': {exc.message}", field="location") from None
        return _check_lonlat(float(lons[0]), float(lats[0]))
    if address and address.strip():
        return resolve_address(session, address.strip())
    raise _fail("a location is required: 'location' {x, y, crs}, 'building_code' or "
                "'address'", "location_required", field="location")


def _grid_dicts(frame: Any) -> list[dict[str, Any]]:
    """Rows of ``GridLookup.assign`` as ``{layer: code or sorted codes}`` (no empty layers)."""
    out = []
    for row in frame.itertuples(index=False, name=None):
        out.append({str(k): (sorted(map(str, v)) if isinstance(v, list | tuple | np.ndarray)
                             else str(v))
                    for k, v in zip(frame.columns, row, strict=True) if v is not None})
    return out


# One statement does the whole intake after the grid lookup: check the category and the
# jurisdiction, find building, community, street, department (routing rules) and an open
# duplicate, insert the event (its deadline: api.calendar.deadlines), its history rows,
# photos and idempotency key.
_INTAKE = f"""
WITH input AS (
    SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom, CAST(:grids AS jsonb) AS grids,
           CAST(:now AS timestamptz) AS now
), cat AS (
    SELECT id, code, major_code, department_id, time_limit_hours, ec AS limits
    FROM event_categories ec WHERE code = :category
), basic AS ({BASIC_LAYERS_SQL}), inside AS (
    SELECT {INSIDE_SQL.format(names="b.names", grids="i.grids")} AS ok FROM basic b, input i
), place AS MATERIALIZED (
    SELECT coalesce(CAST(:building_id AS int),
                    (SELECT b.id FROM buildings b, input i WHERE ST_Covers(b.geom, i.geom)
                     ORDER BY b.id LIMIT 1)) AS building_id,
           {COMMUNITY_SQL.format(names="bs.names", grids="i.grids")} AS community_code
    FROM basic bs, input i
), area AS MATERIALIZED (
    SELECT p.building_id, p.community_code,
           {STREET_SQL.format(community="p.community_code")} AS street_code
    FROM place p
), dept AS MATERIALIZED (
    SELECT coalesce((SELECT m.department_id FROM cat c, area a, LATERAL ({MATCHING_RULE_SQL}) m),
                    (SELECT department_id FROM cat)) AS department_id
), dup AS MATERIALIZED (
    SELECT (SELECT e.id FROM events e, cat c, input i
            WHERE :dedupe AND e.category_id = c.id AND e.{OPEN_EVENTS_SQL}
              AND e.reported_at >= i.now - make_interval(secs => :window)
              AND e.reported_at <= i.now
              AND ST_DWithin(e.geom, i.geom, :deg)
              AND ST_DWithin(e.geom::geography, i.geom::geography, :radius)
            ORDER BY e.reported_at, e.id LIMIT 1) AS id
), seen AS (
    SELECT k.event_id, CAST(k.response AS text) AS body, k.request_hash
    FROM (SELECT 1) AS one LEFT JOIN idempotency_keys k ON k.key = :key
), ins AS (
    INSERT INTO events (public_token, category_id, description, status, channel, geom, address,
                        building_id, grids, community_code, street_code, department_id,
                        reported_at, registered_at, dispatched_at, due_at, reporter_name,
                        reporter_phone, reporter_email, reporter_phone_hash,
                        reporter_email_hash, attributes)
    SELECT :token, c.id, :description,
           CASE WHEN du.id IS NOT NULL THEN 'duplicate'
                WHEN d.department_id IS NOT NULL THEN 'dispatched' ELSE 'registered' END,
           :channel, i.geom, :address, a.building_id, i.grids, a.community_code, a.street_code,
           d.department_id, i.now, i.now,
           CASE WHEN du.id IS NULL AND d.department_id IS NOT NULL THEN i.now END,
           gridgov_event_due(c.limits, NULL, CASE WHEN du.id IS NULL AND d.department_id IS NOT NULL
                                              THEN 'dispatched' ELSE 'registered' END,
                             i.now, coalesce(a.street_code, a.community_code), NULL),
           :reporter_name, :reporter_phone, :reporter_email,
           :reporter_phone_hash, :reporter_email_hash,
           CASE WHEN du.id IS NOT NULL THEN jsonb_build_object('duplicate_of', du.id)
                ELSE '{{}}'::jsonb END
    FROM cat c, input i, area a, dept d, dup du, inside ok, seen s
    WHERE ok.ok AND s.event_id IS NULL
    RETURNING id, status, building_id, community_code, street_code, department_id,
              dispatched_at, due_at, attributes
), hist AS (
    INSERT INTO event_history (event_id, action, from_status, to_status, actor, note, at)
    SELECT id, 'register', NULL, 'registered', :actor, NULL, CAST(:now AS timestamptz)
    FROM ins
    UNION ALL
    SELECT id, 'mark_duplicate', 'registered', 'duplicate', 'system',
           'duplicate of event ' || (attributes ->> 'duplicate_of'), CAST(:now AS timestamptz)
    FROM ins WHERE status = 'duplicate'
    UNION ALL
    SELECT id, 'dispatch', 'registered', 'dispatched', 'system',
           'automatic dispatch by routing', CAST(:now AS timestamptz)
    FROM ins WHERE status = 'dispatched'
), photo AS (
    INSERT INTO event_photos (event_id, url, path, content_type, size)
    SELECT ins.id, p.url, p.path, p.content_type, p.size
    FROM ins, jsonb_to_recordset(CAST(:photos AS jsonb))
         AS p(url text, path text, content_type text, size int)
), body AS (
    SELECT ins.id, jsonb_build_object(
        'id', ins.id, 'public_token', CAST(:token AS text), 'status', ins.status,
        'category', CAST(:category AS text),
        'location', jsonb_build_object('lon', CAST(:lon AS float8), 'lat', CAST(:lat AS float8)),
        'grids', CAST(:grids AS jsonb), 'community_code', ins.community_code,
        'street_code', ins.street_code, 'building_code', b.code,
        'department', CASE WHEN dep.id IS NOT NULL
                           THEN jsonb_build_object('code', dep.code, 'name', dep.name) END,
        'reported_at', CAST(:now AS timestamptz), 'due_at', ins.due_at,
        'duplicate', ins.attributes ? 'duplicate_of',
        'duplicate_of', ins.attributes -> 'duplicate_of') AS body
    FROM ins
    LEFT JOIN departments dep ON dep.id = ins.department_id
    LEFT JOIN buildings b ON b.id = ins.building_id
), k AS (
    INSERT INTO idempotency_keys (key, event_id, response, request_hash)
    SELECT :key, id, body, :request_hash FROM body WHERE CAST(:key AS text) IS NOT NULL
    ON CONFLICT DO NOTHING RETURNING key
)
SELECT (SELECT id FROM cat) AS category_id, (SELECT ok FROM inside) AS inside,
       (SELECT event_id FROM seen) AS seen_event, (SELECT body FROM seen) AS seen_body,
       (SELECT request_hash FROM seen) AS seen_hash,
       (SELECT count(*) FROM k) AS key_claimed, (SELECT names FROM basic) AS basic_layers,
       ins.*, CAST(body.body AS text) AS body
FROM (SELECT 1) AS one
LEFT JOIN ins ON TRUE
LEFT JOIN body ON body.id = ins.id
"""  # noqa: S608 - SQL from trusted parts; values bound


@dataclass(frozen=True)
class Report:
    """One report as received, before anything is resolved.

    The location is one of: ``building_code``, ``address``, ``lon``/``lat``
    (EPSG:4326) or ``x``/``y`` in ``crs``. ``bearer_token`` is the reporter's
    staff token when one came with the request (checked against the channel);
    ``actor`` names the reporter in the history when the caller knows it;
    ``authenticated``: the caller has checked who reports (Open311 API keys, the
    library callers), so the channel is not checked against a staff token.
    ``request_hash``: a digest of the request's canonical body, stored with the
    ``idempotency_key``; a later report with the key and another digest is refused.
    ``client_address``: where the report came from (the audit row's address).
    """

    category_code: str
    lon: float | None = None
    lat: float | None = None
    x: float | None = None
    y: float | None = None
    crs: str = "EPSG:4326"
    building_code: str | None = None
    address: str | None = None
    description: str | None = None
    channel: str = "app"
    reporter: dict[str, str | None] | None = None
    photos: tuple[PhotoRef, ...] = ()
    idempotency_key: str | None = None
    actor: str | None = None
    bearer_token: str | None = None
    authenticated: bool = False
    request_hash: str | None = None
    client_address: str | None = None


@dataclass(frozen=True)
class Intake:
    """The outcome of one report: the event and the 201 body (JSON text).

    ``replayed``: the ``Idempotency-Key`` was seen before; ``event_id`` and
    ``body`` are the earlier request's and nothing was written. ``row`` holds the
    intake statement's columns of a new event (None when replayed).
    """

    event_id: int
    body: str
    replayed: bool
    token: str | None = None
    place: Place | None = None
    grids: dict[str, Any] | None = None
    row: dict[str, Any] | None = None


def _check_report(report: Report) -> None:
    if report.channel not in CHANNELS:
        raise _fail(f"field 'channel': {report.channel!r} is not one of {', '.join(CHANNELS)}",
                    "invalid_channel", field="channel")
    key = report.idempotency_key
    if key is not None and not 0 < len(key) <= 200:
        raise _fail("header 'Idempotency-Key': 1 to 200 characters", "invalid_idempotency_key",
                    field="Idempotency-Key")


def _actor(conn: Connection | Session, report: Report) -> str:
    """Who reports: checks the staff token against the channel (401/403)."""
    name, role = (role_for_token(conn, report.bearer_token) if report.bearer_token
                  else (None, None))
    if not report.authenticated:
        check_channel(role, report.channel)
    return report.actor or name or ("public" if report.channel in ("app", "qr")
                                     else report.channel)


def _replay(report: Report, event_id: int, body: str, stored_hash: str | None
            ) -> Intake | GisError:
    """The earlier answer to the report's key, unless the key came with another body."""
    if stored_hash is not None and report.request_hash not in (None, stored_hash):
        return _fail("header 'Idempotency-Key': this key was used for a different report; "
                     "use a new key for a new report", "idempotency_key_reused",
                     field="Idempotency-Key")
    return Intake(event_id, body, replayed=True)


def _outcome(conn: Connection | Session, report: Report, row: dict[str, Any], place: Place,
             grids: dict[str, Any], token: str) -> Intake | GisError:
    if row["seen_event"] is not None:
        return _replay(report, int(row["seen_event"]), row["seen_body"], row["seen_hash"])
    if row["id"] is None:
        return _failure(row, report.category_code, place)
    key = report.idempotency_key
    if key is not None and not row["key_claimed"]:
        # a concurrent request with the same key committed first: undo ours, return theirs
        conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": row["id"]})
        earlier = conn.execute(text(
            "SELECT event_id, CAST(response AS text), request_hash FROM idempotency_keys "
            "WHERE key = :k"), {"k": key}).one_or_none()
        if earlier is None or earlier[0] is None:
            return _fail("header 'Idempotency-Key': this key is in use by a request that "
                         "did not finish; retry", "idempotency_key_in_use",
                         field="Idempotency-Key")
        return _replay(report, int(earlier[0]), earlier[1], earlier[2])
    return Intake(int(row["id"]), row["body"], replayed=False, token=token, place=place,
                  grids=grids, row=row)


def write_reports(conn: Connection | Session, lookup: GridLookup, reports: Sequence[Report],
                  settings: EventSettings | None = None, now: datetime | None = None,
                  personal: PersonalCipher | None = None) -> list[Intake | GisError]:
    """Register ``reports`` in order on ``conn``'s transaction; never commits.

    Each report is checked (channel, staff token, location) and gets the
    outcome of the intake statement (see the module docstring), one per report
    in order: an :class:`Intake`, or the :class:`GisError` (4xx) that refused
    it, with nothing of it stored. Reports are written in order, so a later one
    sees the earlier ones (duplicates, idempotency keys). All grid assignments
    are one call to ``lookup``; the statements go to PostgreSQL in one pipeline
    (one round trip), the audit rows of the new events in the same pipeline.
    Reporters' contacts are encrypted with ``personal`` (required when a report
    has one). A database error propagates: the caller rolls back.
    """
    settings = settings or EventSettings()
    now = now or datetime.now(UTC)
    outcomes: list[Intake | GisError | None] = [None] * len(reports)
    ready: list[tuple[int, Place, str]] = []
    for i, report in enumerate(reports):
        try:
            _check_report(report)
            actor = _actor(conn, report)
            place = resolve_place(conn, lon=report.lon, lat=report.lat, x=report.x,
                                  y=report.y, crs=report.crs,
                                  building_code=report.building_code, address=report.address)
        except GisError as exc:
            outcomes[i] = exc
            continue
        ready.append((i, place, actor))
    if ready:
        frame = lookup.assign(np.array([p.lon for _, p, _ in ready]),
                              np.array([p.lat for _, p, _ in ready]), at=now)
        grids = _grid_dicts(frame)
        tokens = [secrets.token_urlsafe(12) for _ in ready]
        params = [_statement_params(reports[i], place, g, now, settings, token, actor,
                                    personal)
                  for (i, place, actor), g, token in zip(ready, grids, tokens, strict=True)]
        audit = _audit_rows([(reports[i], actor, token)
                             for (i, _, actor), token in zip(ready, tokens, strict=True)])
        for (i, place, _), g, token, row in zip(ready, grids, tokens,
                                               _execute_all(conn, params, audit, tokens),
                                               strict=True):
            outcomes[i] = _outcome(conn, reports[i], row, place, g, token)
    return [o for o in outcomes if o is not None]


#: the ``event.create`` audit rows of a batch, sent in the intake's pipeline after its
#: statements: one row per report whose event was created (found by its tracking token;
#: with an idempotency key, only when this report claimed the key), in report order.
#: Personal fields are named (``fields``), never shown.
_AUDIT_CREATED = """
INSERT INTO audit_log (actor, address, action, object_type, object_id, fields, after, details)
SELECT r->>'actor', r->>'address', 'event.create', 'event', CAST(e.id AS text),
       ARRAY(SELECT jsonb_array_elements_text(r->'fields')),
       jsonb_build_object('status', e.status, 'category', r->>'category',
                          'department_id', e.department_id),
       jsonb_build_object('channel', r->>'channel')
FROM jsonb_array_elements(CAST(%(rows)s AS jsonb)) WITH ORDINALITY AS x(r, n)
CROSS JOIN LATERAL (  -- one index lookup per report, never a scan of the events
    SELECT id, status, department_id FROM events WHERE public_token = r->>'token' LIMIT 1
) AS e
WHERE r->>'key' IS NULL OR EXISTS (
    SELECT 1 FROM idempotency_keys AS k WHERE k.key = r->>'key' AND k.event_id = e.id)
ORDER BY n
"""


def _audit_rows(reports: Sequence[tuple[Report, str, str]]) -> str:
    """The JSON parameter of :data:`_AUDIT_CREATED`: (report, actor, tracking token) each."""
    return json.dumps([{
        "actor": "anonymous" if actor == "public" else actor,
        "address": report.client_address, "token": token, "key": report.idempotency_key,
        "category": report.category_code, "channel": report.channel,
        "fields": [k for k, v in (report.reporter or {}).items() if v],
    } for report, actor, token in reports], ensure_ascii=False)


def _statement_params(report: Report, place: Place, grids: dict[str, Any], now: datetime,
                      settings: EventSettings, token: str, actor: str,
                      personal: PersonalCipher | None) -> dict[str, Any]:
    return {**_params(place, grids, now, settings), "category": report.category_code,
            "token": token, "description": report.description, "channel": report.channel,
            "address": report.address, "actor": actor,
            **seal(personal, "events", report.reporter), "key": report.idempotency_key,
            "request_hash": report.request_hash,
            "photos": json.dumps([vars(p) for p in report.photos])}


#: the intake statement with psycopg's placeholders (run on the driver connection)
_INTAKE_PG = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", _INTAKE)


def _execute_all(conn: Connection | Session, params: list[dict[str, Any]], audit: str,
                 tokens: list[str]) -> list[dict[str, Any]]:
    """Run the intake statements, in order, then the batch's audit rows and notifications.

    One pipeline, one round trip: the audit statement (:data:`_AUDIT_CREATED`)
    and the notifications (``api.notify.outbox.NOTIFY_CREATED_PG``) find the
    events the statements before them created by their tracking ``tokens``.
    """
    sa_conn = conn.connection() if isinstance(conn, Session) else conn
    if not sa_conn.in_transaction():  # the driver's statements belong to the caller's
        sa_conn.begin()               # transaction: its commit (or rollback) must see them
    driver = sa_conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)  # noqa: S101 - an invariant, for the type checker
    with driver.pipeline():
        cursors = []
        for p in params:
            cur = driver.cursor(row_factory=dict_row)
            cur.execute(_INTAKE_PG, p, prepare=True)
            cursors.append(cur)
        with driver.cursor() as audit_cur, driver.cursor() as notify_cur:
            audit_cur.execute(_AUDIT_CREATED, {"rows": audit}, prepare=True)
            notify_cur.execute(NOTIFY_CREATED_PG, created_params(tokens), prepare=True)
    rows = []
    for cur in cursors:
        row = cur.fetchone()
        assert row is not None  # noqa: S101 - an invariant, for the type checker
        rows.append(row)
        cur.close()
    return rows


def _failure(row: dict[str, Any], category_code: str, place: Place) -> GisError:
    if row["category_id"] is None:
        return _fail(f"field 'category': unknown category code {category_code!r} "
                     "(see GET /api/v1/categories)", "unknown_category", field="category")
    if not row["inside"]:
        names = row["basic_layers"] or []
        return OutsideJurisdiction(
            f"the location ({place.lon:.6f}, {place.lat:.6f}) is outside every grid of the "
            f"jurisdiction{' (layer ' + names[0] + ')' if names else ''}",
            lon=place.lon, lat=place.lat)
    raise AssertionError("intake inserted nothing")  # pragma: no cover


def _params(place: Place, grids: dict[str, Any], now: datetime, settings: EventSettings
            ) -> dict[str, Any]:
    # a degree box that surely holds the metric radius, so the GiST index is used
    deg = settings.duplicate_radius_m / (110_000.0 * max(math.cos(math.radians(place.lat)),
                                                         0.01))
    return {"lon": place.lon, "lat": place.lat, "grids": json.dumps(grids), "now": now,
            "codes": grid_codes(grids), "building_id": place.building_id,
            "dedupe": settings.duplicate_radius_m > 0 and settings.duplicate_window_hours > 0,
            "window": settings.duplicate_window_hours * 3600.0,
            "deg": deg, "radius": settings.duplicate_radius_m}


def create_event(
    session: Session,
    lookup: GridLookup,
    *,
    category_code: str,
    lon: float | None = None,
    lat: float | None = None,
    x: float | None = None,
    y: float | None = None,
    crs: str = "EPSG:4326",
    building_code: str | None = None,
    address: str | None = None,
    description: str | None = None,
    channel: str = "app",
    reporter: dict[str, str | None] | None = None,
    photos: Sequence[PhotoRef] = (),
    idempotency_key: str | None = None,
    actor: str | None = None,
    settings: EventSettings | None = None,
    now: datetime | None = None,
    personal: PersonalCipher | None = None,
) -> Event:
    """Register one report (see the module docstring); never commits.

    Returns the ``Event``, persistent in ``session``: for a key seen before, the
    event the earlier request created.
    """
    now = now or datetime.now(UTC)
    outcome = write_reports(session, lookup, [Report(
        category_code=category_code, lon=lon, lat=lat, x=x, y=y, crs=crs,
        building_code=building_code, address=address, description=description,
        channel=channel, reporter=reporter, photos=tuple(photos),
        idempotency_key=idempotency_key, actor=actor, authenticated=True)], settings, now,
        personal)[0]
    if isinstance(outcome, GisError):
        raise outcome
    if outcome.replayed or outcome.row is None:
        event = session.get(Event, outcome.event_id)
        assert event is not None  # noqa: S101 - an invariant, for the type checker
        return event
    row, place = outcome.row, outcome.place
    assert place is not None  # noqa: S101 - an invariant, for the type checker
    event = Event(
        id=row["id"], public_token=outcome.token, category_id=row["category_id"],
        description=description, status=row["status"], channel=channel,
        geom=WKTElement(f"POINT({place.lon!r} {place.lat!r})", srid=4326), address=address,
        building_id=row["building_id"], grids=outcome.grids,
        community_code=row["community_code"], street_code=row["street_code"],
        department_id=row["department_id"], reported_at=now, registered_at=now,
        dispatched_at=row["dispatched_at"],
        handled_at=None, closed_at=None, evaluated_at=None, due_at=row["due_at"],
        satisfaction=None, **seal(personal, "events", reporter), attributes=row["attributes"])
    make_transient_to_detached(event)
    session.add(event)
    return event


# -- views ----------------------------------------------------------------------------
_SUMMARY = """
SELECT e.id, e.public_token, e.status, c.code AS category, c.name AS category_name,
       d.code AS department_code, d.name AS department_name, b.code AS building_code,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.grids, e.community_code, e.street_code,
       e.channel, e.description, e.address, e.reported_at, e.registered_at, e.dispatched_at,
       e.handled_at, e.closed_at, e.evaluated_at, e.due_at, e.satisfaction, e.attributes,
       e.department_id
FROM events e
JOIN event_categories c ON c.id = e.category_id
LEFT JOIN departments d ON d.id = e.department_id
LEFT JOIN buildings b ON b.id = e.building_id
WHERE {where}
"""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _row(session: Session, where: str, params: dict[str, Any]) -> dict[str, Any] | None:
    row = session.execute(text(_SUMMARY.format(where=where)), params).mappings().first()
    return dict(row) if row is not None else None


def _public(row: dict[str, Any]) -> dict[str, Any]:
    attrs = row["attributes"] or {}
    return {
        "id": row["id"], "status": row["status"], "category": row["category"],
        "category_name": row["category_name"], "channel": row["channel"],
        "description": row["description"], "address": row["address"],
        "location": {"lon": row["lon"], "lat": row["lat"]}, "grids": row["grids"],
        "community_code": row["community_code"], "street_code": row["street_code"],
        "building_code": row["building_code"],
        "department": ({"code": row["department_code"], "name": row["department_name"]}
                       if row["department_code"] else None),
        **{k: _iso(row[k]) for k in ("reported_at", "registered_at", "dispatched_at",
                                     "handled_at", "closed_at", "evaluated_at", "due_at")},
        "satisfaction": row["satisfaction"],
        "duplicate_of": attrs.get("duplicate_of"),
        "escalation_level": attrs.get("escalation_level", 0),
        "escalated_to": attrs.get("escalated_to"),
    }


def event_detail(session: Session, *, event_id: int | None = None, token: str | None = None
                 ) -> dict[str, Any] | None:
    """One event with history and photos, without personal data.

    The reporter is added by ``api.personal.service.add_reporter`` (masked, audited).
    """
    if event_id is not None:
        row = _row(session, "e.id = :id", {"id": event_id})
    else:
        row = _row(session, "e.public_token = :t", {"t": token})
    if row is None:
        return None
    out = _public(row)
    history = session.execute(text(
        "SELECT action, from_status, to_status, actor, note, at FROM event_history "
        "WHERE event_id = :id ORDER BY at, id"), {"id": row["id"]}).mappings().all()
    out["history"] = [{**dict(h), "at": _iso(h["at"])} for h in history]
    photos = session.execute(select(EventPhoto.id, EventPhoto.url, EventPhoto.path).where(
        EventPhoto.event_id == row["id"]).order_by(EventPhoto.id)).all()
    out["photos"] = [{"id": p.id, "url": p.url if is_photo_url(p.url)  # never javascript:
                      else f"/api/v1/events/{row['id']}/photos/{p.id}"}
                     for p in photos]
    return out

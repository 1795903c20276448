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
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
from geoalchemy2 import WKTElement
from psycopg.rows import dict_row
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, make_transient_to_detached

from api.auth.policy import check_channel, role_for_token
from api.db.models import Event
from api.events.intake_sql import AUDIT_CREATED, INTAKE_RAW, intake_args
from api.events.places import Place, grid_dicts, invalid, resolve_place
from api.events.routing import grid_codes
from api.grids.lookup import GridLookup
from api.media.store import PhotoRef
from api.notify.outbox import NOTIFY_CREATED_PG, created_params
from api.personal.cipher import PersonalCipher
from api.personal.service import seal
from api.settings import EventSettings
from gis_core.errors import GisError, OutsideJurisdiction
from layers.vocabulary import CHANNELS


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
        raise invalid(f"field 'channel': {report.channel!r} is not one of {', '.join(CHANNELS)}",
                    "invalid_channel", field="channel")
    key = report.idempotency_key
    if key is not None and not 0 < len(key) <= 200:
        raise invalid("header 'Idempotency-Key': 1 to 200 characters", "invalid_idempotency_key",
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
        return invalid("header 'Idempotency-Key': this key was used for a different report; "
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
            return invalid("header 'Idempotency-Key': this key is in use by a request that "
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

    It is :func:`prepare_reports` then :func:`write_prepared` on the same ``conn``.
    """
    return write_prepared(conn, prepare_reports(conn, lookup, reports, settings, now,
                                                personal))


@dataclass(frozen=True)
class Prepared:
    """Reports made ready for their statements (:func:`prepare_reports`), nothing written."""

    reports: tuple[Report, ...]
    #: the 4xx of each report refused before any statement (None: it goes on)
    refused: tuple[GisError | None, ...]
    #: (index in ``reports``, place, actor) of the others, in order
    ready: tuple[tuple[int, Place, str], ...]
    grids: tuple[dict[str, Any], ...]
    tokens: tuple[str, ...]
    params: tuple[dict[str, Any], ...]
    audit: str


def prepare_reports(conn: Connection | Session, lookup: GridLookup, reports: Sequence[Report],
                    settings: EventSettings | None = None, now: datetime | None = None,
                    personal: PersonalCipher | None = None) -> Prepared:
    """Everything of :func:`write_reports` before its statements, nothing written.

    Checks, places, grids, tracking tokens, sealed contacts and parameters.
    ``conn`` is only read (staff tokens, building codes, addresses), so it may be
    another connection than the one the reports are then written on: the intake
    writer prepares a batch while the one before it is in the database.
    """
    settings = settings or EventSettings()
    now = now or datetime.now(UTC)
    refused: list[GisError | None] = [None] * len(reports)
    ready: list[tuple[int, Place, str]] = []
    for i, report in enumerate(reports):
        try:
            _check_report(report)
            actor = _actor(conn, report)
            place = resolve_place(conn, lon=report.lon, lat=report.lat, x=report.x,
                                  y=report.y, crs=report.crs,
                                  building_code=report.building_code, address=report.address)
        except GisError as exc:
            refused[i] = exc
            continue
        ready.append((i, place, actor))
    if not ready:
        return Prepared(tuple(reports), tuple(refused), (), (), (), (), "[]")
    frame = lookup.assign(np.array([p.lon for _, p, _ in ready]),
                          np.array([p.lat for _, p, _ in ready]), at=now)
    grids = grid_dicts(frame)
    tokens = [secrets.token_urlsafe(12) for _ in ready]
    params = [_statement_params(reports[i], place, g, now, settings, token, actor, personal)
              for (i, place, actor), g, token in zip(ready, grids, tokens, strict=True)]
    audit = _audit_rows([(reports[i], actor, token)
                         for (i, _, actor), token in zip(ready, tokens, strict=True)])
    return Prepared(tuple(reports), tuple(refused), tuple(ready), tuple(grids), tuple(tokens),
                    tuple(params), audit)


def write_prepared(conn: Connection | Session, prepared: Prepared) -> list[Intake | GisError]:
    """Run the statements of ``prepared`` in order on ``conn``'s transaction; never commits.

    The outcomes of :func:`write_reports`, one per report in order.
    """
    outcomes: list[Intake | GisError | None] = list(prepared.refused)
    if prepared.ready:
        rows = _execute_all(conn, list(prepared.params), prepared.audit, list(prepared.tokens))
        for (i, place, _), g, token, row in zip(prepared.ready, prepared.grids, prepared.tokens,
                                               rows, strict=True):
            outcomes[i] = _outcome(conn, prepared.reports[i], row, place, g, token)
    return [o for o in outcomes if o is not None]


def _audit_rows(reports: Sequence[tuple[Report, str, str]]) -> str:
    """The JSON parameter of :data:`AUDIT_CREATED`: (report, actor, tracking token) each."""
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


def _execute_all(conn: Connection | Session, params: list[dict[str, Any]], audit: str,
                 tokens: list[str]) -> list[dict[str, Any]]:
    """Run the intake statements, in order, then the batch's audit rows and notifications.

    One pipeline, one round trip: the audit statement (:data:`AUDIT_CREATED`)
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
            cur = psycopg.RawCursor(driver, row_factory=dict_row)
            cur.execute(INTAKE_RAW, intake_args(p), prepare=True)
            cursors.append(cur)
        with driver.cursor() as audit_cur, driver.cursor() as notify_cur:
            audit_cur.execute(AUDIT_CREATED, {"rows": audit}, prepare=True)
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
        return invalid(f"field 'category': unknown category code {category_code!r} "
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

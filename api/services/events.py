"""Event intake: one report in, one complete case out, in one transaction.

The core is a plain function, shared by the native API and the Open311 endpoint::

    create_event(session, lookup, *, category_code, lon=None, lat=None, x=None, y=None,
                 crs="EPSG:4326", building_code=None, address=None, description=None,
                 channel="app", reporter=None, photos=(), idempotency_key=None,
                 actor=None, settings=None, now=None) -> Event

- ``session``: a SQLAlchemy session; ``create_event`` flushes but never commits
  (the router commits once);
- ``lookup``: the app's ``GridLookup`` (``api.services.grid_lookup.get_grid_lookup``);
- the location is, in this order of precedence, ``building_code`` (the
  building's point on surface), ``address`` (normalised exact match on
  ``buildings.address``: NFKC, lower case, no spaces or punctuation), ``lon``/``lat``
  in EPSG:4326, or ``x``/``y`` in ``crs`` (any CRS of ``gis_core.crs.to_wgs84``,
  ``"GCJ02"``/``"BD09"`` included);
- ``reporter``: ``{"name", "phone", "email"}`` (personal data: stored, never shown
  publicly); ``photos``: ``PhotoRef`` items (URL or stored file);
- ``idempotency_key``: a key seen before returns the event it created, nothing new
  is written (concurrent retries wait for the first one's commit);
- ``settings``: ``EventSettings`` (duplicate radius and window), defaults when None.

What it does: the event gets its grid in every layer (outside every grid of the
exclusive basic layer -> ``OutsideJurisdiction``, nothing stored), the building
whose footprint covers the point, its community and street, the department by
the routing rules (``api.services.routing``), the due time (report time + the
category's time limit) and its first history rows: ``register``, then an
automatic ``dispatch`` by ``system`` when a department is found (the event is
``dispatched``; without a department it stays ``registered`` for a dispatcher).
A report of the same category within ``duplicate_radius_m`` metres (geodesic)
and ``duplicate_window_hours`` of an open event becomes status ``duplicate``
with ``attributes.duplicate_of`` = the open event's id and is not dispatched.

Errors (all 422 unless said): ``unknown_category`` (field ``category``),
``invalid_coordinates``/``unknown_crs`` (field ``location``),
``building_not_found`` (``building_code``), ``address_not_found`` (``address``,
with ``suggestions``), ``location_required``, ``outside_jurisdiction``,
``invalid_channel``.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from geoalchemy2 import WKTElement
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.db.models import Building, Event, EventCategory
from api.db.models_events import EventPhoto, IdempotencyKey
from api.services.grid_lookup import GridLookup
from api.services.lifecycle import OPEN_STATES, add_history
from api.services.routing import route
from api.settings import EventSettings
from gis_core.crs import to_wgs84
from gis_core.errors import InvalidCoordinates, InvalidInput, OutsideJurisdiction

CHANNELS = ("app", "qr", "hotline", "patrol", "camera", "open311")
NORMALISED_ADDRESS = ("regexp_replace(lower(normalize({col}, NFKC)), "
                      "'[[:space:][:punct:]，。、；：（）【】《》“”‘’·－—]', '', 'g')")


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


def category_by_code(session: Session, code: str) -> EventCategory:
    """The category with ``code``; 422 ``unknown_category`` naming the field otherwise."""
    cat = session.execute(select(EventCategory).where(EventCategory.code == code)
                          ).scalar_one_or_none()
    if cat is None:
        raise _fail(f"field 'category': unknown category code {code!r} "
                    "(see GET /api/v1/categories)", "unknown_category", field="category")
    return cat


def _check_lonlat(lon: float, lat: float) -> Place:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidCoordinates("field 'location': coordinates must be finite numbers",
                                 field="location")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidCoordinates("field 'location': lon must be in [-180, 180] and lat in "
                                 "[-90, 90] (give 'crs' for projected coordinates)",
                                 field="location")
    return Place(float(lon), float(lat))


def resolve_building(session: Session, code: str) -> Place:
    """The point of the building with ``code`` (a point on its footprint)."""
    row = session.execute(
        select(Building.id, Building.geom.ST_PointOnSurface().ST_X(),
               Building.geom.ST_PointOnSurface().ST_Y()).where(Building.code == code)
    ).one_or_none()
    if row is None:
        raise _fail(f"field 'building_code': no building with code {code!r}",
                    "building_not_found", field="building_code")
    return Place(float(row[1]), float(row[2]), int(row[0]))


def resolve_address(session: Session, address: str, limit: int = 5) -> Place:
    """The building whose address equals ``address`` once both are normalised.

    Unresolved: 422 ``address_not_found`` with up to ``limit`` close addresses
    (trigram similarity) in ``details.suggestions``.
    """
    norm = NORMALISED_ADDRESS.format(col="b.address")
    given = NORMALISED_ADDRESS.format(col="CAST(:a AS text)")
    row = session.execute(text(
        f"SELECT b.id, ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom)) "
        f"FROM buildings b WHERE {norm} = {given} ORDER BY b.id LIMIT 1"), {"a": address}
    ).one_or_none()
    if row is not None:
        return Place(float(row[1]), float(row[2]), int(row[0]))
    suggestions = session.execute(text(
        "SELECT address FROM buildings WHERE address IS NOT NULL "
        "AND similarity(address, :a) > 0.2 "
        "ORDER BY similarity(address, :a) DESC, address LIMIT :n"),
        {"a": address, "n": limit}).scalars().all()
    raise _fail(f"field 'address': no building has the address {address!r}",
                "address_not_found", field="address", suggestions=list(suggestions))


def resolve_place(session: Session, *, lon: float | None, lat: float | None,
                  x: float | None, y: float | None, crs: str,
                  building_code: str | None, address: str | None) -> Place:
    """Turn one of the accepted location forms into an EPSG:4326 point."""
    if building_code:
        return resolve_building(session, building_code)
    if address and address.strip():
        return resolve_address(session, address.strip())
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
    raise _fail("a location is required: 'location' {x, y, crs}, 'building_code' or "
                "'address'", "location_required", field="location")


def basic_layers(session: Session) -> list[str]:
    """Names of the exclusive basic grid layers (any exclusive layer if none is 'basic')."""
    rows = session.execute(text(
        "SELECT name, kind = 'basic' FROM grid_layers WHERE exclusive ORDER BY id")).all()
    basic = [name for name, is_basic in rows if is_basic]
    return basic or [name for name, _ in rows]


def assign_grids(session: Session, lookup: GridLookup, place: Place, at: datetime
                 ) -> dict[str, Any]:
    """The event's grid per layer; ``OutsideJurisdiction`` outside the basic layer."""
    frame = lookup.assign(np.array([place.lon]), np.array([place.lat]), at=at)
    grids = {str(k): v for k, v in frame.iloc[0].to_dict().items()} if len(frame) else {}
    grids = {k: (list(v) if isinstance(v, list | tuple | np.ndarray) else v)
             for k, v in grids.items() if v is not None}
    required = basic_layers(session)
    if not grids or (required and not any(grids.get(name) for name in required)):
        raise OutsideJurisdiction(
            f"the location ({place.lon:.6f}, {place.lat:.6f}) is outside every grid of the "
            f"jurisdiction{' (layer ' + required[0] + ')' if required else ''}",
            lon=place.lon, lat=place.lat)
    return grids


_CONTEXT = """
SELECT
  (SELECT b.id FROM buildings b
   WHERE ST_Covers(b.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
   ORDER BY b.id LIMIT 1) AS building_id,
  (SELECT g.community_code FROM grids g JOIN grid_layers l ON l.id = g.layer_id
   WHERE l.name = ANY(CAST(:layers AS text[])) AND g.code = ANY(CAST(:codes AS text[]))
     AND g.community_code IS NOT NULL
   ORDER BY g.valid_to IS NULL DESC LIMIT 1) AS community_code
"""

_DUPLICATE = """
SELECT e.id FROM events e
WHERE e.category_id = :cat AND e.status = ANY(CAST(:open AS text[]))
  AND e.reported_at >= :since AND e.reported_at <= :now
  AND ST_DWithin(e.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :deg)
  AND ST_DWithin(e.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography,
                 :radius)
ORDER BY e.reported_at, e.id LIMIT 1
"""


def _context(session: Session, place: Place, grids: dict[str, Any]
             ) -> tuple[int | None, str | None, str | None]:
    layers = basic_layers(session)
    codes = [grids[name] for name in layers if isinstance(grids.get(name), str)]
    building_id, community = session.execute(text(_CONTEXT), {
        "lon": place.lon, "lat": place.lat, "layers": layers, "codes": codes}).one()
    street = None
    if community:
        street = session.execute(text(
            "SELECT coalesce((SELECT parent_code FROM admin_areas WHERE code = :c), "
            "left(:c, 9))"), {"c": community}).scalar_one()
    return (place.building_id or building_id), community, street


def find_duplicate(session: Session, *, category_id: int, place: Place, now: datetime,
                   settings: EventSettings) -> int | None:
    """The oldest open event of the category within the radius and window, if any."""
    if settings.duplicate_radius_m <= 0 or settings.duplicate_window_hours <= 0:
        return None
    # a degree box that surely holds the metric radius, so the GiST index is used
    deg = settings.duplicate_radius_m / (110_000.0 * max(math.cos(math.radians(place.lat)),
                                                         0.01))
    found = session.execute(text(_DUPLICATE), {
        "cat": category_id, "open": list(OPEN_STATES), "lon": place.lon, "lat": place.lat,
        "since": now - timedelta(hours=settings.duplicate_window_hours), "now": now,
        "deg": deg, "radius": settings.duplicate_radius_m}).scalar_one_or_none()
    return int(found) if found is not None else None


def _claim_key(session: Session, key: str) -> Event | None:
    """Insert the idempotency key; when it exists, return the event it made."""
    if not key or len(key) > 200:
        raise _fail("header 'Idempotency-Key': 1 to 200 characters", "invalid_idempotency_key",
                    field="Idempotency-Key")
    claimed = session.execute(insert(IdempotencyKey).values(key=key)
                              .on_conflict_do_nothing().returning(IdempotencyKey.key)).first()
    if claimed is not None:
        return None
    event_id = session.execute(select(IdempotencyKey.event_id).where(
        IdempotencyKey.key == key)).scalar_one_or_none()
    event = session.get(Event, event_id) if event_id is not None else None
    if event is None:
        raise _fail("header 'Idempotency-Key': this key is in use by a request that did "
                    "not finish; retry", "idempotency_key_in_use", field="Idempotency-Key")
    return event


def replayed_response(session: Session, key: str | None) -> dict[str, Any] | None:
    """The stored 201 body of an earlier request with ``key``, if any."""
    if not key:
        return None
    body: dict[str, Any] | None = session.execute(
        select(IdempotencyKey.response).where(IdempotencyKey.key == key)).scalar_one_or_none()
    return body


def remember_response(session: Session, key: str | None, body: dict[str, Any]) -> None:
    """Store the 201 body for ``key`` (same transaction as the event)."""
    if key:
        session.execute(update(IdempotencyKey).where(IdempotencyKey.key == key)
                        .values(response=body))


def create_event(  # noqa: C901 - one linear pipeline, kept together on purpose
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
) -> Event:
    """Register one report (see the module docstring); flushes, never commits."""
    if channel not in CHANNELS:
        raise _fail(f"field 'channel': {channel!r} is not one of {', '.join(CHANNELS)}",
                    "invalid_channel", field="channel")
    settings = settings or EventSettings()
    now = now or datetime.now(UTC)
    category = category_by_code(session, category_code)
    place = resolve_place(session, lon=lon, lat=lat, x=x, y=y, crs=crs,
                          building_code=building_code, address=address)
    grids = assign_grids(session, lookup, place, now)
    if idempotency_key is not None:
        earlier = _claim_key(session, idempotency_key)
        if earlier is not None:
            return earlier
    building_id, community, street = _context(session, place, grids)
    department_id = route(session, category_id=category.id, grids=grids,
                          community_code=community, street_code=street,
                          default_department_id=category.department_id)
    duplicate_of = find_duplicate(session, category_id=category.id, place=place, now=now,
                                  settings=settings)
    reporter = reporter or {}
    event = Event(
        public_token=secrets.token_urlsafe(12), category_id=category.id,
        description=description, status="registered", channel=channel,
        geom=WKTElement(f"POINT({place.lon!r} {place.lat!r})", srid=4326),
        address=address, building_id=building_id, grids=grids, community_code=community,
        street_code=street, department_id=department_id, reported_at=now, registered_at=now,
        due_at=now + timedelta(hours=float(category.time_limit_hours)),
        reporter_name=reporter.get("name"), reporter_phone=reporter.get("phone"),
        reporter_email=reporter.get("email"),
        attributes={"duplicate_of": duplicate_of} if duplicate_of else {})
    session.add(event)
    session.flush()
    who = actor or ("public" if channel in ("app", "qr") else channel)
    add_history(session, event, "register", None, "registered", who, None, now)
    if duplicate_of is not None:
        event.status = "duplicate"
        add_history(session, event, "mark_duplicate", "registered", "duplicate", "system",
                    f"duplicate of event {duplicate_of}", now)
    elif department_id is not None:
        event.status = "dispatched"
        event.dispatched_at = now
        add_history(session, event, "dispatch", "registered", "dispatched", "system",
                    "automatic dispatch by routing", now)
    for photo in photos:
        session.add(EventPhoto(event_id=event.id, url=photo.url, path=photo.path,
                               content_type=photo.content_type, size=photo.size))
    if idempotency_key is not None:
        session.execute(update(IdempotencyKey).where(IdempotencyKey.key == idempotency_key)
                        .values(event_id=event.id))
    session.flush()
    return event


# -- views ----------------------------------------------------------------------------
_SUMMARY = """
SELECT e.id, e.public_token, e.status, c.code AS category, c.name AS category_name,
       d.code AS department_code, d.name AS department_name, b.code AS building_code,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.grids, e.community_code, e.street_code,
       e.channel, e.description, e.address, e.reported_at, e.registered_at, e.dispatched_at,
       e.handled_at, e.closed_at, e.evaluated_at, e.due_at, e.satisfaction, e.attributes,
       e.reporter_name, e.reporter_phone, e.reporter_email, e.department_id
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


def intake_body(session: Session, event: Event) -> dict[str, Any]:
    """The 201 body of an intake: id, public token, grids, department, due time, status."""
    row = _row(session, "e.id = :id", {"id": event.id})
    assert row is not None
    attrs = row["attributes"] or {}
    return {
        "id": row["id"], "public_token": row["public_token"], "status": row["status"],
        "category": row["category"], "location": {"lon": row["lon"], "lat": row["lat"]},
        "grids": row["grids"], "community_code": row["community_code"],
        "street_code": row["street_code"], "building_code": row["building_code"],
        "department": ({"code": row["department_code"], "name": row["department_name"]}
                       if row["department_code"] else None),
        "reported_at": _iso(row["reported_at"]), "due_at": _iso(row["due_at"]),
        "duplicate": attrs.get("duplicate_of") is not None,
        "duplicate_of": attrs.get("duplicate_of"),
    }


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


def event_detail(session: Session, *, event_id: int | None = None, token: str | None = None,
                 personal_data: bool = False) -> dict[str, Any] | None:
    """One event with history and photos; reporter contacts only when ``personal_data``."""
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
    out["photos"] = [{"id": p.id, "url": p.url or f"/api/v1/events/{row['id']}/photos/{p.id}"}
                     for p in photos]
    if personal_data:
        out["reporter"] = {"name": row["reporter_name"], "phone": row["reporter_phone"],
                           "email": row["reporter_email"]}
    return out

"""Open311 GeoReport v2 on our catalogue and events.

Mapping (documented for integrators):

- services: one per minor event category; ``service_code`` is the category code,
  ``group`` the major category name, ``metadata`` false (no extra attributes),
  ``type`` realtime (a request is stored, assigned and dispatched at once).
- requests: one per event; ``service_request_id`` is the event id, the token is
  the event's public token. ``status`` is ``closed`` for the statuses in
  :data:`CLOSED_STATUSES` (verified, closed, evaluated, rejected, duplicate,
  cancelled) and ``open`` for every other one (registered, dispatched,
  in_progress, handled, returned). ``status_notes`` is the note of the latest
  history step that has one; ``agency_responsible`` the department's name;
  ``expected_datetime`` the due time; ``updated_datetime`` the closing time of a
  closed request, else the time of its latest history step; ``address_id`` the
  building code when the event lies in a building.
- Datetimes are ISO 8601 with the offset of the configured time zone
  (``GRIDGOV_TIMEZONE``, default Asia/Shanghai, ``+08:00``).
- The reporter's name, phone and e-mail are stored but never returned.

Functions return plain data (lists of dicts); :func:`api.open311.xml.to_xml` renders them with
the spec's element names. Errors are :class:`Open311Error` carrying the HTTP
status; the router renders them as the spec's error array.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from api.db.models import Building, Department, Event, EventCategory, EventHistory
from api.events.models import EventPhoto
from api.validation import db_int

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ("json", "xml")
MEDIA_TYPES = {"json": "application/json", "xml": "application/xml"}
CLOSED_STATUSES = frozenset(
    {"verified", "closed", "evaluated", "rejected", "duplicate", "cancelled"})
OPEN_STATUSES = frozenset({"registered", "dispatched", "in_progress", "handled", "returned"})
MAX_DESCRIPTION = 4000
#: characters XML 1.0 cannot carry (C0 controls but tab, newline and CR; U+FFFE, U+FFFF)


class Open311Error(Exception):
    """An error answered as the spec's ``[{code, description}]`` with HTTP ``status``."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description

    def body(self) -> list[dict[str, Any]]:
        """The spec's error array."""
        return [{"code": self.status, "description": self.description}]


def open311_status(status: str) -> str:
    """Map one of our lifecycle statuses to Open311's ``open`` or ``closed``.

    Examples
    --------
    >>> open311_status("dispatched"), open311_status("evaluated")
    ('open', 'closed')
    """
    return "closed" if status in CLOSED_STATUSES else "open"


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name`` (an IANA name such as ``Asia/Shanghai``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Open311Error(500, f"timezone setting {name!r} is not an IANA time zone") from None


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """``value`` as ISO 8601 with the offset of ``tz`` (seconds precision), or None.

    Examples
    --------
    >>> from datetime import UTC
    >>> iso(datetime(2026, 11, 1, 2, 30, tzinfo=UTC), ZoneInfo("Asia/Shanghai"))
    '2026-11-01T10:30:00+08:00'
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(tz).isoformat(timespec="seconds")


# -- discovery and services ---------------------------------------------------
def discovery(base_url: str, changeset: str, contact: str, key_service: str) -> dict[str, Any]:
    """The discovery document of this endpoint."""
    endpoint = {"specification": SPECIFICATION, "url": base_url.rstrip("/") + "/open311/v2",
                "changeset": changeset, "type": "production",
                "formats": ["application/json", "application/xml"]}
    return {"changeset": changeset, "contact": contact, "key_service": key_service,
            "endpoints": [endpoint]}


def _service(cat: EventCategory, department: str | None) -> dict[str, Any]:
    hours = f"{cat.time_limit_hours:g}"
    description = f"{cat.name_en}. Time limit {hours} h"
    if department:
        description += f"; handled by {department}"
    if cat.closing_standard:
        description += f". Closing standard: {cat.closing_standard}"
    keywords = ", ".join(dict.fromkeys(
        k for k in (cat.name, cat.name_en, cat.major_name, cat.major_name_en) if k))
    return {"service_code": cat.code, "service_name": cat.name, "description": description,
            "metadata": False, "type": "realtime", "keywords": keywords,
            "group": cat.major_name}


def services(session: Session) -> list[dict[str, Any]]:
    """Every event category as an Open311 service, ordered by code."""
    rows = session.execute(
        select(EventCategory, Department.name)
        .outerjoin(Department, EventCategory.department_id == Department.id)
        .order_by(EventCategory.major_code, EventCategory.code)).all()
    return [_service(cat, dep) for cat, dep in rows]


def service_definition(session: Session, service_code: str) -> dict[str, Any]:
    """The definition of one service: our services take no extra attributes."""
    found = session.scalar(select(EventCategory.code).where(EventCategory.code == service_code))
    if found is None:
        raise Open311Error(404, f"service_code {service_code!r} not found")
    return {"service_code": found, "attributes": []}


# -- requests: query ------------------------------------------------------------
@dataclass(frozen=True)
class RequestQuery:
    """A validated GET requests query."""

    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()
    limit: int = 1000


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def parse_datetime(value: str, name: str, tz: ZoneInfo) -> datetime:
    """Parse a W3C/ISO 8601 date or datetime; a value without offset is in ``tz``.

    Examples
    --------
    >>> parse_datetime("2026-11-01T00:00:00Z", "start_date", ZoneInfo("UTC")).isoformat()
    '2026-11-01T00:00:00+00:00'
    >>> parse_datetime("2026-11-01", "end_date", ZoneInfo("Asia/Shanghai")).isoformat()
    '2026-11-01T00:00:00+08:00'
    """
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value.strip()), datetime.min.time())
        except ValueError:
            raise Open311Error(400, f"{name} must be an ISO 8601 datetime such as "
                                    f"2026-11-01T00:00:00+08:00, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _window(start_date: str | None, end_date: str | None, now: datetime, tz: ZoneInfo,
            days: int) -> tuple[datetime, datetime]:
    span = timedelta(days=days)
    start = parse_datetime(start_date, "start_date", tz) if start_date else None
    end = parse_datetime(end_date, "end_date", tz) if end_date else None
    if start is None and end is None:
        return now - span, now
    if start is None:
        assert end is not None  # noqa: S101 - an invariant, for the type checker
        return end - span, end
    if end is None:
        return start, start + span
    if start > end:
        raise Open311Error(400, "start_date must not be after end_date")
    if end - start > span:
        raise Open311Error(400, f"start_date to end_date may not span more than {days} days")
    return start, end


def parse_request_query(params: Mapping[str, str | None], *, now: datetime, tz: ZoneInfo,
                        window_days: int = 90, max_requests: int = 1000) -> RequestQuery:
    """Validate the GET requests parameters (the spec's names and defaults).

    ``service_request_id`` (comma list) overrides every other parameter; otherwise
    the window defaults to the last ``window_days`` days and may not be wider;
    ``status`` is a comma list of ``open``/``closed``; ``service_code`` a comma list.
    At most ``max_requests`` requests, the most recent first.
    """
    ids = _split(params.get("service_request_id"))
    if ids:
        bad = [i for i in ids if db_int(i) is None]
        if bad:
            raise Open311Error(400, f"service_request_id must be a comma-separated list of "
                                    f"request ids (digits), got {bad[0]!r}")
        if len(ids) > max_requests:
            raise Open311Error(400, f"at most {max_requests} service_request_id at once")
        return RequestQuery(ids=tuple(int(i) for i in ids), limit=max_requests)
    statuses = _split(params.get("status"))
    bad = [s for s in statuses if s not in ("open", "closed")]
    if bad:
        raise Open311Error(400, f"status must be open or closed (comma-separated), got {bad[0]!r}")
    start, end = _window(params.get("start_date"), params.get("end_date"), now, tz, window_days)
    return RequestQuery(service_codes=tuple(_split(params.get("service_code"))), start=start,
                        end=end, statuses=tuple(statuses), limit=max_requests)


def _request_select() -> Select[Any]:
    # Personal data (reporter name, phone, e-mail) is deliberately not selected.
    return (
        select(Event.id, Event.status, Event.description, Event.reported_at, Event.closed_at,
               Event.due_at, Event.address,
               func.ST_X(Event.geom).label("lon"), func.ST_Y(Event.geom).label("lat"),
               EventCategory.code.label("service_code"),
               EventCategory.name.label("service_name"),
               EventCategory.closing_standard, Department.name.label("agency"),
               Building.code.label("building_code"),
               Building.address.label("building_address"))
        .join(EventCategory, Event.category_id == EventCategory.id)
        .outerjoin(Department, Event.department_id == Department.id)
        .outerjoin(Building, Event.building_id == Building.id))


def _filtered(session: Session, query: RequestQuery) -> Select[Any]:
    stmt = _request_select()
    if query.ids:
        return stmt.where(Event.id.in_(query.ids)).order_by(Event.id).limit(query.limit)
    if query.service_codes:
        known = set(session.scalars(select(EventCategory.code).where(
            EventCategory.code.in_(query.service_codes))))
        unknown = [c for c in query.service_codes if c not in known]
        if unknown:
            raise Open311Error(400, f"service_code {unknown[0]!r} not found")
        stmt = stmt.where(EventCategory.code.in_(query.service_codes))
    if query.start is not None:
        stmt = stmt.where(Event.reported_at >= query.start)
    if query.end is not None:
        stmt = stmt.where(Event.reported_at <= query.end)
    if len(set(query.statuses)) == 1:
        closed = Event.status.in_(sorted(CLOSED_STATUSES))
        stmt = stmt.where(closed if query.statuses[0] == "closed" else ~closed)
    return stmt.order_by(Event.reported_at.desc(), Event.id.desc()).limit(query.limit)


def _last_steps(session: Session, ids: Sequence[int]) -> dict[int, tuple[datetime, str | None]]:
    """Per event: time of its latest history step and the latest non-empty note."""
    if not ids:
        return {}
    h = EventHistory
    last_at = dict(session.execute(
        select(h.event_id, func.max(h.at)).where(h.event_id.in_(ids)).group_by(h.event_id)
    ).all())
    notes = dict(session.execute(
        select(h.event_id, h.note)
        .where(h.event_id.in_(ids), h.note.is_not(None), h.note != "")
        .ext(distinct_on(h.event_id)).order_by(h.event_id, h.at.desc(), h.id.desc())).all())
    return {i: (last_at[i], notes.get(i)) for i in last_at}


def _media_urls(session: Session, ids: Sequence[int], base_url: str) -> dict[int, str]:
    """Per event: its first photo given as a web address (stored files stay staff-only)."""
    if not ids:
        return {}
    p = EventPhoto
    rows = session.execute(
        select(p.event_id, p.id, p.url).where(p.event_id.in_(ids))
        .ext(distinct_on(p.event_id)).order_by(p.event_id, p.id)).all()
    return {event_id: url for event_id, _photo_id, url in rows
            if url and url.lower().startswith(("http://", "https://"))}


def _as_request(row: Any, step: tuple[datetime, str | None] | None, media_url: str | None,
                tz: ZoneInfo) -> dict[str, Any]:
    status = open311_status(row.status)
    last_at, note = step if step else (None, None)
    updated = row.closed_at if status == "closed" and row.closed_at else last_at
    return {
        "service_request_id": str(row.id), "status": status, "status_notes": note,
        "service_name": row.service_name, "service_code": row.service_code,
        "description": row.description, "agency_responsible": row.agency,
        "service_notice": row.closing_standard,
        "requested_datetime": iso(row.reported_at, tz),
        "updated_datetime": iso(updated or row.reported_at, tz),
        "expected_datetime": iso(row.due_at, tz),
        "address": row.address or row.building_address, "address_id": row.building_code,
        "zipcode": None, "lat": row.lat, "long": row.lon,
        "media_url": media_url}


def find_requests(session: Session, query: RequestQuery, tz: ZoneInfo,
                  base_url: str = "", details: bool = False) -> list[dict[str, Any]]:
    """The requests matching ``query`` (no personal data), most recent first.

    Residents' free text and photos are shown only with ``details``
    (``GRIDGOV_OPEN311_PUBLIC_DETAILS``): then ``description``, and ``media_url``
    for photos given as public web addresses; photos stored by the server are
    staff-only and never get a public URL. ``base_url`` is kept for callers that
    build absolute links.
    """
    rows = session.execute(_filtered(session, query)).all()
    ids = [r.id for r in rows]
    steps = _last_steps(session, ids)
    media = _media_urls(session, ids, base_url) if details else {}
    out = [_as_request(r, steps.get(r.id), media.get(r.id), tz) for r in rows]
    if not details:
        for request in out:
            request["description"] = None
    return out


def get_request(session: Session, service_request_id: str, tz: ZoneInfo,
                base_url: str = "", details: bool = False) -> list[dict[str, Any]]:
    """One request as the spec's one-element array; 404 when there is none."""
    request_id = db_int(service_request_id)
    if request_id is None:
        raise Open311Error(404, f"service_request_id {service_request_id!r} not found")
    found = find_requests(session, RequestQuery(ids=(request_id,)), tz, base_url, details)
    if not found:
        raise Open311Error(404, f"service_request_id {service_request_id!r} not found")
    return found


def token_lookup(session: Session, token: str) -> list[dict[str, Any]]:
    """The request id behind a token (our events' public token)."""
    event_id = session.scalar(select(Event.id).where(Event.public_token == token))
    if event_id is None:
        raise Open311Error(404, f"token {token!r} not found")
    return [{"service_request_id": str(event_id), "token": token}]

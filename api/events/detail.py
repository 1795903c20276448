"""The view of one case: its figures, history and photos (staff and the tracking page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.events.models import EventPhoto
from api.media.images import is_photo_url

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

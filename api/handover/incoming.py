"""Cases a neighbouring gridgov transfers to us: pending until a dispatcher answers.

A neighbour sends a case to ``POST /open311/v2/gridgov/transfers.json`` with the
Open311 key we gave it (:func:`receive`); it waits as a pending incoming
transfer. A dispatcher accepts it (:func:`accept`: it becomes our case through
the intake, channel ``open311``, with its photos) or refuses it with a reason
(:func:`refuse`); the neighbour reads the answer with :func:`answer_of`.
Decisions are audited. Only the key that sent a transfer reads its answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.db.models import EventCategory
from api.errors import APIError
from api.events.intake import create_event
from api.grids.lookup import GridLookup
from api.handover.models import IncomingTransfer
from api.media.store import PhotoRef
from api.open311.posting import NewRequest
from api.personal.cipher import PersonalCipher
from api.settings import Settings


def receive(session: Session, key_name: str, new: NewRequest, their_event_id: str,
            reason: str, photos: list[PhotoRef]) -> IncomingTransfer:
    """Store a case sent by the neighbour holding key ``key_name``; the caller commits.

    422 ``unknown_category`` for a category we do not have; a point is required
    (422 ``invalid_parameter``).
    """
    if new.lon is None or new.lat is None:
        raise APIError(422, "invalid_parameter", "fields 'lat' and 'long': a transferred case "
                       "needs its point")
    if session.execute(select(EventCategory.id).where(
            EventCategory.code == new.service_code)).first() is None:
        raise APIError(422, "unknown_category", f"field 'service_code': no category "
                       f"{new.service_code!r} here")
    refs = ([PhotoRef(url=new.media_url)] if new.media_url else []) + photos
    row = IncomingTransfer(from_key=key_name, their_event_id=their_event_id,
                           category_code=new.service_code,
                           geom=f"SRID=4326;POINT({new.lon!r} {new.lat!r})",
                           description=new.description, reason=reason,
                           photos=[vars(p) for p in refs], status="pending")
    session.add(row)
    session.flush()
    return row


def answer_of(session: Session, transfer_id: int, key_name: str) -> dict[str, Any]:
    """The state of transfer ``transfer_id`` for the neighbour that sent it (404 otherwise)."""
    row = session.get(IncomingTransfer, transfer_id)
    if row is None or row.from_key != key_name:
        raise APIError(404, "transfer_not_found", f"no transfer {transfer_id} of yours")
    return {"transfer_id": row.id, "status": row.status,
            "service_request_id": str(row.event_id) if row.event_id is not None else None,
            "refusal_reason": row.refusal_reason}


def list_incoming(session: Session, status: str, limit: int) -> list[dict[str, Any]]:
    """The incoming transfers in ``status``, oldest first, with their point."""
    rows = session.execute(text("""
        SELECT id, from_key, their_event_id, category_code, description, reason, status,
               event_id, refusal_reason, decided_by, created_at, decided_at,
               jsonb_array_length(photos) AS photos, ST_X(geom) AS lon, ST_Y(geom) AS lat
        FROM incoming_transfers WHERE status = :status ORDER BY id LIMIT :n"""),
        {"status": status, "n": limit}).mappings().all()
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
            for r in rows]


def _pending(session: Session, transfer_id: int) -> IncomingTransfer:
    row = session.get(IncomingTransfer, transfer_id, with_for_update=True)
    if row is None:
        raise APIError(404, "transfer_not_found", f"no incoming transfer {transfer_id}")
    if row.status != "pending":
        raise APIError(409, "transfer_decided", f"transfer {transfer_id} is already "
                       f"{row.status}")
    return row


def accept(session: Session, lookup: GridLookup, settings: Settings, cipher: PersonalCipher,
           transfer_id: int, by: Actor, now: datetime) -> dict[str, Any]:
    """Make a pending transfer our case (through the intake); audited; the caller commits."""
    row = _pending(session, transfer_id)
    lon, lat = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM incoming_transfers "
                                    "WHERE id = :id"), {"id": row.id}).one()
    event = create_event(session, lookup, category_code=row.category_code, lon=float(lon),
                         lat=float(lat), description=row.description, channel="open311",
                         photos=[PhotoRef(**p) for p in row.photos],
                         actor=f"transfer:{row.from_key}", settings=settings.events,
                         personal=cipher, now=now)
    event.attributes = {**(event.attributes or {}), "transfer": {
        "from": row.from_key, "their_event_id": row.their_event_id, "reason": row.reason}}
    row.status, row.event_id, row.decided_by, row.decided_at = ("accepted", event.id,
                                                                 by.name, now)
    record(session, actor=by, action="transfer.accept", object_type="incoming_transfer",
           object_id=row.id, after={"event_id": event.id})
    return {"transfer_id": row.id, "status": row.status, "event_id": event.id}


def refuse(session: Session, transfer_id: int, reason: str, by: Actor,
           now: datetime) -> dict[str, Any]:
    """Refuse a pending transfer with ``reason``; audited; the caller commits."""
    row = _pending(session, transfer_id)
    row.status, row.refusal_reason, row.decided_by, row.decided_at = ("refused", reason,
                                                                       by.name, now)
    record(session, actor=by, action="transfer.refuse", object_type="incoming_transfer",
           object_id=row.id, after={"reason": reason})
    return {"transfer_id": row.id, "status": row.status, "refusal_reason": reason}

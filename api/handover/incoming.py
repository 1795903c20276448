"""Cases a neighbouring gridgov transfers to us: pending until a dispatcher answers.

A neighbour sends a case to ``POST /open311/v2/gridgov/transfers.json`` with the
Open311 key we gave it (:func:`receive`); it waits as a pending incoming
transfer. A dispatcher accepts it (:func:`accept`: it becomes our case through
the intake, channel ``open311``, with its photos) or refuses it with a reason
(:func:`refuse`); the neighbour reads the answer with :func:`answer_of` (an
accepted one with our request id and its tracking ``token``: the resident's page
``/t/{token}`` here). Decisions are audited. Only the key that sent a transfer
reads its answer.

A transfer is placed as an event is (its grids, community and street, on
receipt), so a dispatcher lists, accepts and refuses only the transfers of their
scope (:meth:`api.auth.principal.Principal.event_sql`, in SQL: admins and
dispatchers without areas or grids see all); another's is 403 ``out_of_scope``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.principal import Principal
from api.db.models import Event, EventCategory
from api.errors import APIError
from api.events.intake import create_event
from api.events.places import grid_dicts
from api.events.routing import area_of
from api.grids.lookup import GridLookup
from api.handover.models import IncomingTransfer
from api.media.store import PhotoRef
from api.open311.posting import NewRequest
from api.personal.cipher import PersonalCipher
from api.settings import Settings


def receive(session: Session, lookup: GridLookup, key_name: str, new: NewRequest,
            their_event_id: str, reason: str, photos: list[PhotoRef],
            now: datetime) -> IncomingTransfer:
    """Store a case sent by the neighbour holding key ``key_name``, placed; the caller commits.

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
    grids = grid_dicts(lookup.assign(np.array([new.lon]), np.array([new.lat]), at=now))[0]
    community, street = area_of(session, grids)
    row = IncomingTransfer(from_key=key_name, their_event_id=their_event_id,
                           category_code=new.service_code,
                           geom=f"SRID=4326;POINT({new.lon!r} {new.lat!r})",
                           description=new.description, reason=reason,
                           photos=[vars(p) for p in refs], status="pending", grids=grids,
                           community_code=community, street_code=street)
    session.add(row)
    session.flush()
    return row


def answer_of(session: Session, transfer_id: int, key_name: str) -> dict[str, Any]:
    """The state of transfer ``transfer_id`` for the neighbour that sent it (404 otherwise)."""
    row = session.get(IncomingTransfer, transfer_id)
    if row is None or row.from_key != key_name:
        raise APIError(404, "transfer_not_found", f"no transfer {transfer_id} of yours")
    event = session.get(Event, row.event_id) if row.event_id is not None else None
    return {"transfer_id": row.id, "status": row.status,
            "service_request_id": str(event.id) if event is not None else None,
            "token": event.public_token if event is not None else None,
            "refusal_reason": row.refusal_reason}


def list_incoming(session: Session, principal: Principal, status: str, limit: int
                  ) -> list[dict[str, Any]]:
    """The incoming transfers of ``principal``'s scope in ``status``, oldest first."""
    scope, params = principal.event_sql("t")
    rows = session.execute(text(f"""
        SELECT id, from_key, their_event_id, category_code, description, reason, status,
               event_id, refusal_reason, decided_by, created_at, decided_at, community_code,
               street_code, jsonb_array_length(photos) AS photos, ST_X(geom) AS lon,
               ST_Y(geom) AS lat
        FROM incoming_transfers t WHERE status = :status AND {scope}
        ORDER BY id LIMIT :n"""),  # noqa: S608 - the scope's SQL is built from constants
        {**params, "status": status, "n": limit}).mappings().all()
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
            for r in rows]


def _pending(session: Session, principal: Principal, transfer_id: int) -> IncomingTransfer:
    row = session.get(IncomingTransfer, transfer_id, with_for_update=True)
    if row is None:
        raise APIError(404, "transfer_not_found", f"no incoming transfer {transfer_id}")
    scope, params = principal.event_sql("t")
    if not session.execute(text(f"SELECT {scope} FROM incoming_transfers t "  # noqa: S608
                                "WHERE t.id = :id"), {**params, "id": row.id}).scalar_one():
        raise APIError(403, "out_of_scope", f"transfer {transfer_id} is not in your scope")
    if row.status != "pending":
        raise APIError(409, "transfer_decided", f"transfer {transfer_id} is already "
                       f"{row.status}")
    return row


def accept(session: Session, lookup: GridLookup, settings: Settings, cipher: PersonalCipher,
           principal: Principal, transfer_id: int, by: Actor, now: datetime
           ) -> dict[str, Any]:
    """Make a pending transfer of ``principal``'s scope our case (through the intake); audited.

    The caller commits.
    """
    row = _pending(session, principal, transfer_id)
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


def refuse(session: Session, principal: Principal, transfer_id: int, reason: str, by: Actor,
           now: datetime) -> dict[str, Any]:
    """Refuse a pending transfer of ``principal``'s scope with ``reason``; audited; no commit."""
    row = _pending(session, principal, transfer_id)
    row.status, row.refusal_reason, row.decided_by, row.decided_at = ("refused", reason,
                                                                       by.name, now)
    record(session, actor=by, action="transfer.refuse", object_type="incoming_transfer",
           object_id=row.id, after={"reason": reason})
    return {"transfer_id": row.id, "status": row.status, "refusal_reason": reason}

"""Transferring a case to a neighbour by hand, and the neighbouring gridgov's answer.

:func:`transfer` (a dispatcher, in scope; audited) sends an open case to a
neighbour with its photos. A plain Open311 neighbour takes it at once: the case
is ``cancelled`` here (history ``transfer``, the neighbour's request id in the
note) and the reporter is told. A neighbour that is a gridgov
(``neighbours.gridgov``) receives it on its gridgov-to-gridgov endpoint
(``POST {endpoint}/gridgov/transfers.json``, ``api.handover.peer``) as a pending
incoming transfer; the hand-over is ``pending`` (``their_id`` holds the
transfer's id there) and the case stays ours, its ``attributes.transfer`` saying
so. :func:`poll_transfers` (part of every poll) asks for the answer
(``GET {endpoint}/gridgov/transfers/{id}.json``): accepted, the case is
cancelled here as for Open311 (history ``transfer_accepted``) and the reporter is
told; refused, the case is ours again (history ``transfer_refused`` with the
neighbour's reason, ``attributes.transfer.status`` ``refused``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.db.models import Event
from api.errors import APIError
from api.events.lifecycle import add_history
from api.events.models import EventPhoto
from api.handover.models import Handover, Neighbour
from api.handover.service import (
    KEY_COLUMN,
    Case,
    NeighbourFailed,
    case_form,
    get_json,
    post_form,
    post_request,
    record_handover,
    tell_reporter,
    tracking_link,
    unavailable,
)
from api.media.store import PhotoRef
from api.personal.cipher import PersonalCipher
from layers.vocabulary import OPEN_STATUSES

#: the status a case handed to a neighbour ends in here
GONE = "cancelled"


def _case_of(session: Session, event: Event) -> Case:
    lon, lat = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM events WHERE id = :id"),
                               {"id": event.id}).one()
    photos = session.execute(select(EventPhoto).where(EventPhoto.event_id == event.id)
                             .order_by(EventPhoto.id)).scalars()
    return Case(event.category.code, float(lon), float(lat), event.description,
                tuple(PhotoRef(url=p.url, path=p.path, content_type=p.content_type,
                               size=p.size) for p in photos))


def _neighbour(session: Session, code: str) -> Neighbour:
    found = session.get(Neighbour, code)
    if found is None:
        raise APIError(404, "neighbour_not_found", f"field 'neighbour': no neighbour {code!r}")
    return found


def _leave(session: Session, event: Event, action: str, actor: str, note: str,
           now: datetime) -> None:
    """The case is the neighbour's now: cancelled here, with the history saying where."""
    was, event.status = event.status, GONE
    add_history(session, event, action, was, GONE, actor, note, at=now)


def transfer(session: Session, cipher: PersonalCipher, event: Event, neighbour_code: str,
             reason: str, actor: Actor, now: datetime) -> dict[str, Any]:
    """Send open case ``event`` to neighbour ``neighbour_code``; audited; the caller commits.

    409 ``not_transferable`` unless the case is open and not already pending at a
    neighbour; 404 ``neighbour_not_found``; 502 ``neighbour_unavailable``.
    """
    pending = (event.attributes or {}).get("transfer", {}).get("status") == "pending"
    if event.status not in OPEN_STATUSES or pending:
        raise APIError(409, "not_transferable", f"event {event.id} is {event.status}"
                       f"{' and pending at a neighbour' if pending else ''}; only an open "
                       "case can be transferred")
    neighbour = _neighbour(session, neighbour_code)
    case = _case_of(session, event)
    url, files = case.media()
    form = {**case_form(cipher, neighbour, case), **url}
    if neighbour.gridgov:
        answer = post_form(neighbour, f"{neighbour.endpoint}/gridgov/transfers.json",
                           {**form, "reason": reason, "their_event_id": str(event.id)}, files)
        their_id, status = str(_field(neighbour, answer, "transfer_id")), "pending"
        link = None
    else:
        (their_id, link), status = post_request(neighbour, form, files), "open"
    row = record_handover(session, cipher, neighbour, case, their_id, status, event_id=event.id,
                          reason=reason, notify=status == "open", track_url=link)
    event.attributes = {**(event.attributes or {}), "transfer": {
        "neighbour": neighbour.code, "handover_id": row.id, "status": status}}
    note = f"to {neighbour.name}: {reason}"
    if status == "open":
        _leave(session, event, "transfer", actor.name, f"{note} (request {their_id})", now)
    else:
        add_history(session, event, "transfer", event.status, event.status, actor.name,
                    f"{note} (waiting for their answer)", at=now)
    record(session, actor=actor, action="event.transfer", object_type="event",
           object_id=event.id, after={"neighbour": neighbour.code, "reason": reason,
                                      "handover_id": row.id, "status": status})
    return {"event_id": event.id, "neighbour": neighbour.code, "handover_id": row.id,
            "status": status, "neighbour_id": their_id}


def _field(neighbour: Neighbour, answer: Any, name: str) -> Any:
    try:
        return answer[name]
    except (LookupError, TypeError):
        raise unavailable(neighbour, f"no {name} in its answer") from None


def _answer(cipher: PersonalCipher, neighbour: Neighbour, transfer_id: str,
            timeout: float) -> dict[str, Any]:
    answer = get_json(f"{neighbour.endpoint}/gridgov/transfers/{transfer_id}.json",
                      {"api_key": cipher.decrypt(neighbour.api_key, KEY_COLUMN) or ""},
                      timeout)
    try:
        return {"status": str(answer["status"]), "request_id": answer.get("service_request_id"),
                "reason": answer.get("refusal_reason"), "token": answer.get("token")}
    except (LookupError, TypeError, AttributeError):
        raise NeighbourFailed(f"its answer to transfer {transfer_id} has no status",
                              answered=True) from None


def poll_transfers(session: Session, cipher: PersonalCipher, neighbour: Neighbour,
                   rows: Sequence[Handover], now: datetime, timeout: float,
                   failures: list[str]) -> int:
    """Store ``neighbour``'s answers to its pending transfers ``rows``; how many came. No commit.

    A transfer it answers wrongly (unknown to it, an answer without a status) is
    left pending, its failure appended to ``failures``, and the next is asked.
    Raises :class:`NeighbourFailed` when it cannot be reached or fails itself.
    """
    answered = 0
    for row in (r for r in rows if r.their_status == "pending"):
        try:
            answer = _answer(cipher, neighbour, row.their_id, timeout)
        except NeighbourFailed as exc:
            if not exc.answered:
                raise
            failures.append(f"transfer {row.their_id}: {exc}")
            continue
        if answer["status"] not in ("accepted", "refused"):
            continue
        answered += 1
        row.polled_at = now
        event = session.get(Event, row.event_id) if row.event_id is not None else None
        if answer["status"] == "accepted":
            row.their_id, row.their_status = str(answer["request_id"]), "open"
            tell_reporter(session, neighbour, row, tracking_link(neighbour, answer["token"]))
        else:
            row.their_status, row.refusal_reason = "refused", str(answer["reason"] or "")
        if event is not None:
            _answered(session, event, neighbour, row, now)
    return answered


def _answered(session: Session, event: Event, neighbour: Neighbour, row: Handover,
              now: datetime) -> None:
    accepted = row.their_status != "refused"
    event.attributes = {**(event.attributes or {}), "transfer": {
        "neighbour": neighbour.code, "handover_id": row.id,
        "status": "accepted" if accepted else "refused",
        **({} if accepted else {"refusal_reason": row.refusal_reason})}}
    if accepted:
        _leave(session, event, "transfer_accepted", neighbour.code,
               f"{neighbour.name} took the case as request {row.their_id}", now)
    else:
        add_history(session, event, "transfer_refused", event.status, event.status,
                    neighbour.code, f"{neighbour.name} refused: {row.refusal_reason}", at=now)

"""The gridgov-to-gridgov endpoint beside Open311: cases transferred by a neighbouring gridgov.

``POST /open311/v2/gridgov/transfers.json``: the Open311 POST fields (with the
``api_key`` we gave the neighbour, photos as ``media`` parts) plus ``reason`` and
``their_event_id``; answers ``{"transfer_id", "status": "pending"}``.
``GET /open311/v2/gridgov/transfers/{id}.json?api_key=...``: its state
(``pending``, ``accepted`` with ``service_request_id`` and ``token``, the
tracking code of the resident's page ``/t/{token}`` here, ``refused`` with
``refusal_reason``). Errors are JSON ``{"code", "message"}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from api.auth.access import public
from api.deps import GridLookupDep, SessionDep, SettingsDep
from api.errors import APIError
from api.handover import incoming
from api.media import images
from api.media.store import remove_photos, save_photos
from api.open311 import posting
from api.open311.keys import check_key
from api.open311.router import form_fields, media_files
from api.open311.service import Open311Error
from api.routing import Router
from api.validation import DbInt

router = Router(prefix="/open311/v2/gridgov", tags=["hand-over"])


def _refused(exc: Open311Error) -> APIError:
    return APIError(422, "invalid_parameter", exc.description)


async def peer_fields(request: Request) -> dict[str, str]:
    """The Open311 POST fields, their problems as our JSON errors."""
    try:
        return await form_fields(request)
    except Open311Error as exc:
        raise _refused(exc) from None


def _key_name(session: SessionDep, key: str | None) -> str:
    row = check_key(session, (key or "").strip())
    if row is None:
        raise APIError(403, "invalid_api_key", "api_key: a valid Open311 key of ours is "
                       "required (unknown, revoked or missing)")
    return row.name


_BAD_KEY: dict[int | str, dict[str, Any]] = {
    403: {"description": "the api_key is not a valid Open311 key of ours"}}


@router.post("/transfers.json", status_code=201, responses={
    **_BAD_KEY, 422: {"description": "a required field is missing or not valid"}})
@public
def receive_transfer(session: SessionDep, settings: SettingsDep, lookup: GridLookupDep,
                     fields: Annotated[dict[str, str], Depends(peer_fields)],
                     media: Annotated[list[images.Photo], Depends(media_files)]
                     ) -> dict[str, Any]:
    """Receive a case a neighbouring gridgov transfers to us (with our Open311 key)."""
    key_name = _key_name(session, fields.get("api_key"))
    reason = (fields.get("reason") or "").strip()
    their_id = (fields.get("their_event_id") or "").strip()
    if not reason or not their_id:
        raise APIError(422, "invalid_parameter", "fields 'reason' and 'their_event_id' are "
                       "required")
    try:
        new = posting.parse_new_request(fields)
    except Open311Error as exc:
        raise _refused(exc) from None
    saved = save_photos(settings, media)
    try:
        row = incoming.receive(session, lookup, key_name, new, their_id, reason, saved,
                               datetime.now(UTC))
        session.commit()
    except BaseException:
        session.rollback()
        remove_photos(saved)
        raise
    return {"transfer_id": row.id, "status": row.status}


@router.get("/transfers/{transfer_id}.json", responses=_BAD_KEY)
@public
def transfer_answer(transfer_id: DbInt, session: SessionDep,
                    api_key: Annotated[str | None, Query(max_length=200)] = None
                    ) -> dict[str, Any]:
    """The answer to a case we were sent: pending, accepted (our request id) or refused."""
    return incoming.answer_of(session, transfer_id, _key_name(session, api_key))

"""A lifecycle action taken from the case page: note, department and photos together.

The body is JSON or multipart/form-data (fields ``action``, ``note``, ``department``,
``duplicate_of``; files ``photos``). The action (:func:`api.events.lifecycle.apply_action`)
and its photos are stored in one transaction, each photo tagged with the action
(``handle``: an after-photo); a refused action leaves no photo file behind. A
department returns a case with a reason (422 ``reason_required`` without a note).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.service import Actor
from api.auth.policy import check_action, event_scope
from api.auth.principal import Principal
from api.db.models import Department, Event
from api.errors import APIError
from api.events.lifecycle import apply_action
from api.events.models import EventPhoto
from api.events.router import _read_photos
from api.media import images, store
from api.media.store import PhotoRef
from api.settings import Settings
from api.validation import DbInt, Text


class CaseActionIn(BaseModel):
    """A lifecycle action with its note and parameters."""

    model_config = ConfigDict(extra="forbid")
    action: Text = Field(max_length=32)
    note: Text | None = Field(None, max_length=5000)
    department: Text | None = Field(None, max_length=32, description="department code")
    duplicate_of: DbInt | None = Field(None, description="the original case (mark_duplicate)")


#: actions that must say why (a department returning a case)
REASON_ACTIONS = frozenset({"return"})
_FIELDS = ("action", "note", "department", "duplicate_of")


async def read_action(request: Request, settings: Settings
                      ) -> tuple[CaseActionIn, list[images.Photo]]:
    """The action and the uploaded photos of a request; 422 naming the bad field."""
    uploads: list[images.Photo] = []
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        data: Any = {k: str(form[k]) for k in _FIELDS if form.get(k) not in (None, "")}
        uploads = await _read_photos(form, settings)
    else:
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise APIError(422, "invalid_parameter", "body: not valid JSON") from None
    if not isinstance(data, dict):
        raise APIError(422, "invalid_parameter", "body: a JSON object is required")
    try:
        return CaseActionIn.model_validate(data), uploads
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise APIError(422, "invalid_parameter", f"field '{where}': {first['msg']}") from None


def _department_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    found = session.execute(select(Department.id).where(Department.code == code)
                            ).scalar_one_or_none()
    if found is None:
        raise APIError(422, "unknown_department", f"field 'department': no department {code!r}")
    return int(found)


def take_action(session: Session, event_id: int, principal: Principal, actor: Actor,
                body: CaseActionIn, photos: list[PhotoRef], now: Any) -> None:
    """Check, apply and record the action with its photos (the caller commits)."""
    _, in_scope = event_scope(session, principal, event_id)
    check_action(principal, event_id, in_scope, body.action)
    if body.action in REASON_ACTIONS and not body.note:
        raise APIError(422, "reason_required", f"field 'note': {body.action!r} needs a reason")
    event = session.get(Event, event_id, with_for_update=True)
    assert event is not None  # noqa: S101
    apply_action(session, event, body.action, actor=principal.name, note=body.note, now=now,
                 audit_actor=actor, department_id=_department_id(session, body.department),
                 duplicate_of=body.duplicate_of)
    for ref in photos:
        session.add(EventPhoto(event_id=event_id, path=ref.path, content_type=ref.content_type,
                               size=ref.size, action=body.action))
    session.flush()


def save_photos(settings: Settings, uploads: list[images.Photo]) -> list[PhotoRef]:
    """Store the uploaded files where the reports' photos go."""
    return store.save_photos(settings, uploads)


def remove_photos(refs: list[PhotoRef]) -> None:
    """Delete the files of an action that was refused."""
    store.remove_photos(refs)

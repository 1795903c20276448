"""What a resident may see of a report, found by its public token.

The view is :func:`api.events.intake.event_detail` without staff names (the
history's actors and free-text notes are dropped), with the photos served by token,
and for a report merged as a duplicate the public token of the case it joined, so its
page can link there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Event
from api.errors import APIError
from api.events.detail import event_detail
from api.events.lifecycle import TRANSITIONS
from api.events.models import EventPhoto
from api.media.images import is_photo_url


def photo_url(token: str, photo_id: int) -> str:
    """The public address of a stored photo of the report with ``token``."""
    return f"/api/v1/track/{token}/photos/{photo_id}"


def tracking_view(session: Session, token: str) -> dict[str, Any] | None:
    """The report with public ``token`` as its resident may see it; None when unknown.

    Keys of :func:`event_detail`, with history actors and notes removed, ``photos`` as
    ``{"id", "url", "stored"}`` (stored photos at :func:`photo_url`, links as given),
    ``original_token`` (the case a duplicate joined, or None) and ``can_evaluate``.
    """
    detail = event_detail(session, token=token)
    if detail is None:
        return None
    for step in detail["history"]:  # who acted, and staff's free-text notes, stay inside
        step.pop("actor", None)
        step.pop("note", None)
    stored: dict[int, str | None] = dict(session.execute(
        select(EventPhoto.id, EventPhoto.path).where(EventPhoto.event_id == detail["id"])).all())
    detail["photos"] = [
        {"id": p["id"], "stored": bool(stored.get(p["id"])),
         "url": photo_url(token, p["id"]) if stored.get(p["id"]) else p["url"]}
        for p in detail["photos"] if stored.get(p["id"]) or is_photo_url(p["url"])]
    original = detail.get("duplicate_of")
    detail["original_token"] = (session.scalar(select(Event.public_token).where(
        Event.id == int(original))) if original is not None else None)
    detail["can_evaluate"] = "evaluate" in TRANSITIONS.get(detail["status"], {})
    return detail


def photo_file(session: Session, token: str, photo_id: int) -> Path:
    """The stored file of photo ``photo_id`` of the report with ``token``.

    Raises
    ------
    APIError
        404 ``photo_not_found`` when the report has no such stored photo.
    """
    row = session.execute(
        select(EventPhoto.path).join(Event, Event.id == EventPhoto.event_id)
        .where(Event.public_token == token, EventPhoto.id == photo_id)).first()
    if row is None or not row.path or not Path(row.path).is_file():
        raise APIError(404, "photo_not_found", "this report has no stored photo "
                       f"{photo_id}")
    return Path(row.path)

"""Routes of the resident's tracking page: the page and its photos, both by public token.

The evaluation form posts to ``POST /api/v1/track/{token}/evaluation`` (here too):
one evaluation per closed case, 409 otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.audit.deps import client_address
from api.audit.service import Actor
from api.auth.access import public
from api.db.models import Event
from api.deps import SessionDep, SettingsDep
from api.errors import APIError
from api.events.lifecycle import apply_action
from api.media import images
from api.routing import Router
from api.tracking.page import not_found_page, render_page
from api.tracking.service import photo_file, tracking_view
from api.validation import DbInt, Text

router = Router()


@router.get("/t/{token}", tags=["residents"], response_class=HTMLResponse, responses={
    404: {"description": "no report with this tracking code (a readable page)",
          "content": {"text/html": {"schema": {"type": "string"}}}}})
@public
def tracking_page(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The page a resident follows a report on: status, timeline, photos and evaluation."""
    view = tracking_view(session, token)
    if view is None:
        return HTMLResponse(not_found_page(token), status_code=404)
    page = render_page(view, token, ZoneInfo(settings.api.timezone))
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get("/api/v1/track/{token}/photos/{photo_id}", tags=["residents"],
            response_model=None, responses={
    404: {"description": "the report has no such stored photo"}})
@public
def tracking_photo(token: str, photo_id: DbInt, session: SessionDep) -> FileResponse:
    """A stored photo of a report, by the report's tracking code."""
    path = photo_file(session, token, photo_id)
    media_type, headers = images.served_headers(path, photo_id)
    return FileResponse(path, media_type=media_type, headers=headers)


class EvaluationIn(BaseModel):
    """A resident's evaluation of a closed event."""

    model_config = ConfigDict(extra="forbid")
    satisfaction: int = Field(ge=1, le=5)
    comment: Text | None = Field(None, max_length=2000)


@router.get("/api/v1/track/{token}", tags=["events"])
@public
def track_event(token: str, session: SessionDep) -> dict[str, Any]:
    """Follow a report by its public token (no login, no personal data, no staff names)."""
    detail = tracking_view(session, token)
    if detail is None:
        raise APIError(404, "event_not_found", "no event with this token")
    return detail


@router.post("/api/v1/track/{token}/evaluation", tags=["events"])
@public
def evaluate_event(token: str, body: EvaluationIn, session: SessionDep,
                   request: Request) -> dict[str, Any]:
    """Evaluate a closed event by its public token (satisfaction 1-5 and a comment)."""
    event = session.execute(select(Event).where(Event.public_token == token)
                            .with_for_update()).scalar_one_or_none()
    if event is None:
        raise APIError(404, "event_not_found", "no event with this token")
    apply_action(session, event, "evaluate", actor="resident", note=body.comment,
                 now=datetime.now(UTC), audit_actor=Actor("anonymous",
                                                          address=client_address(request)),
                 satisfaction=body.satisfaction, comment=body.comment)
    session.commit()
    return track_event(token, session)



"""Routes of the resident's tracking page: the page and its photos, both by public token.

The evaluation form posts to ``POST /api/v1/track/{token}/evaluation``
(:mod:`api.events.router`): one evaluation per closed case, 409 otherwise.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from api.auth.access import public
from api.deps import SessionDep, SettingsDep
from api.media import images
from api.tracking.page import not_found_page, render_page
from api.tracking.service import photo_file, tracking_view
from api.validation import DbInt

router = APIRouter(tags=["residents"])


@router.get("/t/{token}", response_class=HTMLResponse, responses={
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


@router.get("/api/v1/track/{token}/photos/{photo_id}", response_model=None, responses={
    404: {"description": "the report has no such stored photo"}})
@public
def tracking_photo(token: str, photo_id: DbInt, session: SessionDep) -> FileResponse:
    """A stored photo of a report, by the report's tracking code."""
    path = photo_file(session, token, photo_id)
    media_type, headers = images.served_headers(path, photo_id)
    return FileResponse(path, media_type=media_type, headers=headers)

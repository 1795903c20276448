"""Routes of the big screen: its page (a static shell, public) and its figures (staff, scoped).

The page holds no data and sends a signed-out browser to ``/sign-in``; it reads
``/api/v1/screen/summary`` and reads it again when the live updates of the workbench
(``/api/v1/workbench/live``) announce a new or changed case, and every minute.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import FileResponse

from api import STATIC_DIR
from api.auth.access import Staff, public
from api.deps import ReadSessionDep, SettingsDep
from api.routing import Router
from api.screen import service

router = Router(tags=["screen"])


@router.get("/screen", include_in_schema=False)
@public
def screen_page() -> FileResponse:
    """The leaders' big screen."""
    return FileResponse(STATIC_DIR / "screen.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


@router.get("/api/v1/screen/summary")
def screen_summary(
    session: ReadSessionDep,
    principal: Staff,
    settings: SettingsDep,
    rank_days: Annotated[int, Query(ge=1, le=366, description="days of the rankings")] = 30,
    top: Annotated[int, Query(ge=1, le=100, description="rows per ranking")] = 10,
) -> dict[str, Any]:
    """The big screen's figures: today's KPIs, top categories, rankings and today's events."""
    return service.summary(session, principal, now=datetime.now(UTC),
                           timezone=settings.api.timezone, rank_days=rank_days, top=top)

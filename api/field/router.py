"""Routes of the field app (grid workers) and of its supervision (admins, dispatchers).

Reports from the field go to ``POST /api/v1/events`` with channel ``patrol``
and an ``Idempotency-Key`` (the intake pipeline); everything else is here.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.auth.access import Staff, public, roles
from api.deps import PersonalDep, PublicBaseDep, SessionDep, SettingsDep, get_grid_lookup
from api.errors import APIError
from api.field import checkins, kpi, mytasks, supervision, tracks
from api.field.scope import SUPERVISOR_ROLES, day_bounds
from api.grids.lookup import GridLookup
from api.routing import Router
from api.validation import DbInt

router = Router(tags=["field"])
Lookup = Annotated[GridLookup, Depends(get_grid_lookup)]
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
Day = Annotated[date, Query(ge=FIRST_DAY, le=LAST_DAY,
                            description="the day, in the server's time zone (YYYY-MM-DD)")]


@router.get("/field", include_in_schema=False)
@public
def field_app() -> RedirectResponse:
    """The grid worker's phone app."""
    return RedirectResponse("/static/field/index.html", status_code=307)


@router.post("/api/v1/field/shifts", status_code=201, responses={
    409: {"description": "shift_taken: the id is another user's shift"}})
@roles("grid_worker")
def start_shift(body: tracks.ShiftIn, session: SessionDep, worker: Staff) -> dict[str, Any]:
    """Start a patrol shift with the id the phone made (sent again: the same shift)."""
    return tracks.shift_view(tracks.start_shift(session, worker, body))


@router.post("/api/v1/field/shifts/{shift_id}/stop", responses={
    404: {"description": "shift_not_found"}, 409: {"description": "shift_taken"}})
@roles("grid_worker")
def stop_shift(shift_id: uuid.UUID, body: tracks.ShiftStopIn, session: SessionDep,
               worker: Staff) -> dict[str, Any]:
    """End a patrol shift (an end sent again keeps the first)."""
    return tracks.shift_view(tracks.stop_shift(session, worker, shift_id, body))


@router.post("/api/v1/field/shifts/{shift_id}/points", responses={
    404: {"description": "shift_not_found"}, 413: {"description": "too_many_points"}})
@roles("grid_worker")
def upload_points(shift_id: uuid.UUID, body: tracks.PointsIn, session: SessionDep,
                  settings: SettingsDep, lookup: Lookup, cipher: PersonalDep,
                  worker: Staff) -> dict[str, Any]:
    """Upload track points of a shift; GPS noise is dropped and each point is stored once."""
    return tracks.add_points(session, cipher, lookup, settings.field, worker, shift_id, body)


@router.post("/api/v1/field/checkins", status_code=201, responses={
    200: {"description": "the same Idempotency-Key again: the check-in recorded first"},
    404: {"description": "building_not_found"},
    422: {"description": "not_a_building_plate, idempotency_key_required, invalid_position"}})
@roles("grid_worker")
def check_in(body: checkins.CheckinIn, response: Response, session: SessionDep,
             settings: SettingsDep, base: PublicBaseDep, worker: Staff,
             idempotency_key: Annotated[str | None, Header(max_length=128)] = None
             ) -> dict[str, Any]:
    """Check in at a building from its scanned plate; far from the building is flagged."""
    found, new = checkins.check_in(session, settings.field, worker, body, idempotency_key, base)
    if not new:
        response.status_code = 200
    return found


@router.get("/api/v1/field/tasks")
@roles("grid_worker")
def my_tasks(request: Request, session: SessionDep, worker: Staff,
             lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
             lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
             crs: Literal["WGS84", "GCJ02"] = "WGS84") -> dict[str, Any]:
    """My cases to handle or verify and my due visits, nearest first."""
    return mytasks.my_tasks(session, worker, lon, lat, crs,
                            tz=request.app.state.settings.api.timezone)


@router.get("/api/v1/field/tracks/{worker_id}")
@roles(*SUPERVISOR_ROLES)
def track_replay(worker_id: DbInt, day: Day, session: SessionDep, settings: SettingsDep,
                 cipher: PersonalDep, principal: Staff) -> dict[str, Any]:
    """A worker's track of one day (the points in grids of your scope); the read is audited."""
    return supervision.replay(session, cipher, principal, settings.field, settings.api.timezone,
                              worker_id, day)


@router.get("/api/v1/field/checkins/{worker_id}")
@roles(*SUPERVISOR_ROLES)
def day_checkins(worker_id: DbInt, day: Day, session: SessionDep, settings: SettingsDep,
                 principal: Staff) -> dict[str, Any]:
    """A worker's plate check-ins of one day (in grids of your scope); the read is audited."""
    return supervision.checkins_of_day(session, principal, settings.api.timezone, worker_id,
                                       day)


@router.get("/api/v1/field/idle/{worker_id}")
@roles(*SUPERVISOR_ROLES)
def idle_periods(worker_id: DbInt, day: Day, session: SessionDep, settings: SettingsDep,
                 cipher: PersonalDep, principal: Staff) -> list[dict[str, Any]]:
    """A worker's idle periods of one day (stays of 10 minutes or more within 30 m)."""
    return supervision.idle(session, cipher, principal, settings.field, settings.api.timezone,
                            worker_id, day)


@router.get("/api/v1/field/coverage")
@roles(*SUPERVISOR_ROLES)
def coverage(day: Day, session: SessionDep, settings: SettingsDep, cipher: PersonalDep,
             principal: Staff,
             worker_id: DbInt | None = None) -> list[dict[str, Any]]:
    """Patrol coverage per grid of a day: road length within 20 m of tracks, time, check-ins."""
    return supervision.coverage(session, cipher, principal, settings.field, settings.api.timezone,
                                day, worker_id)


@router.get("/api/v1/field/unpatrolled")
@roles(*SUPERVISOR_ROLES)
def unpatrolled(week_of: Day, session: SessionDep, settings: SettingsDep,
                principal: Staff) -> dict[str, Any]:
    """Grids of your scope nobody patrolled in the week (Monday to Sunday) holding the day."""
    return supervision.unpatrolled(session, principal, settings.field, settings.api.timezone,
                                   week_of)


@router.get("/api/v1/stats/workers")
@roles(*SUPERVISOR_ROLES)
def worker_kpis(session: SessionDep, settings: SettingsDep, cipher: PersonalDep,
                principal: Staff,
                start: Day, end: Annotated[date | None, Query(
                    ge=FIRST_DAY, le=LAST_DAY,
                    description="the last day included (default: start)")] = None
                ) -> list[dict[str, Any]]:
    """Per-worker KPIs of the days from start to end: cases, patrol hours and km, coverage."""
    first, _ = day_bounds(start, settings.api.timezone)
    _, last = day_bounds(end or start, settings.api.timezone)
    if last <= first:
        raise APIError(422, "invalid_period", "end must not be before start")
    return kpi.worker_kpis(session, cipher, principal, settings.field, first, last)

"""Routes of the leaders' reports: one report on demand, the archive; the schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from fastapi import Query, Response
from fastapi.responses import FileResponse

from api.audit.deps import AuditActor
from api.audit.service import record
from api.auth.access import Staff, roles
from api.deps import SessionDep, SettingsDep
from api.reports import scheduled, service
from api.reports.period import parse_period
from api.routing import Router

#: who reads reports: the command centre, analysts and leaders (within their scope)
READ_ROLES = ("admin", "dispatcher", "analyst", "leader")

Code = Annotated[str | None, Query(max_length=12, pattern=r"^\d+$")]


router = Router(prefix="/api/v1/reports", tags=["reports"])


@router.get("", response_class=Response,
            responses={200: {"content": {m: {} for m, _ in service.FORMATS.values()}}})
@roles(*READ_ROLES)
def get_report(session: SessionDep, settings: SettingsDep, principal: Staff, actor: AuditActor,
               district: Code = None, street: Code = None, community: Code = None,
               month: Annotated[str | None, Query(max_length=32, examples=["2026-11"])] = None,
               week: Annotated[str | None, Query(max_length=32, examples=["2026-W47"])] = None,
               format: Literal["pdf", "xlsx"] = "pdf") -> Response:
    """Download the weekly or monthly report of a district, street or community (audited)."""
    period = parse_period(month, week, settings.api.timezone)
    area = service.area_of(session, district, street, community)
    service.check_readable(principal, area)
    data = service.make_report(session, area, period, format, datetime.now(UTC))
    record(session, actor=actor, action="report.export", object_type="report",
           object_id=f"{area.code}/{period.label}",
           details={"level": area.level, "period": period.label, "format": format})
    session.commit()
    name = service.file_name(area, period, format)
    return Response(data, media_type=service.FORMATS[format][0],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/archive")
@roles(*READ_ROLES)
def list_archive(settings: SettingsDep, principal: Staff) -> list[dict[str, Any]]:
    """List the scheduled reports written for the areas of your scope, newest first."""
    return scheduled.archive(settings, principal)


@router.get("/archive/{name}", response_class=FileResponse)
@roles(*READ_ROLES)
def get_archived(name: Annotated[str, PathParam(max_length=64)], session: SessionDep,
                 settings: SettingsDep, principal: Staff, actor: AuditActor) -> FileResponse:
    """Download one scheduled report of the archive (audited)."""
    path = scheduled.archived_file(settings, principal, name)
    record(session, actor=actor, action="report.export", object_type="report",
           object_id=name, details={"archived": True})
    session.commit()
    return FileResponse(path, filename=path.name)

"""Admin routes of the catalogue (departments, categories, rules, tables); routing preview."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from fastapi import Response, UploadFile

from api.audit.deps import AuditActor
from api.auth.access import roles
from api.catalogue import service, tables
from api.catalogue.preview import preview
from api.catalogue.schemas import CategoryIn, CodePath, DepartmentIn, PreviewIn, RuleId, RuleIn
from api.deps import GridLookupDep, SessionDep
from api.routing import Router

router = Router(prefix="/api/v1", tags=["catalogue"])
IN_USE: dict[int | str, dict[str, Any]] = {
    409: {"description": "still in use (events or other objects refer to it)"}}
Kind = Annotated[Literal["departments", "categories", "rules", "users"], PathParam()]


@router.get("/departments")
@roles("admin")
def list_departments(session: SessionDep) -> list[dict[str, Any]]:
    """Every department (admins)."""
    return [service.department_json(d) for d in service.list_departments(session)]


@router.put("/departments/{code}")
@roles("admin")
def save_department(code: CodePath, body: DepartmentIn, session: SessionDep,
                    actor: AuditActor) -> dict[str, Any]:
    """Create a department or change its names (admins; audited)."""
    dep = service.save_department(session, code, name=body.name, name_en=body.name_en,
                                  by=actor)
    session.commit()
    return service.department_json(dep)


@router.delete("/departments/{code}", status_code=204, responses=IN_USE)
@roles("admin")
def remove_department(code: CodePath, session: SessionDep, actor: AuditActor) -> Response:
    """Remove a department nothing refers to (admins; audited)."""
    service.remove_department(session, code, by=actor)
    session.commit()
    return Response(status_code=204)


@router.put("/categories/{code}")
@roles("admin")
def save_category(code: CodePath, body: CategoryIn, session: SessionDep,
                  actor: AuditActor) -> dict[str, Any]:
    """Create an event category or change its fields (admins; audited)."""
    values = body.model_dump(exclude_none=True, exclude={"department"})
    cat = service.save_category(session, code, department=body.department, by=actor,
                                **values)
    session.commit()
    return service.category_json(cat, service.department_code_of(session, cat.department_id))


@router.delete("/categories/{code}", status_code=204, responses=IN_USE)
@roles("admin")
def remove_category(code: CodePath, session: SessionDep, actor: AuditActor) -> Response:
    """Remove an event category no event has (admins; audited)."""
    service.remove_category(session, code, by=actor)
    session.commit()
    return Response(status_code=204)


@router.get("/routing-rules")
@roles("admin")
def list_rules(session: SessionDep) -> list[dict[str, Any]]:
    """Every routing rule, grids first, then communities, then streets (admins)."""
    return [service.rule_json(r, d) for r, d in service.list_rules(session)]


@router.post("/routing-rules")
@roles("admin")
def save_rule(body: RuleIn, session: SessionDep, actor: AuditActor) -> dict[str, Any]:
    """Route a category in a grid, community or street to a department (admins; audited)."""
    found = service.save_rule(session, scope=body.scope, scope_code=body.scope_code,
                              category=body.category, department=body.department,
                              note=body.note, by=actor)
    session.commit()
    return service.rule_json(found, body.department)


@router.delete("/routing-rules/{rule_id}", status_code=204)
@roles("admin")
def remove_rule(rule_id: RuleId, session: SessionDep, actor: AuditActor) -> Response:
    """Remove a routing rule (admins; audited)."""
    service.remove_rule(session, rule_id, by=actor)
    session.commit()
    return Response(status_code=204)


@router.get("/catalogue/{kind}.{fmt}")
@roles("admin")
def export_table(kind: Kind, fmt: Annotated[Literal["csv", "xlsx"], PathParam()],
                 session: SessionDep) -> Response:
    """Departments, categories, routing rules or users as a CSV or XLSX table (admins)."""
    data = tables.to_bytes(tables.export_frame(session, kind), fmt, sheet=kind)
    return Response(data, media_type=tables.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{kind}.{fmt}"'})


@router.post("/catalogue/{kind}")
@roles("admin")
def import_table(kind: Kind, file: UploadFile, session: SessionDep,
                 actor: AuditActor) -> dict[str, Any]:
    """Create or change departments, categories, rules or users from a CSV/XLSX file.

    One row, one change (audited); a bad row refuses the whole file. New users'
    first API tokens are in ``tokens``, shown this once (admins).
    """
    frame = tables.read_frame(file.file.read(), file.filename or "")
    result = tables.import_frame(session, kind, frame, actor)
    session.commit()
    return result


@router.post("/routing/preview")
def routing_preview(body: PreviewIn, session: SessionDep,
                    lookup: GridLookupDep) -> dict[str, Any]:
    """Where a report would go: grids, community, street, department, rule, due times."""
    loc = body.location
    return preview(session, lookup, category=body.category,
                   x=loc.x if loc else None, y=loc.y if loc else None,
                   crs=loc.crs if loc else "EPSG:4326", building_code=body.building_code,
                   address=body.address, at=body.at)

"""Special populations and visits: tags, visit records, due lists, KPIs, finding -> case."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Header, Path, Query, Request, Response

from api.audit.deps import AuditActor
from api.auth.access import Staff, roles
from api.deps import PersonalDep, SessionDep, SettingsDep
from api.errors import APIError
from api.events.intake import create_event
from api.people import stats, tags, visits
from api.people.deps import Reader, StatsReader, Writer
from api.people.schemas import CaseIn, PersonTagIn, TagIn, VisitIn
from api.people.service import check_person
from api.routing import Router
from api.validation import DbInt

router = Router()

Status = Annotated[list[str] | None, Query(description="overdue, due, scheduled")]


def _today(settings: SettingsDep) -> date:
    return datetime.now(ZoneInfo(settings.api.timezone)).date()


@router.get("/special-tags")
def list_tags(session: SessionDep, principal: Staff) -> dict[str, Any]:
    """The special-population tags, their levels and visit cycles (days)."""
    return {"items": tags.list_tags(session)}


@router.put("/special-tags/{tag}")
@roles("admin")
def save_tag(tag: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,32}$")], body: TagIn,
             session: SessionDep, actor: AuditActor) -> dict[str, Any]:
    """Create or change a tag and the visit cycle of each level (admins)."""
    out = tags.save_tag(session, actor, tag, body.name, body.levels)
    session.commit()
    return out


@router.post("/persons/{person_id}/tags", status_code=201)
def tag_person(person_id: DbInt, body: PersonTagIn, session: SessionDep, principal: Writer,
               actor: AuditActor, settings: SettingsDep) -> dict[str, Any]:
    """Put a resident in a special population at a level (sets their visit cycle)."""
    check_person(session, principal, person_id)
    tags.tag_person(session, actor, person_id, body.tag, body.level,
                    body.since or _today(settings))
    held = tags.person_tags(session, person_id)
    session.commit()
    return {"person_id": person_id, "tags": held}


@router.delete("/persons/{person_id}/tags/{tag}")
def untag_person(person_id: DbInt, tag: str, session: SessionDep, principal: Writer,
                 actor: AuditActor, settings: SettingsDep) -> dict[str, Any]:
    """Take a resident out of a special population (from today; the history stays)."""
    check_person(session, principal, person_id)
    tags.untag_person(session, actor, person_id, tag, _today(settings))
    held = tags.person_tags(session, person_id)
    session.commit()
    return {"person_id": person_id, "tags": held}


@router.post("/persons/{person_id}/visits", status_code=201, responses={
    200: {"description": "the same Idempotency-Key again: the visit recorded first"},
    422: {"description": "visit_in_future, invalid_position, idempotency_key_reused"}})
def record_visit(person_id: DbInt, body: VisitIn, response: Response, session: SessionDep,
                 principal: Writer, actor: AuditActor,
                 idempotency_key: Annotated[str | None, Header(min_length=1,
                                                               max_length=128)] = None
                 ) -> dict[str, Any]:
    """Append a visit to a resident's archive (with the distance to their residence).

    Sent with an ``Idempotency-Key`` (the field app's outbox does), a visit sent again by
    the same worker is recorded once.
    """
    out, new = visits.record_visit(session, principal, actor, person_id, body.model_dump(),
                                   idempotency_key)
    session.commit()
    if not new:
        response.status_code = 200
    return out


@router.post("/visits/{visit_id}/case", status_code=201)
def visit_case(visit_id: DbInt, body: CaseIn, request: Request, session: SessionDep,
               principal: Writer, actor: AuditActor, personal: PersonalDep,
               settings: SettingsDep) -> dict[str, Any]:
    """Turn a visit's finding into a case (one case per visit; through intake)."""
    found = visits.visit_person(session, principal, visit_id)
    if found["event_id"] is not None:
        raise APIError(409, "case_exists", f"visit {visit_id} became case "
                       f"{found['event_id']} already", event_id=found["event_id"])
    if not found["findings"] and not body.description:
        raise APIError(422, "no_finding", "the visit recorded no finding: give "
                       "'description'", field="description")
    place = ({"building_code": found["building"]} if found["building"] else
             {"lon": found["lon"], "lat": found["lat"]})
    if place.get("building_code") is None and place.get("lon") is None:
        raise APIError(422, "no_place", "the person has no residence and the visit no "
                       "position: the case cannot be placed")
    event = create_event(session, request.app.state.gridgov.grid_lookup,
                         category_code=body.category,
                         description=body.description or found["findings"], channel="patrol",
                         actor=principal.name, idempotency_key=f"visit-case-{visit_id}",
                         settings=settings.events, personal=personal, **place)
    visits.link_case(session, actor, visit_id, int(found["person_id"]), int(event.id))
    session.commit()
    return {"visit_id": visit_id, "event_id": int(event.id), "status": event.status}


@router.get("/visits/due")
def due_visits(session: SessionDep, principal: Reader, settings: SettingsDep,
               grid: Annotated[str | None, Query(max_length=32)] = None, status: Status = None,
               horizon_days: Annotated[int, Query(ge=0, le=366)] = 7,
               limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict[str, Any]:
    """Residents of your scope (or one grid) whose visit is overdue or due soon."""
    wanted = tuple(status or ("overdue", "due"))
    bad = set(wanted) - set(visits.STATUSES)
    if bad:
        raise APIError(422, "invalid_parameter", f"parameter 'status': one of "
                       f"{', '.join(visits.STATUSES)}", field="status")
    today = _today(settings)
    items = visits.visit_tasks(session, principal, today=today, tz=settings.api.timezone,
                               horizon_days=horizon_days, grid=grid, statuses=wanted,
                               limit=limit)
    return {"today": today.isoformat(), "items": items, "count": len(items)}


@router.get("/stats")
def population_stats(session: SessionDep, principal: Staff,
                     by: Annotated[str, Query(pattern="^(grid|building)$")] = "grid",
                     layer: Annotated[str, Query(max_length=64)] = "basic") -> dict[str, Any]:
    """Residents, households, organisations and special populations per grid or building."""
    if principal.role == "handler":
        raise APIError(403, "forbidden", "role 'handler' may not read population statistics")
    return stats.population_counts(session, principal, by=by, layer=layer)


@router.get("/visits/kpi")
def visit_kpi(session: SessionDep, principal: StatsReader, settings: SettingsDep,
              start: date, end: date, by: Annotated[str, Query(pattern="^(grid|worker)$")]
              = "grid", layer: Annotated[str, Query(max_length=64)] = "basic"
              ) -> dict[str, Any]:
    """Visits due, done and overdue from start to before end, by grid or by grid worker."""
    rows = visits.visit_kpis(session, principal, by=by, start=start, end=end,
                             tz=settings.api.timezone, layer=layer)
    return {"by": by, "start": start.isoformat(), "end": end.isoformat(), "items": rows}

"""Routes of the staff workbench: the queue, live updates, the case page and its changes.

The pages (``/desk``, ``/desk/cases/{id}``, ``/desk/inbox``) are static shells on the
public surface: they hold no data and send a signed-out browser to ``/sign-in``; every
figure comes from the ``/api/v1/workbench`` routes, filtered by the caller's scope.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.deps import AuditActor
from api.auth.access import Staff, public
from api.auth.policy import check_event_scope
from api.auth.principal import Principal
from api.db.models import Department, Event
from api.deps import PersonalDep, SessionDep, get_state
from api.personal.service import add_reporter
from api.routing import Router
from api.validation import DbInt, Text
from api.workbench import actions, cases, queue
from api.workbench.live import LiveHub

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
#: seconds between keep-alive comments on a quiet live stream
KEEP_ALIVE_SECONDS = 15.0


router = Router(tags=["workbench"])


class NoteIn(BaseModel):
    """A note that comes with a change."""

    model_config = ConfigDict(extra="forbid")
    note: Text | None = Field(None, max_length=5000)


class SuperviseIn(NoteIn):
    """Mark a case supervised (督办) or lift the mark."""

    supervised: bool = True


class RouteIn(NoteIn):
    """Send a case to another department."""

    department: Text = Field(min_length=1, max_length=32, description="department code")


class CategoryIn(NoteIn):
    """Give a case another category."""

    category: Text = Field(min_length=1, max_length=16, description="minor category code")
    route: bool = Field(True, description="route it again by the routing rules")


# -- pages ------------------------------------------------------------------------------
def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


@router.get("/desk", include_in_schema=False)
@public
def desk_page() -> FileResponse:
    """The dispatcher's queue."""
    return _page("desk.html")


@router.get("/desk/cases/{event_id}", include_in_schema=False)
@public
def case_page(event_id: DbInt) -> FileResponse:
    """The case page."""
    return _page("desk-case.html")


@router.get("/desk/inbox", include_in_schema=False)
@public
def inbox_page() -> FileResponse:
    """The department handler's inbox."""
    return _page("desk-inbox.html")


# -- the queue --------------------------------------------------------------------------
def _statuses(value: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (value or "").split(",") if s.strip())


@router.get("/api/v1/workbench/queue")
def get_queue(
    session: SessionDep, principal: Staff,
    tab: Annotated[str, Query(description=", ".join(queue.TABS))] = "all",
    status: Annotated[str | None, Query(description="statuses separated by commas "
                                                    "(replaces 'open')")] = None,
    category: Annotated[str | None, Query(description="minor or major code")] = None,
    grid: Annotated[str | None, Query(description="grid code in any layer")] = None,
    community: Annotated[str | None, Query(max_length=12)] = None,
    street: Annotated[str | None, Query(max_length=12)] = None,
    department: Annotated[str | None, Query(max_length=32, description="code")] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    q: Annotated[str | None, Query(max_length=200, description="case number or words")] = None,
    sort: Annotated[str, Query(description="key, '-key' descending: " + ", ".join(queue.SORTS))]
    = "-reported_at",
    limit: Annotated[int, Query(ge=1, le=queue.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """The cases of your scope in one tab, filtered, sorted and paged, with every tab's count."""
    filters = queue.QueueFilter(status=_statuses(status), category=category, grid=grid,
                                community=community, street=street, department=department,
                                channel=channel, start=start, end=end, q=q)
    return queue.queue_page(session, principal, tab=tab, filters=filters, sort=sort,
                            limit=limit, offset=offset, now=datetime.now(UTC))


@router.get("/api/v1/workbench/departments")
def list_departments(session: SessionDep) -> list[dict[str, Any]]:
    """The departments a case can be dispatched to (code and names)."""
    rows = session.execute(select(Department.code, Department.name, Department.name_en)
                           .order_by(Department.code)).all()
    return [{"code": r.code, "name": r.name, "name_en": r.name_en} for r in rows]


# -- live updates -----------------------------------------------------------------------
def _sse(item: dict[str, Any]) -> str:
    if item.get("resync"):
        return "event: resync\ndata: {}\n\n"
    return f"event: case\nid: {item['id']}\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"


async def _stream(request: Request, principal: Principal, hub: LiveHub) -> AsyncIterator[str]:
    with hub.subscribe(principal) as live:
        yield "retry: 2000\nevent: ready\ndata: {}\n\n"
        while not await request.is_disconnected():
            try:
                item = await asyncio.wait_for(live.queue.get(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield _sse(item)


# kept out of the OpenAPI document: a stream that never ends is no operation for a
# schema-driven client (the README documents it)
@router.get("/api/v1/workbench/live", response_class=StreamingResponse,
            include_in_schema=False)
async def live_updates(request: Request, principal: Staff) -> StreamingResponse:
    """Server-sent events: every new or changed case of your scope as a queue row."""
    hub: LiveHub = get_state(request).live
    stream = _stream(request, principal, hub)
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# -- the case ---------------------------------------------------------------------------
def scoped_case(event_id: DbInt, session: SessionDep, principal: Staff) -> int:
    """The case id, after 404 (no such case) and 403 (outside your scope), before the body."""
    check_event_scope(session, principal, event_id)
    return event_id


ScopedCase = Annotated[int, Depends(scoped_case)]


def _locked(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id, with_for_update=True)
    assert event is not None  # scoped_case found it  # noqa: S101
    return event


def _view(session: Session, principal: Staff, event_id: int, actor: AuditActor,
          personal: PersonalDep) -> dict[str, Any]:
    view = cases.case_view(session, principal, event_id, datetime.now(UTC))
    add_reporter(session, personal, view, principal, event_id, actor)  # audited read
    session.commit()
    return view


@router.get("/api/v1/workbench/cases/{event_id}")
def get_case(event_id: ScopedCase, session: SessionDep, principal: Staff, actor: AuditActor,
             personal: PersonalDep) -> dict[str, Any]:
    """One case of your scope as the case page shows it (reporter read audited)."""
    return _view(session, principal, event_id, actor, personal)


@router.post("/api/v1/workbench/cases/{event_id}/actions", responses={
    409: {"description": "the action is not allowed in the case's status"}})
async def act_on_case(event_id: DbInt, request: Request, session: SessionDep, principal: Staff,
                      actor: AuditActor, personal: PersonalDep) -> dict[str, Any]:
    """Take a lifecycle action with a note, a department and photos (multipart or JSON)."""
    settings = request.app.state.settings
    body, uploads = await actions.read_action(request, settings)
    refs = await run_in_threadpool(actions.save_photos, settings, uploads) if uploads else []
    try:
        await run_in_threadpool(actions.take_action, session, event_id, principal, actor, body,
                                refs, datetime.now(UTC))
        view: dict[str, Any] = await run_in_threadpool(_view, session, principal, event_id,
                                                       actor, personal)
    except BaseException:
        session.rollback()
        actions.remove_photos(refs)  # a refused action leaves no file behind
        raise
    return view


_CLOSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "`case_closed`: the case is finished"}}


@router.post("/api/v1/workbench/cases/{event_id}/supervise", responses=_CLOSED)
def supervise_case(event_id: ScopedCase, body: SuperviseIn, session: SessionDep, principal: Staff,
                   actor: AuditActor, personal: PersonalDep) -> dict[str, Any]:
    """Mark a case supervised (督办), or lift the mark with supervised=false."""
    cases.supervise(session, principal, _locked(session, event_id),
                    supervised=body.supervised, note=body.note, actor=actor,
                    now=datetime.now(UTC))
    return _view(session, principal, event_id, actor, personal)


@router.post("/api/v1/workbench/cases/{event_id}/route", responses={
    409: {"description": "`reroute_not_allowed`: the department accepted the case already"}})
def reroute_case(event_id: ScopedCase, body: RouteIn, session: SessionDep, principal: Staff,
                 actor: AuditActor, personal: PersonalDep) -> dict[str, Any]:
    """Send a case not yet accepted to another department."""
    cases.reroute(session, principal, _locked(session, event_id),
                  department=body.department, note=body.note, actor=actor,
                  now=datetime.now(UTC))
    return _view(session, principal, event_id, actor, personal)


@router.post("/api/v1/workbench/cases/{event_id}/category", responses=_CLOSED)
def recategorise_case(event_id: ScopedCase, body: CategoryIn, session: SessionDep,
                      principal: Staff, actor: AuditActor, personal: PersonalDep
                      ) -> dict[str, Any]:
    """Give a case another category (and, by default, its department by the routing rules)."""
    cases.recategorise(session, principal, _locked(session, event_id),
                       category=body.category, route=body.route, note=body.note, actor=actor,
                       now=datetime.now(UTC))
    return _view(session, principal, event_id, actor, personal)

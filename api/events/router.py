"""Events: intake, the lifecycle actions, reading, tracking and evaluation by residents."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile

from api.audit.deps import AuditActor, client_address
from api.auth.access import MaybePrincipal, Staff, public, request_session
from api.auth.policy import check_action, check_channel, check_event_scope, event_scope
from api.auth.principal import Principal
from api.db.models import Department, Event
from api.deps import IntakeWriterDep, PersonalDep, SessionDep
from api.errors import APIError
from api.events.detail import event_detail
from api.events.intake import Intake, Report
from api.events.lifecycle import EVENT_ACTIONS_DOC, apply_action
from api.events.listing import event_filters, event_page
from api.events.models import EventPhoto
from api.events.places import MAX_ADDRESS
from api.events.writer import IntakeWriter
from api.geojson import BBoxQuery, LimitQuery, OffsetQuery, feature_collection
from api.handover.service import forward_outside
from api.media import images
from api.media.store import PhotoRef, remove_photos, save_photos
from api.personal.cipher import PersonalCipher
from api.personal.service import add_reporter
from api.routing import Router
from api.security.limits import check_json_depth
from api.settings import Settings
from api.validation import DbInt, Text
from gis_core.errors import OutsideJurisdiction

logger = logging.getLogger("gridgov.events")

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class LocationIn(BaseModel):
    """A point in any CRS the grid engine accepts (EPSG codes, ``GCJ02``, ``BD09``)."""

    model_config = ConfigDict(extra="forbid")
    x: FiniteFloat = Field(description="easting or longitude")
    y: FiniteFloat = Field(description="northing or latitude")
    crs: Text = Field("EPSG:4326", max_length=64, examples=["EPSG:4326", "GCJ02", "EPSG:4547"])


class ReporterIn(BaseModel):
    """The reporter's contact (personal data: never shown publicly)."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(None, max_length=200)
    phone: Text | None = Field(None, max_length=50)
    email: Text | None = Field(None, max_length=200)


class EventIn(BaseModel):
    """A report: category, description, one location form, channel, contact, photo URLs."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    category: Text = Field(min_length=1, max_length=16,
                          validation_alias=AliasChoices("category", "category_code"),
                          description="minor category code, e.g. 0101")
    description: Text | None = Field(None, max_length=5000)
    location: LocationIn | None = None
    building_code: Text | None = Field(None, max_length=32)
    address: Text | None = Field(None, max_length=MAX_ADDRESS)
    channel: Literal["app", "qr", "hotline", "patrol", "camera", "open311"] = "app"
    reporter: ReporterIn | None = None
    photos: list[Text] = Field(default_factory=list, max_length=10,
                              description="photo URLs (or upload files as multipart)")


class ActionIn(BaseModel):
    """A lifecycle action with its note and parameters."""

    model_config = ConfigDict(extra="forbid")
    action: Text = Field(description="dispatch, accept, return, handle, verify, reopen, "
                                     "close, evaluate, reject, cancel, mark_duplicate, escalate")
    note: Text | None = Field(None, max_length=5000)
    department: Text | None = Field(None, description="department code (dispatch)")
    duplicate_of: DbInt | None = Field(None, description="the original event (mark_duplicate)")
    satisfaction: int | None = Field(None, ge=1, le=5, description="1-5 (evaluate)")
    comment: Text | None = Field(None, max_length=2000)


router = Router(prefix="/api/v1", tags=["events"])

_INTAKE_DOC = {
    "requestBody": {"content": {
        "application/json": {"schema": EventIn.model_json_schema(
            ref_template="#/components/schemas/{model}")},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "event": {"type": "string", "description": "the JSON report (as above)"},
            "photos": {"type": "array", "items": {"type": "string", "format": "binary"}},
        }}},
    }, "required": True},
}


# -- intake ----------------------------------------------------------------------------
def _validation(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])


def _form_payload(form: Any, max_depth: int) -> dict[str, Any]:
    if "event" in form:
        check_json_depth(str(form["event"]), max_depth, "body field 'event'")
        try:
            data: dict[str, Any] = json.loads(str(form["event"]))
        except json.JSONDecodeError:
            raise APIError(422, "invalid_parameter",
                           "body field 'event': not valid JSON") from None
        return data
    data = {k: form[k] for k in ("category", "description", "building_code", "address",
                                 "channel") if form.get(k) not in (None, "")}
    if form.get("x") not in (None, "") and form.get("y") not in (None, ""):
        data["location"] = {"x": form["x"], "y": form["y"], "crs": form.get("crs") or
                            "EPSG:4326"}
    contact = {k: form[f"reporter_{k}"] for k in ("name", "phone", "email")
               if form.get(f"reporter_{k}")}
    if contact:
        data["reporter"] = contact
    return data


async def _read_photos(form: Any, settings: Settings) -> list[images.Photo]:
    files = [item for item in form.getlist("photos") if isinstance(item, UploadFile)]
    images.check_photo_count(len(files), settings.events.max_photos)
    limits = settings.events
    return [images.check_photo(await item.read(limits.max_photo_bytes + 1),
                               max_bytes=limits.max_photo_bytes,
                               max_pixels=limits.max_photo_pixels) for item in files]


async def _read_request(request: Request, settings: Settings
                        ) -> tuple[EventIn, list[images.Photo]]:
    ctype = request.headers.get("content-type", "")
    uploads: list[images.Photo] = []
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        data = _form_payload(form, settings.api.max_json_depth)
        uploads = await _read_photos(form, settings)
    else:
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise APIError(422, "invalid_parameter", "body: not valid JSON") from None
    if not isinstance(data, dict):
        raise APIError(422, "invalid_parameter", "body: a JSON object is required")
    try:
        payload = EventIn.model_validate(data)
    except ValidationError as exc:
        raise _validation(exc) from None
    images.check_photo_urls(payload.photos)
    images.check_photo_count(len(payload.photos) + len(uploads), settings.events.max_photos)
    return payload, uploads


def request_digest(payload: EventIn, uploads: list[images.Photo]) -> str:
    """SHA-256 of the canonical report: equal reports agree however their JSON is spelled.

    It covers the validated fields (defaults filled in, keys sorted) and the type
    and bytes of each uploaded photo.
    """
    canonical = json.dumps(payload.model_dump(mode="json"), sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode())
    for photo in uploads:
        digest.update(f"\n{photo.kind}\n".encode() + hashlib.sha256(photo.content).digest())
    return digest.hexdigest()


_INTAKE_TEXT = """Report an event: JSON, or multipart/form-data with an `event` JSON part (or flat
fields `category`, `x`, `y`, `crs`, `building_code`, `address`, `channel`,
`reporter_name`/`reporter_phone`/`reporter_email`) and `photos` files.

- Location: `building_code`, `location {x, y, crs}` (`EPSG:<code>` of a geographic or
  projected CRS, `CGCS2000`, `WGS84`, `GCJ02`, `BD09`), or `address` (at most 200
  characters; normalised exact match, otherwise 422 `address_not_found` with
  suggestions). An address given with a location is stored but does not locate.
- Text with NUL characters or lone surrogates: 422 `invalid_text` naming the field.
- Channels `app` and `qr` are open to residents; `hotline`, `camera`, `open311` need an
  admin or dispatcher token, `patrol` a grid worker's (or admin/dispatcher) token.
- In one transaction: grids in every layer, building, community and street, department by
  the routing rules (else the category's), due time, history. With a department the event
  is dispatched automatically (history `register` then `dispatch` by `system`).
- Same category within 50 m and 24 h of an open event: stored as `duplicate` of it
  (`duplicate: true`, `duplicate_of`), not dispatched.
- `Idempotency-Key`: a retry (the same report) returns the original 201 body; no second
  event. The key reused with another report: 422 `idempotency_key_reused`.
- Photos: at most `GRIDGOV_EVENTS_MAX_PHOTOS` (default 6) files and http(s) URLs together
  (422 `too_many_photos`, 422 `invalid_photo_url`); files JPEG, PNG or WebP recognised
  from their bytes (else 415 `unsupported_media_type`), each at most 10 MB (413
  `too_large`) and 40 megapixels by its header (413 `image_too_large`). A refused report
  leaves no file behind. URL photos are listed in the event as links.
- Outside the jurisdiction: 422 `outside_jurisdiction`, nothing stored; inside a configured
  neighbour's territory: forwarded there (202 with `neighbour_request_id` and, from a
  gridgov, `neighbour_tracking_url`; `api.handover`).
- The response carries the `public_token` for tracking (`GET /api/v1/track/{token}`) and
  evaluation; it is shown only here.
"""


@router.post("/events", status_code=201, openapi_extra=_INTAKE_DOC, description=_INTAKE_TEXT,
             responses={201: {"description": "the registered event"},
                        401: {"description": "the channel needs a staff token, or the "
                                             "credentials sent are not valid"},
                        403: {"description": "your role may not report on this channel"},
                        422: {"description": "invalid report, unknown category, address "
                                             "not found or outside the jurisdiction"}})
@public
async def report_event(
    request: Request,
    writer: IntakeWriterDep,
    principal: MaybePrincipal,
    cipher: PersonalDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Report an event (JSON or multipart with photos); an Idempotency-Key makes retries safe."""
    settings: Settings = request.app.state.settings
    payload, uploads = await _read_request(request, settings)
    check_channel(principal.role if principal else None, payload.channel)  # before saving
    saved = await run_in_threadpool(save_photos, settings, uploads) if uploads else []
    photos = [PhotoRef(url=u) for u in payload.photos] + saved
    try:
        digest = request_digest(payload, uploads) if idempotency_key else None
        intake = await _submit(writer, payload, photos, idempotency_key, principal, digest,
                               client_address(request))
    except OutsideJurisdiction as outside:  # a neighbour's side: forwarded there (202)
        try:
            forwarded = await run_in_threadpool(_forward, request, cipher, outside, payload,
                                                photos)
        finally:
            remove_photos(saved)  # sent with the report; not ours to keep
        return Response(json.dumps(forwarded), status_code=202, media_type="application/json")
    except BaseException:
        remove_photos(saved)  # a refused report leaves no file behind
        raise
    if intake.replayed:  # a retry: the first request's photos are the event's
        remove_photos(saved)
    return Response(intake.body, status_code=201, media_type="application/json")


def _forward(request: Request, cipher: PersonalCipher, outside: OutsideJurisdiction,
             payload: EventIn, photos: list[PhotoRef]) -> dict[str, Any]:
    """Hand a report outside our territory to the neighbour holding it (a session only then)."""
    reporter = payload.reporter.model_dump() if payload.reporter else None
    with request_session(request) as session:
        return forward_outside(session, cipher, outside, payload.category, payload.description,
                               photos, reporter)


async def _submit(writer: IntakeWriter, payload: EventIn, photos: list[PhotoRef],
                  idempotency_key: str | None, principal: Principal | None,
                  request_hash: str | None, address: str | None) -> Intake:
    loc = payload.location
    return await writer.submit(Report(
        category_code=payload.category, x=loc.x if loc else None, y=loc.y if loc else None,
        crs=loc.crs if loc else "EPSG:4326", building_code=payload.building_code,
        address=payload.address, description=payload.description, channel=payload.channel,
        reporter=payload.reporter.model_dump() if payload.reporter else None,
        photos=tuple(photos), idempotency_key=idempotency_key,
        actor=principal.name if principal else None, authenticated=True,
        request_hash=request_hash, client_address=address))


# -- reading ---------------------------------------------------------------------------
@router.get("/events")
def list_events(
    request: Request,
    session: SessionDep,
    principal: Staff,
    status: Annotated[str | None, Query(description="status, or several separated by commas")]
    = None,
    category: Annotated[str | None, Query(description="minor or major category code")] = None,
    grid: Annotated[str | None, Query(description="grid code in any layer")] = None,
    bbox: BBoxQuery = None,
    start: Annotated[datetime | None, Query(alias="from", description="reported at or after")]
    = None,
    end: Annotated[datetime | None, Query(alias="to", description="reported before")] = None,
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    """List the events in your scope as GeoJSON (no personal data), filtered and paginated."""
    where, params = event_filters(status, category, grid, bbox, start, end)
    features, total = event_page(session.connection(), principal, where, params, limit=limit,
                                 offset=offset)
    return feature_collection(features, total=total, limit=limit, offset=offset,
                              request=request)


@router.get("/events/{event_id}")
def get_event(event_id: DbInt, session: SessionDep, principal: Staff, actor: AuditActor,
              personal: PersonalDep) -> dict[str, Any]:
    """Get one event of your scope with its history (masked reporter for roles that need it)."""
    check_event_scope(session, principal, event_id)
    detail = event_detail(session, event_id=event_id)
    assert detail is not None  # noqa: S101 - an invariant, for the type checker
    add_reporter(session, personal, detail, principal, event_id, actor)  # audited read
    session.commit()
    return detail


@router.post("/events/{event_id}/actions", description=EVENT_ACTIONS_DOC, responses={
    409: {"description": "the action is not allowed in the event's current status"}})
def act_on_event(event_id: DbInt, body: ActionIn, session: SessionDep, principal: Staff,
                 actor: AuditActor, personal: PersonalDep) -> dict[str, Any]:
    """Take a lifecycle action on an event (dispatch, accept, handle, verify, close ...)."""
    _, in_scope = event_scope(session, principal, event_id)
    check_action(principal, event_id, in_scope, body.action)
    event = session.get(Event, event_id, with_for_update=True)
    assert event is not None  # noqa: S101 - an invariant, for the type checker
    args: dict[str, Any] = {"duplicate_of": body.duplicate_of,
                            "satisfaction": body.satisfaction, "comment": body.comment}
    if body.department:
        dep = session.execute(select(Department.id).where(
            Department.code == body.department)).scalar_one_or_none()
        if dep is None:
            raise APIError(422, "unknown_department",
                           f"field 'department': no department {body.department!r}")
        args["department_id"] = dep
    apply_action(session, event, body.action, actor=principal.name, note=body.note,
                 now=datetime.now(UTC), audit_actor=actor, **args)
    detail = event_detail(session, event_id=event_id)
    assert detail is not None  # noqa: S101 - an invariant, for the type checker
    add_reporter(session, personal, detail, principal, event_id, actor)
    session.commit()
    return detail


@router.get("/events/{event_id}/photos/{photo_id}", response_model=None,
            responses={404: {"description": "no such photo, or the photo is a link (its URL "
                                            "is listed in the event)"}})
def get_photo(event_id: DbInt, photo_id: DbInt, session: SessionDep, principal: Staff
              ) -> FileResponse:
    """Get one stored photo of an event of your scope (a photo given as a URL is a link)."""
    check_event_scope(session, principal, event_id)
    photo = session.get(EventPhoto, photo_id)
    if photo is None or photo.event_id != event_id:
        raise APIError(404, "photo_not_found", f"event {event_id} has no photo {photo_id}")
    if not photo.path:
        link: dict[str, Any] = {"url": photo.url} if images.is_photo_url(photo.url) else {}
        raise APIError(404, "photo_is_link", f"photo {photo_id} of event {event_id} is a link, "
                       "not a stored file; its URL is listed in the event", **link)
    path = Path(photo.path)
    if not path.is_file():
        raise APIError(404, "photo_not_found", "the photo file is missing")
    media_type, headers = images.served_headers(path, photo_id)
    return FileResponse(path, media_type=media_type, headers=headers)


__all__ = ["router"]

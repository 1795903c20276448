"""Open311 GeoReport v2 at ``/open311/v2``: discovery, services and service requests.

Every resource answers as ``.json`` or ``.xml``; errors are the spec's array of
``{code, description}`` (``<errors><error>`` in XML) with the HTTP status in
``code``. POST needs an ``api_key`` (``gridgov apikey create --name NAME``).
See :mod:`api.open311.service` for how our lifecycle maps to open/closed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from api.auth.access import public
from api.deps import GridLookupDep, PersonalDep, PublicBaseDep, SessionDep, SettingsDep
from api.errors import status_of
from api.events.intake import create_event
from api.grids.lookup import GridLookup
from api.media import images
from api.media.store import PhotoRef, remove_photos, save_photos
from api.open311 import posting, xml
from api.open311 import service as o311
from api.open311.keys import check_key
from api.openapi import ErrorFormat
from api.personal.cipher import PersonalCipher
from api.routing import Router
from api.settings import Settings
from gis_core.errors import GisError

# Items of each list response, as the spec names them in XML.
XML_NAMES = {"services": ("services", "service"), "requests": ("service_requests", "request"),
             "errors": ("errors", "error")}


def _fmt_of(request: Request) -> str:
    return "xml" if request.url.path.endswith(".xml") else "json"


def render(data: Any, fmt: str, kind: str, status: int = 200) -> Response:
    """Answer ``data`` as JSON or as XML with the spec's element names for ``kind``."""
    if fmt == "json":
        return JSONResponse(data, status_code=status, media_type=o311.MEDIA_TYPES["json"])
    root, item = XML_NAMES.get(kind, (kind, None))
    return Response(xml.to_xml(root, data, item), status_code=status,
                    media_type=o311.MEDIA_TYPES["xml"])


def error_response(exc: o311.Open311Error, fmt: str) -> Response:
    """The spec's error array in ``fmt``."""
    return render(exc.body(), fmt, "errors", exc.status)


def _describe(exc: GisError) -> str:
    text = f"{exc.code}: {exc.message}"
    suggestions = (exc.details or {}).get("suggestions")
    if isinstance(suggestions, list | tuple) and suggestions:
        text += "; did you mean: " + " | ".join(str(s) for s in suggestions)
    return text


#: the spec's error array, in JSON or XML (documented on every route by api.openapi)
ERRORS_SCHEMA = {"type": "array", "items": {
    "type": "object", "required": ["code", "description"], "additionalProperties": False,
    "properties": {"code": {"type": "integer", "description": "the HTTP status"},
                   "description": {"type": "string"}}}}
ERROR_FORMAT = ErrorFormat(content={o311.MEDIA_TYPES["json"]: {"schema": ERRORS_SCHEMA},
                                    o311.MEDIA_TYPES["xml"]: {"schema": {"type": "string"}}},
                           invalid_input=400)
#: a success in the format the path's extension names
FORMATS_DOC: dict[int | str, dict[str, Any]] = {200: {"content": {o311.MEDIA_TYPES["json"]: {},
                                 o311.MEDIA_TYPES["xml"]: {"schema": {"type": "string"}}}}}


def _status(exc: GisError) -> int:
    """Our status for ``exc``, but 400 where we would say 422 (the spec's bad request)."""
    status = status_of(exc)
    return 400 if status == 422 else status


class Open311Route(APIRoute):
    """A route whose errors (ours, domain and validation) use the Open311 error format."""

    error_format = ERROR_FORMAT

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler so that errors are answered in the request's format."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except o311.Open311Error as exc:
                return error_response(exc, _fmt_of(request))
            except RequestValidationError as exc:
                text = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: "
                                 f"{e.get('msg')}" for e in exc.errors())
                return error_response(o311.Open311Error(400, text), _fmt_of(request))
            except GisError as exc:
                response = error_response(o311.Open311Error(_status(exc), _describe(exc)),
                                          _fmt_of(request))
                response.headers.update(getattr(exc, "headers", None) or {})
                return response

        return handle


router = Router(prefix="/open311/v2", tags=["open311"], route_class=Open311Route,
                   responses=FORMATS_DOC)


async def response_format(fmt: str) -> str:
    """The response format named by the path's extension: json or xml."""
    if fmt not in o311.FORMATS:
        raise o311.Open311Error(404, f"format must be json or xml, got {fmt!r}")
    return fmt


async def jurisdiction(settings: SettingsDep, jurisdiction_id: str | None = None) -> None:
    """Accept requests without ``jurisdiction_id`` or with ours."""
    if jurisdiction_id and jurisdiction_id != settings.open311.jurisdiction_id:
        raise o311.Open311Error(404, f"jurisdiction_id {jurisdiction_id!r} not found; this "
                                     f"endpoint serves {settings.open311.jurisdiction_id!r}")


Format = Annotated[str, Depends(response_format)]
Jurisdiction = Depends(jurisdiction)


@router.get("/discovery.{fmt}")
@public
def get_discovery(fmt: Format, settings: SettingsDep, base: PublicBaseDep) -> Response:
    """Where this GeoReport v2 endpoint is and which formats it speaks."""
    s = settings.open311
    data = o311.discovery(base, s.changeset, s.contact, s.key_service)
    return render(data, fmt, "discovery")


@router.get("/services.{fmt}", dependencies=[Jurisdiction])
@public
def get_services(fmt: Format, session: SessionDep) -> Response:
    """List the services (our event categories), grouped by major category."""
    return render(o311.services(session), fmt, "services")


@router.get("/services/{service_code}.{fmt}", dependencies=[Jurisdiction])
@public
def get_service_definition(service_code: str, fmt: Format, session: SessionDep) -> Response:
    """Describe one service's extra attributes (ours take none)."""
    return render(o311.service_definition(session, service_code), fmt, "service_definition")


STATUS_MAPPING = (
    "Status mapping: `closed` = " + ", ".join(sorted(o311.CLOSED_STATUSES))
    + "; `open` = " + ", ".join(sorted(o311.OPEN_STATUSES))
    + ". `status_notes` is the latest history note, `agency_responsible` the department, "
    "`expected_datetime` the due time; datetimes carry the configured time zone's offset. "
    "Defaults: the last 90 days, at most 1000 requests, most recent first. "
    "Reporter name, phone and e-mail are never returned."
)


@router.get("/requests.{fmt}", dependencies=[Jurisdiction], description=STATUS_MAPPING)
@public
def get_requests(fmt: Format, session: SessionDep, settings: SettingsDep, base: PublicBaseDep,
                 service_request_id: str | None = None, service_code: str | None = None,
                 start_date: str | None = None, end_date: str | None = None,
                 status: str | None = None) -> Response:
    """Search service requests: by id, service, date window (default 90 days) and status."""
    tz = o311.zone(settings.api.timezone)
    query = o311.parse_request_query(
        {"service_request_id": service_request_id, "service_code": service_code,
         "start_date": start_date, "end_date": end_date, "status": status},
        now=datetime.now(tz), tz=tz, window_days=settings.open311.window_days,
        max_requests=settings.open311.max_requests)
    found = o311.find_requests(session, query, tz, base,
                               settings.open311.public_details)
    return render(found, fmt, "requests")


@router.get("/requests/{service_request_id}.{fmt}", dependencies=[Jurisdiction])
@public
def get_request(service_request_id: str, fmt: Format, session: SessionDep,
                settings: SettingsDep, base: PublicBaseDep) -> Response:
    """One service request's current status."""
    tz = o311.zone(settings.api.timezone)
    found = o311.get_request(session, service_request_id, tz, base,
                             settings.open311.public_details)
    return render(found, fmt, "requests")


@router.get("/tokens/{token}.{fmt}", dependencies=[Jurisdiction])
@public
def get_token(token: str, fmt: Format, session: SessionDep) -> Response:
    """The service request id behind a token returned by POST."""
    return render(o311.token_lookup(session, token), fmt, "requests")


async def form_fields(request: Request) -> dict[str, str]:
    """The POST fields: query string first, then the form body (url-encoded or multipart)."""
    fields = dict(request.query_params)
    form = await request.form()
    fields.update({k: v for k, v in form.multi_items() if isinstance(v, str)})
    posting.check_fields(fields)
    return fields


async def media_files(request: Request, settings: SettingsDep) -> list[images.Photo]:
    """The photo files of a multipart POST (``media`` parts; a gridgov neighbour sends them).

    Checked as a report's photos (type, size, count: ``GRIDGOV_EVENTS_*``).
    """
    form = await request.form()
    files = [item for item in form.getlist("media") if isinstance(item, UploadFile)]
    limits = settings.events
    images.check_photo_count(len(files), limits.max_photos)
    return [images.check_photo(await item.read(limits.max_photo_bytes + 1),
                               max_bytes=limits.max_photo_bytes,
                               max_pixels=limits.max_photo_pixels) for item in files]


def _authorise(session: SessionDep, fields: dict[str, str]) -> str:
    key = (fields.get("api_key") or "").strip()
    if not key:
        raise o311.Open311Error(401, "api_key is required to post a service request")
    row = check_key(session, key)
    if row is None:
        raise o311.Open311Error(403, "api_key is not valid (unknown or revoked)")
    return row.name


_FIELD = {"type": "string"}
_POST_SCHEMA = {
    "type": "object", "required": ["api_key", "service_code"],
    "properties": dict.fromkeys((
        "api_key", "service_code", "lat", "long", "address_string", "address_id",
        "description", "media_url", "first_name", "last_name", "phone", "email"), _FIELD)}
#: the spec's POST fields, form-encoded (they are also read from the query string); as
#: multipart, photo files may come as ``media`` parts
POST_DOC = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": _POST_SCHEMA},
    "multipart/form-data": {"schema": {**_POST_SCHEMA, "properties": {
        **_POST_SCHEMA["properties"],  # type: ignore[dict-item]
        "media": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
}}}


@router.post("/requests.{fmt}", dependencies=[Jurisdiction], openapi_extra=POST_DOC,
             responses={403: {"description": "the api_key is not valid"}})
@public
def post_request(fmt: Format, session: SessionDep, settings: SettingsDep,
                 lookup: GridLookupDep,
                 fields: Annotated[dict[str, str], Depends(form_fields)],
                 media: Annotated[list[images.Photo], Depends(media_files)],
                 personal: PersonalDep) -> Response:
    """Submit a service request (form-encoded, with an api_key; photo files as `media`)."""
    key_name = _authorise(session, fields)
    new = posting.parse_new_request(fields)
    saved = save_photos(settings, media)
    try:
        event_id, token, notice = submit(session, lookup, new, key_name, settings,
                                         personal, saved)
        session.commit()
    except BaseException:
        session.rollback()
        remove_photos(saved)  # a refused request leaves no file behind
        raise
    return render(posting.posted(event_id, token, notice), fmt, "requests")


def submit(session: Session, lookup: GridLookup, new: posting.NewRequest, key_name: str,
           settings: Settings, personal: PersonalCipher | None = None,
           files: Sequence[PhotoRef] = ()) -> tuple[int, str, str | None]:
    """Store the request through the event intake; return id, token and notice.

    ``files``: its photo files, already stored (see :func:`media_files`).
    """
    event = create_event(
        session, lookup, category_code=new.service_code, lon=new.lon, lat=new.lat,
        building_code=new.building_code, address=new.address, description=new.description,
        channel="open311", reporter=new.reporter or None,
        photos=((PhotoRef(url=new.media_url),) if new.media_url else ()) + tuple(files),
        actor=f"open311:{key_name}", settings=settings.events, personal=personal)
    extra = {"open311": {"api_key": key_name, "attributes": new.attributes}}
    event.attributes = {**(event.attributes or {}), **extra}
    session.flush()
    return event.id, event.public_token, event.category.closing_standard

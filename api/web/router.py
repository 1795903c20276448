"""The one-map web client: its page, static files, npm assets and small read models.

Everything the page loads comes from this server: MapLibre GL and Leaflet are
served from ``node_modules`` (installed by ``npm install`` from the repo's
``package.json``), never from a CDN. An external XYZ basemap is used only when
``GRIDGOV_BASEMAP_URL`` is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import func, select

import api
from api import STATIC_DIR
from api.analytics.scheduled import map_analyses_status
from api.auth.access import Staff, public
from api.auth.policy import check_action, check_event_scope
from api.db.models import AdminArea, Building, Grid
from api.deps import SessionDep, SettingsDep
from api.errors import APIError
from api.events.lifecycle import TRANSITIONS
from api.field.scope import SUPERVISOR_ROLES
from api.routing import Router
from api.settings import Settings
from api.validation import BIGINT_MAX, DbInt
from api.web import service as service
from gis_core.errors import GisError
from layers.vocabulary import EVENT_STATUSES, OPEN_STATUSES

router = Router(tags=["web"])

REPO_NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

#: npm packages the page may load, and the folder of each that is served
VENDOR_DIRS = {"maplibre-gl": "maplibre-gl/dist", "leaflet": "leaflet/dist",
               "swagger-ui-dist": "swagger-ui-dist"}

MEDIA_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".css": "text/css",
               ".json": "application/json", ".map": "application/json",
               ".svg": "image/svg+xml", ".png": "image/png", ".html": "text/html"}


def node_modules_dir(settings: Settings) -> Path:
    """Where the npm packages are: ``GRIDGOV_NODE_MODULES`` or the repo's ``node_modules``."""
    return settings.web.node_modules or REPO_NODE_MODULES


def _serve(base: Path, path: str, cache: str) -> FileResponse:
    """A file below ``base``, refusing anything that would leave it."""
    target = (base / path).resolve()
    if not target.is_relative_to(base.resolve()) or not target.is_file():
        raise APIError(404, "not_found", f"no such file: {path}")
    media = MEDIA_TYPES.get(target.suffix)
    return FileResponse(target, media_type=media, headers={"Cache-Control": cache})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@public
def index() -> FileResponse:
    """The one-map page."""
    return _serve(STATIC_DIR, "index.html", "no-cache")


@router.get("/static/{path:path}", include_in_schema=False)
@public
def static_file(path: str) -> FileResponse:
    """A file of the one-map client."""
    return _serve(STATIC_DIR, path, "no-cache")


@router.get("/vendor/{package}/{path:path}", include_in_schema=False)
@public
def vendor_file(package: str, path: str, settings: SettingsDep) -> FileResponse:
    """A file of an npm package the client uses (maplibre-gl, leaflet)."""
    if package not in VENDOR_DIRS:
        raise APIError(404, "not_found", f"unknown package {package!r}")
    base = node_modules_dir(settings) / VENDOR_DIRS[package]
    if not base.is_dir():
        raise APIError(404, "assets_missing",
                       f"{package} is not installed: run `npm install` (or `make assets`)")
    return _serve(base, path, "public, max-age=3600")


@router.get("/api/v1/web/config")
@public
def web_config(session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """The one-map's configuration: basemap, data extent, live polling, event statuses.

    ``analyses``: when the stored hot spot and blind spot layers were computed,
    how many features they hold, and how often the schedule computes them again.
    ``patrol``: the roles that see the patrol tracks panel and the grid layer of its
    coverage.
    """
    extent = None
    for geom in (AdminArea.geom, Grid.geom, Building.geom):
        box = session.execute(select(func.ST_XMin(func.ST_Extent(geom)),
                                     func.ST_YMin(func.ST_Extent(geom)),
                                     func.ST_XMax(func.ST_Extent(geom)),
                                     func.ST_YMax(func.ST_Extent(geom)))).one()
        if box[0] is not None:
            extent = [float(v) for v in box]
            break
    basemap = None
    if settings.web.basemap_url:
        basemap = {"url": settings.web.basemap_url,
                   "attribution": settings.web.basemap_attribution}
    return {"name": settings.api.name, "version": api.__version__, "extent": extent,
            "basemap": basemap, "live_poll_seconds": settings.web.live_poll_seconds,
            "statuses": list(EVENT_STATUSES), "open_statuses": list(OPEN_STATUSES),
            "analyses": map_analyses_status(session, settings.analytics),
            "patrol": {"roles": list(SUPERVISOR_ROLES),
                       "grid_layer": settings.field.field_grid_layer}}


@router.get("/api/v1/web/live-events")
def live_events(
    session: SessionDep,
    principal: Staff,
    after_id: Annotated[int | None, Query(ge=0, le=BIGINT_MAX,
                                          description="return events with a larger id; "
                                                      "omit for the latest ones")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """New events since a cursor, as GeoJSON, for the map's live layer."""
    return service.live_events(session, after_id, limit, principal.event_clause())


@router.get("/api/v1/web/dashboard")
def dashboard(
    session: SessionDep,
    principal: Staff,
    days: Annotated[int, Query(ge=1, le=366, description="days in the trend")] = 30,
    layer: Annotated[str | None, Query(description="grid layer of the per-grid figures "
                                       "(default: the first exclusive layer)")] = None,
) -> dict[str, Any]:
    """The dashboard's figures: counts by status, rates, overdue list, trend, per-grid."""
    return service.dashboard(session, days=days, layer=layer, scope=principal.event_clause())


@router.get("/api/v1/web/event-actions/{event_id}")
def event_actions(event_id: DbInt, session: SessionDep, principal: Staff) -> dict[str, Any]:
    """The lifecycle actions you may take on an event now."""
    status = check_event_scope(session, principal, event_id)
    possible = sorted(TRANSITIONS.get(status, {}))
    allowed = []
    for action in possible:
        try:
            check_action(principal, event_id, True, action)
        except GisError:
            continue
        allowed.append(action)
    return {"event_id": event_id, "status": status, "role": principal.role,
            "possible": possible, "allowed": allowed}

"""Analytics over the API: camera coverage and placement, hot spots, anomalies, rasters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.analytics import hotspots as hot
from api.analytics import service as svc
from api.auth.access import roles
from api.deps import ReadSessionDep, SessionDep, get_state
from api.errors import APIError
from api.replicas.routing import caught_up
from api.routing import Router
from api.validation import Text
from gis_core.errors import InvalidInput

router = Router(prefix="/api/v1/analytics", tags=["analytics"], responses={
    404: {"description": "no such grid layer or grid"},
    429: {"description": "an analysis of this kind is running; retry after Retry-After"}})

#: the most camera sites one placement may propose (the MCLP solve grows fast with k)
MAX_NEW_CAMERAS = 20
#: the longest range of new cameras: the covering problem grows with the range squared
MAX_PLACEMENT_RANGE_M = 200.0
#: who may run analyses (they read every event of the territory, aggregated)
ANALYSTS = ("admin", "dispatcher", "analyst")

LayerQ = Annotated[str, Query(description="grid layer")]
GridQ = Annotated[str | None, Query(description="one grid of the layer (default: all)")]
FromQ = Annotated[datetime | None, Query(alias="from", description="events from (inclusive)")]
ToQ = Annotated[datetime | None, Query(alias="to", description="events before (exclusive)")]
CategoryQ = Annotated[list[str] | None, Query(
    description="minor or major category codes (repeat the parameter for several)")]
TIFF = "image/tiff"


def _cache(request: Request) -> svc.ResultCache:
    return get_state(request).analytics_cache


def _engine(request: Request) -> Engine:
    return get_state(request).engine


def _window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise InvalidInput("query parameters 'from' and 'to': 'from' must be before 'to'",
                           parameter="from")


def _run(request: Request, session: SessionDep, name: str, params: dict[str, Any],
         compute: Any, reader: Session | None = None) -> Any:
    """Answer from the cache, or compute in the request's transaction (committed).

    A read-only analysis given a ``reader`` (a replica's session) computes there
    when the replica holds every change the cache key counts, else on the primary.
    """
    def fresh() -> Any:
        if reader is not None and reader is not session and caught_up(
                reader.connection(), _engine(request), svc.DEPENDS[name]):
            return compute(reader.connection())
        result = compute(session.connection())
        session.commit()
        return result

    try:
        return _cache(request).get_or_compute(_engine(request), name, params, fresh)
    except svc.AnalysisBusy as exc:
        raise APIError(429, "analysis_busy", str(exc), headers={"Retry-After": "5"}) from None


@router.get("/coverage")
@roles(*ANALYSTS)
def coverage(request: Request, session: SessionDep, layer: LayerQ = "basic", grid: GridQ = None,
             min_area_m2: Annotated[float, Query(ge=0, le=1e7, description="smallest blind "
                                                 "spot reported (m²)")] = 100.0,
             ) -> dict[str, Any]:
    """Camera coverage per grid (area, road length and buildings seen) and blind spots.

    Views are cut by building footprints (2.5D occlusion, see
    ``gis_core.coverage``); blind spots are the uncovered parts of each grid
    over ``min_area_m2``, returned as GeoJSON and stored for the one-map's
    ``blind_spots`` layer.
    """
    params = {"layer": layer, "grid": grid, "min_area_m2": min_area_m2}
    result: dict[str, Any] = _run(request, session, "coverage", params, lambda conn: (
        svc.coverage_report(conn, layer, grid, min_area_m2)))
    return result


@router.get("/coverage.tif", response_class=Response,
            responses={200: {"content": {TIFF: {}}}})
@roles(*ANALYSTS)
def coverage_tif(request: Request, session: SessionDep, reader: ReadSessionDep,
                 layer: LayerQ = "basic", grid: GridQ = None,
                 cell_size_m: Annotated[float, Query(ge=1, le=500)] = 5.0) -> Response:
    """How many cameras see each cell, as a GeoTIFF in the territory's metric CRS."""
    params = {"layer": layer, "grid": grid, "cell": cell_size_m}
    data = _run(request, session, "coverage", {**params, "tif": True}, lambda conn: (
        svc.coverage_geotiff(conn, layer, grid, cell_size_m)), reader=reader)
    return Response(data, media_type=TIFF, headers={
        "Content-Disposition": 'attachment; filename="coverage.tif"'})


class PlacementIn(BaseModel):
    """Where new cameras would see the most uncovered demand."""

    model_config = ConfigDict(extra="forbid")
    k: int = Field(ge=1, le=MAX_NEW_CAMERAS, description="number of new cameras")
    layer: Text = "basic"
    grid: Text | None = Field(None, description="one grid (default: the whole layer)")
    candidates: list[tuple[float, float]] | None = Field(
        None, max_length=5000, description="candidate sites [lon, lat] (default: road "
                                           "vertices inside the grids)")
    range_m: float = Field(50.0, gt=0, le=MAX_PLACEMENT_RANGE_M,
                           description="range of the new cameras (m)")
    demand: Literal["events", "area"] = Field(
        "events", description="events: weight the reports inside the grids; area: "
                              "the uncovered ground")


@router.post("/camera-placement")
@roles(*ANALYSTS)
def camera_placement(request: Request, session: SessionDep, reader: ReadSessionDep,
                     body: PlacementIn) -> dict[str, Any]:
    """Recommend ``k`` new camera sites (Maximal Covering Location Problem, PySAL spopt).

    Each site comes with its ``gain``: the demand it adds to what the existing
    cameras and the sites before it already see.
    """
    params = body.model_dump()
    result: dict[str, Any] = _run(request, session, "placement", params, lambda conn: (
        svc.placement_report(conn, body.layer, body.grid, body.k, body.candidates,
                             body.range_m, body.demand)), reader=reader)
    return result


@router.get("/hotspots")
@roles(*ANALYSTS)
def hot_spots(request: Request, session: SessionDep,
              method: Annotated[Literal["gi_star"], Query()] = "gi_star",
              cell: Annotated[str, Query(description="h3:RES or grid:LAYER")] = "h3:9",
              start: FromQ = None, end: ToQ = None, category: CategoryQ = None,
              alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05) -> dict[str, Any]:
    """Getis-Ord Gi* hot and cold spots with FDR correction (GeoJSON with z, p, class).

    ``class`` is +-3/2/1 for hot/cold at 99/95/90% confidence (0 otherwise);
    the cells are also stored for the one-map's ``hotspots`` layer.
    """
    _window(start, end)
    kind, res = hot.parse_cell(cell)
    if kind == "h3":
        hot.check_h3_resolution(session.connection(), int(res), "cell")
    params = {"cell": cell, "from": start, "to": end, "category": category, "alpha": alpha}
    result: dict[str, Any] = _run(request, session, "hotspots", params, lambda conn: (
        hot.hotspot_report(conn, cell, start, end, category, alpha)))
    return result


@router.get("/emerging-hotspots")
@roles(*ANALYSTS)
def emerging_hot_spots(request: Request, session: SessionDep, reader: ReadSessionDep,
                       resolution: Annotated[int, Query(ge=0, le=15)] = 8,
                       step: Annotated[str, Query(description="time step: W, D, 2W, MS")] = "W",
                       start: FromQ = None, end: ToQ = None, category: CategoryQ = None,
                       ) -> dict[str, Any]:
    """Emerging hot spot patterns (new, consecutive, intensifying, ... as ArcGIS Pro)."""
    _window(start, end)
    hot.check_h3_resolution(session.connection(), resolution, "resolution")
    params = {"resolution": resolution, "step": step, "from": start, "to": end,
              "category": category}
    result: dict[str, Any] = _run(request, session, "emerging", params, lambda conn: (
        hot.emerging_report(conn, resolution, step, start, end, category)), reader=reader)
    return result


@router.get("/anomalies")
@roles(*ANALYSTS)
def grid_anomalies(request: Request, session: SessionDep, reader: ReadSessionDep,
                   layer: LayerQ = "basic",
                   period: Annotated[Literal["day", "week", "month"], Query()] = "week",
                   at: Annotated[datetime | None, Query(description="only events before")]
                   = None,
                   method: Annotated[Literal["robust_z", "poisson"], Query()] = "robust_z",
                   by_category: bool = False,
                   baseline: Annotated[int | None, Query(ge=3, le=520)] = None,
                   ) -> dict[str, Any]:
    """Grids (and categories) whose count in the latest period is abnormal for them."""
    params = {"layer": layer, "period": period, "at": at, "method": method,
              "by_category": by_category, "baseline": baseline}
    result: dict[str, Any] = _run(request, session, "anomalies", params, lambda conn: (
        hot.anomaly_report(conn, layer, period, at, method, by_category, baseline)), reader=reader)
    return result


@router.get("/density.tif", response_class=Response, responses={200: {"content": {TIFF: {}}}})
@roles(*ANALYSTS)
def density_tif(request: Request, session: SessionDep, reader: ReadSessionDep,
                start: FromQ = None, end: ToQ = None,
                category: CategoryQ = None,
                cell_size_m: Annotated[float, Query(ge=5, le=1000)] = 50.0,
                bandwidth_m: Annotated[float, Query(ge=10, le=10000)] = 300.0) -> Response:
    """Kernel density of events (per km², quartic kernel) as a GeoTIFF."""
    _window(start, end)
    params = {"from": start, "to": end, "category": category, "cell": cell_size_m,
              "bw": bandwidth_m}
    data = _run(request, session, "density", params, lambda conn: (
        hot.density_geotiff(conn, start, end, category, cell_size_m, bandwidth_m)), reader=reader)
    return Response(data, media_type=TIFF, headers={
        "Content-Disposition": 'attachment; filename="density.tif"'})

"""Grids and grid layers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, or_, select

from api.auth.access import public
from api.db.models import Grid, GridLayer
from api.deps import SessionDep
from api.errors import APIError
from api.features import page_features
from api.geojson import (
    BBoxQuery,
    LimitQuery,
    OffsetQuery,
    bbox_filter,
    feature_collection,
    parse_bbox,
)
from api.grids import qa as grid_qa

router = APIRouter(prefix="/api/v1", tags=["grids"])

GRID_COLUMNS = (Grid.code, Grid.alias_code, Grid.name, GridLayer.name.label("layer"),
                Grid.community_code, Grid.valid_from, Grid.valid_to, Grid.attributes)

AtQuery = Annotated[datetime | None, Query(description="grid versions valid at this time "
                                                       "(default: the current version)")]


def valid_at(at: datetime | None) -> Any:
    """Filter for grid versions valid at ``at`` (default now: not yet a later-dated version)."""
    when: Any = at if at is not None else func.now()
    return (or_(Grid.valid_from.is_(None), Grid.valid_from <= when)
            & or_(Grid.valid_to.is_(None), Grid.valid_to > when))


def _check_layer(session: SessionDep, layer: str | None) -> None:
    if layer is None:
        return
    names = session.execute(select(GridLayer.name)).scalars().all()
    if layer not in names:
        raise APIError(422, "invalid_parameter",
                       f"query parameter 'layer': unknown grid layer {layer!r}; "
                       f"known layers: {', '.join(sorted(names)) or '(none)'}")


@router.get("/grid-layers")
@public
def list_grid_layers(session: SessionDep) -> list[dict[str, Any]]:
    """List the grid layers with their kind and whether they are exclusive."""
    rows = session.execute(select(GridLayer).order_by(GridLayer.id)).scalars()
    return [{"name": r.name, "kind": r.kind, "exclusive": r.exclusive,
             "description": r.description} for r in rows]


@router.get("/grids")
@public
def list_grids(request: Request, session: SessionDep, layer: str | None = None,
               bbox: BBoxQuery = None, at: AtQuery = None, limit: LimitQuery = 100,
               offset: OffsetQuery = 0) -> dict[str, Any]:
    """List grids as GeoJSON, by layer and bounding box."""
    _check_layer(session, layer)
    box = parse_bbox(bbox)
    where = [valid_at(at)]
    if layer:
        where.append(GridLayer.name == layer)
    if box:
        where.append(bbox_filter(Grid.geom, box))
    features, total = page_features(session, GRID_COLUMNS, Grid.geom, where=where,
                                    order_by=(GridLayer.id, Grid.code, Grid.valid_from),
                                    limit=limit, offset=offset,
                                    joins=[(GridLayer, Grid.layer_id == GridLayer.id)])
    return feature_collection(features, total=total, limit=limit, offset=offset,
                              request=request)


@router.get("/grids/qa", responses={404: {"description": "no such grid layer"}})
def grid_qa_report(
    session: SessionDep,
    layer: Annotated[str, Query(description="the grid layer to check")],
    boundary: Annotated[bool, Query(description="check an exclusive layer against the "
                                                "district boundary")] = True,
) -> dict[str, Any]:
    """Topology QA of a grid layer: gaps, overlaps, invalid geometries, slivers.

    For an exclusive layer every finding of ``gis_core.topology.check`` is
    reported, with the jurisdiction taken from the district admin areas, and
    grids that straddle two communities or lie outside their community are
    warnings (``straddle``, ``outside_community``); a non-exclusive layer
    reports only invalid geometries and slivers. The
    findings come as a GeoJSON FeatureCollection (kind, severity, codes,
    area_m2, detail).
    """
    exclusive, report = grid_qa.check_layer(session.connection(), layer, boundary)
    return grid_qa.report_json(layer, exclusive, report)


@router.get("/grids/{code}")
@public
def get_grid(code: str, session: SessionDep, layer: str | None = None,
             at: AtQuery = None) -> dict[str, Any]:
    """Get one grid (its current version, or the version valid at ``at``) as a GeoJSON feature."""
    _check_layer(session, layer)
    where = [valid_at(at), (Grid.code == code) | (Grid.alias_code == code)]
    if layer:
        where.append(GridLayer.name == layer)
    features, _ = page_features(session, GRID_COLUMNS, Grid.geom, where=where,
                                order_by=GridLayer.id, limit=1, offset=0,
                                joins=[(GridLayer, Grid.layer_id == GridLayer.id)])
    if not features:
        raise APIError(404, "grid_not_found", f"no grid with code {code!r}")
    return features[0]

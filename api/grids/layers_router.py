"""Grids and grid layers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from sqlalchemy import select

from api.auth.access import public
from api.db.models import GridLayer
from api.deps import SessionDep
from api.errors import APIError
from api.geojson import BBoxQuery, LimitQuery, OffsetQuery, bbox_condition, feature_collection
from api.grids import qa as grid_qa
from api.routing import Router
from layers.catalog import grid_valid_sql
from layers.declaration import LayerProperty
from layers.features import FeatureSet

router = Router(prefix="/api/v1", tags=["grids"])

#: the lists' features: every version of a grid with its layer's name, by code
GRIDS = FeatureSet("grids AS t JOIN grid_layers AS l ON l.id = t.layer_id", "t.code", (
    *(LayerProperty(name=c) for c in ("code", "alias_code", "name")),
    LayerProperty(name="layer", sql="l.name"),
    *(LayerProperty(name=c) for c in ("community_code", "valid_from", "valid_to",
                                      "attributes"))), "t.geom")
#: the grid versions valid at ``:at`` (default now: not yet a later-dated version)
VALID_AT = grid_valid_sql("COALESCE(CAST(:at AS timestamptz), now())")

AtQuery = Annotated[datetime | None, Query(description="grid versions valid at this time "
                                                       "(default: the current version)")]


def _grid_conditions(layer: str | None, at: datetime | None
                     ) -> tuple[list[str], dict[str, Any]]:
    """The versions valid at ``at``, of grid layer ``layer`` when given."""
    where = [VALID_AT, *(["l.name = :layer"] if layer else [])]
    return where, {"at": at, "layer": layer}


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
    where, params = _grid_conditions(layer, at)
    box_where, box_params = bbox_condition(bbox)
    features, total = GRIDS.page(session.connection(), [*where, *box_where],
                                 {**params, **box_params}, order="l.id, t.code, t.valid_from",
                                 limit=limit, offset=offset)
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
    where, params = _grid_conditions(layer, at)
    features, _ = GRIDS.page(session.connection(), [*where, "t.code = :code OR t.alias_code = "
                                                    ":code"], {**params, "code": code},
                             order="l.id", limit=1, offset=0)
    if not features:
        raise APIError(404, "grid_not_found", f"no grid with code {code!r}")
    return features[0]

"""Cameras."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.auth.access import public
from api.deps import SessionDep
from api.geojson import BBoxQuery, LimitQuery, OffsetQuery, bbox_condition, feature_collection
from api.routing import Router
from layers.declaration import LayerProperty
from layers.features import FeatureSet

router = Router(prefix="/api/v1", tags=["cameras"])

#: the list's features: the field of view and the grids a camera watches, by code
CAMERAS = FeatureSet("cameras AS t", "t.code", (
    *(LayerProperty(name=c) for c in ("code", "name", "kind", "mount_height", "heading", "hfov",
                                      "range_m", "pan_min", "pan_max", "status")),
    LayerProperty(name="grids", sql="t.attributes -> 'grids'")), "t.geom")


@router.get("/cameras")
@public
def list_cameras(request: Request, session: SessionDep, bbox: BBoxQuery = None,
                 limit: LimitQuery = 100, offset: OffsetQuery = 0) -> dict[str, Any]:
    """List cameras as GeoJSON points with their field of view and grids, by bounding box."""
    where, params = bbox_condition(bbox)
    features, total = CAMERAS.page(session.connection(), where, params, order="t.code",
                                   limit=limit, offset=offset)
    return feature_collection(features, total=total, limit=limit, offset=offset,
                              request=request)

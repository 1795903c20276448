"""Cameras."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.auth.access import public
from api.db.models import Camera
from api.deps import SessionDep
from api.features import page_features
from api.geojson import (
    BBoxQuery,
    LimitQuery,
    OffsetQuery,
    bbox_filter,
    feature_collection,
    parse_bbox,
)

router = APIRouter(prefix="/api/v1", tags=["cameras"])

CAMERA_COLUMNS = (Camera.code, Camera.name, Camera.kind, Camera.mount_height, Camera.heading,
                  Camera.hfov, Camera.range_m, Camera.pan_min, Camera.pan_max, Camera.status,
                  Camera.attributes["grids"].label("grids"))


@router.get("/cameras")
@public
def list_cameras(request: Request, session: SessionDep, bbox: BBoxQuery = None,
                 limit: LimitQuery = 100, offset: OffsetQuery = 0) -> dict[str, Any]:
    """List cameras as GeoJSON points with their field of view and grids, by bounding box."""
    box = parse_bbox(bbox)
    where = [bbox_filter(Camera.geom, box)] if box else []
    features, total = page_features(session, CAMERA_COLUMNS, Camera.geom, where=where,
                                    order_by=Camera.code, limit=limit, offset=offset)
    return feature_collection(features, total=total, limit=limit, offset=offset,
                              request=request)

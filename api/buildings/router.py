"""Buildings and their rooms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from api.auth.access import public
from api.db.models import Building, Room
from api.deps import SessionDep
from api.errors import APIError
from api.features import page_features
from api.geojson import (
    BBoxQuery,
    LimitQuery,
    OffsetQuery,
    bbox_filter,
    feature,
    feature_collection,
    parse_bbox,
)

router = APIRouter(prefix="/api/v1", tags=["buildings"])

BUILDING_COLUMNS = (Building.code, Building.address, Building.name, Building.floors,
                    Building.height, Building.use, Building.community_code, Building.status,
                    Building.beidou_code)


@router.get("/buildings")
@public
def list_buildings(request: Request, session: SessionDep, bbox: BBoxQuery = None,
                   limit: LimitQuery = 100, offset: OffsetQuery = 0) -> dict[str, Any]:
    """List buildings as GeoJSON, by bounding box."""
    box = parse_bbox(bbox)
    where = [bbox_filter(Building.geom, box)] if box else []
    features, total = page_features(session, BUILDING_COLUMNS, Building.geom, where=where,
                                    order_by=Building.code, limit=limit, offset=offset)
    return feature_collection(features, total=total, limit=limit, offset=offset,
                              request=request)


def building_record(session: SessionDep, code: str) -> dict[str, Any]:
    """The full record of one building: attributes, rooms, footprint."""
    row = session.execute(
        select(Building, func.ST_AsGeoJSON(Building.geom, 7)).where(Building.code == code)
    ).one_or_none()
    if row is None:
        raise APIError(404, "building_not_found", f"no building with code {code!r}")
    building, geometry = row
    rooms = session.execute(
        select(Room.code, Room.unit, Room.floor, Room.number)
        .where(Room.building_id == building.id).order_by(Room.code)
    ).mappings().all()
    props = {c.key: getattr(building, c.key) for c in BUILDING_COLUMNS}
    props["attributes"] = building.attributes
    props["rooms"] = [dict(r) for r in rooms]
    return feature(geometry, props, building.code)


@router.get("/buildings/{code}")
def get_building(code: str, session: SessionDep) -> dict[str, Any]:
    """Get one building's record, with its rooms, as a GeoJSON feature."""
    return building_record(session, code)

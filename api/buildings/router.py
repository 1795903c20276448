"""Buildings and their rooms."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import func, select

from api.auth.access import public
from api.db.models import Building, Room
from api.deps import SessionDep
from api.errors import APIError
from api.geojson import BBoxQuery, LimitQuery, OffsetQuery, bbox_condition, feature_collection
from api.routing import Router
from layers.declaration import LayerProperty
from layers.features import FeatureSet, feature

router = Router(prefix="/api/v1", tags=["buildings"])

BUILDING_COLUMNS = ("code", "address", "name", "floors", "height", "use", "community_code",
                    "status", "beidou_code")
#: the list's features: every building column but the footprint's copies, by code
BUILDINGS = FeatureSet("buildings AS t", "t.code",
                       tuple(LayerProperty(name=c) for c in BUILDING_COLUMNS), "t.geom")


@router.get("/buildings")
@public
def list_buildings(request: Request, session: SessionDep, bbox: BBoxQuery = None,
                   limit: LimitQuery = 100, offset: OffsetQuery = 0) -> dict[str, Any]:
    """List buildings as GeoJSON, by bounding box."""
    where, params = bbox_condition(bbox)
    features, total = BUILDINGS.page(session.connection(), where, params, order="t.code",
                                     limit=limit, offset=offset)
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
    props = {c: getattr(building, c) for c in BUILDING_COLUMNS}
    props["attributes"] = building.attributes
    props["rooms"] = [dict(r) for r in rooms]
    return feature(geometry, props, building.code)


@router.get("/buildings/{code}")
def get_building(code: str, session: SessionDep) -> dict[str, Any]:
    """Get one building's record, with its rooms, as a GeoJSON feature."""
    return building_record(session, code)

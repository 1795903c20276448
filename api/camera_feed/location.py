"""Where a camera's detection is: along its bearing, or the middle of what it sees.

A detection that gives a ``bearing`` (degrees clockwise from north) and a
``distance_m`` lies that far from the camera along that bearing on the WGS84
ellipsoid; the distance may not pass the camera's ``range_m`` (422
``beyond_camera_range``). Without them it lies at the middle of the ground the
camera sees: its view polygon (sector, or the sweep of a PTZ camera) less what
buildings hide (:func:`gis_core.coverage.visible_polygons`), its centroid
taken in the territory's metric CRS (its nearest point on the ground seen when
the centroid falls outside it). A camera that sees nothing locates at itself.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import shapely
from pyproj import Geod
from shapely.ops import nearest_points
from sqlalchemy import text
from sqlalchemy.engine import Connection

from api.analytics.reading import read_buildings
from api.errors import APIError
from gis_core.coverage import visible_polygons
from gis_core.crs import metric_crs_for

_GEOD = Geod(ellps="WGS84")
_CAMERA_SQL = text("SELECT code, kind, mount_height, heading, hfov, range_m, pan_min, pan_max, "
                   "ST_X(geom) AS lon, ST_Y(geom) AS lat FROM cameras WHERE id = :id")


def _camera_frame(conn: Connection, camera_id: int) -> gpd.GeoDataFrame:
    row = dict(conn.execute(_CAMERA_SQL, {"id": camera_id}).mappings().one())
    point = shapely.Point(row.pop("lon"), row.pop("lat"))
    return gpd.GeoDataFrame([row], geometry=[point], crs=4326)


def along_bearing(lon: float, lat: float, bearing: float, distance_m: float
                  ) -> tuple[float, float]:
    """The point ``distance_m`` from ``(lon, lat)`` along ``bearing`` (degrees from north).

    Examples
    --------
    >>> lon, lat = along_bearing(116.4, 39.9, 90.0, 100.0)
    >>> round(lon, 5), round(lat, 5)
    (116.40117, 39.9)
    """
    lon2, lat2, _ = _GEOD.fwd(lon, lat, bearing, distance_m)
    return float(lon2), float(lat2)


def middle_of_view(cameras: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None
                   ) -> shapely.Point:
    """The middle of the ground the first of ``cameras`` sees (EPSG:4326).

    Its centroid in the metric CRS, or the nearest point of the ground seen when
    the centroid is outside it; the camera itself when it sees nothing.
    """
    seen = visible_polygons(cameras, buildings)
    metric = metric_crs_for(cameras)
    area = seen.to_crs(metric).iloc[0]
    if area is None or area.is_empty:
        return cameras.geometry.iloc[0]
    middle = area.centroid
    if not area.covers(middle):
        middle = nearest_points(area, middle)[0]
    return gpd.GeoSeries([middle], crs=metric).to_crs(4326).iloc[0]


def locate(conn: Connection, camera_id: int, bearing: float | None,
           distance_m: float | None) -> tuple[float, float]:
    """Where a detection of camera ``camera_id`` is, as ``(lon, lat)`` (module docstring)."""
    cams = _camera_frame(conn, camera_id)
    cam: Any = cams.iloc[0]
    if bearing is not None and distance_m is not None:
        if distance_m > cam["range_m"]:
            raise APIError(422, "beyond_camera_range",
                           f"field 'distance_m': {distance_m:g} m is past the camera's range "
                           f"of {cam['range_m']:g} m", field="distance_m")
        return along_bearing(cam.geometry.x, cam.geometry.y, bearing, distance_m)
    d = float(cam["range_m"]) / 80_000.0 + 0.0001  # degrees that reach its range
    x, y = cam.geometry.x, cam.geometry.y
    buildings = read_buildings(conn, (x - d, y - d, x + d, y + d))
    middle = middle_of_view(cams, buildings if len(buildings) else None)
    return float(middle.x), float(middle.y)

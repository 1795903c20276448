"""Raster surfaces drawn as PNG map tiles: event kernel density and camera coverage.

Each surface is computed on demand for one web-mercator tile from the database
with the engine's functions (:func:`gis_core.hotspots.kernel_density`,
:func:`gis_core.coverage.view_polygons` and
:func:`gis_core.coverage.coverage_raster`), coloured with a ramp, and returned as
RGBA PNG bytes (transparent where the value is zero). Points are fetched from
the tile widened by the bandwidth (density) or by the longest camera range
(coverage), so neighbouring tiles join without seams.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from pydantic import BaseModel, ConfigDict, Field
from rasterio.errors import NotGeoreferencedWarning
from sqlalchemy import Connection, text

from gis_core.coverage import coverage_raster, view_polygons
from gis_core.errors import InvalidInput
from gis_core.types import FloatArray
from layers.catalog import EVENT_QUERY
from layers.model import Title
from layers.raster_density import tile_density
from layers.registry import get_layer

TILE_PX = 256
HALF_WORLD = 20037508.342789244
EARTH_RADIUS = 6378137.0
#: Colour stops (value fraction 0-1 -> RGB).
RAMPS: dict[str, list[tuple[float, tuple[int, int, int]]]] = {
    "heat": [(0.0, (255, 255, 178)), (0.25, (254, 204, 92)), (0.5, (253, 141, 60)),
             (0.75, (240, 59, 32)), (1.0, (189, 0, 38))],
    "coverage": [(0.0, (199, 233, 192)), (0.5, (65, 171, 93)), (1.0, (0, 90, 50))],
}


def mercator_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """EPSG:3857 envelope of tile ``z/x/y``.

    Examples
    --------
    >>> [round(v) for v in mercator_bounds(1, 1, 0)]
    [0, 0, 20037508, 20037508]
    """
    size = 2 * HALF_WORLD / (1 << z)
    return (-HALF_WORLD + x * size, HALF_WORLD - (y + 1) * size,
            -HALF_WORLD + (x + 1) * size, HALF_WORLD - y * size)


def colourise(values: FloatArray, vmax: float, ramp: str = "heat") -> np.ndarray:
    """RGBA uint8 image of ``values`` scaled to ``[0, vmax]``; zero and NaN transparent.

    Examples
    --------
    >>> img = colourise(np.array([[0.0, 1.0]]), vmax=1.0)
    >>> img[0, 0, 3], img[0, 1].tolist()
    (np.uint8(0), [189, 0, 38, 210])
    """
    if not vmax > 0:
        raise InvalidInput("vmax must be > 0", parameter="vmax")
    stops = RAMPS[ramp]
    frac = np.clip(np.nan_to_num(values, nan=0.0) / vmax, 0.0, 1.0)
    xs = [s[0] for s in stops]
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    for band in range(3):
        rgba[..., band] = np.interp(frac, xs, [s[1][band] for s in stops]).round()
    rgba[..., 3] = np.where(np.nan_to_num(values, nan=0.0) > 0, 210, 0)
    return rgba


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode an ``(rows, cols, 4)`` uint8 image as PNG with rasterio."""
    rows, cols, _ = rgba.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.MemoryFile() as mem:
            with mem.open(driver="PNG", width=cols, height=rows, count=4, dtype="uint8") as dst:
                dst.write(np.moveaxis(rgba, 2, 0))
            return bytes(mem.read())


def _scale(z: int, y: int) -> float:
    """Mercator scale factor (map metres per ground metre) at the tile's centre."""
    n = 1 << z
    lat = math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / n)))
    return 1.0 / math.cos(lat)


class RasterSurface(BaseModel):
    """A raster surface served as PNG tiles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: Title
    kind: Literal["kernel_density", "coverage"]
    tables: tuple[str, ...]
    ramp: Literal["heat", "coverage"]
    vmax: float = Field(gt=0, description="value drawn with the ramp's last colour")
    bandwidth_m: float = Field(default=150.0, gt=0)
    minzoom: int = Field(default=10, ge=0, le=24)
    maxzoom: int = Field(default=19, ge=0, le=24)
    unit: str = ""

    @property
    def uses_events(self) -> bool:
        """Whether an unfiltered tile reads every event's position (:func:`event_points`)."""
        return self.kind == "kernel_density"

    def margin_deg(self, z: int, y: int) -> float:
        """How far (degrees) beyond a tile its rows reach into it."""
        reach = self.bandwidth_m if self.kind == "kernel_density" else 2000.0
        return reach * _scale(z, y) / 110_000.0

    def parse(self, params: Mapping[str, str]) -> tuple[float, dict[str, str]]:
        """``vmax`` (optional) and, for density, the event filters of the query string."""
        given = dict(params)
        vmax = self.vmax
        if "vmax" in given:
            try:
                vmax = float(given.pop("vmax"))
            except ValueError:
                vmax = float("nan")
            if not vmax > 0 or not math.isfinite(vmax):
                raise InvalidInput("query parameter 'vmax': expected a number > 0",
                                   code="invalid_parameter", parameter="vmax")
        if self.kind == "kernel_density":
            get_layer("events").bind(given)  # validates: a 422 naming the parameter
        elif given:
            name = sorted(given)[0]
            raise InvalidInput(f"query parameter '{name}': not a parameter of {self.name} "
                               "(allowed: vmax)", code="invalid_parameter", parameter=name)
        return vmax, given

    def values(self, conn: Connection, z: int, x: int, y: int,
               filters: Mapping[str, str] | None = None,
               points: FloatArray | None = None) -> FloatArray:
        """The surface on the tile's 256 x 256 pixels (rows north to south).

        ``points``: every event's EPSG:3857 position (:func:`event_points`) read
        earlier in the same snapshot, used instead of the database when no
        filter is given.
        """
        bounds = mercator_bounds(z, x, y)
        cell = (bounds[2] - bounds[0]) / TILE_PX
        k = _scale(z, y)
        if self.kind == "kernel_density":
            reach = self.bandwidth_m * k
            xy = _within(points if points is not None and not filters
                         else _events(conn, bounds, reach, filters or {}), bounds, reach)
            return tile_density(xy, bounds, TILE_PX, self.bandwidth_m * k) * k * k
        cams = _cameras(conn, bounds, self.margin_deg(z, y))
        if len(cams) == 0:
            return np.zeros((TILE_PX, TILE_PX))
        polys = view_polygons(cams)
        counts, _, _ = coverage_raster(polys, bounds, cell, 3857)
        return np.asarray(counts[:TILE_PX, :TILE_PX], dtype=float)

    def render(self, conn: Connection, z: int, x: int, y: int,
               params: Mapping[str, str] | None = None,
               points: FloatArray | None = None) -> bytes:
        """PNG bytes of tile ``z/x/y``; ``b""`` when the surface is zero there."""
        get_layer("buildings").check_tile(z, x, y)
        vmax, filters = self.parse(params or {})
        if not self.minzoom <= z <= self.maxzoom:
            return b""
        values = self.values(conn, z, x, y, filters, points)
        if not np.any(values > 0):
            return b""
        return png_bytes(colourise(values, vmax, self.ramp))

    def tilejson(self, base_url: str, query: str = "") -> dict[str, Any]:
        """TileJSON 3.0.0 of the surface."""
        url = f"{base_url.rstrip('/')}/tiles/raster/{self.name}/{{z}}/{{x}}/{{y}}.png"
        return {"tilejson": "3.0.0", "name": self.title.zh, "description": self.title.en,
                "scheme": "xyz", "tiles": [url + (f"?{query}" if query else "")],
                "minzoom": self.minzoom, "maxzoom": self.maxzoom, "tileSize": TILE_PX,
                "bounds": [-180.0, -85.0511287798066, 180.0, 85.0511287798066]}

    def legend(self) -> dict[str, Any]:
        """Title, ramp colours and value range for the client's legend."""
        return {"name": self.name, "title": self.title.model_dump(), "kind": self.kind,
                "unit": self.unit, "vmax": self.vmax, "minzoom": self.minzoom,
                "maxzoom": self.maxzoom,
                "ramp": [{"at": f * self.vmax, "color": "#{:02x}{:02x}{:02x}".format(*c)}
                         for f, c in RAMPS[self.ramp]]}


def _lonlat(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Web-mercator metres to degrees (the spherical formula of EPSG:3857)."""
    return (np.degrees(x / EARTH_RADIUS),
            np.degrees(2 * np.arctan(np.exp(y / EARTH_RADIUS)) - np.pi / 2))


def _mercator(lonlat: FloatArray) -> FloatArray:
    """Degrees to web-mercator metres."""
    x = np.radians(lonlat[:, 0]) * EARTH_RADIUS
    y = np.log(np.tan(np.pi / 4 + np.radians(lonlat[:, 1]) / 2)) * EARTH_RADIUS
    return np.column_stack([x, y])


def event_points(conn: Connection) -> FloatArray:
    """EPSG:3857 positions of every event (what an unfiltered density tile reads)."""
    blob = conn.execute(text("SELECT ST_AsBinary(ST_Collect(geom)) FROM events")).scalar_one()
    if blob is None:
        return np.zeros((0, 2))
    return _mercator(shapely.get_coordinates(shapely.from_wkb(bytes(blob))))


def _within(xy: FloatArray, bounds: tuple[float, float, float, float],
            reach: float) -> FloatArray:
    """The points within ``reach`` of ``bounds``, in x then y order.

    The order makes the kernel sums, and so the PNG bytes, the same whichever
    way the points were read (the in-memory copy or the tile's own rows).
    """
    inside = ((xy[:, 0] >= bounds[0] - reach) & (xy[:, 0] <= bounds[2] + reach)
              & (xy[:, 1] >= bounds[1] - reach) & (xy[:, 1] <= bounds[3] + reach))
    kept = xy[inside]
    return kept[np.lexsort((kept[:, 1], kept[:, 0]))]


def _events(conn: Connection, bounds: tuple[float, float, float, float], reach: float,
            filters: Mapping[str, str]) -> FloatArray:
    """EPSG:3857 coordinates of the events within ``reach`` of the tile."""
    layer = get_layer("events")
    # SQL from the declared layer and EVENT_QUERY only; request values are bound. The box is
    # given in degrees: a box built in SQL from parameters is transformed once per row.
    where = " AND ".join(f"({f.sql})" for f in layer.all_filters)
    lon, lat = _lonlat(np.array([bounds[0] - reach, bounds[2] + reach]),
                       np.array([bounds[1] - reach, bounds[3] + reach]))
    blob = conn.execute(text(
        f"SELECT ST_AsBinary(ST_Collect(t.geom)) FROM ({EVENT_QUERY}) AS t "  # noqa: S608
        f"WHERE t.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AND {where}"),
        {**layer.bind(filters), "minx": float(lon[0]), "miny": float(lat[0]),
         "maxx": float(lon[1]), "maxy": float(lat[1])}).scalar_one()
    if blob is None:
        return np.zeros((0, 2))
    return _mercator(shapely.get_coordinates(shapely.from_wkb(bytes(blob))))


def _cameras(conn: Connection, bounds: tuple[float, float, float, float],
             margin_deg: float) -> gpd.GeoDataFrame:
    rows = conn.execute(text(
        "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, heading, hfov, range_m, kind, pan_min, "
        "pan_max, mount_height FROM cameras WHERE status <> 'offline' AND geom && ST_Expand("
        "ST_Transform(ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 3857), 4326), :margin)"),
        {"minx": bounds[0], "miny": bounds[1], "maxx": bounds[2], "maxy": bounds[3],
         "margin": margin_deg}).mappings().all()
    frame = gpd.pd.DataFrame([dict(r) for r in rows],
                             columns=["lon", "lat", "heading", "hfov", "range_m", "kind",
                                      "pan_min", "pan_max", "mount_height"])
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]),
                            geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
                            crs=4326)


RASTERS: dict[str, RasterSurface] = {
    s.name: s for s in (
        RasterSurface(name="event-density", title=Title(zh="事件热力", en="Event density"),
                      kind="kernel_density", tables=("events", "event_categories"),
                      ramp="heat", vmax=2000.0, bandwidth_m=150.0, unit="events/km²"),
        RasterSurface(name="camera-coverage", title=Title(zh="监控覆盖", en="Camera coverage"),
                      kind="coverage", tables=("cameras",), ramp="coverage", vmax=3.0,
                      minzoom=13, unit="cameras"),
    )
}


def get_raster(name: str) -> RasterSurface:
    """The raster surface ``name``; raises :class:`gis_core.errors.NotFound`."""
    from gis_core.errors import NotFound

    surface = RASTERS.get(name)
    if surface is None:
        raise NotFound(f"no raster surface {name!r}; known: {', '.join(RASTERS)}",
                       code="raster_not_found", raster=name)
    return surface

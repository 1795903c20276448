"""The fast density tile equals the engine's exact kernel density within 2 % of its peak."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pytest
from sqlalchemy import Connection, text

from api.db.session import make_engine
from gis_core.hotspots import kernel_density
from layers.raster import TILE_PX, _scale, event_points, get_raster, mercator_bounds
from layers.raster_density import tile_density
from testkit.tiles import tile_of

TOLERANCE = 0.02


def _exact(xy: np.ndarray, bounds: tuple[float, float, float, float],
           bandwidth: float) -> np.ndarray:
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=3857)
    cell = (bounds[2] - bounds[0]) / TILE_PX
    arr, _, _ = kernel_density(pts, bounds, cell, bandwidth, 3857)
    return np.asarray(arr[:TILE_PX, :TILE_PX])


@pytest.mark.parametrize(("n", "radius_px"), [(50, 3.0), (5000, 8.0), (20000, 20.0),
                                              (3000, 60.0), (20000, 1.5)])
def test_tile_density_matches_the_exact_sum(n: int, radius_px: float) -> None:
    bounds = (0.0, 0.0, 2560.0, 2560.0)
    rng = np.random.default_rng(n)
    centres = rng.uniform(-200, 2760, (8, 2))
    xy = centres[rng.integers(0, 8, n)] + rng.normal(0, 150, (n, 2))
    bandwidth = radius_px * 10.0
    fast = tile_density(xy, bounds, TILE_PX, bandwidth)
    exact = _exact(xy, bounds, bandwidth)
    assert exact.max() > 0
    assert np.abs(fast - exact).max() <= TOLERANCE * exact.max()
    assert abs(fast.sum() - exact.sum()) <= TOLERANCE * exact.sum()


@pytest.fixture(scope="module")
def conn(tiles_db: str) -> Iterator[Connection]:
    engine = make_engine(tiles_db, pool_size=1)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


@pytest.mark.parametrize("z", [12, 14, 15, 16, 17])
def test_density_tiles_of_the_sample_equal_the_exact_surface(conn: Connection, z: int) -> None:
    surface = get_raster("event-density")
    row = conn.execute(text("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) "
                            "AS c FROM events) s")).one()
    x, y = tile_of(row[0], row[1], z)
    bounds = mercator_bounds(z, x, y)
    k = _scale(z, y)
    everything = event_points(conn)
    exact = _exact(everything, bounds, surface.bandwidth_m * k) * k * k
    for points in (None, everything):  # read from the database, or from memory
        got = surface.values(conn, z, x, y, {}, points)
        assert exact.max() > 0
        assert np.abs(got - exact).max() <= TOLERANCE * exact.max()


def test_filters_read_the_database_not_the_points_in_memory(conn: Connection) -> None:
    surface = get_raster("event-density")
    row = conn.execute(text("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) "
                            "AS c FROM events) s")).one()
    x, y = tile_of(row[0], row[1], 14)
    everything = event_points(conn)
    closed = surface.values(conn, 14, x, y, {"status": "closed"}, everything)
    assert 0 < closed.sum() < surface.values(conn, 14, x, y, {}, everything).sum()

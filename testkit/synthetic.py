"""Synthetic grids and points for the benches: a wiggly district, from fixed seeds.

:func:`make_grids` draws the exclusive grid layer of a ~20 x 20 km district
(Voronoi cells clipped to the district, edges densified and wiggled like
streets); :func:`make_points` spreads points over its box. ``bench/assign.py``,
``bench/assign_http.py`` and ``bench/dask_assign.py`` assign the same points to
the same grids.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

#: the memory of the throwaway cluster (the join sorts and hashes a million points)
PG_SETTINGS = {"shared_buffers": "512MB", "work_mem": "256MB", "maintenance_work_mem": "512MB"}

CENTRE = (114.05, 22.55)  # Shenzhen
METRIC_EPSG = 4547  # CGCS2000 / 3-degree Gauss-Kruger CM 114E


def _displacement(x: np.ndarray, y: np.ndarray, rng_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth wiggle field (metres). Lipschitz constant < 1 keeps polygons valid."""
    rng = np.random.default_rng(rng_seed)
    dx = np.zeros_like(x)
    dy = np.zeros_like(y)
    # (amplitude m, wavelength m); sum of amplitude * 2 pi / wavelength ~ 0.5
    for amp, wave in ((6.0, 400.0), (3.0, 120.0), (1.5, 45.0)):
        for out in (dx, dy):
            ax, ay = rng.normal(size=2)
            norm = np.hypot(ax, ay)
            k = 2 * np.pi / wave
            phase = rng.uniform(0, 2 * np.pi)
            out += amp * np.sin(k * (ax * x + ay * y) / norm + phase)
    return dx, dy


def make_grids(
    n_grids: int = 4000, seed: int = 20251122, densify_m: float = 12.0
) -> gpd.GeoDataFrame:
    """Voronoi grids of a wobbly ~20 x 20 km district, wiggled, in EPSG:4326."""
    rng = np.random.default_rng(seed)
    to_m = Transformer.from_crs(4326, METRIC_EPSG, always_xy=True)
    to_deg = Transformer.from_crs(METRIC_EPSG, 4326, always_xy=True)
    cx, cy = to_m.transform(*CENTRE)
    theta = np.linspace(0, 2 * np.pi, 721)[:-1]
    radius = 10_800 * (1 + 0.07 * np.sin(3 * theta + 0.4) + 0.04 * np.cos(7 * theta))
    district = shapely.Polygon(np.c_[cx + radius * np.cos(theta), cy + radius * np.sin(theta)])
    x0, y0, x1, y1 = district.bounds
    seeds: list[np.ndarray] = []
    while sum(len(s) for s in seeds) < n_grids:
        cand = rng.uniform((x0, y0), (x1, y1), size=(n_grids, 2))
        seeds.append(cand[shapely.contains_xy(district, cand[:, 0], cand[:, 1])])
    pts = np.concatenate(seeds)[:n_grids]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=district.buffer(1000))
    )
    cells = shapely.intersection(cells, district)
    cells = cells[~shapely.is_empty(cells)]
    cells = shapely.segmentize(cells, densify_m)
    coords = shapely.get_coordinates(cells)
    dx, dy = _displacement(coords[:, 0], coords[:, 1], seed + 1)
    lon, lat = to_deg.transform(coords[:, 0] + dx, coords[:, 1] + dy)
    cells = shapely.set_coordinates(cells, np.c_[lon, lat])
    codes = np.array([f"440304{i:06d}" for i in rng.permutation(len(cells))])
    return gpd.GeoDataFrame({"code": codes}, geometry=cells, crs=4326)


def make_points(grids: gpd.GeoDataFrame, n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points (lon, lat) spread evenly over the box of ``grids``."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = grids.total_bounds
    return rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)

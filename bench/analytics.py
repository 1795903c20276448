"""Analytics benchmarks: Gi* on 100k H3 cells, occlusion coverage, emerging hot spots.

Run: ``.venv/bin/python bench/analytics.py [--quick]``

Every figure is measured in this run and printed with its goal and, where
there is one, the ratio against an anchor measured in the same run:

* Gi* + FDR on 100,000 H3 cells (goal < 1 s; anchor: esda ``G_Local`` with
  ``permutations=0`` on the same values and weights, z-scores compared).
* Coverage with occlusion, 10,000 cameras x 100,000 buildings (goal < 30 s;
  anchor: the same function called camera by camera on a sample, scaled up).
* Emerging hot spots, 10,000 cells x 52 weekly steps (goal < 10 s; anchor:
  esda ``G_Local`` for one step, times 52).

All data are synthetic and deterministic (fixed seeds).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import shapely

from gis_core.coverage import coverage_by_grid, coverage_raster, visible_polygons
from gis_core.hotspots import emerging_hotspots_cube, gi_star, h3_contiguity

X0, Y0, CRS_M = 500_000.0, 2_500_000.0, 4547


def ok(flag: bool) -> str:
    return "OK" if flag else "MISSED"


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, float]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def h3_cells(n: int, lat: float = 31.2, lng: float = 121.5, res: int = 9) -> list[str]:
    k = 1
    while 3 * k * (k + 1) + 1 < n:
        k += 1
    return sorted(h3.grid_disk(h3.latlng_to_cell(lat, lng, res), k))[:n]


def esda_graph(w: Any) -> Any:
    from libpysal.graph import Graph

    return Graph.from_sparse(w.tocsr())


def esda_z(y: np.ndarray, w: Any) -> tuple[np.ndarray, float]:
    from esda.getisord import G_Local

    g = esda_graph(w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, secs = timed(lambda: G_Local(y, g, transform="B", star=True, permutations=0))
    return res.Zs, secs


def bench_gi(n: int) -> None:
    print(f"\n== Gi* with FDR on {n:,} H3 cells (res 9, contiguity ring 1)")
    cells = h3_cells(n)
    rng = np.random.default_rng(42)
    lat = np.array([h3.cell_to_latlng(c)[0] for c in cells])
    y = rng.poisson(2 + 6 * np.exp(-(((lat - lat.mean()) / lat.std()) ** 2))).astype(float)
    w, t_w = timed(lambda: h3_contiguity(cells), 1)
    res, t_gi = timed(lambda: gi_star(y, weights=w, fdr=True), 3)
    z_ref, t_esda = esda_z(y, w)
    diff = float(np.nanmax(np.abs(res["z"].to_numpy() - z_ref)))
    print(f"weights (h3 ring 1 -> sparse)     {t_w:8.3f} s")
    print(f"gi_star + FDR (given weights)     {t_gi:8.3f} s   goal < 1 s: {ok(t_gi < 1)}")
    print(f"gi_star incl. weights build       {t_w + t_gi:8.3f} s")
    print(
        f"esda G_Local permutations=0       {t_esda:8.3f} s   ratio esda/ours {t_esda / t_gi:6.1f}x"
    )
    print(f"max |z - esda z|                  {diff:.2e}")
    print(f"classes (-3..3) counts            {res['class'].value_counts().sort_index().to_dict()}")


def synthetic_town(
    n_buildings: int, n_cameras: int, seed: int = 7
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_buildings)))
    pitch = 30.0
    ij = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n_buildings]
    x0 = X0 + ij[:, 0] * pitch + rng.uniform(0, 4, n_buildings)
    y0 = Y0 + ij[:, 1] * pitch + rng.uniform(0, 4, n_buildings)
    w = rng.uniform(8, 20, n_buildings)
    d = rng.uniform(8, 20, n_buildings)
    geoms = shapely.box(x0, y0, x0 + w, y0 + d)
    # one building in five is L-shaped (concave)
    ell = rng.random(n_buildings) < 0.2
    notch = shapely.box(x0 + w / 2, y0 + d / 2, x0 + w, y0 + d)
    geoms[ell] = shapely.difference(geoms[ell], notch[ell])
    height = rng.choice([3.0, 6.0, 9.0, 12.0, 18.0, 30.0, 60.0], n_buildings)
    blds = gpd.GeoDataFrame({"height": height}, geometry=geoms, crs=CRS_M)
    pick = rng.choice(n_buildings, n_cameras, replace=False)
    cx = X0 + ij[pick, 0] * pitch - 3.0 + rng.uniform(-1, 1, n_cameras)
    cy = Y0 + ij[pick, 1] * pitch - 3.0 + rng.uniform(-1, 1, n_cameras)
    kind = rng.choice(["fixed", "ptz", "dome"], n_cameras, p=[0.6, 0.25, 0.15])
    pan_min = np.where(rng.random(n_cameras) < 0.5, rng.uniform(0, 360, n_cameras), np.nan)
    cams = gpd.GeoDataFrame(
        {
            "code": [f"CAM{i:05d}" for i in range(n_cameras)],
            "mount_height": rng.uniform(4, 10, n_cameras),
            "heading": rng.uniform(0, 360, n_cameras),
            "hfov": rng.uniform(40, 100, n_cameras),
            "range_m": rng.uniform(30, 80, n_cameras),
            "kind": kind,
            "pan_min": pan_min,
            "pan_max": np.mod(pan_min + rng.uniform(30, 180, n_cameras), 360),
            "status": "online",
        },
        geometry=gpd.points_from_xy(cx, cy),
        crs=CRS_M,
    )
    return blds, cams


def naive_visible(cams: gpd.GeoDataFrame, blds: gpd.GeoDataFrame) -> list[Any]:
    """Anchor: the same 2.5D model written camera by camera, building by building."""
    from pyproj import CRS

    from gis_core.coverage.sectors import view_metric

    sectors, xy = view_metric(cams, CRS.from_epsg(CRS_M), 2.0)
    fps = blds.geometry.values
    heights = blds["height"].to_numpy()
    tree = shapely.STRtree(fps)
    out = []
    for i, sector in enumerate(sectors):
        c = xy[i]
        hc, r = cams["mount_height"].iloc[i], cams["range_m"].iloc[i]
        shadows = []
        for b in tree.query(sector, predicate="intersects"):
            fp = fps[b]
            if fp.contains(shapely.Point(c)):
                continue
            d = max(fp.distance(shapely.Point(c)), 0.05)
            k = r / d * 1.01 + 1 if heights[b] >= hc else hc / (hc - heights[b])
            pts = shapely.get_coordinates(fp.exterior)
            shadows.append(shapely.MultiPoint(np.vstack([pts, c + (pts - c) * k])).convex_hull)
        out.append(sector.difference(shapely.union_all(shadows)) if shadows else sector)
    return out


def bench_coverage(n_cams: int, n_blds: int) -> None:
    print(f"\n== Coverage with occlusion: {n_cams:,} cameras x {n_blds:,} buildings")
    blds, cams = synthetic_town(n_blds, n_cams)
    vis, t_vis = timed(lambda: visible_polygons(cams, blds))
    sample = cams.iloc[:500]
    _, t_one = timed(lambda: naive_visible(sample, blds))
    t_anchor = t_one / len(sample) * n_cams
    print(f"visible_polygons (all cameras)    {t_vis:8.2f} s   goal < 30 s: {ok(t_vis < 30)}")
    print(
        f"anchor: per-camera loop (500, scaled) {t_anchor:8.2f} s   ratio {t_anchor / t_vis:6.1f}x"
    )
    minx, miny, maxx, maxy = blds.total_bounds
    step = 1000.0
    xs, ys = np.arange(minx, maxx, step), np.arange(miny, maxy, step)
    gx, gy = np.meshgrid(xs, ys)
    grids = gpd.GeoDataFrame(
        {"code": [f"G{i:04d}" for i in range(gx.size)]},
        geometry=shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + step, gy.ravel() + step),
        crs=CRS_M,
    )
    per_grid, t_grid = timed(lambda: coverage_by_grid(grids, vis, buildings=blds))
    (arr, _, _), t_ras = timed(lambda: coverage_raster(vis, (minx, miny, maxx, maxy), 5.0, CRS_M))
    print(
        f"coverage_by_grid ({len(grids)} grids + bldgs) {t_grid:8.2f} s   "
        f"mean covered share {per_grid['covered_share'].mean():.3f}"
    )
    print(
        f"coverage_raster (5 m, {arr.shape[0]}x{arr.shape[1]})  {t_ras:8.2f} s   "
        f"max cameras per cell {int(arr.max())}"
    )
    seen = per_grid["buildings_seen"].sum() / per_grid["buildings"].sum()
    print(f"buildings seen                    {seen:.1%}")


def bench_emerging(n_cells: int, n_steps: int) -> None:
    print(f"\n== Emerging hot spots: {n_cells:,} cells x {n_steps} weekly steps")
    cells = h3_cells(n_cells, res=8)
    rng = np.random.default_rng(3)
    lat = np.array([h3.cell_to_latlng(c)[0] for c in cells])
    lng = np.array([h3.cell_to_latlng(c)[1] for c in cells])
    u = (lat - lat.min()) / np.ptp(lat)
    v = (lng - lng.min()) / np.ptp(lng)
    t = np.linspace(0, 1, n_steps)
    rate = 2 + 8 * np.exp(-((u - 0.3) ** 2 + (v - 0.3) ** 2) / 0.01)[:, None] * t[None, :]
    rate += 6 * np.exp(-((u - 0.7) ** 2 + (v - 0.6) ** 2) / 0.01)[:, None]
    cube = rng.poisson(rate).astype(float)
    w, t_w = timed(lambda: h3_contiguity(cells))
    res, t_e = timed(lambda: emerging_hotspots_cube(cube, w, neighborhood_time_step=1))
    _, t_step = esda_z(cube[:, -1], w)
    anchor = t_step * n_steps
    print(f"weights (h3 ring 1 -> sparse)     {t_w:8.3f} s")
    print(
        f"emerging_hotspots_cube            {t_e:8.3f} s   goal < 10 s: {ok(t_e + t_w < 10)} "
        f"(incl. weights {t_w + t_e:.3f} s)"
    )
    print(f"anchor: esda G_Local x {n_steps} steps   {anchor:8.3f} s   ratio {anchor / t_e:6.1f}x")
    print(f"patterns                          {res['pattern'].value_counts().to_dict()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one tenth of the sizes")
    args = parser.parse_args()
    f = 10 if args.quick else 1
    bench_gi(100_000 // f)
    bench_coverage(10_000 // f, 100_000 // f)
    bench_emerging(10_000 // f, 52)


if __name__ == "__main__":
    main()

from __future__ import annotations

import io
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from gis_core.coverage import (
    blind_spots,
    coverage_by_grid,
    coverage_raster,
    view_polygons,
    viewshed,
    visible_polygons,
    write_geotiff,
)
from gis_core.errors import InvalidInput

DEM = Path("/work/shared/data/dem/pysheds_dem_3arcsec_fortworth_tx.tif")
CRS_M = 4547  # CGCS2000 3-degree Gauss-Kruger CM 114E
X0, Y0 = 500_000.0, 2_500_000.0


def cams(**cols: list) -> gpd.GeoDataFrame:
    xs = cols.pop("x", [0.0])
    ys = cols.pop("y", [0.0])
    return gpd.GeoDataFrame(
        cols,
        geometry=gpd.points_from_xy(np.add(xs, X0), np.add(ys, Y0)),
        crs=CRS_M,
    )


def boxes(rects: list[tuple[float, float, float, float]], heights: list[float]) -> gpd.GeoDataFrame:
    geoms = [shapely.box(a + X0, b + Y0, c + X0, d + Y0) for a, b, c, d in rects]
    return gpd.GeoDataFrame({"height": heights}, geometry=geoms, crs=CRS_M)


def area_in(geom: shapely.Geometry, rect: tuple[float, float, float, float]) -> float:
    a, b, c, d = rect
    return float(shapely.intersection(geom, shapely.box(a + X0, b + Y0, c + X0, d + Y0)).area)


EAST = {"heading": [90.0], "hfov": [60.0], "range_m": [100.0], "mount_height": [6.0]}


# ---------------------------------------------------------------- view sectors


def test_fixed_sector_points_the_right_way_with_the_right_area() -> None:
    v = view_polygons(cams(**EAST)).iloc[0]
    assert v.area == pytest.approx(math.pi * 100**2 / 6, rel=2e-3)
    assert v.centroid.x > X0 + 50
    assert abs(v.centroid.y - Y0) < 1e-6
    assert v.covers(shapely.Point(X0 + 90, Y0 + 40))  # bearing 66 deg
    assert not v.covers(shapely.Point(X0 + 40, Y0 + 40))  # bearing 45 deg, outside


@pytest.mark.parametrize(
    ("kind", "pan", "fraction"),
    [
        ("dome", (None, None), 1.0),
        ("ptz", (None, None), 1.0),
        ("ptz", (0.0, 90.0), 150 / 360),
        ("ptz", (300.0, 60.0), 180 / 360),
        ("long_range", (0.0, 90.0), 150 / 360),
        ("fixed", (0.0, 90.0), 60 / 360),  # fixed cameras ignore pan limits
        ("ptz", (0.0, 330.0), 1.0),  # sweep 330 + 60 > 360: a full disc
    ],
)
def test_ptz_and_dome_sweeps(kind: str, pan: tuple, fraction: float) -> None:
    c = cams(**EAST, kind=[kind], pan_min=[pan[0]], pan_max=[pan[1]])
    v = view_polygons(c).iloc[0]
    assert v.is_valid
    assert v.area == pytest.approx(math.pi * 100**2 * fraction, rel=2e-3)


def test_pan_range_across_north_covers_north_not_south() -> None:
    c = cams(**EAST, kind=["ptz"], pan_min=[300.0], pan_max=[60.0])
    v = view_polygons(c).iloc[0]
    assert v.covers(shapely.Point(X0, Y0 + 50))
    assert not v.covers(shapely.Point(X0, Y0 - 50))
    assert v.covers(shapely.Point(X0 + 50, Y0))  # 60 + 30 = 90 deg edge


def test_view_polygons_in_wgs84_are_built_in_metres() -> None:
    c = gpd.GeoDataFrame(
        {
            "heading": [0.0, 0.0],
            "hfov": [90.0, 90.0],
            "range_m": [100.0, 50.0],
            "kind": ["fixed", "dome"],
        },
        geometry=gpd.points_from_xy([113.93, 113.94], [22.52, 22.53]),
        crs=4326,
    )
    v = view_polygons(c)
    assert v.crs.to_epsg() == 4326
    assert list(v.index) == list(c.index)
    area = v.to_crs(4547).area
    assert area.iloc[0] == pytest.approx(math.pi * 100**2 / 4, rel=5e-3)
    assert area.iloc[1] == pytest.approx(math.pi * 50**2, rel=5e-3)


@pytest.mark.parametrize(
    ("col", "value"),
    [("kind", "bogus"), ("range_m", 0.0), ("hfov", 400.0), ("mount_height", -1.0)],
)
def test_bad_camera_values_name_the_parameter(col: str, value: object) -> None:
    c = cams(**{**EAST, col: [value]})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=col):
        view_polygons(c) if col != "mount_height" else visible_polygons(c, None)


# ---------------------------------------------------------------- occlusion


def test_camera_facing_a_tall_wall_sees_nothing_behind_it() -> None:
    wall = boxes([(30, -100, 35, 100)], [20.0])
    v = visible_polygons(cams(**EAST), wall).iloc[0]
    assert area_in(v, (30, -200, 300, 200)) == pytest.approx(0.0, abs=1e-6)
    # what is left is the triangle in front of the wall: 30 m deep, +-30 deg
    assert v.area == pytest.approx(30 * 30 * math.tan(math.radians(30)), rel=1e-6)


def test_building_as_tall_as_the_camera_hides_to_the_end_of_the_range() -> None:
    block = boxes([(40, -5, 50, 5)], [6.0])
    v = visible_polygons(cams(**EAST), block).iloc[0]
    # the shadow wedge behind the block out to 100 m
    assert area_in(v, (51, -3, 99, 3)) == pytest.approx(0.0, abs=1e-6)
    # beside the wedge the ground is seen
    assert area_in(v, (60, 15, 90, 30)) > 0.9 * 30 * 15 - 1


def test_low_building_hides_only_its_short_shadow() -> None:
    # camera eye 6 m, building 2 m: the ray over the roof edge at 35 m lands at
    # 35 * 6 / (6 - 2) = 52.5 m
    low = boxes([(30, -100, 35, 100)], [2.0])
    cam = cams(**EAST)
    v = visible_polygons(cam, low).iloc[0]
    sector = view_polygons(cam).iloc[0]
    assert area_in(v, (30, -100, 52.4, 100)) == pytest.approx(0.0, abs=1e-6)
    far = (52.6, -100, 200, 100)
    assert area_in(v, far) == pytest.approx(area_in(sector, far), rel=1e-9)
    assert area_in(v, far) > 1000


def test_missing_height_uses_default_height() -> None:
    wall = boxes([(30, -100, 35, 100)], [float("nan")])
    cam = cams(**EAST)
    tall = visible_polygons(cam, wall, default_height=10.0).iloc[0]
    low = visible_polygons(cam, wall, default_height=1.0).iloc[0]
    assert area_in(tall, (36, -100, 200, 100)) == pytest.approx(0.0, abs=1e-6)
    assert area_in(low, (45, -100, 200, 100)) > 0


def test_concave_building_notch_facing_the_camera_is_seen() -> None:
    # a U open towards the camera: its courtyard is in plain view
    u = boxes([(30, -40, 35, -5), (30, 5, 35, 40), (35, -40, 60, 40)], [30.0, 30.0, 30.0])
    one = gpd.GeoDataFrame(
        {"height": [30.0]}, geometry=[shapely.union_all(u.geometry.values)], crs=CRS_M
    )
    assert one.geometry.iloc[0].geom_type == "Polygon"
    v = visible_polygons(cams(**EAST), one).iloc[0]
    assert v.covers(shapely.Point(X0 + 33, Y0))
    assert area_in(v, (61, -30, 100, 30)) == pytest.approx(0.0, abs=1e-6)
    assert not v.covers(shapely.Point(X0 + 33, Y0 + 10))  # inside the U's arm


def test_building_containing_the_camera_does_not_blind_it() -> None:
    roof = boxes([(-5, -5, 5, 5)], [20.0])
    v = visible_polygons(cams(**EAST), roof).iloc[0]
    assert area_in(v, (10, -100, 100, 100)) > 1000


def test_occlusion_is_per_camera_and_aligned() -> None:
    c = cams(
        x=[0.0, 0.0],
        y=[0.0, 300.0],
        heading=[90.0, 90.0],
        hfov=[60.0, 60.0],
        range_m=[100.0, 100.0],
        mount_height=[6.0, 6.0],
    )
    c.index = ["a", "b"]
    wall = boxes([(30, -100, 35, 100)], [20.0])
    v = visible_polygons(c, wall)
    assert list(v.index) == ["a", "b"]
    assert v["a"].area < v["b"].area
    assert v["b"].area == pytest.approx(math.pi * 100**2 / 6, rel=2e-3)


# ---------------------------------------------------------------- per grid


def half_grid_case() -> tuple[gpd.GeoDataFrame, gpd.GeoSeries]:
    grids = gpd.GeoDataFrame(
        {"code": ["G1", "G2"]},
        geometry=[
            shapely.box(X0, Y0, X0 + 100, Y0 + 100),
            shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100),
        ],
        crs=CRS_M,
    )
    # a half-disc facing east from the middle of G1 covers exactly its east half
    c = cams(x=[50.0], y=[50.0], heading=[90.0], hfov=[180.0], range_m=[80.0], kind=["fixed"])
    return grids, view_polygons(c)


def test_one_camera_covering_half_a_grid() -> None:
    grids, vis = half_grid_case()
    roads = gpd.GeoSeries(
        [
            shapely.LineString([(X0, Y0 + 50), (X0 + 100, Y0 + 50)]),
            shapely.LineString([(X0 + 25, Y0), (X0 + 25, Y0 + 100)]),
        ],
        crs=CRS_M,
    )
    blds = boxes([(70, 40, 80, 45), (10, 10, 20, 20), (150, 50, 160, 60)], [5.0, 5.0, 5.0])
    out = coverage_by_grid(grids, vis, roads=roads, buildings=blds)
    g1, g2 = out.loc["G1"], out.loc["G2"]
    assert g1["covered_share"] == pytest.approx(0.5, abs=1e-6)
    assert g1["area_m2"] == pytest.approx(10_000)
    # the 80 m half-disc reaches 30 m into G2, clipped to its y range 0..100
    x = np.linspace(100, 130, 300_001)
    half_width = np.minimum(np.sqrt(np.maximum(80**2 - (x - 50) ** 2, 0)), 50)
    assert g2["covered_m2"] == pytest.approx(np.trapezoid(2 * half_width, x), rel=2e-3)
    assert g1["road_m"] == pytest.approx(200.0)
    assert g1["covered_road_m"] == pytest.approx(50.0)
    assert g1["road_share"] == pytest.approx(0.25)
    assert np.isnan(g2["road_share"])
    assert (g1["buildings"], g1["buildings_seen"]) == (2, 1)
    assert (g2["buildings"], g2["buildings_seen"]) == (1, 0)
    assert out["covered_share"].between(0, 1).all()
    assert (out["cameras"] == 1).all()


def test_blind_spots_with_codes_and_minimum_area() -> None:
    grids, vis = half_grid_case()
    spots = blind_spots(grids, vis, min_area_m2=100)
    g1 = spots[spots["code"] == "G1"]
    assert len(g1) == 1
    assert g1["area_m2"].iloc[0] == pytest.approx(5000, rel=1e-6)
    assert spots.crs == grids.crs
    assert shapely.intersection(g1.geometry.iloc[0], vis.iloc[0]).area == pytest.approx(0, abs=1e-6)
    assert blind_spots(grids, vis, min_area_m2=9000).empty
    with pytest.raises(InvalidInput, match="min_area_m2"):
        blind_spots(grids, vis, min_area_m2=-1)


def test_buildings_seen_through_occlusion() -> None:
    grids = gpd.GeoDataFrame(
        {"code": ["G"]}, geometry=[shapely.box(X0 - 10, Y0 - 100, X0 + 120, Y0 + 100)], crs=CRS_M
    )
    blds = boxes([(30, -100, 35, 100), (60, -5, 70, 5)], [20.0, 5.0])
    vis = visible_polygons(cams(**EAST), blds)
    out = coverage_by_grid(grids, vis, buildings=blds)
    assert (out.loc["G", "buildings"], out.loc["G", "buildings_seen"]) == (2, 1)


# ---------------------------------------------------------------- rasters


def test_coverage_raster_counts_cameras_and_round_trips_as_geotiff(tmp_path: Path) -> None:
    v = gpd.GeoSeries(
        [shapely.box(X0, Y0, X0 + 40, Y0 + 20), shapely.box(X0 + 20, Y0, X0 + 60, Y0 + 20)],
        crs=CRS_M,
    )
    arr, transform, crs = coverage_raster(v, (X0, Y0, X0 + 80, Y0 + 20), 10, CRS_M)
    assert arr.dtype == np.uint16
    assert arr.shape == (2, 8)
    assert arr[0].tolist() == [1, 1, 2, 2, 1, 1, 0, 0]
    path = tmp_path / "cov.tif"
    write_geotiff(path, arr, transform, crs)
    buf = io.BytesIO()
    write_geotiff(buf, arr, transform, crs)
    for src in (path, io.BytesIO(buf.getvalue())):
        with rasterio.open(src) as ds:
            assert (ds.read(1) == arr).all()
            assert ds.crs.to_epsg() == CRS_M
            assert ds.transform == transform


# ---------------------------------------------------------------- viewshed


def wall_dem() -> tuple[np.ndarray, Affine]:
    dem = np.zeros((100, 100))
    dem[30:70, 60] = 20.0  # a wall 20 m high, 10 m thick, rows 30..69
    return dem, Affine(10, 0, 0, 0, -10, 1000)


def test_viewshed_wall_blocks_what_is_behind_it() -> None:
    dem, tr = wall_dem()
    vis = viewshed(dem, tr, (305.0, 505.0), 2.0, 2000.0, curvature=False)
    assert vis[49, 30]  # the observer's cell
    assert vis[30:70, :60].all()  # open ground in front of the wall
    assert vis[40:60, 60].all()  # the wall's face/top is seen
    assert not vis[40:60, 61:].any()  # nothing directly behind it
    assert vis[5, 90]
    assert vis[95, 90]


def test_viewshed_respects_heading_and_range() -> None:
    dem, tr = wall_dem()
    obs = (305.0, 505.0)
    vis = viewshed(dem, tr, obs, 2.0, 250.0, heading=0.0, hfov=90.0, curvature=False)
    rows, cols = np.nonzero(vis)
    x = tr.c + (cols + 0.5) * 10 - obs[0]
    y = tr.f - (rows + 0.5) * 10 - obs[1]
    assert (np.hypot(x, y) <= 250.0).all()
    assert (y >= np.abs(x) - 1e-9).all()  # within +-45 deg of north
    assert vis.sum() > 0.8 * (math.pi * 25**2 / 4)


def test_viewshed_on_real_geographic_dem_uses_metres() -> None:
    with rasterio.open(DEM) as ds:
        dem = ds.read(1).astype(float)
        tr, crs = ds.transform, ds.crs
    r, c = 180, 180
    obs = tr @ (c + 0.5, r + 0.5)
    flat = viewshed(np.zeros_like(dem), tr, obs, 2.0, 5000.0, crs=crs, curvature=False)
    # 5 km is ~64 cells east-west but only ~54 north-south at 32.7 N
    east = np.nonzero(flat[r, c:])[0].max()
    north = np.nonzero(flat[: r + 1, c][::-1])[0].max()
    lat = math.radians(obs[1])
    assert east == pytest.approx(5000 / (tr.a * 111_320 * math.cos(lat)), abs=1.5)
    assert north == pytest.approx(5000 / (-tr.e * 110_900), abs=1.5)
    low = viewshed(DEM, None, obs, 2.0, 5000.0)
    high = viewshed(DEM, None, obs, 60.0, 5000.0)
    assert low.shape == dem.shape
    assert not (low & ~flat).any()
    assert not (low & ~high).any()  # raising the eye never hides a cell
    assert 0 < low.sum() < high.sum() <= flat.sum()
    sector = viewshed(DEM, None, obs, 60.0, 5000.0, heading=90.0, hfov=60.0)
    assert not (sector & ~high).any()
    assert sector.sum() < high.sum() / 4
    with pytest.raises(InvalidInput, match="observer_xy"):
        viewshed(DEM, None, (0.0, 0.0), 2.0, 5000.0)


def _hidden_by_ray(
    cam: tuple[float, float], eye: float, x: shapely.Point, blds: gpd.GeoDataFrame
) -> bool:
    """Brute-force 2.5D line of sight from the eye to the ground point x."""
    seg = shapely.LineString([cam, (x.x, x.y)])
    dist = seg.length
    for geom, h in zip(blds.geometry, blds["height"], strict=True):
        if geom.contains(x):
            return True
        cut = seg.intersection(geom)
        if cut.is_empty:
            continue
        far = max(
            shapely.Point(cam).distance(shapely.Point(p)) for p in shapely.get_coordinates(cut)
        )
        if eye * (1 - far / dist) < h:
            return True
    return False


def test_visible_polygons_agree_with_brute_force_line_of_sight() -> None:
    rng = np.random.default_rng(11)
    rects, heights = [], []
    for _ in range(12):
        x, y = rng.uniform(-70, 70, 2)
        w, h = rng.uniform(4, 15, 2)
        rects.append((x, y, x + w, y + h))
        heights.append(float(rng.choice([2.0, 4.0, 5.0, 8.0, 20.0])))
    blds = boxes(rects, heights)
    blds = blds[~blds.intersects(shapely.Point(X0, Y0).buffer(3))]
    # one concave (L-shaped) building too
    ell = shapely.union_all(
        [
            shapely.box(X0 - 40, Y0 - 60, X0 - 10, Y0 - 55),
            shapely.box(X0 - 15, Y0 - 60, X0 - 10, Y0 - 30),
        ]
    )
    blds = gpd.GeoDataFrame(
        {"height": [*blds["height"], 3.0]}, geometry=[*blds.geometry, ell], crs=CRS_M
    ).reset_index(drop=True)
    blds = blds[
        blds.geometry.apply(lambda g: not any(g.overlaps(o) for o in blds.geometry if o is not g))
    ]
    cam = cams(heading=[0.0], hfov=[360.0], range_m=[90.0], mount_height=[6.0], kind=["dome"])
    vis = visible_polygons(cam, blds).iloc[0]
    pts = shapely.points(rng.uniform(-85, 85, (600, 2)) + np.array([X0, Y0]))
    checked = 0
    for p in pts:
        if shapely.Point(X0, Y0).distance(p) > 88 or vis.boundary.distance(p) < 0.05:
            continue
        checked += 1
        assert vis.covers(p) == (not _hidden_by_ray((X0, Y0), 6.0, p, blds)), p
    assert checked > 400


def test_real_buildings_lujiazui_multipolygons_in_wgs84() -> None:
    path = "/work/shared/data/cn_buildings/shanghai_lujiazui_osm_tilezen.gpkg"
    blds = gpd.read_file(path, layer="buildings", bbox=(121.495, 31.232, 121.510, 31.242))
    assert (blds.geom_type == "MultiPolygon").all()
    assert len(blds) > 50
    c = gpd.GeoDataFrame(
        {
            "heading": [0.0, 90.0, 200.0],
            "hfov": [90.0, 60.0, 360.0],
            "range_m": [150.0, 200.0, 120.0],
            "kind": ["fixed", "fixed", "dome"],
            "mount_height": [8.0, 12.0, 6.0],
        },
        geometry=gpd.points_from_xy([121.500, 121.503, 121.506], [31.236, 31.238, 31.235]),
        crs=4326,
    )
    c = c[~c.intersects(blds.union_all())]
    assert len(c) >= 2
    vis = visible_polygons(c, blds, default_height=20.0)
    sec = view_polygons(c)
    assert vis.crs.to_epsg() == 4326
    m = vis.to_crs(4547)
    ms = sec.to_crs(4547)
    footprints = blds.to_crs(4547).union_all()
    for v, s in zip(m, ms, strict=True):
        assert v.is_valid
        assert 0 < v.area < s.area
        assert v.difference(s).area < 1e-3 * s.area
        # no camera sees into a building footprint
        assert v.intersection(footprints).area < 1e-6 * s.area


@pytest.mark.parametrize("seed", range(4))
def test_visible_pairs_agree_with_the_visible_polygons(seed: int) -> None:
    from gis_core.coverage import visible_pairs, visible_polygons

    rng = np.random.default_rng(seed)
    n_cam, n_bld, n_pt = 12, 25, 400
    cams = gpd.GeoDataFrame(
        {"heading": rng.uniform(0, 360, n_cam), "hfov": rng.choice([60.0, 360.0], n_cam),
         "range_m": rng.uniform(30, 150, n_cam), "mount_height": rng.uniform(3, 12, n_cam),
          "kind": np.where(rng.random(n_cam) < 0.5, "dome", "fixed")},
        geometry=gpd.points_from_xy(*(500_000 + rng.uniform(0, 300, (2, n_cam)))), crs=4547)
    corners = 500_000 + rng.uniform(0, 300, (n_bld, 2))
    blds = gpd.GeoDataFrame(
        {"height": rng.uniform(3, 30, n_bld)}, crs=4547,
        geometry=[shapely.box(x, y, x + w, y + h) for (x, y), w, h in
                  zip(corners, rng.uniform(5, 20, n_bld), rng.uniform(5, 20, n_bld), strict=True)])
    pts = gpd.GeoSeries(gpd.points_from_xy(*(500_000 + rng.uniform(0, 300, (2, n_pt)))),
                        crs=4547)
    pts = pts[~pts.within(blds.union_all())].reset_index(drop=True)
    cam, pt = visible_pairs(cams, blds, pts)
    vis = visible_polygons(cams, blds)
    expected = {(i, j) for i, geom in enumerate(vis) for j in
                np.nonzero(pts.intersects(geom).to_numpy())[0]}
    assert set(zip(cam.tolist(), pt.tolist(), strict=True)) == expected
    assert 0 < len(expected) < len(visible_pairs(cams, None, pts)[0])  # buildings hide some

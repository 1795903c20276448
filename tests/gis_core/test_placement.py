from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gis_core.coverage import view_polygons
from gis_core.errors import InvalidInput
from gis_core.placement import coverage_matrix, recommend_cameras, sample_area

CRS_M = 4547
X0, Y0 = 500_000.0, 2_500_000.0


def pts(xy: list[tuple[float, float]], **cols: list) -> gpd.GeoDataFrame:
    a = np.asarray(xy, dtype=float) + np.array([X0, Y0])
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(a[:, 0], a[:, 1]), crs=CRS_M)


def cluster(cx: float, cy: float, n: int, seed: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    return [tuple(p) for p in rng.normal((cx, cy), 8.0, (n, 2))]


def test_picks_the_site_near_uncovered_demand_over_covered_demand() -> None:
    covered = cluster(0, 0, 30, 1)
    uncovered = cluster(300, 0, 20, 2)  # fewer events, but nobody sees them
    demand = pts(covered + uncovered, weight=[1.0] * 50)
    existing = view_polygons(
        pts([(0, -5)], kind=["dome"], range_m=[60.0], heading=[0.0], hfov=[360.0])
    )
    cand = pts([(5, 5), (305, 5)])
    cand.index = ["near_covered", "near_uncovered"]
    res = recommend_cameras(cand, 1, demand, existing_visible=existing, range_m=50)
    assert res["candidate"].tolist() == ["near_uncovered"]
    assert res["gain"].iloc[0] == pytest.approx(20.0)
    assert res.attrs["existing_weight"] == pytest.approx(30.0)
    # without the existing camera the bigger cluster wins
    res2 = recommend_cameras(cand, 1, demand, range_m=50)
    assert res2["candidate"].tolist() == ["near_covered"]


def test_gains_are_ordered_and_add_up_to_the_covered_weight() -> None:
    a, b, c = cluster(0, 0, 10, 3), cluster(200, 0, 25, 4), cluster(400, 0, 5, 5)
    demand = pts(a + b + c, weight=[2.0] * 10 + [1.0] * 25 + [1.0] * 5)
    cand = pts([(0, 0), (200, 0), (400, 0), (100, 0)])
    res = recommend_cameras(cand, 3, demand, range_m=50)
    assert res["rank"].tolist() == [1, 2, 3]
    assert res["candidate"].tolist() == [1, 0, 2]
    assert res["gain"].tolist() == pytest.approx([25.0, 20.0, 5.0])
    assert res["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert res.crs == cand.crs
    assert res["visible"].iloc[0].contains(cand.geometry.iloc[1].buffer(10))


def test_buildings_block_a_candidate_behind_a_wall() -> None:
    demand = pts(cluster(100, 0, 20, 6), weight=[1.0] * 20)
    cand = pts([(60, 0), (100, 40)])  # west of a wall / north with a clear view
    wall = gpd.GeoDataFrame(
        {"height": [25.0]}, geometry=[shapely.box(X0 + 75, Y0 - 60, X0 + 80, Y0 + 25)], crs=CRS_M
    )
    # the western site is closer to the cluster, but the wall hides it
    res_open = recommend_cameras(cand, 1, demand, range_m=60)
    assert res_open["candidate"].tolist() == [0]
    res = recommend_cameras(cand, 1, demand, buildings=wall, range_m=60)
    assert res["candidate"].tolist() == [1]


def test_headings_are_separate_options() -> None:
    demand = pts(cluster(0, 40, 15, 7) + cluster(40, 0, 5, 8), weight=[1.0] * 20)
    cand = pts([(0, 0)])
    res = recommend_cameras(cand, 2, demand, headings=[0, 90, 180, 270], hfov=60, range_m=70)
    assert res["heading"].tolist() == [0.0, 90.0]
    assert res["gain"].iloc[0] > res["gain"].iloc[1] > 0


def test_uncovered_area_as_demand() -> None:
    square = gpd.GeoSeries([shapely.box(X0, Y0, X0 + 200, Y0 + 100)], crs=CRS_M)
    # the existing camera sees the western half
    existing = gpd.GeoSeries([shapely.box(X0, Y0, X0 + 100, Y0 + 100)], crs=CRS_M)
    cand = pts([(50, 50), (150, 50)])
    res = recommend_cameras(cand, 1, None, existing, area=square, sample_spacing_m=2, range_m=40)
    assert res["candidate"].tolist() == [1]
    # the gain is the area of the new camera's disc in m^2
    assert res["gain"].iloc[0] == pytest.approx(np.pi * 40**2, rel=0.02)
    samples = sample_area(square, 5)
    assert len(samples) == 40 * 20
    assert samples["weight"].sum() == pytest.approx(20_000)


def test_wgs84_inputs() -> None:
    cand = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy([113.930, 113.935], [22.52, 22.52]), crs=4326
    )
    demand = gpd.GeoDataFrame(
        {"weight": [1.0, 1.0, 3.0]},
        geometry=gpd.points_from_xy([113.9301, 113.9299, 113.9351], [22.5201, 22.52, 22.5202]),
        crs=4326,
    )
    res = recommend_cameras(cand, 1, demand, range_m=40)
    assert res["candidate"].tolist() == [1]
    assert res.crs.to_epsg() == 4326
    assert res["gain"].iloc[0] == pytest.approx(3.0)


def test_coverage_matrix_and_input_checks() -> None:
    vis = gpd.GeoSeries([shapely.box(0, 0, 10, 10), shapely.box(5, 0, 20, 10)], crs=CRS_M)
    d = gpd.GeoSeries(shapely.points([(1, 1), (7, 5), (30, 30)]), crs=CRS_M)
    assert coverage_matrix(vis, d).toarray().astype(int).tolist() == [[1, 0], [1, 1], [0, 0]]
    cand = pts([(0, 0)])
    demand = pts([(1, 1)])
    with pytest.raises(InvalidInput, match="k must"):
        recommend_cameras(cand, 2, demand)
    with pytest.raises(InvalidInput, match="demand"):
        recommend_cameras(cand, 1, None)
    with pytest.raises(InvalidInput, match="weight"):
        recommend_cameras(cand, 1, pts([(1, 1)], weight=[-1.0]))


@pytest.mark.parametrize("seed", range(6))
def test_the_solver_finds_the_optimum_of_a_brute_force_search(seed: int) -> None:
    from itertools import combinations

    from scipy import sparse

    from gis_core.placement import _solve_mclp

    rng = np.random.default_rng(seed)
    cover = sparse.csr_matrix(rng.random((40, 9)) < 0.15)
    weights = rng.integers(0, 5, 40).astype(float)
    k = int(rng.integers(1, 4))

    def covered(options: tuple[int, ...] | list[int]) -> float:
        seen = np.asarray(cover[:, list(options)].sum(axis=1)).ravel() > 0
        return float(weights[seen].sum())

    chosen = _solve_mclp(cover, weights, k)
    assert len(chosen) == k
    best = max(covered(c) for c in combinations(range(9), k))
    assert covered(chosen) == pytest.approx(best)

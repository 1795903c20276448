from __future__ import annotations

import warnings

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from esda.getisord import G_Local
from libpysal.weights import WSP
from scipy import sparse, stats

from gis_core.errors import CRSMismatch, InvalidInput
from gis_core.hotspots import (
    PATTERNS,
    aggregate_grids,
    aggregate_h3,
    classify_pattern,
    emerging_hotspots,
    emerging_hotspots_cube,
    fdr_cutoff,
    gi_star,
    h3_contiguity,
    kernel_density,
    mann_kendall,
    spatial_weights,
)

ORIGIN = h3.latlng_to_cell(31.23, 121.47, 9)


def _cells(rings: int) -> list[str]:
    return sorted(h3.grid_disk(ORIGIN, rings))


def _esda_z(y: np.ndarray, w: sparse.spmatrix) -> np.ndarray:
    pw = WSP(sparse.csr_matrix(w)).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(y, pw, transform="B", star=True, permutations=0).Zs


# ---------------------------------------------------------------- aggregation


def test_aggregate_h3_counts_filters_and_hexagons() -> None:
    pts = gpd.GeoDataFrame(
        {
            "reported_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01", "2024-01-03"]),
            "category_code": ["a", "b", "a", "a"],
        },
        geometry=gpd.points_from_xy([121.47, 121.47, 121.47, 121.60], [31.23] * 3 + [31.30]),
        crs=4326,
    )
    out = aggregate_h3(pts, 9, start="2024-01-01", end="2024-01-31", categories=["a"])
    assert out["count"].sum() == 2
    assert set(out["cell"]) == {
        h3.latlng_to_cell(31.23, 121.47, 9),
        h3.latlng_to_cell(31.30, 121.60, 9),
    }
    # each event lies in its hexagon
    joined = gpd.sjoin(pts.iloc[[0, 3]], out, predicate="within")
    assert len(joined) == 2
    # a projected input gives the same cells
    again = aggregate_h3(pts.to_crs(4547), 9)
    assert again["count"].sum() == 4


def test_aggregate_h3_rejects_bad_resolution() -> None:
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0], [0]), crs=4326)
    with pytest.raises(InvalidInput, match="resolution"):
        aggregate_h3(pts, 16)


def test_aggregate_grids_spatial_join_and_given_codes() -> None:
    grids = gpd.GeoDataFrame(
        {"code": ["G1", "G2", "G3"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 0, 3, 1)],
        crs=4326,
    )
    ev = gpd.GeoDataFrame(
        {"grid": ["G2", "G2", "G1"]},
        geometry=gpd.points_from_xy([0.5, 1.0, 1.5], [0.5, 0.5, 0.5]),
        crs=4326,
    )
    by_join = aggregate_grids(ev, grids)
    # the point on the shared edge x=1 goes to the first grid (G1)
    assert by_join["count"].tolist() == [2, 1, 0]
    by_code = aggregate_grids(ev, grids, grid_col="grid")
    assert by_code["count"].tolist() == [1, 2, 0]
    with pytest.raises(InvalidInput, match="code"):
        aggregate_grids(ev, grids, code="nope")
    with pytest.raises(CRSMismatch, match="reproject"):
        aggregate_grids(ev.set_crs(4490, allow_override=True), grids)


# ---------------------------------------------------------------- weights and Gi*


def test_h3_contiguity_is_symmetric_with_six_neighbours_inside() -> None:
    cells = _cells(3)
    w = h3_contiguity(cells)
    assert (w != w.T).nnz == 0
    assert w.diagonal().sum() == 0
    card = np.asarray(w.sum(axis=1)).ravel()
    assert card[cells.index(ORIGIN)] == 6
    assert card.min() == 3  # the corners of the outer ring


@pytest.mark.parametrize(
    ("lat", "lng", "res", "keep"),
    [
        (31.23, 121.47, 9, 1.0),  # a dense city block
        (31.23, 121.47, 9, 0.3),  # sparse occupied cells, many isolated
        (69.65, 18.96, 7, 0.6),  # high latitude
        (-33.9, 151.2, 3, 1.0),  # coarse cells over a large area
        (0.0, -160.0, 5, 0.8),
    ],
)
def test_h3_contiguity_fast_path_equals_grid_disk(
    lat: float, lng: float, res: int, keep: float
) -> None:
    from gis_core.hotspots.weights import _h3_disk_weights, _h3_ring1_geometric

    rng = np.random.default_rng(res)
    cells = sorted(h3.grid_disk(h3.latlng_to_cell(lat, lng, res), 12))
    cells = [c for c in cells if rng.random() < keep]
    fast = _h3_ring1_geometric(cells)
    assert fast is not None
    assert (fast != _h3_disk_weights(cells, 1)).nnz == 0


def test_h3_contiguity_around_a_pentagon_uses_grid_disk() -> None:
    pent = sorted(h3.get_pentagons(4))[3]
    cells = sorted(h3.grid_disk(pent, 2))
    w = h3_contiguity(cells)
    assert int(w[cells.index(pent)].sum()) == 5
    assert (w != w.T).nnz == 0


@pytest.mark.parametrize("rings", [1, 2])
def test_gi_star_equals_esda_on_h3_contiguity(rings: int) -> None:
    cells = _cells(9)  # 271 cells
    rng = np.random.default_rng(1)
    y = rng.poisson(3.0, len(cells)).astype(float)
    y[:20] += 10
    ours = gi_star(y, cells, method="contiguity", k=rings, fdr=False)
    ref = _esda_z(y, h3_contiguity(cells, rings))
    np.testing.assert_allclose(ours["z"].to_numpy(), ref, rtol=0, atol=1e-8)


def test_gi_star_accepts_a_libpysal_w_and_a_series() -> None:
    cells = _cells(5)
    y = pd.Series(np.arange(len(cells), dtype=float), index=cells)
    w = h3_contiguity(cells)
    from_w = gi_star(y, weights=WSP(w).to_W(silence_warnings=True))
    from_ids = gi_star(y, cells, method="contiguity")
    assert list(from_w.index) == cells
    np.testing.assert_allclose(from_w["z"], from_ids["z"], atol=1e-12)


def test_gi_star_equals_esda_on_distance_bands() -> None:
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 1000, (300, 2))
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4547)
    y = rng.gamma(2.0, 2.0, 300) + (xy[:, 0] > 800) * 5
    ours = gi_star(y, pts, method="distance", distance=150.0)
    w = spatial_weights(pts, "distance", distance=150.0)
    # the neighbours really are the points within 150 m
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    expected = (d <= 150.0) & ~np.eye(300, dtype=bool)
    assert (w.toarray().astype(bool) == expected).all()
    np.testing.assert_allclose(ours["z"].to_numpy(), _esda_z(y, w), atol=1e-8)
    # the p-value is two-sided normal
    np.testing.assert_allclose(ours["p"], 2 * stats.norm.sf(np.abs(ours["z"])))


def test_gi_star_polygon_contiguity_and_knn() -> None:
    boxes = [shapely.box(i, j, i + 1, j + 1) for i in range(12) for j in range(12)]
    g = gpd.GeoSeries(boxes, crs=4547)
    y = np.array([10.0 if (b.bounds[0] < 3 and b.bounds[1] < 3) else 1.0 for b in boxes])
    res = gi_star(y, g, method="contiguity")
    assert res["n_neighbors"].iloc[15] == 9  # queen: 8 neighbours + itself
    assert res["class"].iloc[0] == 3
    assert res["class"].iloc[-1] <= 0
    knn = gi_star(y, g, method="knn", k=4, fdr=False)
    assert (knn["n_neighbors"] == 5).all()


def test_gi_star_classes_without_fdr_follow_z_thresholds() -> None:
    cells = _cells(8)
    rng = np.random.default_rng(3)
    y = rng.poisson(4.0, len(cells)).astype(float)
    y[:30] += 6
    res = gi_star(y, cells, method="contiguity", fdr=False)
    z = res["z"].abs()
    expected = np.select([z > 2.5758, z > 1.9600, z > 1.6449], [3, 2, 1], 0) * np.sign(res["z"])
    assert (res["class"].to_numpy() == expected).all()
    assert res["class"].between(-3, 3).all()


def test_fdr_classes_match_benjamini_hochberg() -> None:
    cells = _cells(8)
    rng = np.random.default_rng(4)
    y = rng.poisson(4.0, len(cells)).astype(float)
    y[:40] += 5
    res = gi_star(y, cells, method="contiguity", fdr=True)
    raw = gi_star(y, cells, method="contiguity", fdr=False)
    adjusted = stats.false_discovery_control(res["p"].to_numpy(), method="bh")
    level = np.select([adjusted <= 0.01, adjusted <= 0.05, adjusted <= 0.10], [3, 2, 1], 0)
    assert (np.abs(res["class"].to_numpy()) == level).all()
    assert (res["significant"].to_numpy() == (adjusted <= 0.05)).all()
    # FDR never makes a location more significant
    assert (np.abs(res["class"]) <= np.abs(raw["class"])).all()


def test_fdr_cutoff_small_case() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2])
    # sorted 0.01 <= .0125, 0.03 <= .025? no, 0.04 <= .0375? no -> only 0.01
    assert fdr_cutoff(p, 0.05) == 0.01
    assert fdr_cutoff(np.array([0.5, 0.9]), 0.05) == -1.0


def test_gi_star_checks_inputs() -> None:
    with pytest.raises(InvalidInput, match="geometry"):
        gi_star([1.0, 2.0])
    with pytest.raises(InvalidInput, match="method"):
        gi_star([1.0, 2.0], _cells(0) * 2, method="nope")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="values"):
        gi_star([1.0, np.nan], weights=sparse.identity(2, format="csr"))


# ---------------------------------------------------------------- kernel density


def test_kernel_density_integrates_to_count_and_peaks_at_the_points() -> None:
    pts = gpd.GeoSeries(gpd.points_from_xy([1000.0, 1000.0, 3000.0], [1000.0, 1000.0, 2000.0]))
    pts = pts.set_crs(4547)
    arr, transform, crs = kernel_density(pts, (0, 0, 4000, 3000), 20, 300, crs=4547, per="m2")
    assert arr.shape == (150, 200)
    assert crs.to_epsg() == 4547
    assert arr.sum() * 20 * 20 == pytest.approx(3.0, rel=1e-2)
    r, c = np.unravel_index(np.argmax(arr), arr.shape)
    x, y = transform @ (c + 0.5, r + 0.5)
    assert abs(x - 1000) <= 20
    assert abs(y - 1000) <= 20
    # the quartic kernel at the centre: 3 / (pi r^2) per point
    assert arr.max() == pytest.approx(2 * 3 / (np.pi * 300**2), rel=0.01)
    # WGS84 points: the raster comes out in their Gauss-Kruger zone, in metres
    ll = gpd.GeoSeries(gpd.points_from_xy([121.47, 121.48], [31.23, 31.23]), crs=4326)
    arr_ll, _, crs_ll = kernel_density(ll, None, 50, 500)
    assert crs_ll.is_projected
    assert crs_ll.to_epsg() in range(4534, 4555)
    assert arr_ll.sum() * 50 * 50 / 1e6 == pytest.approx(2.0, rel=0.02)
    # zero beyond the bandwidth
    col = int((2000 - 0) / 20)
    assert arr[:, col].max() == 0


# ---------------------------------------------------------------- emerging hot spots


def _sig(*steps: int) -> np.ndarray:
    return np.array(steps)


UP, DOWN, FLAT = (3.0, 0.001), (-3.0, 0.001), (0.5, 0.6)
N10 = 10
CASES = {
    "new_hot": (_sig(*[0] * 9, 1), FLAT),
    "consecutive_hot": (_sig(*[0] * 7, 1, 1, 1), UP),
    "intensifying_hot": (_sig(*[1] * 10), UP),
    "persistent_hot": (_sig(0, *[1] * 9), FLAT),
    "diminishing_hot": (_sig(*[1] * 10), DOWN),
    "sporadic_hot": (_sig(1, 0, 1, 0, 0, 1, 0, 0, 0, 1), FLAT),
    "oscillating_hot": (_sig(1, -1, 1, 0, -1, 0, 1, 0, 0, 1), FLAT),
    "historical_hot": (_sig(*[1] * 9, 0), DOWN),
    "new_cold": (_sig(*[0] * 9, -1), FLAT),
    "consecutive_cold": (_sig(*[0] * 8, -1, -1), DOWN),
    "intensifying_cold": (_sig(*[-1] * 10), DOWN),
    "persistent_cold": (_sig(*[-1] * 10), FLAT),
    "diminishing_cold": (_sig(*[-1] * 10), UP),
    "sporadic_cold": (_sig(-1, 0, 0, -1, 0, -1, 0, 0, 0, -1), FLAT),
    "oscillating_cold": (_sig(-1, 1, 0, 0, 1, -1, 0, 1, 0, -1), FLAT),
    "historical_cold": (_sig(-1, -1, -1, -1, -1, -1, -1, -1, -1, 0), UP),
    "no_pattern": (_sig(1, 0, 1, 1, 0, 0, 1, 0, 1, 0), FLAT),
}


def test_every_pattern_has_a_constructed_case() -> None:
    assert set(CASES) == set(PATTERNS)


@pytest.mark.parametrize("pattern", list(CASES))
def test_classify_pattern_recognises_each_constructed_series(pattern: str) -> None:
    series, (tz, tp) = CASES[pattern]
    assert classify_pattern(series, tz, tp).tolist() == [pattern]


def test_classify_pattern_vectorised_and_edge_rules() -> None:
    names = list(CASES)
    sig = np.stack([CASES[n][0] for n in names])
    tz = np.array([CASES[n][1][0] for n in names])
    tp = np.array([CASES[n][1][1] for n in names])
    assert classify_pattern(sig, tz, tp).tolist() == names
    # a hot run interrupted once before the end is sporadic, not consecutive
    assert classify_pattern(_sig(0, 0, 0, 0, 1, 0, 0, 1, 1, 1), 0, 1).tolist() == ["sporadic_hot"]
    # exactly 90 % hot with the final step hot and no trend: persistent
    assert classify_pattern(_sig(1, 1, 1, 0, 1, 1, 1, 1, 1, 1), 0, 1).tolist() == ["persistent_hot"]
    # 80 % hot is not enough for historical
    assert classify_pattern(_sig(1, 1, 1, 1, 1, 1, 1, 1, 0, 0), 0, 1).tolist() == ["no_pattern"]
    with pytest.raises(InvalidInput, match="significance"):
        classify_pattern(np.array([0, 2]), 0, 1)


def test_mann_kendall_against_kendall_tau() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 30)) + np.linspace(0, 2, 30) * (np.arange(50) % 2)[:, None]
    z, p = mann_kendall(x)
    t = np.arange(30)
    for row in range(0, 50, 7):
        tau = stats.kendalltau(t, x[row])
        assert np.sign(z[row]) == np.sign(tau.statistic)
        # same variance, ours has the continuity correction
        assert p[row] == pytest.approx(tau.pvalue, abs=0.02)
    # ties (e.g. all-zero series) give no trend
    zz, pp = mann_kendall(np.zeros((2, 8)))
    assert (zz == 0).all()
    assert (pp == 1).all()


def test_emerging_hotspots_cube_finds_new_and_intensifying() -> None:
    cells = _cells(6)
    w = h3_contiguity(cells)
    rng = np.random.default_rng(6)
    cube = rng.poisson(2.0, (len(cells), 20)).astype(float)
    ring_new = [cells.index(c) for c in h3.grid_disk(cells[0], 1) if c in cells]
    cube[ring_new, -1] += 25
    centre = [cells.index(c) for c in h3.grid_disk(ORIGIN, 1)]
    cube[centre] += np.linspace(8, 30, 20)
    res = emerging_hotspots_cube(cube, w, neighborhood_time_step=1)
    assert res.loc[cells.index(cells[0]), "pattern"] == "new_hot"
    assert res.loc[cells.index(ORIGIN), "pattern"] == "intensifying_hot"
    assert set(res["pattern"]) <= set(PATTERNS)


def test_emerging_hotspots_from_events() -> None:
    rng = np.random.default_rng(7)
    weeks = pd.date_range("2024-01-01", periods=12, freq="W-MON")
    cells = _cells(4)
    rows = []
    for i, wk in enumerate(weeks):
        for c in cells:
            n = rng.poisson(1.0) + (15 if (c == ORIGIN and i == 11) else 0)
            lat, lng = h3.cell_to_latlng(c)
            rows += [(wk + pd.Timedelta(hours=1), lng, lat)] * n
    df = pd.DataFrame(rows, columns=["reported_at", "lon", "lat"])
    ev = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)
    res = emerging_hotspots(ev, 9, time_step="W-MON", neighborhood_time_step=0, rings=1)
    assert res.crs.to_epsg() == 4326
    assert res.set_index("cell").loc[ORIGIN, "pattern"] == "new_hot"
    assert res["events"].sum() == len(ev)
    assert len(res.attrs["time_steps"]) == 12
    # an explicit window with an exclusive end on a step boundary, and all cells
    full = emerging_hotspots(
        ev,
        time_step="W-MON",
        start=weeks[0],
        end=weeks[-1] + pd.Timedelta(days=7),
        neighborhood_time_step=0,
        cells=_cells(5),
    )
    assert full.attrs["time_steps"] == list(weeks)
    assert len(full) == len(_cells(5))
    assert (full["events"] == 0).sum() > 0
    assert full.set_index("cell").loc[ORIGIN, "pattern"] == "new_hot"
    with pytest.raises(InvalidInput, match="time_step"):
        emerging_hotspots(ev, 9, time_step="fortnightly")

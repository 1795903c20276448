import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from gis_core.crs import from_wgs84
from gis_core.errors import InvalidCoordinates, InvalidGeometry, InvalidInput, UnknownCRS
from gis_core.grid_index import GridIndex


def frame(codes, geoms, **cols):
    return gpd.GeoDataFrame({"code": codes, **cols}, geometry=list(geoms), crs=4326)


@pytest.fixture
def quad():
    # 2 x 2 unit squares; codes deliberately not in spatial order
    return frame(
        ["D", "B", "C", "A"],
        [box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(1, 1, 2, 2)],
    )


def test_inside_edge_vertex_outside(quad):
    index = GridIndex(quad)
    x = [0.5, 1.5, 1.0, 0.5, 1.0, 0.0, 3.0, -1e-12]
    y = [0.5, 0.5, 0.5, 1.0, 1.0, 0.0, 3.0, 0.5]
    got = index.assign(x, y)["grid"].tolist()
    assert got == [
        "D",  # inside
        "B",  # inside
        "B",  # edge D|B -> smallest code
        "C",  # edge D|C
        "A",  # vertex shared by all four -> smallest code
        "D",  # outer corner: ST_Covers counts the boundary
        None,  # outside
        None,  # just outside the outer edge
    ]


def test_output_aligned_with_series_index(quad):
    x = pd.Series([1.5, 0.5], index=[10, 3])
    y = pd.Series([0.5, 0.5], index=[10, 3])
    got = GridIndex(quad).assign(x, y)
    assert got.index.tolist() == [10, 3]
    assert got.loc[3, "grid"] == "D"


def test_hole_filled_and_unfilled():
    outer = Polygon(box(0, 0, 10, 10).exterior.coords, [box(2, 2, 4, 4).exterior.coords,
                                                        box(6, 6, 8, 8).exterior.coords])
    grids = frame(["H1", "H2"], [outer, box(2, 2, 4, 4)])
    got = GridIndex(grids).assign([3, 7, 2, 6, 1], [3, 7, 3, 7, 1])["grid"].tolist()
    # in the filled hole -> the filler; in the empty hole -> nobody;
    # on the filled hole's ring -> smallest of both; on the empty hole's ring -> the outer grid
    assert got == ["H2", None, "H1", "H1", "H1"]


def test_multipolygon_grid():
    multi = MultiPolygon([box(0, 0, 1, 1), box(5, 5, 6, 6)])
    grids = frame(["M", "N"], [multi, box(1, 0, 5, 1)])
    got = GridIndex(grids).assign([0.5, 5.5, 3, 3], [0.5, 5.5, 0.5, 3])["grid"].tolist()
    assert got == ["M", "M", "N", None]


def test_grid_versions_follow_validity():
    t2020, t2023 = pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2023-01-01", tz="UTC")
    grids = frame(
        ["OLD", "NEW-W", "NEW-E"],
        [box(0, 0, 2, 1), box(0, 0, 1, 1), box(1, 0, 2, 1)],
        valid_from=[t2020, t2023, t2023],
        valid_to=[t2023, pd.NaT, pd.NaT],
    )
    index = GridIndex(grids)
    x, y = [0.5, 1.5], [0.5, 0.5]
    assert index.assign(x, y, at="2022-06-01")["grid"].tolist() == ["OLD", "OLD"]
    # valid_from is inclusive, valid_to exclusive
    assert index.assign(x, y, at=t2023)["grid"].tolist() == ["NEW-W", "NEW-E"]
    # tz-aware: 2023-01-01 07:00 +08:00 is still 2022 in UTC
    at_local = pd.Timestamp("2023-01-01 07:00", tz="Asia/Shanghai")
    assert index.assign(x, y, at=at_local)["grid"].tolist() == ["OLD", "OLD"]
    assert index.assign(x, y, at="2019-01-01")["grid"].tolist() == [None, None]
    # at=None means now
    assert index.assign(x, y)["grid"].tolist() == ["NEW-W", "NEW-E"]


def test_multi_layer_and_non_exclusive():
    grids = frame(
        ["S1", "S2", "F2", "F1", "F3"],
        [box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 0, 2, 1), box(0.5, 0, 1.5, 1),
         box(10, 10, 11, 11)],
        layer=["street", "street", "function", "function", "function"],
    )
    index = GridIndex(grids, exclusive={"function": False})
    got = index.assign([0.25, 0.75, 1.5, 5.0], [0.5, 0.5, 1.0, 5.0])
    assert list(got.columns) == ["street", "function"]
    assert got["street"].tolist() == ["S1", "S1", "S2", None]
    assert got["function"].tolist() == [["F2"], ["F1", "F2"], ["F1", "F2"], None]


def test_empty_input(quad):
    got = GridIndex(quad).assign([], [])
    assert list(got.columns) == ["grid"]
    assert len(got) == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_coordinates_rejected(quad, bad):
    with pytest.raises(InvalidCoordinates, match="x"):
        GridIndex(quad).assign([0.5, bad], [0.5, 0.5])


def test_unknown_crs_and_bad_at(quad):
    index = GridIndex(quad)
    with pytest.raises(UnknownCRS):
        index.assign([0.5], [0.5], crs="EPSG:0")
    with pytest.raises(InvalidInput, match="at"):
        index.assign([0.5], [0.5], at=12)


def test_gcj02_input_and_projected_grids():
    # a grid drawn in a Gauss-Kruger zone, points from a phone in GCJ-02
    cell = box(113.99, 22.59, 114.01, 22.61)
    grids_m = frame(["G"], [cell]).to_crs(4547)
    gx, gy = from_wgs84([114.0, 114.02], [22.6, 22.6], "GCJ02")
    got = GridIndex(grids_m).assign(gx, gy, crs="gcj02")["grid"].tolist()
    assert got == ["G", None]


def test_bad_grids_rejected():
    with pytest.raises(InvalidGeometry):
        GridIndex(frame(["L"], [shapely.LineString([(0, 0), (1, 1)])]))
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(InvalidGeometry, match="invalid"):
        GridIndex(frame(["X"], [bowtie]))
    with pytest.raises(InvalidInput, match="code"):
        GridIndex(frame(["X"], [box(0, 0, 1, 1)]), code="grid_code")
    with pytest.raises(InvalidInput, match="exclusive"):
        GridIndex(frame(["X"], [box(0, 0, 1, 1)]), exclusive="yes")  # type: ignore[arg-type]


def test_layer_without_grids_named_in_exclusive_gets_an_empty_column():
    grids = frame(["X"], [box(0, 0, 1, 1)], layer=["street"])
    got = GridIndex(grids, exclusive={"street": True, "function": False}).assign([0.5], [0.5])
    assert got.to_dict("list") == {"street": ["X"], "function": [None]}
    empty = GridIndex(frame([], []), exclusive={"street": True}).assign([0.5], [0.5])
    assert empty.to_dict("list") == {"street": [None]}


def _voronoi_layer(n, seed):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 0.01, size=(n, 2)) + np.array([114.0, 22.5])
    region = shapely.Polygon(
        [(114.0, 22.5), (114.01, 22.5005), (114.0095, 22.51), (114.0003, 22.5098)]
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts)))
    cells = shapely.intersection(cells, region)
    cells = shapely.segmentize(cells[~shapely.is_empty(cells)], 0.0004)
    codes = [f"G{i:04d}" for i in rng.permutation(len(cells))]
    return frame(codes, cells)


def _brute_force(grids, x, y):
    geoms = np.asarray(grids.geometry.array)
    covers = shapely.covers(geoms[:, None], shapely.points(x, y)[None, :])
    codes = np.asarray(grids["code"], dtype=object)
    out = []
    for j in range(len(x)):
        hit = sorted(codes[covers[:, j]])
        out.append(hit[0] if hit else None)
    return out


def test_raster_and_exact_paths_match_brute_force_on_vertices_and_random_points():
    grids = _voronoi_layer(150, seed=3)
    verts = shapely.get_coordinates(np.asarray(grids.geometry.array))
    rng = np.random.default_rng(4)
    x0, y0, x1, y1 = grids.total_bounds
    x = np.r_[verts[::3, 0], rng.uniform(x0 - 0.001, x1 + 0.001, 3000)]
    y = np.r_[verts[::3, 1], rng.uniform(y0 - 0.001, y1 + 0.001, 3000)]
    expected = _brute_force(grids, x, y)
    # max_side small enough that many vertices fall in edge cells but the raster is used
    index = GridIndex(grids, max_side=256)
    assert index.assign(x, y)["grid"].tolist() == expected
    # a time with an unindexed snapshot and few points takes the exact R-tree path
    grids_v = grids.assign(valid_from=pd.Timestamp("2000-01-01"))
    exact = GridIndex(grids_v).assign(x, y, at="2001-01-01")["grid"].tolist()
    assert exact == expected


def test_non_exclusive_matches_brute_force_lists():
    a = _voronoi_layer(40, seed=5)
    b = _voronoi_layer(25, seed=6)
    grids = pd.concat([a, b.assign(code="B" + b["code"])], ignore_index=True)
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = grids.total_bounds
    x, y = rng.uniform(x0, x1, 2000), rng.uniform(y0, y1, 2000)
    got = GridIndex(grids, exclusive=False).assign(x, y)["grid"].tolist()
    geoms = np.asarray(grids.geometry.array)
    covers = shapely.covers(geoms[:, None], shapely.points(x, y)[None, :])
    codes = np.asarray(grids["code"], dtype=object)
    expected = [sorted(codes[covers[:, j]]) or None for j in range(len(x))]
    assert got == expected


def test_footprints_go_to_the_grid_holding_the_largest_part():
    grids = frame(
        ["B", "A", "F"],
        [box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 0, 2, 1)],
        layer=["street", "street", "function"],
    )
    index = GridIndex(grids, exclusive={"function": False})
    houses = gpd.GeoSeries(
        [
            box(0.5, 0.4, 0.9, 0.6),  # wholly in B
            box(0.7, 0.4, 1.1, 0.6),  # 3/4 in B, 1/4 in A
            box(0.9, 0.4, 1.1, 0.6),  # half and half -> smallest code
            box(5, 5, 6, 6),  # nowhere
            shapely.Point(1.0, 0.5),  # a point on the shared edge
        ],
        index=[7, 8, 9, 10, 11],
        crs=4326,
    )
    got = index.assign_footprints(houses)
    assert got.index.tolist() == [7, 8, 9, 10, 11]
    assert got["street"].tolist() == ["B", "B", "A", None, "A"]
    assert got["function"].tolist() == [["F"], ["F"], ["F"], None, ["F"]]


def test_footprints_in_projected_crs_and_bad_input():
    grids = frame(["G"], [box(113.99, 22.59, 114.01, 22.61)])
    house = gpd.GeoSeries([box(114.0, 22.6, 114.0001, 22.6001)], crs=4326).to_crs(4547)
    assert GridIndex(grids).assign_footprints(house)["grid"].tolist() == ["G"]
    with pytest.raises(InvalidGeometry):
        GridIndex(grids).assign_footprints(
            gpd.GeoSeries([shapely.LineString([(0, 0), (1, 1)])], crs=4326))


def test_large_queries_on_past_versions_build_their_own_raster_and_stay_exact():
    old = _voronoi_layer(60, seed=11).assign(valid_to=pd.Timestamp("2023-01-01", tz="UTC"))
    new = _voronoi_layer(90, seed=12).assign(valid_from=pd.Timestamp("2023-01-01", tz="UTC"))
    older = _voronoi_layer(30, seed=13).assign(valid_to=pd.Timestamp("2020-01-01", tz="UTC"))
    old["valid_from"] = pd.Timestamp("2020-01-01", tz="UTC")
    grids = pd.concat([old, new, older], ignore_index=True)
    index = GridIndex(grids, max_side=512)
    rng = np.random.default_rng(8)
    x0, y0, x1, y1 = grids.total_bounds
    x, y = rng.uniform(x0, x1, 25_000), rng.uniform(y0, y1, 25_000)
    for at, part in [("2021-06-01", old), ("2019-06-01", older), ("2024-06-01", new),
                     ("2021-06-01", old)]:
        got = index.assign(x, y, at=at)["grid"].tolist()
        assert got == _brute_force(part, x, y), at


def test_covered_means_inside_any_layer_and_spots_swapped_coordinates():
    grids = frame(
        ["S", "F"],
        [box(114.0, 22.5, 114.1, 22.6), box(114.1, 22.5, 114.2, 22.6)],
        layer=["street", "function"],
    )
    index = GridIndex(grids)
    x = np.array([114.05, 114.15, 22.55, 0.0])
    y = np.array([22.55, 22.55, 114.05, 0.0])
    covered = index.covered(x, y)
    assert covered.tolist() == [True, True, False, False]
    swapped = ~covered & index.covered(y, x)
    assert swapped.tolist() == [False, False, True, False]
    assert index.covered([], []).shape == (0,)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_points_on_a_lattice_of_shared_edges_follow_the_tie_rule(seed):
    # a 7 x 5 block partition with random codes; many points exactly on edges and vertices
    rng = np.random.default_rng(seed)
    xs, ys = np.linspace(114.0, 114.07, 8), np.linspace(22.5, 22.55, 6)
    cells = [box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(7) for j in range(5)]
    codes = [f"C{c:03d}" for c in rng.permutation(len(cells))]
    grids = frame(codes, cells)
    px = rng.choice(np.r_[xs, (xs[:-1] + xs[1:]) / 2, 113.99, 114.08], 3000)
    py = rng.choice(np.r_[ys, (ys[:-1] + ys[1:]) / 2, 22.49, 22.56], 3000)
    expected = _brute_force(grids, px, py)
    assert GridIndex(grids, max_side=64).assign(px, py)["grid"].tolist() == expected

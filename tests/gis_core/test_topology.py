from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box

from gis_core.errors import InvalidInput
from gis_core.topology import FINDING_COLUMNS, check, repair

DATA = Path("/work/shared/data/us_311")
X0, Y0, D = 114.0, 22.5, 0.001  # a small town in Shenzhen, cells of ~100 m
GEOD = Geod(ellps="WGS84")


def cell(i, j, w=1, h=1):
    return box(X0 + i * D, Y0 + j * D, X0 + (i + w) * D, Y0 + (j + h) * D)


def layer(codes, geoms):
    return gpd.GeoDataFrame({"code": codes}, geometry=list(geoms), crs=4326)


def kinds(report):
    return sorted(report.findings["kind"])


def test_clean_partition_passes():
    grids = layer(["A", "B", "C", "D"], [cell(0, 0), cell(1, 0), cell(0, 1), cell(1, 1)])
    report = check(grids, boundary=cell(0, 0, 2, 2))
    assert report.ok
    assert len(report.findings) == 0
    assert report.summary["metric_crs"] == "EPSG:4547"
    assert list(report.findings.columns) == [*FINDING_COLUMNS, "geometry"]
    geodesic = abs(GEOD.geometry_area_perimeter(cell(0, 0, 2, 2))[0])
    assert report.summary["union_area_m2"] == pytest.approx(geodesic, rel=1e-3)


def test_overlap_found_with_pair_and_area():
    a, b = cell(0, 0, 2, 1), box(X0 + 1.5 * D, Y0, X0 + 3 * D, Y0 + D)
    report = check(layer(["B", "A"], [a, b]))
    assert not report.ok
    (row,) = report.findings.itertuples()
    assert row.kind == "overlap"
    assert row.codes == ["A", "B"]
    expected = abs(GEOD.geometry_area_perimeter(a.intersection(b))[0])
    assert row.area_m2 == pytest.approx(expected, rel=1e-3)
    assert row.geometry.equals(a.intersection(b))
    assert report.summary["overlap_ratio"] > 0


def test_hole_in_union_is_a_gap_with_its_neighbours():
    ring = [(i, j) for i in range(3) for j in range(3) if (i, j) != (1, 1)]
    grids = layer([f"G{i}{j}" for i, j in ring], [cell(i, j) for i, j in ring])
    report = check(grids)
    (row,) = report.findings.itertuples()
    assert row.kind == "gap"
    assert row.codes == sorted(f"G{i}{j}" for i, j in ring)
    assert row.geometry.equals(cell(1, 1))


def test_gap_and_outside_against_boundary():
    grids = layer(["A", "B"], [cell(0, 0), cell(1, 0, 1.5, 1)])  # B sticks out east
    report = check(grids, boundary=cell(0, 0, 2, 2))
    found = {row.kind: row for row in report.findings.itertuples()}
    assert set(found) == {"gap", "outside"}
    assert found["gap"].geometry.equals(cell(0, 1, 2, 1))
    assert found["outside"].codes == ["B"]
    assert found["outside"].geometry.equals(cell(2, 0, 0.5, 1))


def test_grid_with_hole_filled_by_another_grid_is_clean():
    outer = Polygon(cell(0, 0, 3, 3).exterior.coords, [cell(1, 1).exterior.coords])
    assert check(layer(["O", "I"], [outer, cell(1, 1)])).ok
    report = check(layer(["O"], [outer]))
    assert kinds(report) == ["gap"]


def test_invalid_geometry_reported_with_reason_and_location():
    bowtie = Polygon([(X0, Y0), (X0 + D, Y0 + D), (X0 + D, Y0), (X0, Y0 + D)])
    report = check(layer(["BAD", "OK"], [bowtie, cell(3, 3)]))
    row = report.findings[report.findings["kind"] == "invalid"].iloc[0]
    assert row["codes"] == ["BAD"]
    assert "Self-intersection" in row["detail"]
    assert row["geometry"].geom_type == "Point"
    assert row["geometry"].distance(shapely.Point(X0 + D / 2, Y0 + D / 2)) < 1e-12
    assert not report.ok


def test_tiny_and_thin_parts_are_sliver_warnings():
    tiny = box(X0 + 5 * D, Y0, X0 + 5 * D + 1e-5, Y0 + 1e-5)  # ~1 m2
    thin = box(X0, Y0 - 2 * D, X0 + 3 * D, Y0 - 2 * D + 2e-6)  # 300 m x 0.2 m
    grids = layer(["A", "B"], [MultiPolygon([cell(0, 0), tiny]), MultiPolygon([cell(1, 0), thin])])
    report = check(grids)
    slivers = report.findings[report.findings["kind"] == "sliver"]
    assert sorted(map(tuple, slivers["codes"])) == [("A",), ("B",)]
    assert set(slivers["severity"]) == {"warning"}
    assert report.ok  # warnings do not fail the layer


def test_floating_point_noise_below_tolerance_is_ignored():
    eps = 1e-11  # ~1 micrometre mismatch along the shared edge
    left = Polygon([(X0, Y0), (X0 + D + eps, Y0), (X0 + D - eps, Y0 + D), (X0, Y0 + D)])
    right = Polygon([(X0 + D, Y0), (X0 + 2 * D, Y0), (X0 + 2 * D, Y0 + D), (X0 + D, Y0 + D)])
    report = check(layer(["L", "R"], [left, right]))
    assert report.ok
    assert len(report.findings) == 0
    assert report.summary["ignored_pieces"] >= 1
    # with a zero tolerance the same pieces are reported
    strict = check(layer(["L", "R"], [left, right]), min_area=0, min_width=0)
    assert kinds(strict) == ["gap", "overlap"]


def test_repair_overlap_goes_to_smallest_code():
    a, b = cell(0, 0, 2, 1), cell(1, 0, 2, 1)
    fixed = repair(layer(["B", "A"], [a, b]))
    geoms = dict(zip(fixed["code"], fixed.geometry, strict=True))
    assert geoms["A"].equals(b)
    assert geoms["B"].equals(cell(0, 0))
    assert check(fixed).ok


def test_repair_gap_goes_to_neighbour_with_longest_shared_edge():
    # gap cell(1, 1): shares 1 cell edge with A (below), but B wraps it on two sides
    a = cell(1, 0)
    b = Polygon(cell(0, 0, 1, 3).exterior.coords).union(cell(1, 2)).union(cell(2, 0, 1, 3))
    grids = layer(["A", "B", "C"], [a, b, cell(0, -1, 3, 1)])
    fixed = repair(grids)
    geoms = dict(zip(fixed["code"], fixed.geometry, strict=True))
    assert geoms["B"].covers(cell(1, 1).centroid)
    assert geoms["A"].equals(a)
    assert check(fixed).ok


def test_repair_clips_to_boundary_and_fills_boundary_gaps():
    grids = layer(["A", "B"], [cell(0, 0), cell(1, 0, 1.5, 1)])
    boundary = cell(0, 0, 2, 1.5)
    fixed = repair(grids, boundary=boundary)
    report = check(fixed, boundary=boundary)
    assert report.ok
    assert kinds(report) == []
    assert shapely.union_all(fixed.geometry.values).equals(boundary)


def test_bad_inputs():
    grids = layer(["A"], [cell(0, 0)])
    with pytest.raises(InvalidInput, match="code"):
        check(grids, code="nope")
    with pytest.raises(InvalidInput, match="CRS"):
        check(grids.set_crs(None, allow_override=True))
    with pytest.raises(InvalidInput, match="boundary"):
        check(grids, boundary="everything")
    with pytest.raises(InvalidInput, match="min_area"):
        check(grids, min_area=-1)


@pytest.fixture(scope="module")
def la():
    return gpd.read_file(DATA / "la_neighborhood_councils_2019.geojson")


@pytest.fixture(scope="module")
def nyc():
    return gpd.read_file(DATA / "nyc_community_districts.geojson")


def test_la_neighborhood_councils_overlap_and_leave_gaps(la):
    report = check(la, code="name")
    assert not report.ok
    assert report.summary["overlaps"] > 0
    assert report.summary["gaps"] > 0
    # the sum of the areas is about 2.3 % above the area of their union
    assert 0.02 < report.summary["overlap_ratio"] < 0.026
    assert report.summary["metric_crs"] == "EPSG:32611"
    overlap = report.findings[report.findings["kind"] == "overlap"]
    assert all(len(c) == 2 and c[0] < c[1] for c in overlap["codes"])


def test_nyc_community_districts_are_an_exact_partition(nyc):
    report = check(nyc, code="BoroCD")
    assert report.ok, report.errors
    assert report.summary["overlaps"] == 0
    assert report.summary["gaps"] == 0
    assert abs(report.summary["overlap_ratio"]) < 1e-9


def test_repair_makes_la_a_partition(la):
    fixed = repair(la, code="name")
    report = check(fixed, code="name")
    assert report.ok, report.errors
    assert abs(report.summary["overlap_ratio"]) < 1e-6
    # nothing was lost: the repaired union covers the original union
    before = shapely.union_all(np.asarray(la.geometry.array))
    after = shapely.union_all(np.asarray(fixed.geometry.array))
    assert shapely.area(shapely.difference(before, after)) < 1e-9 * before.area

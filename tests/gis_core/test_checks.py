"""One CRS policy, one message per mistake, whichever engine function meets it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pytest
import shapely

from gis_core.coverage import blind_spots, coverage_by_grid, view_polygons, visible_polygons
from gis_core.errors import CRSMismatch, InvalidInput
from gis_core.grid_index import GridIndex
from gis_core.hotspots import aggregate_grids, aggregate_h3, kernel_density
from gis_core.placement import coverage_matrix, recommend_cameras
from gis_core.topology import check

X0, Y0 = 500_000.0, 2_500_000.0


def _grids(crs: Any = 4547) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)],
                            crs=crs)


def _points(crs: Any = 4547) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"range_m": [30.0]}, geometry=[shapely.Point(X0 + 50, Y0 + 50)],
                            crs=crs)


def _wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(4326)


NO_CRS: dict[str, tuple[str, Callable[[], object]]] = {
    "aggregate_h3": ("events", lambda: aggregate_h3(_points(None), 9)),
    "aggregate_grids": ("events", lambda: aggregate_grids(_points(None), _grids())),
    "kernel_density": ("points", lambda: kernel_density(_points(None), None, 10, 50)),
    "view_polygons": ("cameras", lambda: view_polygons(_points(None))),
    "coverage_by_grid": ("grids", lambda: coverage_by_grid(_grids(None), _grids().geometry)),
    "GridIndex": ("grids", lambda: GridIndex(_grids(None))),
    "topology.check": ("grids", lambda: check(_grids(None))),
    "recommend_cameras": ("candidates", lambda: recommend_cameras(_points(None), 1, _points())),
}


@pytest.mark.parametrize("where", sorted(NO_CRS))
def test_a_layer_without_crs_gets_one_message_naming_it(where: str) -> None:
    name, call = NO_CRS[where]
    expected = f"{name} has no CRS; set one (e.g. {name}.set_crs(4326))"
    with pytest.raises(InvalidInput, match=re.escape(expected)) as err:
        call()
    assert err.value.details["parameter"] == name


MISMATCH: dict[str, tuple[str, str, Callable[[], object]]] = {
    "aggregate_grids": ("events", "grids",
                        lambda: aggregate_grids(_points(), _wgs84(_grids()))),
    "visible_polygons": ("cameras", "buildings",
                         lambda: visible_polygons(_points(), _wgs84(_grids()))),
    "coverage_by_grid": ("grids", "visible",
                         lambda: coverage_by_grid(_grids(), _wgs84(_grids()).geometry)),
    "coverage_by_grid roads": ("grids", "roads", lambda: coverage_by_grid(
        _grids(), _grids().geometry, roads=_wgs84(_grids()).boundary)),
    "blind_spots": ("grids", "visible", lambda: blind_spots(_grids(), _wgs84(_grids()).geometry)),
    "topology.check": ("grids", "boundary", lambda: check(_grids(), boundary=_wgs84(_grids()))),
    "coverage_matrix": ("visible", "demand",
                        lambda: coverage_matrix(_grids().geometry, _wgs84(_points()))),
    "recommend_cameras": ("candidates", "demand",
                          lambda: recommend_cameras(_points(), 1, _wgs84(_points()))),
}


@pytest.mark.parametrize("where", sorted(MISMATCH))
def test_layers_in_different_crs_are_refused_not_reprojected(where: str) -> None:
    first, second, call = MISMATCH[where]
    expected = (f"{second} are in EPSG:4326 but {first} in EPSG:4547; reproject one of them "
                f"(e.g. {second}.to_crs({first}.crs))")
    with pytest.raises(CRSMismatch, match=re.escape(expected)) as err:
        call()
    assert err.value.details["parameter"] == second


def test_one_layer_in_any_crs_is_reprojected_into_the_working_crs() -> None:
    metric = view_polygons(_points())
    geographic = view_polygons(_wgs84(_points()))
    assert geographic.crs.to_epsg() == 4326
    assert geographic.to_crs(4547).area.iloc[0] == pytest.approx(metric.area.iloc[0], rel=1e-3)
    assert aggregate_h3(_points(), 9)["count"].tolist() == [1]


def test_a_metric_crs_argument_must_be_projected() -> None:
    with pytest.raises(InvalidInput, match=re.escape(
            "crs must be a projected (metric) CRS, e.g. EPSG:4547; got EPSG:4326")):
        view_polygons(_points(), crs=4326)


@pytest.mark.parametrize("call", [
    lambda: aggregate_grids(_points(), _grids(), code="name"),
    lambda: coverage_by_grid(_grids(), _grids().geometry, code="name"),
    lambda: GridIndex(_grids(), code="name"),
    lambda: check(_grids(), code="name"),
])
def test_a_missing_column_gets_one_message(call: Callable[[], object]) -> None:
    with pytest.raises(InvalidInput, match=re.escape(
            "code 'name' is not a column of grids; columns: ['code', 'geometry']")):
        call()


def test_geometry_kind_and_frame_messages() -> None:
    with pytest.raises(InvalidInput, match="events must have Point geometries"):
        aggregate_h3(_grids(), 9)
    with pytest.raises(InvalidInput, match="events must be a GeoDataFrame of points, got list"):
        aggregate_h3([], 9)


def test_an_empty_layer_in_another_crs_adds_nothing_and_is_not_refused() -> None:
    nothing = gpd.GeoSeries([], crs=4326)
    figures = coverage_by_grid(_grids(), nothing)
    assert figures["covered_share"].tolist() == [0.0]
    assert blind_spots(_grids(), nothing)["area_m2"].round(1).tolist() == [10_000.0]

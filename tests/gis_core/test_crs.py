import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from gis_core.crs import (
    bd09_to_gcj02,
    central_meridian,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    looks_swapped,
    metric_crs,
    metric_crs_for,
    to_wgs84,
    wgs84_to_gcj02,
)
from gis_core.errors import InvalidCoordinates, UnknownCRS

china_lon = st.floats(73.7, 134.9)
china_lat = st.floats(18.2, 53.4)


# Published results of the public formula (wandergis/coordtransform, test/app.js),
# all for the input (116.404, 39.915).
PUBLISHED_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
PUBLISHED_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
# ... and its one-step (approximate, 1-2 m off) inverses
PUBLISHED_GCJ02_TO_WGS84_APPROX = (116.39775550083061, 39.91359571849836)
PUBLISHED_BD09_TO_GCJ02_APPROX = (116.39762729119315, 39.90865673957631)


def test_forward_formulas_match_published_values():
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert (float(lon), float(lat)) == pytest.approx(PUBLISHED_WGS84_TO_GCJ02, abs=1e-12)
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert (float(lon), float(lat)) == pytest.approx(PUBLISHED_GCJ02_TO_BD09, abs=1e-12)


def test_exact_inverses_are_near_the_published_one_step_inverses_and_exact():
    lon, lat = gcj02_to_wgs84(116.404, 39.915)
    # the one-step inverse errs by metres, not more
    assert (float(lon), float(lat)) == pytest.approx(PUBLISHED_GCJ02_TO_WGS84_APPROX, abs=5e-5)
    assert (float(lon), float(lat)) != pytest.approx(PUBLISHED_GCJ02_TO_WGS84_APPROX, abs=1e-8)
    # ... while ours maps back onto the input
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert abs(float(glon) - 116.404) < 1e-10
    assert abs(float(glat) - 39.915) < 1e-10
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert (float(lon), float(lat)) == pytest.approx(PUBLISHED_BD09_TO_GCJ02_APPROX, abs=5e-5)
    blon, blat = gcj02_to_bd09(lon, lat)
    assert abs(float(blon) - 116.404) < 1e-10
    assert abs(float(blat) - 39.915) < 1e-10


def test_gcj02_identity_outside_china():
    lon = np.array([2.3522, -73.9857, 139.6917])
    lat = np.array([48.8566, 40.7484, 35.6895])
    glon, glat = wgs84_to_gcj02(lon, lat)
    np.testing.assert_array_equal(glon, lon)
    np.testing.assert_array_equal(glat, lat)
    wlon, wlat = to_wgs84(lon, lat, "gcj02")
    np.testing.assert_array_equal(wlon, lon)
    np.testing.assert_array_equal(wlat, lat)


def test_one_step_inverse_is_not_enough_but_iteration_is():
    lon, lat = 113.9423, 22.5398
    glon, glat = wgs84_to_gcj02(lon, lat)
    # one-step inverse: subtract the offset evaluated at the GCJ-02 point
    olon, olat = wgs84_to_gcj02(glon, glat)
    naive_lon, naive_lat = glon - (olon - glon), glat - (olat - glat)
    assert max(abs(float(naive_lon) - lon), abs(float(naive_lat) - lat)) > 1e-7
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert abs(float(wlon) - lon) < 1e-10
    assert abs(float(wlat) - lat) < 1e-10


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trip(lon, lat):
    x, y = from_wgs84(lon, lat, "GCJ02")
    back_lon, back_lat = to_wgs84(x, y, "GCJ02")
    assert abs(float(back_lon) - lon) < 1e-8
    assert abs(float(back_lat) - lat) < 1e-8


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trip(lon, lat):
    x, y = from_wgs84(lon, lat, "bd09")
    back_lon, back_lat = to_wgs84(x, y, "BD09")
    assert abs(float(back_lon) - lon) < 1e-8
    assert abs(float(back_lat) - lat) < 1e-8


def test_bd09_offset_from_gcj02_is_about_the_public_constants():
    glon, glat = from_wgs84(116.404, 39.915, "GCJ02")
    blon, blat = from_wgs84(116.404, 39.915, "BD09")
    assert 0.006 < float(blon - glon) < 0.0075
    assert 0.0055 < float(blat - glat) < 0.0075


def test_vectorised_round_trip_arrays_keep_shape():
    rng = np.random.default_rng(1)
    lon = rng.uniform(100, 120, size=(50, 3))
    lat = rng.uniform(20, 40, size=(50, 3))
    for name in ("GCJ02", "BD09", "EPSG:4547", 3857, "EPSG:32650", "EPSG:4490"):
        x, y = from_wgs84(lon, lat, name)
        assert x.shape == lon.shape
        blon, blat = to_wgs84(x, y, name)
        np.testing.assert_allclose(blon, lon, atol=1e-8)
        np.testing.assert_allclose(blat, lat, atol=1e-8)


def test_gauss_kruger_zone_number_variant():
    # EPSG:4526 is zone 38 (central meridian 114E) with the zone number in the false easting.
    x, _y = from_wgs84(114.0, 22.6, "EPSG:4526")
    assert float(x) == pytest.approx(38_500_000.0, abs=1e-3)


def test_cgcs2000_equals_wgs84_at_centimetre_level():
    lon, lat = to_wgs84([114.05, 121.47], [22.55, 31.23], "EPSG:4490")
    np.testing.assert_allclose(lon, [114.05, 121.47], atol=1e-7)
    np.testing.assert_allclose(lat, [22.55, 31.23], atol=1e-7)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_coordinates_are_rejected(bad):
    with pytest.raises(InvalidCoordinates, match="y"):
        to_wgs84([114.0, 114.1], [22.5, bad], "GCJ02")
    with pytest.raises(InvalidCoordinates, match="lon"):
        from_wgs84([bad], [22.5], "EPSG:4547")


@pytest.mark.parametrize("crs", ["EPSG:999999", "GCJ03", "not a crs", 1.5, None])
def test_unknown_crs(crs):
    with pytest.raises(UnknownCRS, match="crs"):
        to_wgs84([114.0], [22.5], crs)


def test_scalars_and_empty_arrays():
    lon, lat = to_wgs84(114.0, 22.5, "EPSG:4326")
    assert (float(lon), float(lat)) == (114.0, 22.5)
    lon, _lat = to_wgs84(np.array([]), np.array([]), "GCJ02")
    assert lon.shape == (0,)


@settings(max_examples=200, deadline=None)
@given(st.floats(73.6, 135.0), china_lat)
def test_metric_crs_is_gauss_kruger_zone_near_the_point(lon, lat):
    crs = metric_crs(lon, lat)
    assert 4534 <= crs.to_epsg() <= 4554  # type: ignore[operator]
    # checked against PROJ's own definition, not the label
    assert abs(central_meridian(crs) - lon) <= 1.5 + 1e-9
    assert crs.ellipsoid.name == "CGCS2000"  # type: ignore[union-attr]


def test_metric_crs_outside_china_is_utm():
    crs = metric_crs(-118.3, 34.05)
    assert crs.to_epsg() == 32611
    assert abs(central_meridian(crs) - (-118.3)) <= 3.0
    assert metric_crs(151.2, -33.9).to_epsg() == 32756


def test_metric_crs_for_geodataframe():
    import geopandas as gpd
    from shapely.geometry import box

    gdf = gpd.GeoDataFrame(geometry=[box(120.9, 30.9, 121.9, 31.5)], crs=4326)
    crs = metric_crs_for(gdf)
    assert abs(central_meridian(crs) - 121.4) <= 1.5
    gdf_m = gdf.to_crs(crs)
    assert isinstance(crs, CRS)
    assert gdf_m.crs.is_projected


def test_looks_swapped():
    bounds = (113.7, 22.4, 114.7, 22.9)
    flags = looks_swapped([22.54, 114.06, 0.0], [114.06, 22.54, 0.0], bounds)
    assert flags.tolist() == [True, False, False]

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from coding import beidou
from gis_core.errors import InvalidCode, InvalidCoordinates, InvalidInput

# GB/T 39409-2020 worked example: 39°59'35.38"N 116°18'45.37"E
EX_LON = 116 + Fraction(18, 60) + Fraction("45.37") / 3600
EX_LAT = 39 + Fraction(59, 60) + Fraction("35.38") / 3600
EXAMPLE = {
    2: "N50J47",
    4: "N50J47539",
    5: "N50J47539B8",
    6: "N50J47539B82",
    8: "N50J47539B825534",
}
LENGTHS = {1: 4, 2: 6, 3: 7, 4: 9, 5: 11, 6: 12, 7: 14, 8: 16, 9: 18, 10: 20}


@pytest.mark.parametrize(("level", "expected"), sorted(EXAMPLE.items()))
def test_standard_worked_example(level, expected):
    assert beidou.encode(EX_LON, EX_LAT, level) == expected
    assert beidou.encode(float(EX_LON), float(EX_LAT), level) == expected
    assert (
        beidou.encode(Decimal("116.3126027777778"), Decimal("39.9931611111111"), level) == expected
    )
    assert beidou.encode_array([float(EX_LON)], [float(EX_LAT)], level)[0] == expected


def test_worked_example_other_levels_extend_the_same_code():
    full = beidou.encode(EX_LON, EX_LAT, 10)
    assert len(full) == 20
    for level, length in LENGTHS.items():
        assert beidou.encode(EX_LON, EX_LAT, level) == full[:length]
        assert beidou.level_of(full[:length]) == level
    west, south, east, north = beidou.decode(full)
    assert west <= float(EX_LON) <= east
    assert south <= float(EX_LAT) <= north


def test_level_1_is_the_millionth_map_sheet():
    assert beidou.encode(116.3, 39.9, 1) == "N50J"
    assert beidou.decode("N50J") == (114.0, 36.0, 120.0, 40.0)
    # western hemisphere: floor(lng / 6) + 31 off the sheet edges
    assert beidou.encode(-73.98, 40.75, 1) == "N18K"
    assert beidou.decode("N18K") == (-78.0, 40.0, -72.0, 44.0)
    assert beidou.encode(151.2, -33.9, 1) == "S56I"


def _mirror_column(code):
    col = int(code[1:3])
    return f"{code[0]}{61 - col:02d}{code[3:]}"


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(0, 179.999, allow_subnormal=False),
    lat=st.floats(0, 87.999, allow_subnormal=False),
    level=st.integers(1, 10),
)
def test_hemispheres_mirror_the_counting(lon, lat, level):
    ne = beidou.encode(lon, lat, level)
    assume(lon != 0 and lat != 0)
    nw = beidou.encode(-lon, lat, level)
    se = beidou.encode(lon, -lat, level)
    sw = beidou.encode(-lon, -lat, level)
    assert nw == _mirror_column(ne)
    assert se == "S" + ne[1:]
    assert sw == "S" + _mirror_column(ne)[1:]


def test_hemisphere_of_axes():
    assert beidou.encode(0.0, 0.0, 2) == "N31A00"
    assert beidou.encode(-0.0, -0.0, 2) == "N31A00"
    assert beidou.encode(-1e-9, -1e-9, 2) == "S30A00"


lons = st.floats(-180, 180, allow_nan=False, allow_subnormal=False)
lats = st.floats(-87.99999, 87.99999, allow_nan=False, allow_subnormal=False)


@settings(max_examples=150, deadline=None)
@given(lon=lons, lat=lats, level=st.integers(1, 10))
def test_decoded_cell_contains_point_and_centre_roundtrips(lon, lat, level):
    code = beidou.encode(lon, lat, level)
    assert len(code) == LENGTHS[level]
    west, south, east, north = beidou.decode(code)
    assert west <= lon <= east
    assert south <= lat <= north
    assert west < east
    assert south < north
    assert beidou.encode((west + east) / 2, (south + north) / 2, level) == code
    # exact bounds agree with float bounds and also contain the point exactly
    ew, es, ee, en = beidou.decode_exact(code)
    assert (float(ew), float(es), float(ee), float(en)) == (west, south, east, north)
    assert ew <= Fraction(lon) <= ee
    assert es <= Fraction(lat) <= en


@settings(max_examples=40, deadline=None)
@given(
    lon=st.lists(lons, min_size=1, max_size=30),
    lat=st.lists(lats, min_size=30, max_size=30),
    level=st.integers(1, 10),
)
def test_array_functions_match_scalar(lon, lat, level):
    lat = lat[: len(lon)]
    codes = beidou.encode_array(np.array(lon), np.array(lat), level)
    assert codes.tolist() == [beidou.encode(x, y, level) for x, y in zip(lon, lat, strict=True)]
    bounds = beidou.decode_array(codes)
    assert bounds.shape == (len(lon), 4)
    assert [tuple(b) for b in bounds.tolist()] == [beidou.decode(c) for c in codes]


def _random_code(draw, level):
    lon = draw(lons)
    lat = draw(lats)
    return beidou.encode(lon, lat, level)


@st.composite
def cells(draw):
    level = draw(st.integers(1, 10))
    return _random_code(draw, level), level


@settings(max_examples=120, deadline=None)
@given(cell=cells(), which=st.sampled_from(["near", "far"]))
def test_points_exactly_on_edges(cell, which):
    code, level = cell
    west, south, east, north = beidou.decode_exact(code)
    east_hemi = int(code[1:3]) >= 31
    north_hemi = code[0] == "N"
    # the corner nearer to the prime meridian and the equator belongs to the cell
    near_x = west if east_hemi else east
    near_y = south if north_hemi else north
    far_x = east if east_hemi else west
    far_y = north if north_hemi else south
    if which == "near":
        # ... except on the equator / prime meridian themselves, which belong to N / E
        assume(near_x != 0 and near_y != 0)
        assert beidou.encode(near_x, near_y, level) == code
        return
    # the far corner belongs to the next cells outward (or the last cell at +-180)
    assume(abs(far_y) < 88)
    other = beidou.encode(far_x, far_y, level)
    ow, os_, oe, on = beidou.decode_exact(other)
    assert ow <= far_x <= oe
    assert os_ <= far_y <= on
    if abs(far_x) < 180:
        assert other != code


@settings(max_examples=80, deadline=None)
@given(cell=cells(), dx=st.integers(-2, 2), dy=st.integers(-2, 2))
def test_float_conversion_is_exact_next_to_edges(cell, dx, dy):
    """Floats within a few ulps of an edge land where their exact value says."""
    code, level = cell
    west, south, _, _ = beidou.decode_exact(code)
    x, y = float(west), float(south)
    for _ in range(abs(dx)):
        x = float(np.nextafter(x, np.inf if dx > 0 else -np.inf))
    for _ in range(abs(dy)):
        y = float(np.nextafter(y, np.inf if dy > 0 else -np.inf))
    assume(abs(x) <= 180 and abs(y) < 88)
    exact = beidou.encode(Fraction(x), Fraction(y), level)
    assert beidou.encode(x, y, level) == exact
    assert beidou.encode_array([x], [y], level)[0] == exact


def test_antimeridian_and_integer_degrees():
    east = beidou.encode(180.0, 10.0, 10)
    west = beidou.encode(-180.0, 10.0, 10)
    assert east[1:3] == "60"
    assert west[1:3] == "01"
    assert beidou.decode(east)[2] == 180.0
    assert beidou.decode(west)[0] == -180.0
    # integer degree on a level-1 edge (exact in floats)
    assert beidou.encode(6.0, 4.0, 1) == "N32B"
    assert beidou.encode(-6.0, -4.0, 1) == "S29B"


@pytest.mark.parametrize("lat", [88.0, -88.0, 89.5, 90.0])
def test_polar_caps_are_refused(lat):
    with pytest.raises(InvalidCoordinates, match="polar"):
        beidou.encode(10.0, lat, 5)
    with pytest.raises(InvalidCoordinates, match="polar"):
        beidou.encode_array([10.0, 10.0], [0.0, lat], 5)


@pytest.mark.parametrize(
    ("lon", "lat"), [(float("nan"), 0.0), (0.0, float("inf")), (180.5, 0.0), (0.0, -91.0)]
)
def test_bad_coordinates(lon, lat):
    with pytest.raises(InvalidCoordinates):
        beidou.encode(lon, lat, 3)
    with pytest.raises(InvalidCoordinates):
        beidou.encode_array([lon], [lat], 3)


@pytest.mark.parametrize("level", [0, 11, 2.0, True])
def test_bad_level(level):
    with pytest.raises(InvalidInput, match="level"):
        beidou.encode(1.0, 1.0, level)


@pytest.mark.parametrize(
    "code",
    [
        "N50J4",  # no such length
        "X50J47",  # hemisphere letter
        "N61J47",  # column > 60
        "N00J47",  # column 0
        "N50W47",  # row letter beyond V
        "N50JC7",  # level-2 column > B
        "N50J48",  # level-2 row > 7
        "N50J476",  # Z-order digit > 5
        "N50J475F9",  # level-4 column > E
        "N50J475EA",  # level-4 row > 9
        "N50J47539B84",  # level-6 Z digit > 3
        "N50J47539B8258",  # level-7 row > 7
        "N50J4753９",  # noqa: RUF001  (a non-ASCII digit, on purpose)
    ],
)
def test_malformed_codes(code):
    with pytest.raises(InvalidCode) as exc:
        beidou.decode(code)
    assert exc.value.code == "invalid_code"
    with pytest.raises(InvalidCode):
        beidou.decode_array(["N50J47", code])


def test_decode_accepts_lower_case_and_mixed_levels():
    assert beidou.decode("n50j47539b8") == beidou.decode("N50J47539B8")
    out = beidou.decode_array(["N50J", "N50J47539B825534", "S18K"])
    assert out[0].tolist() == [114.0, 36.0, 120.0, 40.0]
    assert out[2].tolist() == [-78.0, -44.0, -72.0, -40.0]


def test_cell_geojson():
    feature = beidou.cell_geojson("N50J47")
    assert feature["type"] == "Feature"
    ring = feature["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]
    assert len(ring) == 5
    assert feature["bbox"] == [116.0, 39.5, 116.5, 40.0]


# --- an independent, literal reading of the standard's per-level formula ------------------

_SIZES = [  # cell size in arc-seconds (lng, lat), levels 1..10
    (21600, 14400),
    (1800, 1800),
    (900, 600),
    (60, 60),
    (4, 4),
    (2, 2),
    (Fraction(1, 4),) * 2,
    (Fraction(1, 32),) * 2,
    (Fraction(1, 256),) * 2,
    (Fraction(1, 2048),) * 2,
]


def _literal_encode(lon: Fraction, lat: Fraction, level: int) -> str:
    """a_n = floor((lng - lng_{n-1}) / size_n), corners accumulated level by level."""
    x, y = abs(lon) * 3600, abs(lat) * 3600
    code = "N" if lat >= 0 else "S"
    col = int(x // _SIZES[0][0])  # type: ignore[operator]
    code += f"{31 + col if lon >= 0 else 30 - col:02d}" + chr(65 + int(y // _SIZES[0][1]))  # type: ignore[operator]
    cx, cy = col * _SIZES[0][0], (y // _SIZES[0][1]) * _SIZES[0][1]  # type: ignore[operator]
    for n in range(2, level + 1):
        sx, sy = _SIZES[n - 1]
        a, b = int((x - cx) // sx), int((y - cy) // sy)  # type: ignore[operator]
        cx, cy = cx + a * sx, cy + b * sy  # type: ignore[operator]
        code += str(b * 2 + a) if n in (3, 6) else f"{a:X}{b:X}"
    return code


@settings(max_examples=150, deadline=None)
@given(
    lon=st.fractions(-179, 179, max_denominator=10**7),
    lat=st.fractions(-87, 87, max_denominator=10**7),
    level=st.integers(1, 10),
)
def test_matches_literal_formula(lon, lat, level):
    assert beidou.encode(lon, lat, level) == _literal_encode(lon, lat, level)


def test_literal_formula_reproduces_the_worked_example():
    assert _literal_encode(EX_LON, EX_LAT, 8) == EXAMPLE[8]

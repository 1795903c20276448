"""BeiDou grid location codes (北斗网格位置码), GB/T 39409-2020, 2D, levels 1-10.

A code starts with the hemisphere letter ``N``/``S`` (level 0) and adds one
fragment per level:

===== ================ ============ =========================================
level cell (lng x lat) split         fragment
===== ================ ============ =========================================
1     6 deg x 4 deg     -            2-digit column 01-60 + row letter A-V
2     30' x 30'         12 x 8       column 0-B (hex), row 0-7
3     15' x 10'         2 x 3        one Z-order digit ``row * 2 + column``
4     1' x 1'           15 x 10      column 0-E, row 0-9
5     4" x 4"           15 x 15      column 0-E, row 0-E
6     2" x 2"           2 x 2        one Z-order digit ``row * 2 + column``
7-10  1/4" ... 1/2048"  8 x 8        column 0-7, row 0-7
===== ================ ============ =========================================

Code lengths by level: 4, 6, 7, 9, 11, 12, 14, 16, 18, 20.

Exact arithmetic
    Every cell edge is a whole multiple of 1/2048 arc-second (the level-10
    cell). A coordinate is converted *exactly* to ``floor(|x| * 3600 * 2048)``
    of these units (floats through their exact binary value, also
    ``fractions.Fraction``/``decimal.Decimal`` in :func:`encode`), and all
    indices are integer divisions, so points exactly on an edge never fall
    into the wrong cell through rounding.

Hemispheres
    ``lat >= 0`` is ``N``, ``lon >= 0`` is east (column 31-60); west of
    Greenwich the level-1 column is ``30 - floor(|lon| / 6)`` (01-30). From
    level 2 on the counting mirrors: in every hemisphere columns count away
    from the prime meridian and rows away from the equator (computed on
    ``|lon|``, ``|lat|``), as in the public implementation
    Gvitech-gis/beidou-grid-location-codec. The Z-order digit of levels 3 and
    6 is ``row * 2 + column`` with these mirrored indices. Consequently a cell
    contains its edges nearer to the prime meridian and nearer to the equator:
    ``lon = -6`` lies in the cell spanning (-12, -6], ``lon = 6`` in [6, 12);
    the equator itself is ``N`` and the prime meridian east.
    ``lon = 180`` and ``lon = -180`` belong to the last cells (column 60 and
    01) whose outer edge is the antimeridian.

Polar caps
    ``|lat| >= 88`` degrees is not encoded (the standard handles the caps
    separately); such points raise :class:`~gis_core.errors.InvalidCoordinates`.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from numbers import Real
from typing import Any

import numpy as np
import numpy.typing as npt

from gis_core.errors import InvalidCode, InvalidCoordinates, InvalidInput

Number = float | Fraction | Decimal
"""Scalar coordinate types :func:`encode` takes exactly."""

UNITS_PER_DEGREE = 3600 * 2048
"""Integer units per degree: one unit is 1/2048 arc-second, the level-10 cell."""

_UNITS_PER_DEGREE_POW2_SHIFT = 15  # 3600 * 2048 == 225 * 2**15
_LON_LIMIT = 180 * UNITS_PER_DEGREE
_LAT_LIMIT = 88 * UNITS_PER_DEGREE

# cell size in units (lng, lat) at levels 0..10
_SIZE = (
    (360 * UNITS_PER_DEGREE, 180 * UNITS_PER_DEGREE),
    (6 * UNITS_PER_DEGREE, 4 * UNITS_PER_DEGREE),
    (1800 * 2048, 1800 * 2048),
    (900 * 2048, 600 * 2048),
    (60 * 2048, 60 * 2048),
    (4 * 2048, 4 * 2048),
    (2 * 2048, 2 * 2048),
    (512, 512),
    (64, 64),
    (8, 8),
    (1, 1),
)
# number of columns / rows of a level inside its parent
_SPLIT = (
    (1, 1),
    (60, 22),
    (12, 8),
    (2, 3),
    (15, 10),
    (15, 15),
    (2, 2),
    (8, 8),
    (8, 8),
    (8, 8),
    (8, 8),
)
CODE_LENGTHS = (1, 4, 6, 7, 9, 11, 12, 14, 16, 18, 20)
"""Code length (characters, hemisphere letter included) at levels 0-10."""

_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_ZORDER_LEVELS = (3, 6)
# ASCII byte -> hex value (or -1)
_HEX_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX_VALUE[_c] = _i


def _check_level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, int | np.integer) or not 1 <= level <= 10:
        raise InvalidInput(f"level must be an integer in 1-10, got {level!r}")
    return int(level)


def level_of(code: str) -> int:
    """Return the level (1-10) of a BeiDou grid code from its length.

    Examples
    --------
    >>> level_of("N50J47539B8")
    5
    """
    if not isinstance(code, str) or len(code.strip()) not in CODE_LENGTHS[1:]:
        raise InvalidCode(
            f"a BeiDou grid code has {', '.join(map(str, CODE_LENGTHS[1:]))} characters "
            f"(levels 1-10), got {code!r}"
        )
    return CODE_LENGTHS.index(len(code.strip()))


# ----------------------------------------------------------------------------- encoding


def _exact_units(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Return ``floor(|x| * UNITS_PER_DEGREE)`` exactly for float64 ``x``."""
    mantissa, exponent = np.frexp(np.abs(values))
    mant = (mantissa * 2.0**53).astype(np.int64)  # exact: 53-bit integer
    # |x| * 225 * 2**15 == mant * 225 * 2**(exponent - 53 + 15); mant * 225 < 2**61
    shift = np.minimum(53 - _UNITS_PER_DEGREE_POW2_SHIFT - exponent.astype(np.int64), 62)
    scaled = mant * 225
    out = np.where(shift >= 0, scaled >> np.maximum(shift, 0), scaled << np.maximum(-shift, 0))
    return out.astype(np.int64)


def _check_coordinates(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> None:
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidCoordinates(f"lon and lat must be finite, got ({lon[i]}, {lat[i]}) at {i}")
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidCoordinates(
            f"lon must be in [-180, 180] and lat in [-90, 90], got ({lon[i]}, {lat[i]}) at {i}"
        )


def _polar_error(lat: object) -> InvalidCoordinates:
    return InvalidCoordinates(
        f"BeiDou grid codes are not defined here for the polar caps (|lat| >= 88 degrees); "
        f"got lat={lat}",
    )


def _codes_from_units(
    ux: npt.NDArray[np.int64],
    uy: npt.NDArray[np.int64],
    east: npt.NDArray[np.bool_],
    north: npt.NDArray[np.bool_],
    level: int,
) -> npt.NDArray[np.str_]:
    """Build the codes from absolute coordinates in units (vectorised)."""
    n = ux.shape[0]
    ux = np.minimum(ux, _LON_LIMIT - 1)  # lon = +-180 joins the last column
    length = CODE_LENGTHS[level]
    out = np.empty((n, length), dtype=np.uint8)
    out[:, 0] = np.where(north, ord("N"), ord("S"))
    col1 = ux // _SIZE[1][0]
    col1 = np.where(east, 31 + col1, 30 - col1)
    out[:, 1] = ord("0") + col1 // 10
    out[:, 2] = ord("0") + col1 % 10
    out[:, 3] = ord("A") + uy // _SIZE[1][1]
    pos = 4
    for lev in range(2, level + 1):
        col = (ux % _SIZE[lev - 1][0]) // _SIZE[lev][0]
        row = (uy % _SIZE[lev - 1][1]) // _SIZE[lev][1]
        if lev in _ZORDER_LEVELS:
            out[:, pos] = ord("0") + row * 2 + col
            pos += 1
        else:
            out[:, pos] = _HEX[col]
            out[:, pos + 1] = _HEX[row]
            pos += 2
    return np.ascontiguousarray(out).view(f"S{length}").ravel().astype(str)


def _to_units_exact(value: Number) -> int:
    """``floor(|value| * UNITS_PER_DEGREE)`` for a Python number, exactly."""
    frac = Fraction(value)
    return int(abs(frac) * UNITS_PER_DEGREE // 1)


def encode(lon: Number, lat: Number, level: int = 10) -> str:
    """Encode one point as a BeiDou grid code (GB/T 39409-2020) of ``level``.

    Parameters
    ----------
    lon, lat
        Longitude in [-180, 180] and latitude in (-88, 88), degrees (CGCS2000 /
        WGS84). Floats are taken at their exact binary value;
        ``fractions.Fraction`` and ``decimal.Decimal`` are exact too.
    level
        1-10.

    Returns
    -------
    str

    Raises
    ------
    InvalidCoordinates
        Non-finite or out-of-range coordinates, or a point in a polar cap.
    InvalidInput
        A level outside 1-10.

    Examples
    --------
    The worked example of the standard, 39°59'35.38"N 116°18'45.37"E:

    >>> from fractions import Fraction as F
    >>> lon = 116 + F(18, 60) + F("45.37") / 3600
    >>> lat = 39 + F(59, 60) + F("35.38") / 3600
    >>> encode(lon, lat, 8)
    'N50J47539B825534'
    >>> encode(float(lon), float(lat), 2)
    'N50J47'
    """
    level = _check_level(level)
    if not isinstance(lon, Real | Decimal) or not isinstance(lat, Real | Decimal):
        raise InvalidCoordinates(f"lon and lat must be numbers, got {lon!r}, {lat!r}")
    flon, flat = np.array([float(lon)]), np.array([float(lat)])
    _check_coordinates(flon, flat)
    ux, uy = _to_units_exact(lon), _to_units_exact(lat)
    if uy >= _LAT_LIMIT:
        raise _polar_error(lat)
    if ux > _LON_LIMIT:
        raise InvalidCoordinates(f"lon must be in [-180, 180], got {lon}")
    codes = _codes_from_units(
        np.array([ux], dtype=np.int64),
        np.array([uy], dtype=np.int64),
        np.array([lon >= 0]),
        np.array([lat >= 0]),
        level,
    )
    return str(codes[0])


def encode_array(lon: npt.ArrayLike, lat: npt.ArrayLike, level: int = 10) -> npt.NDArray[np.str_]:
    """Encode arrays of points as BeiDou grid codes (vectorised :func:`encode`).

    Parameters
    ----------
    lon, lat
        Array-likes of the same shape, degrees.
    level
        1-10.

    Returns
    -------
    numpy.ndarray
        Unicode strings, same shape as ``lon``.

    Examples
    --------
    >>> encode_array([116.3126, -73.9857], [39.9932, 40.7484], 4).tolist()
    ['N50J47539', 'N18K313E4']
    """
    level = _check_level(level)
    try:
        flon = np.asarray(lon, dtype=np.float64)
        flat = np.asarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidCoordinates(f"lon and lat must be numeric arrays: {exc}") from None
    if flon.shape != flat.shape:
        raise InvalidInput(
            f"lon and lat must have the same shape, got {flon.shape} and {flat.shape}"
        )
    shape = flon.shape
    flon, flat = flon.ravel(), flat.ravel()
    _check_coordinates(flon, flat)
    polar = np.abs(flat) >= 88
    if polar.any():
        raise _polar_error(flat[np.flatnonzero(polar)[0]])
    codes = _codes_from_units(_exact_units(flon), _exact_units(flat), flon >= 0, flat >= 0, level)
    return codes.reshape(shape)


# ----------------------------------------------------------------------------- decoding


_Units = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]
]


def _parse_units(raw: npt.NDArray[np.uint8], codes: npt.NDArray[Any], level: int) -> _Units:
    """Absolute south-west corner (in units) and hemispheres of same-length codes."""
    ok = np.isin(raw[:, 0], np.frombuffer(b"NS", dtype=np.uint8))
    digits = raw[:, 1:3].astype(np.int64) - ord("0")
    ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    col1 = digits[:, 0] * 10 + digits[:, 1]
    ok &= (col1 >= 1) & (col1 <= 60)
    row1 = raw[:, 3].astype(np.int64) - ord("A")
    ok &= (row1 >= 0) & (row1 < _SPLIT[1][1])
    east = col1 >= 31
    ux = np.where(east, col1 - 31, 30 - col1) * _SIZE[1][0]
    uy = row1 * _SIZE[1][1]
    pos = 4
    for lev in range(2, level + 1):
        if lev in _ZORDER_LEVELS:
            z = raw[:, pos].astype(np.int64) - ord("0")
            ok &= (z >= 0) & (z < 2 * _SPLIT[lev][1])
            col, row = z % 2, z // 2
            pos += 1
        else:
            col, row = _HEX_VALUE[raw[:, pos]], _HEX_VALUE[raw[:, pos + 1]]
            pos += 2
        ok &= (col >= 0) & (col < _SPLIT[lev][0]) & (row >= 0) & (row < _SPLIT[lev][1])
        ux = ux + col * _SIZE[lev][0]
        uy = uy + row * _SIZE[lev][1]
    if not ok.all():
        bad = codes[np.flatnonzero(~ok)[0]]
        raise InvalidCode(
            f"{bad!r} is not a valid level-{level} BeiDou grid code "
            "(hemisphere N/S, column 01-60, row letter A-V, fragments in range)"
        )
    return ux, uy, east, raw[:, 0] == ord("N")


def _bounds_from_units(
    ux: npt.NDArray[np.int64],
    uy: npt.NDArray[np.int64],
    east: npt.NDArray[np.bool_],
    north: npt.NDArray[np.bool_],
    level: int,
) -> npt.NDArray[np.float64]:
    sx, sy = _SIZE[level]
    near_x, far_x = ux / UNITS_PER_DEGREE, (ux + sx) / UNITS_PER_DEGREE
    near_y, far_y = uy / UNITS_PER_DEGREE, (uy + sy) / UNITS_PER_DEGREE
    out = np.empty((ux.shape[0], 4), dtype=np.float64)
    out[:, 0] = np.where(east, near_x, -far_x)
    out[:, 2] = np.where(east, far_x, -near_x)
    out[:, 1] = np.where(north, near_y, -far_y)
    out[:, 3] = np.where(north, far_y, -near_y)
    return out


def decode_array(codes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Decode BeiDou grid codes (any mix of levels) to cell bounds.

    Parameters
    ----------
    codes
        Array-like of code strings (upper or lower case).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 4)``: west, south, east, north in degrees.

    Raises
    ------
    InvalidCode
        Naming the first malformed code.

    Examples
    --------
    >>> decode_array(["N50J47", "S18T"]).tolist()
    [[116.0, 39.5, 116.5, 40.0], [-78.0, -80.0, -72.0, -76.0]]
    """
    arr = np.char.strip(np.asarray(codes, dtype=str).ravel())
    out = np.empty((arr.shape[0], 4), dtype=np.float64)
    lengths = np.char.str_len(arr)
    for length in np.unique(lengths):
        if int(length) not in CODE_LENGTHS[1:]:
            bad = arr[np.flatnonzero(lengths == length)[0]]
            raise InvalidCode(
                f"a BeiDou grid code has {', '.join(map(str, CODE_LENGTHS[1:]))} characters "
                f"(levels 1-10), got {bad!r}"
            )
        level = CODE_LENGTHS.index(int(length))
        idx = np.flatnonzero(lengths == length)
        try:
            raw = arr[idx].astype(f"S{length}").view(np.uint8).reshape(idx.shape[0], int(length))
            raw = np.where((raw >= ord("a")) & (raw <= ord("z")), raw - 32, raw).astype(np.uint8)
        except UnicodeEncodeError:
            raise InvalidCode("BeiDou grid codes hold ASCII letters and digits only") from None
        out[idx] = _bounds_from_units(*_parse_units(raw, arr[idx], level), level)
    return out


def decode(code: str) -> tuple[float, float, float, float]:
    """Decode a BeiDou grid code to its cell ``(west, south, east, north)`` in degrees.

    Parameters
    ----------
    code
        A code of level 1-10 (4-20 characters).

    Returns
    -------
    tuple of float

    Raises
    ------
    InvalidCode
        If the code is malformed.

    Examples
    --------
    >>> [round(v, 6) for v in decode("N50J47539")]
    [116.3, 39.983333, 116.316667, 40.0]
    """
    level_of(code)
    w, s, e, n = decode_array([code])[0]
    return float(w), float(s), float(e), float(n)


def decode_exact(code: str) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    """Decode a code to its exact cell bounds as fractions of a degree.

    Examples
    --------
    >>> decode_exact("N50J")
    (Fraction(114, 1), Fraction(36, 1), Fraction(120, 1), Fraction(40, 1))
    """
    level = level_of(code)
    norm = code.strip().upper()
    try:
        raw = np.frombuffer(norm.encode("ascii"), dtype=np.uint8).reshape(1, -1)
    except UnicodeEncodeError:
        raise InvalidCode("BeiDou grid codes hold ASCII letters and digits only") from None
    ux, uy, east, north = (a[0] for a in _parse_units(raw, np.array([norm]), level))
    sx, sy = _SIZE[level]
    near_x, far_x = Fraction(int(ux), UNITS_PER_DEGREE), Fraction(int(ux) + sx, UNITS_PER_DEGREE)
    near_y, far_y = Fraction(int(uy), UNITS_PER_DEGREE), Fraction(int(uy) + sy, UNITS_PER_DEGREE)
    west, east_b = (near_x, far_x) if east else (-far_x, -near_x)
    south, north_b = (near_y, far_y) if north else (-far_y, -near_y)
    return west, south, east_b, north_b


def cell_geojson(code: str) -> dict[str, Any]:
    """Return the cell of a code as a GeoJSON Feature (a closed lon/lat rectangle).

    Examples
    --------
    >>> f = cell_geojson("N50J47")
    >>> f["properties"], f["geometry"]["coordinates"][0][0]
    ({'code': 'N50J47', 'level': 2}, [116.0, 39.5])
    """
    w, s, e, n = decode(code)
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"code": code.strip().upper(), "level": level_of(code)},
        "bbox": [w, s, e, n],
    }

"""Decoding: BeiDou grid codes to cell bounds (floats or exact fractions) and GeoJSON."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from coding.beidou.levels import (
    CODE_LENGTHS,
    HEX_VALUE,
    SIZE,
    SPLIT,
    UNITS_PER_DEGREE,
    ZORDER_LEVELS,
    level_of,
)
from gis_core.errors import InvalidCode

__all__ = ["cell_geojson", "decode", "decode_array", "decode_exact"]

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
    ok &= (row1 >= 0) & (row1 < SPLIT[1][1])
    east = col1 >= 31
    ux = np.where(east, col1 - 31, 30 - col1) * SIZE[1][0]
    uy = row1 * SIZE[1][1]
    pos = 4
    for lev in range(2, level + 1):
        if lev in ZORDER_LEVELS:
            z = raw[:, pos].astype(np.int64) - ord("0")
            ok &= (z >= 0) & (z < 2 * SPLIT[lev][1])
            col, row = z % 2, z // 2
            pos += 1
        else:
            col, row = HEX_VALUE[raw[:, pos]], HEX_VALUE[raw[:, pos + 1]]
            pos += 2
        ok &= (col >= 0) & (col < SPLIT[lev][0]) & (row >= 0) & (row < SPLIT[lev][1])
        ux = ux + col * SIZE[lev][0]
        uy = uy + row * SIZE[lev][1]
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
    sx, sy = SIZE[level]
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
    sx, sy = SIZE[level]
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

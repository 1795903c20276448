"""Encoding: coordinates to BeiDou grid codes, one point exactly or arrays at once."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from numbers import Real

import numpy as np
import numpy.typing as npt

from coding.beidou.levels import (
    CODE_LENGTHS,
    HEX_DIGITS,
    LAT_LIMIT,
    LON_LIMIT,
    SIZE,
    UNITS_PER_DEGREE,
    UNITS_PER_DEGREE_POW2_SHIFT,
    ZORDER_LEVELS,
    Number,
    check_level,
)
from gis_core.errors import InvalidCoordinates, InvalidInput

__all__ = ["encode", "encode_array"]


def _exact_units(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Return ``floor(|x| * UNITS_PER_DEGREE)`` exactly for float64 ``x``."""
    mantissa, exponent = np.frexp(np.abs(values))
    mant = (mantissa * 2.0**53).astype(np.int64)  # exact: 53-bit integer
    # |x| * 225 * 2**15 == mant * 225 * 2**(exponent - 53 + 15); mant * 225 < 2**61
    shift = np.minimum(53 - UNITS_PER_DEGREE_POW2_SHIFT - exponent.astype(np.int64), 62)
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
    ux = np.minimum(ux, LON_LIMIT - 1)  # lon = +-180 joins the last column
    length = CODE_LENGTHS[level]
    out = np.empty((n, length), dtype=np.uint8)
    out[:, 0] = np.where(north, ord("N"), ord("S"))
    col1 = ux // SIZE[1][0]
    col1 = np.where(east, 31 + col1, 30 - col1)
    out[:, 1] = ord("0") + col1 // 10
    out[:, 2] = ord("0") + col1 % 10
    out[:, 3] = ord("A") + uy // SIZE[1][1]
    pos = 4
    for lev in range(2, level + 1):
        col = (ux % SIZE[lev - 1][0]) // SIZE[lev][0]
        row = (uy % SIZE[lev - 1][1]) // SIZE[lev][1]
        if lev in ZORDER_LEVELS:
            out[:, pos] = ord("0") + row * 2 + col
            pos += 1
        else:
            out[:, pos] = HEX_DIGITS[col]
            out[:, pos + 1] = HEX_DIGITS[row]
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
    level = check_level(level)
    if not isinstance(lon, Real | Decimal) or not isinstance(lat, Real | Decimal):
        raise InvalidCoordinates(f"lon and lat must be numbers, got {lon!r}, {lat!r}")
    flon, flat = np.array([float(lon)]), np.array([float(lat)])
    _check_coordinates(flon, flat)
    ux, uy = _to_units_exact(lon), _to_units_exact(lat)
    if uy >= LAT_LIMIT:
        raise _polar_error(lat)
    if ux > LON_LIMIT:
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
    level = check_level(level)
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

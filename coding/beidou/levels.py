"""The level table of BeiDou grid codes: cell sizes, splits, code lengths, in exact units.

See :mod:`coding.beidou` for the structure of a code.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np

from gis_core.errors import InvalidCode, InvalidInput

__all__ = ["CODE_LENGTHS", "UNITS_PER_DEGREE", "Number", "check_level", "level_of"]

Number = float | Fraction | Decimal
"""Scalar coordinate types :func:`encode` takes exactly."""

UNITS_PER_DEGREE = 3600 * 2048
"""Integer units per degree: one unit is 1/2048 arc-second, the level-10 cell."""

UNITS_PER_DEGREE_POW2_SHIFT = 15  # 3600 * 2048 == 225 * 2**15
LON_LIMIT = 180 * UNITS_PER_DEGREE
LAT_LIMIT = 88 * UNITS_PER_DEGREE

# cell size in units (lng, lat) at levels 0..10
SIZE = (
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
SPLIT = (
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

HEX_DIGITS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
ZORDER_LEVELS = (3, 6)
# ASCII byte -> hex value (or -1)
HEX_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    HEX_VALUE[_c] = _i


def check_level(level: int) -> int:
    """The level as an int; :class:`InvalidInput` unless it is 1-10."""
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

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

from coding.beidou.decoding import cell_geojson, decode, decode_array, decode_exact
from coding.beidou.encoding import encode, encode_array
from coding.beidou.levels import CODE_LENGTHS, UNITS_PER_DEGREE, Number, level_of

__all__ = [
    "CODE_LENGTHS",
    "UNITS_PER_DEGREE",
    "Number",
    "cell_geojson",
    "decode",
    "decode_array",
    "decode_exact",
    "encode",
    "encode_array",
    "level_of",
]

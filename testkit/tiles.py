"""Tile numbers for the tests and the benches: which web-mercator tiles to ask for."""

from __future__ import annotations

import math

from sqlalchemy import Connection, text

#: the tiles of zoom ``:z`` holding the most events, the densest first
DENSEST_SQL = """
SELECT floor((ST_X(geom) + 180) / 360 * 2 ^ :z)::int AS x,
       floor((1 - ln(tan(radians(ST_Y(geom))) + 1 / cos(radians(ST_Y(geom)))) / pi())
             / 2 * 2 ^ :z)::int AS y
FROM events GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT :n
"""


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Column and row of the web-mercator tile holding ``lon, lat`` at zoom ``z``.

    Examples
    --------
    >>> tile_of(114.06, 22.54, 14)
    (13382, 7138)
    """
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def tiles_at(conn: Connection, z: int, densest: int) -> list[tuple[int, int]]:
    """Every tile over the events' extent (z <= 14), or the ``densest`` ones (deeper)."""
    if z > 14:
        return [(int(r.x), int(r.y)) for r in conn.execute(text(DENSEST_SQL),
                                                           {"z": z, "n": densest})]
    e = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                          "(SELECT ST_Extent(geom) e FROM events) s")).one()
    x0, y0 = tile_of(e[0], e[3], z)
    x1, y1 = tile_of(e[2], e[1], z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]

"""Point clustering inside a tile, so that no tile of a dense point layer grows unbounded.

A tile of a point layer holding at most ``max_points`` rows is drawn as it is.
A denser tile is drawn cell by cell: the tile (with its buffer) is cut into
square cells of ``cell`` tile units (extent 4096); a cell holding one row draws
that row with all its properties, a cell holding several draws one point at
their mean position carrying ``point_count`` and the most frequent value of
``by`` (ties: the smallest value). A tile therefore holds at most
``max_points`` features, or one per cell - ``((4096 + 2 * 64) / cell) ** 2`` -
whichever the density calls for, at every zoom.

The rows of a tile are read once (id, position and ``by`` only); the full
properties are computed only for the rows drawn on their own.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from layers.declaration import IDENT

__all__ = ["COUNT_PROPERTY", "LayerCluster", "cluster_tile_sql"]

#: Property of a cluster feature holding the number of rows it stands for.
COUNT_PROPERTY = "point_count"


class LayerCluster(BaseModel):
    """How a point layer clusters its dense tiles.

    Examples
    --------
    >>> LayerCluster(max_points=500, cell=128, by="status").max_features(4096, 64)
    1089
    >>> LayerCluster(max_points=2500, cell=128, by="status").max_features(4096, 64)
    2500
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_points: int = Field(ge=1, description="rows a tile draws one by one at most")
    cell: int = Field(ge=16, le=4096, description="cell side in tile units (extent 4096)")
    by: str = Field(pattern=IDENT, description="property whose commonest value a cluster keeps")

    def max_features(self, extent: int, buffer: int) -> int:
        """Features a clustered tile can hold at most (one per cell of tile and buffer)."""
        side = -(-(extent + 2 * buffer) // self.cell)
        return max(self.max_points, side * side)


def cluster_tile_sql(spec: LayerCluster, *, layer_id: str, source: str, conditions: str,
                     drawn: str, position: tuple[str, str], geometry_column: str,
                     id_column: str, props: list[tuple[str, str]], by_sql: str, extent: int,
                     buffer: int) -> str:
    """The MVT statement of a clustered point layer (after the ``_tile`` CTE).

    ``source`` is ``<table or subquery> AS t``, ``conditions`` the row filter
    (reading ``_tile.search`` and bound parameters), ``drawn`` the EPSG:3857
    point over ``t.<geometry_column>``, ``position`` its x and y as cheap
    expressions over ``t``, ``props`` pairs of (SQL over ``t``, name) and
    ``by_sql`` the SQL of the clustered-by property. Every part comes from a
    declaration, never from a request. The rows are read once and nothing is
    joined back to them (a join of CTEs has no statistics and may be planned
    as a nested loop), so the cost grows linearly with the rows of the tile.
    """
    origin = ("_origin AS MATERIALIZED (SELECT ST_XMin(env) AS x0, "  # noqa: S608
              f"ST_YMax(env) AS y1, {extent} / (ST_XMax(env) - ST_XMin(env)) AS k FROM _tile)")
    columns = ", ".join(f'{sql} AS "{name}"' for sql, name in props)
    pts = (f"_pts AS MATERIALIZED (SELECT t.{id_column} AS _fid, {columns}, "  # noqa: S608
           f"{by_sql} AS _by, t.{geometry_column}, {position[0]} AS _mx, {position[1]} AS _my "
           f"FROM _tile, {source} WHERE {conditions})")
    # the index search is a float4 box: rows just outside the tile and its buffer are
    # dropped, as ST_AsMVTGeom drops them
    rows = ("_rows AS MATERIALIZED (SELECT *, floor(_px / {cell}) AS _cx, "  # noqa: S608
            "floor(_py / {cell}) AS _cy FROM (SELECT p.*, (_mx - x0) * k AS _px, "
            "(y1 - _my) * k AS _py FROM _pts AS p, _origin) AS r WHERE r._px BETWEEN {lo} AND "
            "{hi} AND r._py BETWEEN {lo} AND {hi})").format(cell=spec.cell, lo=-buffer,
                                                             hi=extent + buffer)
    counted = ("_counted AS MATERIALIZED (SELECT *, CASE WHEN _total > "  # noqa: S608
               f"{spec.max_points} THEN _cell_n ELSE 1 END AS _n FROM (SELECT r.*, count(*) "
               "OVER () AS _total, count(*) OVER (PARTITION BY r._cx, r._cy) AS _cell_n "
               "FROM _rows AS r) AS w)")
    single_cols = ", ".join(f't."{name}"' for _, name in props)
    cluster_cols = ", ".join(("mode() WITHIN GROUP (ORDER BY _by)" if name == spec.by
                              else "NULL") + f' AS "{name}"' for _, name in props)
    singles = (f"SELECT t._fid AS fid, {single_cols}, NULL::bigint AS {COUNT_PROPERTY}, "  # noqa: S608
               f"ST_AsMVTGeom({drawn}, _tile.env, {extent}, {buffer}, true) AS geom "
               "FROM _tile, _counted AS t WHERE t._n = 1")
    clusters = (f"SELECT NULL::bigint AS fid, {cluster_cols}, count(*) AS "  # noqa: S608
                f"{COUNT_PROPERTY}, ST_SetSRID(ST_MakePoint(round(avg(_px)), round(avg(_py))), "
                "3857) AS geom FROM _counted WHERE _n > 1 GROUP BY _cx, _cy")
    return (f", {origin}, {pts}, {rows}, {counted} SELECT (SELECT ST_AsMVT(q, "  # noqa: S608
            f"'{layer_id}', {extent}, 'geom', 'fid') FROM ({singles} UNION ALL {clusters}) "
            "AS q) AS mvt")

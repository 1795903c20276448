"""Pages of GeoJSON features: the one SQL builder and the one serialisation of a feature.

A :class:`FeatureSet` names a source (a table or a join, with the alias ``t``),
the id, the properties and the geometry of its features. From that it builds
the count and page statements of a filtered, ordered page and turns their
rows into GeoJSON features: dates in ISO 8601, geometries with
:data:`GEOJSON_DIGITS` decimals, the id beside the properties. A :class:`Layer`
(OGC items, one feature) makes its pages with one, and so do the ``/api/v1``
lists of buildings, cameras, grids and events, which declare the columns they
expose themselves (a list is not a map layer: it has no style or zoom, its id is
the code, and it shows columns the map does not, for staff too).

SQL is composed from the declaration and from fragments the caller writes in
code; every request value is a bound parameter, never formatted into SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, text

from layers.declaration import LayerProperty

__all__ = ["BBOX_ENVELOPE", "GEOJSON_DIGITS", "FeatureSet", "bbox_params", "feature",
           "jsonable"]

#: decimals of a coordinate in GeoJSON (1 cm at the equator)
GEOJSON_DIGITS = 7
#: the envelope of a ``bbox`` (EPSG:4326), bound by :func:`bbox_params`
BBOX_ENVELOPE = "ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"


def jsonable(value: Any) -> Any:
    """A property value as JSON has it: dates and times in ISO 8601, the rest as is.

    Examples
    --------
    >>> jsonable(date(2026, 12, 1)), jsonable(3)
    ('2026-12-01', 3)
    """
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def feature(geometry_json: str | None, properties: dict[str, Any],
            fid: Any = None) -> dict[str, Any]:
    """One GeoJSON feature from a geometry rendered by ``ST_AsGeoJSON``; no id when None.

    Examples
    --------
    >>> feature('{"type": "Point", "coordinates": [114.2, 22.7]}', {"code": "B1"}, "B1")
    {'type': 'Feature', 'id': 'B1', 'geometry': {'type': 'Point', 'coordinates': [114.2, 22.7]}, \
'properties': {'code': 'B1'}}
    """
    out: dict[str, Any] = {"type": "Feature"}
    if fid is not None:
        out["id"] = fid
    out["geometry"] = json.loads(geometry_json) if geometry_json else None
    out["properties"] = properties
    return out


def bbox_params(bbox: Sequence[float]) -> dict[str, float]:
    """The parameters of :data:`BBOX_ENVELOPE` for ``minx, miny, maxx, maxy``.

    Examples
    --------
    >>> bbox_params((1, 2, 3, 4))
    {'minx': 1, 'miny': 2, 'maxx': 3, 'maxy': 4}
    """
    return dict(zip(("minx", "miny", "maxx", "maxy"), bbox, strict=True))


@dataclass(frozen=True)
class FeatureSet:
    """The features of one source: id, properties and geometry, as SQL over the alias ``t``.

    Parameters
    ----------
    source
        The FROM clause, binding the alias ``t`` (``buildings AS t``, or a join).
    id_sql
        The feature id (``t.id``, ``t.code``).
    properties
        The properties, in order; each one's value is ``LayerProperty.expression()``.
    geometry_sql
        The geometry in EPSG:4326.

    Examples
    --------
    >>> fs = FeatureSet("roads AS t", "t.id", (LayerProperty(name="name"),), "t.geom")
    >>> fs.select_sql(["t.kind = :kind"])
    'SELECT t.id AS __fid, t.name AS "name", ST_AsGeoJSON(t.geom, 7) AS __geometry FROM roads \
AS t WHERE (t.kind = :kind)'
    """

    source: str
    id_sql: str
    properties: tuple[LayerProperty, ...]
    geometry_sql: str

    def where_sql(self, conditions: Iterable[str]) -> str:
        """``conditions`` joined by AND (TRUE when there are none)."""
        return " AND ".join(f"({c})" for c in conditions) or "TRUE"

    def select_sql(self, conditions: Iterable[str]) -> str:
        """The features meeting ``conditions``, unordered; rows for :meth:`feature_of`."""
        cols = ", ".join(f'{p.expression()} AS "{p.name}"' for p in self.properties)
        return (f"SELECT {self.id_sql} AS __fid, {cols}, ST_AsGeoJSON({self.geometry_sql}, "  # noqa: S608 - trusted parts, see the module
                f"{GEOJSON_DIGITS}) AS __geometry FROM {self.source} "
                f"WHERE {self.where_sql(conditions)}")

    def page_sql(self, conditions: Sequence[str], order: str) -> tuple[str, str]:
        """The count and page statements (the page ordered by ``order``, binding limits).

        The page binds ``:limit`` and ``:offset``.
        """
        count = f"SELECT count(*) FROM {self.source} WHERE {self.where_sql(conditions)}"  # noqa: S608 - trusted parts, see the module
        page = f"{self.select_sql(conditions)} ORDER BY {order} LIMIT :limit OFFSET :offset"
        return count, page

    def feature_of(self, row: RowMapping) -> dict[str, Any]:
        """The GeoJSON feature of a row of :meth:`select_sql` or :meth:`page_sql`."""
        props = {p.name: jsonable(row[p.name]) for p in self.properties}
        return feature(row["__geometry"], props, row["__fid"])

    def page(self, conn: Connection, conditions: Sequence[str], params: Mapping[str, Any],
             *, order: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the features meeting ``conditions``, and the number of them all.

        ``params`` bind the values of ``conditions``.
        """
        count_sql, page_sql = self.page_sql(conditions, order)
        total = int(conn.execute(text(count_sql), dict(params)).scalar_one())
        rows = conn.execute(text(page_sql), {**params, "limit": limit, "offset": offset})
        return [self.feature_of(row) for row in rows.mappings()], total

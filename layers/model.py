"""The layer contract: a typed declaration that builds its tile and feature SQL once.

A :class:`Layer` names a table (or a query) with a geometry column in EPSG:4326,
the properties it exposes (never personal data), its zoom range, filters and
style hints. From that it builds, once, the SQL of a Mapbox Vector Tile
(``ST_TileEnvelope`` -> ``ST_AsMVTGeom`` -> ``ST_AsMVT``) and of a page of
GeoJSON features; every request value (z/x/y, bbox, filters) is a bound
parameter, never formatted into SQL. The SQL text of a layer does not change
between requests, so psycopg can prepare it once per connection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from sqlalchemy import Connection, RowMapping, TextClause, text

from gis_core.errors import InvalidInput
from layers.cluster import LayerCluster, cluster_tile_sql
from layers.declaration import IDENT, GeometryType, LayerProperty, LayerStyle, Title
from layers.features import BBOX_ENVELOPE, FeatureSet
from layers.filters import LayerFilter, bind_filters

__all__ = ["Layer", "LayerProperty", "LayerStyle", "Title"]

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 24
EARTH_RADIUS = 6378137.0
WORLD = (-180.0, -85.0511287798066, 180.0, 85.0511287798066)
LAYER_ID = r"^[a-z][a-z0-9_-]*$"
TILEJSON_TYPES = {"string": "String", "integer": "Number", "number": "Number",
                  "boolean": "Boolean", "datetime": "String"}


class Layer(BaseModel):
    """One map layer: source, exposed properties, zoom range, filters and style.

    Parameters
    ----------
    id
        URL-safe identifier (``buildings``, ``grids-basic``); also the MVT layer name.
    table, query
        Exactly one: a table name, or a ``SELECT`` whose rows become ``t``.
    geometry_column
        Geometry in EPSG:4326 that is drawn.
    index_column
        Geometry column with a GiST index used for the tile/bbox search
        (default: ``geometry_column``); with ``search_margin_deg`` for computed
        geometries that reach beyond it (camera views around camera points).
    mercator_column
        A stored EPSG:3857 copy of ``geometry_column`` with its own GiST index
        (a generated column): tiles draw and search it instead of transforming
        every geometry and the tile envelope per request.
    pixel_columns
        Zoom -> a stored column holding the geometry as ``ST_AsMVTGeom`` draws
        it over the whole world at extent 4096 * 2^zoom (no buffer, no clip; a
        generated column). At those zooms a feature wholly inside the tile and
        its buffer is only translated into the tile - the same coordinates as
        ``ST_AsMVTGeom`` on the tile, without snapping and validating it per
        request; features crossing the edge still go through ``ST_AsMVTGeom``.
    where
        Static condition over ``t`` (e.g. the grid layer and validity).
    params
        Static bound parameters the ``where`` reads.
    expires_sql
        Expression over ``t`` whose minimum over a tile's rows is the time at
        which the tile changes by time alone (a due time passing); NULL: never.
    depends_on
        Tables whose changes invalidate this layer's cached tiles (default: ``table``).
    aggregate
        Each feature sums rows of other tables (people per grid): a changed row
        changes a feature that reaches beyond the row's box, so any change of a
        table it depends on evicts every cached tile of the layer.
    cluster
        For a point layer: how a tile holding too many rows is drawn as clusters
        (:mod:`layers.cluster`), so that no tile exceeds a bounded size.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=LAYER_ID)
    title: Title
    description: Title | None = None
    table: str | None = Field(default=None, pattern=IDENT)
    query: str | None = None
    geometry_column: str = Field(default="geom", pattern=IDENT)
    geometry_type: GeometryType
    id_column: str = Field(default="id", pattern=IDENT)
    properties: tuple[LayerProperty, ...]
    minzoom: int = Field(default=0, ge=0, le=MAX_ZOOM)
    maxzoom: int = Field(default=22, ge=0, le=MAX_ZOOM)
    where: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    filters: tuple[LayerFilter, ...] = ()
    time_column: str | None = Field(default=None, pattern=IDENT)
    expires_sql: str | None = None
    index_column: str | None = Field(default=None, pattern=IDENT)
    search_margin_deg: float = Field(default=0.0, ge=0, le=1)
    mercator_column: str | None = Field(default=None, pattern=IDENT)
    pixel_columns: dict[int, str] = Field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    aggregate: bool = False
    cluster: LayerCluster | None = None
    style: LayerStyle

    _tile_sql: TextClause = PrivateAttr()
    _one_sql: TextClause = PrivateAttr()
    _features: FeatureSet = PrivateAttr()

    @model_validator(mode="after")
    def _check(self) -> Layer:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of 'table' or 'query'")
        if self.minzoom > self.maxzoom:
            raise ValueError("minzoom must not exceed maxzoom")
        names = [p.name for p in self.properties]
        if len(set(names)) != len(names) or {"geom", "fid"} & set(names):
            raise ValueError("property names must be unique and not 'geom' or 'fid'")
        if self.time_column and "datetime" in {f.name for f in self.filters}:
            raise ValueError("'datetime' is reserved for time_column")
        if not self.depends_on and self.table is None:
            raise ValueError("a query layer must name the tables it depends_on")
        if self.mercator_column and (self.index_column or self.search_margin_deg):
            raise ValueError("'mercator_column' is both drawn and searched: no 'index_column' "
                             "or 'search_margin_deg' with it")
        if self.cluster and (self.geometry_type != "Point" or self.pixel_columns
                             or self.cluster.by not in names):
            raise ValueError("'cluster' needs a Point layer without pixel_columns, clustered "
                             "by one of its properties")
        for zoom, column in self.pixel_columns.items():
            if not 0 <= zoom <= 18 or not re.fullmatch(IDENT, column):
                raise ValueError(f"pixel_columns: zoom {zoom} must be in 0..18 (extent "
                                 f"4096 * 2^zoom fits an integer) and {column!r} a column name")
        self._build_sql()
        return self

    # ------------------------------------------------------------------ SQL, built once

    @property
    def all_filters(self) -> tuple[LayerFilter, ...]:
        """Declared filters plus ``datetime`` on ``time_column`` when there is one."""
        if not self.time_column:
            return self.filters
        col = f"t.{self.time_column}"
        dt = LayerFilter(
            name="datetime", kind="datetime",
            sql=(f"(CAST(:datetime_start AS timestamptz) IS NULL OR {col} >= "
                 f"CAST(:datetime_start AS timestamptz)) AND (CAST(:datetime_end AS "
                 f"timestamptz) IS NULL OR {col} <= CAST(:datetime_end AS timestamptz))"),
            description=f"RFC 3339 instant or interval on {self.time_column}")
        return (*self.filters, dt)

    @property
    def tables(self) -> tuple[str, ...]:
        """Tables whose changes can change this layer's tiles."""
        return self.depends_on or ((self.table,) if self.table else ())

    def _source(self) -> str:
        return f"{self.table} AS t" if self.table else f"({self.query}) AS t"

    def _conditions(self, spatial: str, with_where: bool = True) -> str:
        conds = [spatial]
        if with_where and self.where:
            conds.append(f"({self.where})")
        conds += [f"({f.sql})" for f in self.all_filters]
        return " AND ".join(conds)

    def _build_sql(self) -> None:
        # The SQL is composed here, once, from the declaration alone: identifiers match
        # IDENT and the SQL fragments are written in code, never taken from a request;
        # every request value is a bound parameter. Hence the `noqa: S608` below.
        geom = f"t.{self.geometry_column}"
        index = f"t.{self.index_column or self.geometry_column}"
        margin = BUFFER / EXTENT
        env4326 = f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {margin}), 4326)"
        if self.search_margin_deg:
            env4326 = f"ST_Expand({env4326}, {self.search_margin_deg})"
        tile_props = [(f"to_char(({p.expression()}) AT TIME ZONE 'UTC', "
                       "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')" if p.type == "datetime"
                       else p.expression(), p.name) for p in self.properties]
        props = ", ".join(f'{sql} AS "{name}"' for sql, name in tile_props)
        drawn, search = f"ST_Transform({geom}, 3857)", env4326
        if self.mercator_column:
            drawn = index = f"t.{self.mercator_column}"
            search = f"ST_TileEnvelope(:z, :x, :y, margin => {margin})"
        # the envelopes are computed once per tile, not once per row (a generic plan
        # cannot fold ST_TileEnvelope of bound parameters into a constant)
        envelopes = ("WITH _tile AS MATERIALIZED (SELECT ST_TileEnvelope(:z, :x, :y) AS env, "
                     f"{search} AS search")
        drawing = f"ST_AsMVTGeom({drawn}, _tile.env, {EXTENT}, {BUFFER}, true)"
        if self.pixel_columns:
            # the tile and its buffer in world pixels, and the shift into the tile
            px0, px1 = f"CAST(:x AS float8) * {EXTENT}", f"CAST(:y AS float8) * {EXTENT}"
            envelopes += (f", ST_MakeEnvelope({px0} - {BUFFER}, {px1} - {BUFFER}, {px0} + "
                          f"{EXTENT + BUFFER}, {px1} + {EXTENT + BUFFER}) AS inside, "
                          f"-{px0} AS dx, -{px1} AS dy")
            pixels = ("(CASE :z " + " ".join(f"WHEN {z} THEN t.{c}" for z, c in
                                             sorted(self.pixel_columns.items())) + " END)")
            drawing = (f"CASE WHEN {pixels} @ _tile.inside THEN ST_Translate({pixels}, "
                       f"_tile.dx, _tile.dy) ELSE {drawing} END")
        envelopes += ") "
        spatial = f"{index} && _tile.search"
        inner = (f"SELECT t.{self.id_column} AS fid, {props}, {drawing} AS geom "  # noqa: S608
                 f"FROM _tile, {self._source()} WHERE {self._conditions(spatial)}")
        # rows clipped away (NULL geom) are skipped by ST_AsMVT itself; a WHERE on q.geom
        # would be pulled up and evaluate ST_AsMVTGeom twice per row
        mvt = f"SELECT ST_AsMVT(q, '{self.id}', {EXTENT}, 'geom', 'fid') FROM ({inner}) AS q"  # noqa: S608
        expires = "NULL::timestamptz"
        if self.expires_sql:
            expires = (f"(SELECT min({self.expires_sql}) FROM _tile, {self._source()} "  # noqa: S608
                       f"WHERE {self._conditions(spatial, with_where=False)})")
        tile = f"SELECT ({mvt}) AS mvt"
        if self.cluster:
            by = next(p for p in self.properties if p.name == self.cluster.by)
            tile = cluster_tile_sql(
                self.cluster, layer_id=self.id, source=self._source(),
                conditions=self._conditions(spatial), drawn=drawn,
                position=self._mercator_xy(drawn),
                geometry_column=self.mercator_column or self.geometry_column,
                id_column=self.id_column,
                props=tile_props, by_sql=by.expression(), extent=EXTENT, buffer=BUFFER)
        self._tile_sql = text(f"{envelopes}{tile}, {expires} AS expires_at")
        self._features = FeatureSet(self._source(), f"t.{self.id_column}", self.properties, geom)
        self._one_sql = text(self._features.select_sql(
            [f"t.{self.id_column} = :fid", *([self.where] if self.where else [])]))

    def _mercator_xy(self, drawn: str) -> tuple[str, str]:
        """EPSG:3857 x and y of the drawn point, without a transform per row.

        A stored column's coordinates, else EPSG:3857's spherical formula on the lon/lat.
        """
        if self.mercator_column:
            return f"ST_X({drawn})", f"ST_Y({drawn})"
        geom = f"t.{self.geometry_column}"
        return (f"radians(ST_X({geom})) * {EARTH_RADIUS}",
                f"ln(tan(pi() / 4 + radians(ST_Y({geom})) / 2)) * {EARTH_RADIUS}")

    @property
    def tile_sql(self) -> TextClause:
        """The tile statement (binds ``z``, ``x``, ``y``, static params and filters)."""
        return self._tile_sql

    # ------------------------------------------------------------------ public contract

    def check_tile(self, z: int, x: int, y: int) -> None:
        """Raise :class:`InvalidInput` naming ``z``, ``x`` or ``y`` when out of range."""
        if not 0 <= z <= MAX_ZOOM:
            raise InvalidInput(f"path parameter 'z': must be in 0..{MAX_ZOOM}, got {z}",
                               code="invalid_parameter", parameter="z")
        n = 1 << z
        for name, v in (("x", x), ("y", y)):
            if not 0 <= v < n:
                raise InvalidInput(
                    f"path parameter '{name}': must be in 0..{n - 1} at zoom {z}, got {v}",
                    code="invalid_parameter", parameter=name)

    def bind(self, filters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Bound parameters for ``filters`` (raw query strings or parsed values)."""
        params = dict(self.params)
        params.update(bind_filters(self.all_filters, filters))
        return params

    def feature(self, conn: Connection, fid: int) -> dict[str, Any] | None:
        """One GeoJSON feature by id, or None."""
        row = conn.execute(self._one_sql, {**self.params, "fid": fid}).mappings().one_or_none()
        return self.feature_of(row) if row is not None else None

    def items_sql(self, bbox: bool, conditions: Sequence[str] = (), order: str | None = None
                  ) -> tuple[str, str]:
        """The count and page statements of the layer's features (OGC items).

        The layer's ``where`` and filters always hold; with ``bbox`` the features
        meet :data:`~layers.features.BBOX_ENVELOPE`; ``conditions`` are further SQL
        fragments the caller built from trusted parts (values bound), ``order``
        an ORDER BY list (default: the id). The page binds ``:limit, :offset``;
        its rows make features with :meth:`feature_of`.
        """
        spatial = "TRUE"
        if bbox:
            index = f"t.{self.index_column or self.geometry_column}"
            spatial = (f"{index} && ST_Expand({BBOX_ENVELOPE}, {self.search_margin_deg}) "
                       f"AND ST_Intersects(t.{self.geometry_column}, {BBOX_ENVELOPE})")
        return self._features.page_sql([self._conditions(spatial), *conditions],
                                       order or f"t.{self.id_column}")

    def feature_of(self, row: RowMapping) -> dict[str, Any]:
        """The GeoJSON feature of a row of :meth:`items_sql` or :meth:`feature`."""
        return self._features.feature_of(row)

    def bounds(self, conn: Connection) -> tuple[float, float, float, float]:
        """Extent of the layer's rows in EPSG:4326 (the world when empty)."""
        # from the declaration only (see _build_sql), no request value
        row = conn.execute(text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "  # noqa: S608
            f"ST_Extent(t.{self.geometry_column}) AS e FROM {self._source()}"
            + (f" WHERE {self.where}" if self.where else "") + ") s"), self.params).one()
        if row[0] is None:
            return WORLD
        return (max(row[0], WORLD[0]), max(row[1], WORLD[1]), min(row[2], WORLD[2]),
                min(row[3], WORLD[3]))

    def fields(self) -> dict[str, str]:
        """TileJSON ``vector_layers`` fields: property name -> String/Number/Boolean."""
        return {p.name: TILEJSON_TYPES[p.type] for p in self.properties}

    def tilejson(self, base_url: str, bounds: tuple[float, float, float, float] = WORLD,
                 query: str = "") -> dict[str, Any]:
        """TileJSON 3.0.0 of this layer; ``query`` (filters) is appended to the tile URL.

        Examples
        --------
        >>> from layers.registry import get_layer
        >>> tj = get_layer("buildings").tilejson("http://h")
        >>> tj["tilejson"], tj["tiles"][0], tj["vector_layers"][0]["id"]
        ('3.0.0', 'http://h/tiles/buildings/{z}/{x}/{y}.mvt', 'buildings')
        """
        url = f"{base_url.rstrip('/')}/tiles/{self.id}/{{z}}/{{x}}/{{y}}.mvt"
        if query:
            url += f"?{query}"
        cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        return {
            "tilejson": "3.0.0", "name": self.title.zh, "description": self.title.en,
            "version": "1.0.0", "scheme": "xyz", "tiles": [url],
            "minzoom": self.minzoom, "maxzoom": self.maxzoom, "bounds": list(bounds),
            "center": [cx, cy, max(self.minzoom, min(14, self.maxzoom))],
            "vector_layers": [{"id": self.id, "description": self.title.en,
                               "minzoom": self.minzoom, "maxzoom": self.maxzoom,
                               "fields": self.fields()}],
        }

    def legend(self) -> dict[str, Any]:
        """What the web client needs for its switcher and legend."""
        return {"id": self.id, "title": self.title.model_dump(),
                "geometry_type": self.geometry_type, "minzoom": self.minzoom,
                "maxzoom": self.maxzoom, "style": self.style.model_dump(),
                "filters": [f.name for f in self.all_filters],
                "properties": [p.name for p in self.properties]}

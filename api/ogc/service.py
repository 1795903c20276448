"""OGC API - Features Parts 1 and 3 over the layer registry: documents, query parsing, item SQL.

Every registry layer with a table or query is a collection named by the layer
id. Items are read with SQL composed from the layer's declaration (source,
static ``where``, declared filters, exposed properties); request values are
bound parameters, and only declared property names reach the SQL text.
``filter`` (CQL2 text or JSON) and ``sortby`` are compiled by :mod:`api.ogc`
over the same declared properties. Invalid or unknown query parameters raise
:class:`OGCBadRequest` (HTTP 400, as the standard requires).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from api.errors import APIError
from api.ogc import cql
from api.ogc.queryables import JSON_SCHEMA_TYPES, SCHEMA_JSON, order_by
from api.validation import BIGINT_MAX
from gis_core.errors import InvalidInput
from layers.features import bbox_params
from layers.filters import parse_bool, parse_datetime_interval
from layers.model import Layer

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
)
#: the relation of a collection to its queryables
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
#: query parameters every items request may carry
STANDARD_ITEM_PARAMS = frozenset({"f", "bbox", "bbox-crs", "crs", "limit", "offset",
                                  "datetime", "filter", "filter-lang", "filter-crs", "sortby"})
CRS84_NAMES = (CRS84, "EPSG:4326", "http://www.opengis.net/def/crs/EPSG/0/4326")
#: parameters read after the others: CRS names, ``filter`` and ``sortby``
PART3_PARAMS = frozenset({"bbox-crs", "crs", "filter-crs", "filter", "filter-lang", "sortby"})


class OGCBadRequest(APIError):
    """An invalid or unknown query parameter (HTTP 400 in OGC API Features)."""


def _bad(message: str, parameter: str) -> OGCBadRequest:
    return OGCBadRequest(400, "invalid_parameter", message, parameter=parameter)


@dataclass
class ItemsQuery:
    """A parsed ``/items`` request."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    datetime: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    #: ``filter`` compiled to SQL over the layer's properties (``TRUE`` without one)
    cql: cql.SQLFilter = field(default_factory=cql.SQLFilter)
    #: the ``ORDER BY`` list of ``sortby`` (the feature id last)
    order: str = "t.id"


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """Parse an OGC ``bbox`` (4 numbers, or 6 with heights that are ignored), in CRS84.

    Examples
    --------
    >>> parse_bbox("114.2,22.6,114.3,22.7")
    (114.2, 22.6, 114.3, 22.7)
    >>> parse_bbox("114.2,22.6,0,114.3,22.7,100")
    (114.2, 22.6, 114.3, 22.7)
    """
    try:
        nums = [float(p) for p in raw.split(",")]
    except ValueError:
        raise _bad("query parameter 'bbox': expected numbers minx,miny,maxx,maxy",
                   "bbox") from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or any(n != n or n in (float("inf"), float("-inf")) for n in nums):
        raise _bad("query parameter 'bbox': expected four numbers minx,miny,maxx,maxy", "bbox")
    minx, miny, maxx, maxy = nums
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _bad("query parameter 'bbox': lon must be in [-180, 180], lat in [-90, 90] "
                   "and miny <= maxy", "bbox")
    if minx > maxx:
        raise _bad("query parameter 'bbox': boxes across the antimeridian are not supported",
                   "bbox")
    return minx, miny, maxx, maxy


def _parse_int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise _bad(f"query parameter '{name}': expected an integer, got {raw!r}", name) from None
    if not minimum <= value <= BIGINT_MAX:
        raise _bad(f"query parameter '{name}': must be in {minimum}..{BIGINT_MAX}", name)
    return value


def _property_value(layer: Layer, name: str, raw: str) -> Any:
    prop = next(p for p in layer.properties if p.name == name)
    try:
        if prop.type == "integer":
            return _parse_int(name, raw, -BIGINT_MAX - 1)
        if prop.type == "number":
            return float(raw)
        if prop.type == "boolean":
            return parse_bool(name, raw)
        if prop.type == "datetime":
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    except (ValueError, InvalidInput):
        raise _bad(f"query parameter '{name}': {raw!r} is not a valid {prop.type}",
                   name) from None
    return raw


def allowed_item_params(layer: Layer) -> set[str]:
    """Query parameters ``/items`` of ``layer`` accepts: standard, filters, properties."""
    return (set(STANDARD_ITEM_PARAMS) | {f.name for f in layer.all_filters}
            | {p.name for p in layer.properties})


def parse_items_query(layer: Layer, params: Iterable[tuple[str, str]],
                      max_limit: int = MAX_LIMIT) -> ItemsQuery:
    """Parse the query string of ``/collections/{layer}/items``; unknown names are errors.

    A ``limit`` above ``max_limit`` is lowered to it (the standard forbids an error).
    """
    allowed = allowed_item_params(layer)
    declared = {f.name for f in layer.all_filters} - {"datetime"}
    query = ItemsQuery()
    seen: set[str] = set()
    given: dict[str, str] = {}
    for name, raw in params:
        if name not in allowed:
            raise _bad(f"query parameter '{name}': unknown; allowed: "
                       f"{', '.join(sorted(allowed))}", name)
        if name in seen:
            raise _bad(f"query parameter '{name}': given more than once", name)
        seen.add(name)
        if name == "limit":
            query.limit = min(_parse_int(name, raw, 1), max_limit)
        elif name == "offset":
            query.offset = _parse_int(name, raw, 0)
        elif name == "bbox":
            query.bbox = parse_bbox(raw)
        elif name in PART3_PARAMS:
            given[name] = raw
        elif name == "datetime":
            try:
                parse_datetime_interval(raw)
            except InvalidInput as exc:
                raise _bad(exc.message, name) from None
            query.datetime = raw
        elif name in declared:
            query.filters[name] = raw
        elif name != "f":
            query.properties[name] = _property_value(layer, name, raw)
    _add_part3(layer, query, given)
    return query


def _add_part3(layer: Layer, query: ItemsQuery, given: dict[str, str]) -> None:
    """Check the CRS parameters; compile ``filter`` and ``sortby`` into ``query``."""
    for name in ("bbox-crs", "crs", "filter-crs"):
        if name in given and given[name] not in CRS84_NAMES:
            raise _bad(f"query parameter '{name}': only {CRS84} is supported", name)
    if "filter" in given:
        query.cql = cql.to_sql(cql.parse(given["filter"], given.get("filter-lang")), layer)
    query.order = order_by(layer, given.get("sortby"))


def _source(layer: Layer) -> str:
    return f"{layer.table} AS t" if layer.table else f"({layer.query}) AS t"


def _item_conditions(layer: Layer, query: ItemsQuery) -> list[str]:
    """The conditions of an items request beyond the layer's own (names from the declaration)."""
    by_name = {p.name: p for p in layer.properties}
    conds = []
    for name in sorted(query.properties):
        expr = by_name[name].expression()
        if by_name[name].type == "string":
            conds.append(f"CAST(({expr}) AS text) = :pf_{name}")
        else:
            conds.append(f"({expr}) = :pf_{name}")
    conds.append(query.cql.sql)
    return conds


def items(conn: Connection, layer: Layer, query: ItemsQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of features matching ``query`` and the number matched."""
    given: dict[str, Any] = dict(query.filters)
    if query.datetime is not None and layer.time_column:
        given["datetime"] = query.datetime
    try:
        params = layer.bind(given)
    except InvalidInput as exc:
        raise _bad(exc.message, str(exc.details.get("parameter", ""))) from None
    if query.bbox is not None:
        params.update(bbox_params(query.bbox))
    params.update({f"pf_{k}": v for k, v in query.properties.items()})
    params.update(query.cql.params)
    count_sql, page_sql = layer.items_sql(query.bbox is not None, _item_conditions(layer, query),
                                          query.order)
    total = int(conn.execute(text(count_sql), params).scalar_one())
    rows = conn.execute(text(page_sql), {**params, "limit": query.limit,
                                         "offset": query.offset}).mappings()
    return [layer.feature_of(row) for row in rows], total


def temporal_interval(conn: Connection, layer: Layer) -> list[str | None] | None:
    """``[first, last]`` of the layer's ``time_column`` (RFC 3339), or None without one."""
    if not layer.time_column:
        return None
    where = f" WHERE {layer.where}" if layer.where else ""
    row = conn.execute(text(f"SELECT min(t.{layer.time_column}), max(t.{layer.time_column}) "  # noqa: S608 - SQL from trusted parts; values bound
                            f"FROM {_source(layer)}{where}"), layer.params).one()
    return [_rfc3339(row[0]), _rfc3339(row[1])]


def _rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    """One OGC link object."""
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def landing(base: str, title: str, description: str) -> dict[str, Any]:
    """The landing page document; ``base`` is the absolute URL of ``/ogc``."""
    return {
        "title": title, "description": description,
        "links": [
            link(f"{base}?f=json", "self", JSON, "this document"),
            link(f"{base}?f=html", "alternate", HTML, "this document as HTML"),
            link(f"{base}/api", "service-desc", OPENAPI, "the API definition"),
            link(f"{base}/api.html", "service-doc", HTML, "the API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{base}/collections", "data", JSON, "the collections"),
        ],
    }


def collection(layer: Layer, base: str, bounds: tuple[float, float, float, float],
               interval: list[str | None] | None) -> dict[str, Any]:
    """The description of one collection."""
    href = f"{base}/collections/{layer.id}"
    extent: dict[str, Any] = {"spatial": {"bbox": [list(bounds)], "crs": CRS84}}
    if interval is not None:
        extent["temporal"] = {"interval": [interval],
                              "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": layer.id, "title": layer.title.zh,
        "description": layer.description.zh if layer.description else layer.title.en,
        "itemType": "feature", "crs": [CRS84], "storageCrs": CRS84, "extent": extent,
        "links": [
            link(href, "self", JSON, layer.title.en),
            link(f"{href}?f=html", "alternate", HTML, layer.title.en),
            link(f"{href}/items", "items", GEOJSON, "items as GeoJSON"),
            link(f"{href}/items?f=html", "items", HTML, "items as HTML"),
            link(f"{href}/queryables", QUERYABLES_REL, SCHEMA_JSON, "queryables"),
        ],
    }


def item_links(href: str) -> list[dict[str, str]]:
    """Links of one item: self, alternate, collection."""
    collection_href = href.rsplit("/items/", 1)[0]
    return [link(href, "self", GEOJSON), link(f"{href}?f=html", "alternate", HTML),
            link(collection_href, "collection", JSON)]


def _property_params(layer: Layer) -> list[dict[str, Any]]:
    """The ``name=value`` query parameters of ``layer``'s properties (its queryables)."""
    return [{"name": p.name, "in": "query", "required": False,
             "description": f"features whose {p.name} equals this value",
             "schema": JSON_SCHEMA_TYPES[p.type]} for p in layer.properties]


def openapi(app_doc: dict[str, Any], base: str, prefix: str, layers: Iterable[Layer],
            items_params: list[dict[str, Any]]) -> dict[str, Any]:
    """The definition of the OGC API alone, served at ``base``.

    ``app_doc``'s paths under ``prefix``, plus one items path per collection
    with its queryables as parameters (what GDAL reads to push filters down).
    """
    paths = {path.removeprefix(prefix) or "/": item for path, item in app_doc["paths"].items()
             if path == prefix or path.startswith(f"{prefix}/")}
    generic = paths.get("/collections/{collection_id}/items", {}).get("get", {})
    for layer in layers:
        paths[f"/collections/{layer.id}/items"] = {"get": {
            **generic, "operationId": f"items_{layer.id.replace('-', '_')}",
            "summary": f"{layer.title.zh} ({layer.title.en})",
            "parameters": [*items_params, *_property_params(layer)]}}
    return {**app_doc, "servers": [{"url": base}], "paths": paths}

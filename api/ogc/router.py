"""OGC API - Features Parts 1 and 3 at ``/ogc``: the registry's layers as collections.

JSON/GeoJSON or HTML by content negotiation (``f=json|html`` first, then the
``Accept`` header). Invalid or unknown query parameters answer 400 and a
missing collection or feature 404, as the standard requires. ``/ogc/api`` is
the definition of this OGC API alone (its server ``/ogc``), with one items path
per collection listing its queryables, which is how GDAL learns to send
``-where`` as a ``filter``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy import Connection, text

from api.auth.access import public
from api.deps import ReadSessionDep, SettingsDep
from api.errors import APIError
from api.ogc import cql
from api.ogc import html as ogc_html
from api.ogc import service as ogc
from api.ogc.queryables import SCHEMA_JSON, queryables
from api.openapi import ErrorFormat
from api.routing import Router
from api.validation import db_int
from layers.model import Layer
from layers.registry import REGISTRY


class OGCRoute(APIRoute):
    """A route of OGC API Features: invalid parameters answer 400, as the standard says."""

    error_format = ErrorFormat(invalid_input=400)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Answer the app-wide checks of parameters (text with NUL characters) with 400."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except APIError as exc:
                if exc.status != 422:
                    raise
                raise APIError(400, exc.code, exc.message, headers=exc.headers) from None

        return handle


router = Router(prefix="/ogc", tags=["ogc"], route_class=OGCRoute)

#: what a document answers: JSON or, negotiated, HTML
AS_JSON: dict[int | str, dict[str, Any]] = {200: {"content": {
    ogc.JSON: {}, ogc.HTML: {"schema": {"type": "string"}}}}}
#: what features answer: GeoJSON or, negotiated, HTML
AS_GEOJSON: dict[int | str, dict[str, Any]] = {200: {"content": {
    ogc.GEOJSON: {}, ogc.HTML: {"schema": {"type": "string"}}}}}

F_PARAM = {"name": "f", "in": "query", "required": False,
           "description": "response format (default: by the Accept header)",
           "schema": {"type": "string", "enum": ["json", "html"]}}
ITEMS_PARAMS = [
    F_PARAM,
    {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
     "description": "minx,miny,maxx,maxy in CRS84 (lon/lat)",
     "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
    {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
     "description": "page size",
     "schema": {"type": "integer", "minimum": 1, "maximum": ogc.MAX_LIMIT,
                "default": ogc.DEFAULT_LIMIT}},
    {"name": "offset", "in": "query", "required": False,
     "description": "features to skip (follow the next link instead)",
     "schema": {"type": "integer", "minimum": 0, "default": 0}},
    {"name": "datetime", "in": "query", "required": False,
     "description": "RFC 3339 instant or interval (`start/end`, `../end`, `start/..`)",
     "schema": {"type": "string"}},
    {"name": "filter", "in": "query", "required": False,
     "description": "CQL2 filter over the collection's queryables, e.g. "
                    "`status = 'in_progress' AND S_INTERSECTS(geometry, POINT(114.25 22.72))`",
     "schema": {"type": "string"}},
    {"name": "filter-lang", "in": "query", "required": False,
     "description": "language of `filter` (`cql-text` is the draft name of `cql2-text`)",
     "schema": {"type": "string", "enum": list(cql.FILTER_LANGS), "default": "cql2-text"}},
    {"name": "filter-crs", "in": "query", "required": False,
     "description": "CRS of the geometries in `filter`",
     "schema": {"type": "string", "enum": list(ogc.CRS84_NAMES), "default": ogc.CRS84}},
    {"name": "sortby", "in": "query", "required": False, "style": "form", "explode": False,
     "description": "properties to sort by: `+name` (or `name`) ascending, `-name` descending",
     "schema": {"type": "array", "items": {"type": "string"}}},
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _accepts_html(accept: str) -> bool:
    """Whether the ``Accept`` header prefers HTML over JSON."""
    best_html, best_json = 0.0, 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, q)
        elif media.endswith("json"):
            best_json = max(best_json, q)
    return best_html > best_json


def wants_html(request: Request) -> bool:
    """The negotiated format: ``f`` wins, then ``Accept``; JSON by default."""
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("json", "html", "geojson"):
            raise APIError(400, "invalid_parameter",
                           f"query parameter 'f': must be json or html, got {f!r}")
        return f == "html"
    return _accepts_html(request.headers.get("accept", ""))


def _only_f(request: Request) -> None:
    extra = sorted(set(request.query_params) - {"f"})
    if extra:
        raise APIError(400, "invalid_parameter",
                       f"query parameter '{extra[0]}': unknown; allowed: f")


def _respond(request: Request, doc: dict[str, Any], html: str | None,
             media_type: str = ogc.JSON) -> Response:
    if html is not None:
        return HTMLResponse(html)
    return JSONResponse(doc, media_type=media_type)


def _json_href(request: Request) -> str:
    return str(request.url.include_query_params(f="json"))


def _missing_tables(conn: Connection, tables: set[str]) -> set[str]:
    return {t for t in tables
            if conn.execute(text("SELECT to_regclass(:t)"), {"t": t}).scalar() is None}


def available_layers(conn: Connection) -> list[Layer]:
    """Registry layers whose tables exist in this database (grid layers reloaded)."""
    REGISTRY.refresh(conn)
    layers = REGISTRY.all()
    missing = _missing_tables(conn, {t for layer in layers for t in layer.tables})
    return [layer for layer in layers if not set(layer.tables) & missing]


def _layer(conn: Connection, collection_id: str) -> Layer:
    for layer in available_layers(conn):
        if layer.id == collection_id:
            return layer
    raise APIError(404, "collection_not_found", f"no collection {collection_id!r}")


@router.get("", openapi_extra={"parameters": [F_PARAM]}, responses=AS_JSON)
@public
def landing_page(request: Request, settings: SettingsDep) -> Response:
    """The OGC API Features landing page."""
    _only_f(request)
    doc = ogc.landing(_base(request), f"{settings.api.name} OGC API - Features",
                      "网格化管理的地图图层 (map layers of grid-based community governance) "
                      "as OGC API Features collections.")
    html = ogc_html.landing(doc, _json_href(request)) if wants_html(request) else None
    return _respond(request, doc, html)


@router.get("/api", include_in_schema=False)
@public
def service_desc(request: Request, session: ReadSessionDep) -> JSONResponse:
    """The OpenAPI definition of this OGC API (server ``/ogc``), one items path per collection."""
    doc = ogc.openapi(request.app.openapi(), _base(request), router.prefix,
                      available_layers(session.connection()), ITEMS_PARAMS)
    return JSONResponse(doc, media_type=ogc.OPENAPI)


@router.get("/api.html", include_in_schema=False)
@public
def service_doc() -> RedirectResponse:
    """The interactive API documentation."""
    return RedirectResponse("/docs")


@router.get("/conformance", openapi_extra={"parameters": [F_PARAM]}, responses=AS_JSON)
@public
def conformance(request: Request) -> Response:
    """The conformance classes this server implements."""
    _only_f(request)
    doc = {"conformsTo": list(ogc.CONFORMANCE)}
    html = ogc_html.conformance(doc, _json_href(request)) if wants_html(request) else None
    return _respond(request, doc, html)


def _collection_doc(conn: Connection, layer: Layer, base: str) -> dict[str, Any]:
    return ogc.collection(layer, base, layer.bounds(conn), ogc.temporal_interval(conn, layer))


@router.get("/collections", openapi_extra={"parameters": [F_PARAM]}, responses=AS_JSON)
@public
def collections(request: Request, session: ReadSessionDep) -> Response:
    """The feature collections: one per map layer."""
    _only_f(request)
    html = wants_html(request)
    conn = session.connection()
    base = _base(request)
    doc = {"collections": [_collection_doc(conn, layer, base)
                           for layer in available_layers(conn)],
           "links": [ogc.link(f"{base}/collections", "self", ogc.JSON),
                     ogc.link(f"{base}/collections?f=html", "alternate", ogc.HTML)]}
    return _respond(request, doc, ogc_html.collections(doc, _json_href(request)) if html else None)


@router.get("/collections/{collection_id}", openapi_extra={"parameters": [F_PARAM]},
            responses=AS_JSON)
@public
def collection(collection_id: str, request: Request, session: ReadSessionDep) -> Response:
    """One feature collection: title, extent, links."""
    _only_f(request)
    html = wants_html(request)
    conn = session.connection()
    doc = _collection_doc(conn, _layer(conn, collection_id), _base(request))
    return _respond(request, doc, ogc_html.collection(doc, _json_href(request)) if html else None)


def _page_links(request: Request, query: ogc.ItemsQuery, returned: int, total: int
                ) -> list[dict[str, str]]:
    url = request.url.remove_query_params("f")
    links = [ogc.link(str(url), "self", ogc.GEOJSON, "this page"),
             ogc.link(str(url.include_query_params(f="html")), "alternate", ogc.HTML)]
    if query.offset + returned < total:
        nxt = url.include_query_params(offset=query.offset + query.limit, limit=query.limit)
        links.append(ogc.link(str(nxt), "next", ogc.GEOJSON, "next page"))
    if query.offset > 0:
        prev = url.include_query_params(offset=max(0, query.offset - query.limit),
                                        limit=query.limit)
        links.append(ogc.link(str(prev), "prev", ogc.GEOJSON, "previous page"))
    return links


@router.get("/collections/{collection_id}/queryables", openapi_extra={"parameters": [F_PARAM]},
            response_class=Response,
            responses={200: {"content": {SCHEMA_JSON: {},
                                         ogc.HTML: {"schema": {"type": "string"}}}}})
@public
def collection_queryables(collection_id: str, request: Request, session: ReadSessionDep
                          ) -> Response:
    """The properties a filter or sortby of the collection may name, as a JSON Schema."""
    _only_f(request)
    html = wants_html(request)
    layer = _layer(session.connection(), collection_id)
    doc = queryables(layer, f"{_base(request)}/collections/{layer.id}/queryables")
    page = ogc_html.queryables(doc, _json_href(request)) if html else None
    return _respond(request, doc, page, SCHEMA_JSON)


@router.get("/collections/{collection_id}/items", openapi_extra={"parameters": ITEMS_PARAMS},
            response_class=Response, responses=AS_GEOJSON)
@public
def items(collection_id: str, request: Request, session: ReadSessionDep) -> Response:
    """Features of a collection, by bbox, time and property values, a page at a time."""
    html = wants_html(request)
    conn = session.connection()
    layer = _layer(conn, collection_id)
    query = ogc.parse_items_query(layer, request.query_params.multi_items())
    features, total = ogc.items(conn, layer, query)
    base = _base(request)
    for f in features:
        f["links"] = ogc.item_links(f"{base}/collections/{layer.id}/items/{f['id']}")
    doc = {"type": "FeatureCollection", "features": features, "numberMatched": total,
           "numberReturned": len(features),
           "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
           "links": [*_page_links(request, query, len(features), total),
                     ogc.link(f"{base}/collections/{layer.id}", "collection", ogc.JSON)]}
    page = (ogc_html.items(doc, layer.title.zh, f"{base}/collections/{layer.id}",
                           _json_href(request)) if html else None)
    return _respond(request, doc, page, ogc.GEOJSON)


@router.get("/collections/{collection_id}/items/{feature_id}",
            openapi_extra={"parameters": [F_PARAM]}, response_class=Response,
            responses=AS_GEOJSON)
@public
def item(collection_id: str, feature_id: str, request: Request, session: ReadSessionDep
         ) -> Response:
    """One feature of a collection."""
    _only_f(request)
    html = wants_html(request)
    conn = session.connection()
    layer = _layer(conn, collection_id)
    fid = db_int(feature_id)
    found = layer.feature(conn, fid) if fid is not None else None
    if found is None:
        raise APIError(404, "feature_not_found",
                       f"no feature {feature_id!r} in collection {collection_id!r}")
    found["links"] = ogc.item_links(str(request.url.remove_query_params("f")))
    page = ogc_html.item(found, f"{layer.title.zh} {feature_id}",
                         _json_href(request)) if html else None
    return _respond(request, found, page, ogc.GEOJSON)

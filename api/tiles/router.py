"""Vector tiles (MVT) and TileJSON of the registry's layers, raster tiles of surfaces.

``/tiles/{layer}/{z}/{x}/{y}.mvt`` (several layers: ``/tiles/a,b/...``), with
the layer's filters as query parameters; an empty tile is 204; every tile has a
strong ETag (hash of the content) honoured by ``If-None-Match`` and
``Cache-Control: no-cache`` by default, since the cache behind it is never
stale and clients should revalidate (``GRIDGOV_TILES_MAX_AGE`` changes it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response

from api.auth.access import public
from api.deps import RastersDep, TilesDep, settings_of
from api.routing import Router
from api.settings import TileSettings
from api.tiles.rasters import RASTERS
from layers import REGISTRY

router = Router(prefix="/tiles", tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
LayersPath = Annotated[str, Path(description="layer id, or several separated by commas",
                                 examples=["buildings", "grids-basic,events"])]
Z = Annotated[int, Path(ge=0, le=24, description="zoom")]
XY = Annotated[int, Path(ge=0, description="column / row of the tile")]


async def tile_settings(request: Request) -> TileSettings:
    """The app's tile settings (``settings.tiles``)."""
    return settings_of(request).tiles


TileSettingsDep = Annotated[TileSettings, Depends(tile_settings)]


def _layer_ids(layers: str) -> list[str]:
    return [part for part in layers.split(",") if part]


def _tile_response(request: Request, data: bytes, etag: str, media_type: str,
                   settings: TileSettings) -> Response:
    headers = {"ETag": etag, "Cache-Control": settings.cache_control(),
               "Vary": "Accept-Encoding"}
    if etag in request.headers.get("if-none-match", "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(content=data, media_type=media_type, headers=headers)


@router.get("")
@public
def list_layers(request: Request, tiles: TilesDep) -> dict[str, Any]:
    """List the map layers with their legend and style hints, and the raster surfaces."""
    tiles.sync(force=True)
    base = str(request.base_url).rstrip("/")
    return {
        "layers": [{**layer.legend(), "tilejson": f"{base}/tiles/{layer.id}.json"}
                   for layer in REGISTRY.all()],
        "rasters": [{**raster.legend(), "tilejson": f"{base}/tiles/raster/{raster.name}.json"}
                    for raster in RASTERS.values()],
    }


@router.get("/raster/{name}.json")
@public
def raster_tilejson(name: str, request: Request, rasters: RastersDep) -> dict[str, Any]:
    """TileJSON 3.0.0 of a raster surface (kernel density or camera coverage)."""
    raster = rasters.get(name)
    return raster.tilejson(str(request.base_url), str(request.url.query))


@router.get("/raster/{name}/{z}/{x}/{y}.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}, 204: {}, 304: {}})
@public
def raster_tile(name: str, z: Z, x: XY, y: XY, request: Request, rasters: RastersDep,
                settings: TileSettingsDep) -> Response:
    """A PNG tile of a raster surface with its colour ramp (transparent where zero)."""
    data, etag = rasters.tile(name, z, x, y, dict(request.query_params))
    return _tile_response(request, data, etag, "image/png", settings)


@router.get("/{layers}.json")
@public
def tilejson(layers: LayersPath, request: Request, tiles: TilesDep) -> dict[str, Any]:
    """TileJSON 3.0.0 of one or several layers (comma-separated), filters carried over."""
    tiles.sync(force=True)
    ids = _layer_ids(layers)
    chosen = tiles.layers(ids)
    query = str(request.url.query)
    tiles.check_filters(ids, dict(request.query_params))
    base = str(request.base_url)
    with tiles.engine.connect() as conn:
        docs = [layer.tilejson(base, layer.bounds(conn), query) for layer in chosen]
    if len(docs) == 1:
        return docs[0]
    out = dict(docs[0])
    url = f"{base.rstrip('/')}/tiles/{','.join(ids)}/{{z}}/{{x}}/{{y}}.mvt"
    out["tiles"] = [url + (f"?{query}" if query else "")]
    out["name"] = ", ".join(layer.title.zh for layer in chosen)
    out["description"] = ", ".join(layer.title.en for layer in chosen)
    out["vector_layers"] = [d["vector_layers"][0] for d in docs]
    out["minzoom"] = min(d["minzoom"] for d in docs)
    out["maxzoom"] = max(d["maxzoom"] for d in docs)
    bounds = [d["bounds"] for d in docs]
    out["bounds"] = [min(b[0] for b in bounds), min(b[1] for b in bounds),
                     max(b[2] for b in bounds), max(b[3] for b in bounds)]
    return out


@router.get("/{layers}/{z}/{x}/{y}.mvt", response_class=Response,
            responses={200: {"content": {MVT: {}}}, 204: {}, 304: {}})
@public
async def vector_tile(layers: LayersPath, z: Z, x: XY, y: XY, request: Request,
                      tiles: TilesDep) -> Response:
    """A Mapbox Vector Tile of one or several layers (comma-separated); 204 when empty."""
    data, etag = await tiles.atile(_layer_ids(layers), z, x, y, dict(request.query_params))
    # the settings read here, not by a dependency: each costs every tile its solving
    return _tile_response(request, data, etag, MVT, settings_of(request).tiles)

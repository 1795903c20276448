"""Assignment of points to grids in every layer: ``POST /api/v1/assign``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
import numpy as np
from fastapi import Request, Response

from api.deps import get_state
from api.errors import APIError
from api.routing import Router
from gis_core.crs import looks_swapped, parse_crs, to_wgs84
from gis_core.grid_index import GridIndex

router = Router(prefix="/api/v1", tags=["grids"])

#: Most points one request may carry.
MAX_POINTS = 100_000
#: Bodies up to this size are answered on the event loop, larger ones in a worker thread.
INLINE_BYTES = 8192

_BODY_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "object", "title": "Points", "required": ["points"], "properties": {
            "points": {"type": "array", "maxItems": MAX_POINTS,
                       "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                 "items": {"type": "number"}}},
            "crs": {"type": "string", "default": "EPSG:4326",
                    "description": "any EPSG code (EPSG:4490, EPSG:4513–4554, ...), "  # noqa: RUF001
                                   "'GCJ02' or 'BD09'"},
            "at": {"type": "string", "format": "date-time",
                   "description": "assign to the grids as drawn at this time (default now)"}}},
        {"type": "object", "title": "GeoJSON FeatureCollection of points",
         "required": ["type", "features"],
         "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array"},
                        "crs": {"type": "string"}, "at": {"type": "string"}}},
    ]
}
_EXAMPLE = {"crs": "GCJ02", "points": [[114.2452, 22.7228], [22.72, 114.25]]}


def _fail(message: str, code: str = "invalid_parameter", status: int = 422) -> APIError:
    return APIError(status, code, message)


def _crs_of(body: dict[str, Any]) -> str:
    crs = body.get("crs", "EPSG:4326")
    if isinstance(crs, dict):  # GeoJSON 2008 named CRS: {"type": "name", "properties": {...}}
        crs = (crs.get("properties") or {}).get("name")
    if not isinstance(crs, str | int) or isinstance(crs, bool) or crs == "":
        raise _fail("body field 'crs': give an EPSG code such as 'EPSG:4490', or 'GCJ02'/'BD09'",
                    "unknown_crs")
    return str(crs)


def _at_of(body: dict[str, Any], timezone: str) -> datetime | None:
    at = body.get("at")
    if at is None:
        return None
    try:
        value = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        raise _fail(f"body field 'at': {at!r} is not an ISO 8601 date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(timezone))


def _coordinates(body: dict[str, Any]) -> tuple[list[Any], str]:
    """The raw coordinate pairs and the name of the field they came from."""
    if body.get("type") == "FeatureCollection":
        features = body.get("features")
        if not isinstance(features, list):
            raise _fail("body field 'features': a list of GeoJSON Point features is required")
        pairs = []
        for i, feature in enumerate(features):
            geometry = feature.get("geometry") if isinstance(feature, dict) else None
            if not isinstance(geometry, dict) or geometry.get("type") != "Point":
                raise _fail(f"body field 'features[{i}].geometry': a Point is required",
                            "invalid_geometry")
            pairs.append(geometry.get("coordinates"))
        return pairs, "features[{}].geometry.coordinates"
    points = body.get("points")
    if not isinstance(points, list):
        raise _fail("body field 'points': a list of [x, y] pairs (or a GeoJSON "
                    "FeatureCollection of points) is required")
    return points, "points[{}]"


def _arrays(pairs: list[Any], field: str) -> tuple[np.ndarray, np.ndarray]:
    if len(pairs) > MAX_POINTS:
        raise _fail(f"{len(pairs)} points in one request; at most {MAX_POINTS:,} (split the "
                    "request or use gis_core.GridIndex in a notebook)", "too_many_points")
    xy = np.empty((len(pairs), 2), dtype=np.float64)
    for i, pair in enumerate(pairs):
        ok = (isinstance(pair, list | tuple) and len(pair) in (2, 3)
              and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair))
        if not ok or not (math.isfinite(pair[0]) and math.isfinite(pair[1])):
            raise _fail(f"body field '{field.format(i)}': {pair!r} is not a pair of finite "
                        "numbers [x, y]", "invalid_coordinates")
        xy[i] = pair[0], pair[1]
    return xy[:, 0], xy[:, 1]


@dataclass
class _Request:
    crs: str
    at: datetime | None
    x: np.ndarray
    y: np.ndarray


def parse_request(body: Any, timezone: str) -> _Request:
    """Validate a request body (422 with the field named)."""
    if not isinstance(body, dict):
        raise _fail("the body must be a JSON object with 'points' or a FeatureCollection")
    crs = _crs_of(body)
    at = _at_of(body, timezone)
    x, y = _arrays(*_coordinates(body))
    return _Request(crs, at, x, y)


def assign_points(index: GridIndex, layers: dict[str, bool], req: _Request) -> dict[str, Any]:
    """Assign the points of a request; the response body (see :func:`assign`)."""
    crs, at, x, y = req.crs, req.at, req.x, req.y
    special = crs.strip().upper().replace("-", "").replace("_", "") in ("GCJ02", "BD09")
    geographic = special or parse_crs(crs, "body field 'crs'").is_geographic
    lon, lat = to_wgs84(x, y, crs)
    frame = index.assign(lon, lat, at=at)
    names = list(layers)
    columns = [frame[n].tolist() if n in frame else [None] * len(frame) for n in names]
    results = [{n: (v if v == v else None) for n, v in zip(names, row, strict=True)}
               for row in zip(*columns, strict=True)] if names else [{} for _ in range(len(x))]
    outside = [i for i, r in enumerate(results) if all(v is None for v in r.values())]
    swapped: list[int] = []
    if outside and geographic and not any(math.isnan(b) for b in index.bounds):
        out = np.asarray(outside)
        swapped = out[looks_swapped(lon[out], lat[out], index.bounds)].tolist()
    message = None
    if outside:
        message = f"{len(outside)} of {len(results)} points lie outside every grid"
        if swapped:
            message += (f"; {len(swapped)} of them would lie inside with longitude and "
                        "latitude swapped: send [x, y] = [longitude, latitude]")
    return {"crs": crs, "at": at.isoformat() if at else None, "count": len(results),
            "layers": [{"name": n, "exclusive": e} for n, e in layers.items()],
            "results": results, "outside": outside, "swapped": swapped, "message": message}


@router.post("/assign", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": _BODY_SCHEMA, "example": _EXAMPLE}}}})
async def assign(request: Request) -> Response:
    """Assign points to their grid in every layer.

    The body is ``{"points": [[x, y], ...], "crs": "EPSG:4326", "at": null}`` or a
    GeoJSON FeatureCollection of points (with an optional ``crs``). Coordinates
    may be in any EPSG CRS, ``GCJ02`` (phone map SDKs, WeChat) or ``BD09``
    (Baidu); ``at`` picks the grids as drawn at that time (a time without zone
    is local time). Up to 100,000 points per request.

    ``results[i]`` holds, for point ``i``, each layer's grid: in an exclusive
    layer one code (a point on a shared edge goes to the smallest code), in a
    non-exclusive layer the sorted list of every covering grid; ``null`` when
    no grid of the layer covers it. ``outside`` lists the points outside every
    grid, ``swapped`` those of them that would be inside with x and y
    exchanged. NaN or infinite coordinates and unknown CRSs are 422.
    """
    raw = await request.body()
    lookup = get_state(request).grid_lookup
    timezone = request.app.state.settings.api.timezone
    index, layers = await lookup.aindex()
    if len(raw) <= INLINE_BYTES:  # a few points: microseconds, answered on the event loop
        result = answer(raw, index, layers, timezone)
    else:
        result = await anyio.to_thread.run_sync(answer, raw, index, layers, timezone)
    return Response(json.dumps(result, ensure_ascii=False, separators=(",", ":")),
                    media_type="application/json")


def answer(raw: bytes, index: GridIndex, layers: dict[str, bool], timezone: str
           ) -> dict[str, Any]:
    """Parse, check and assign a raw request body."""
    try:
        body = json.loads(raw) if raw else None
    except ValueError as exc:
        raise _fail(f"the body is not valid JSON: {exc}", "invalid_json") from None
    return assign_points(index, layers, parse_request(body, timezone))

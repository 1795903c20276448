"""GeoJSON responses: paginated feature collections and the bbox parameter.

The features themselves are made by :mod:`layers.features`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Query, Request

from api.errors import APIError
from api.validation import BIGINT_MAX
from layers.features import BBOX_ENVELOPE, bbox_params

BBoxQuery = Annotated[
    str | None,
    Query(description="minx,miny,maxx,maxy in EPSG:4326 (lon/lat)",
          examples=["114.20,22.68,114.30,22.76"]),
]


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """Parse ``minx,miny,maxx,maxy`` or raise a 422 naming the ``bbox`` parameter."""
    if value is None or value == "":
        return None
    parts = value.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) != 4 or not all(math.isfinite(n) for n in nums):
        raise APIError(422, "invalid_parameter",
                       "query parameter 'bbox': expected four numbers minx,miny,maxx,maxy")
    minx, miny, maxx, maxy = nums
    if minx > maxx or miny > maxy:
        raise APIError(422, "invalid_parameter",
                       "query parameter 'bbox': min must not exceed max")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90
            and -90 <= maxy <= 90):
        raise APIError(422, "invalid_parameter",
                       "query parameter 'bbox': lon must be in [-180, 180], lat in [-90, 90]")
    return minx, miny, maxx, maxy


def bbox_condition(value: str | None, geometry: str = "t.geom"
                   ) -> tuple[list[str], dict[str, float]]:
    """The GiST-indexable ``geometry && envelope`` condition of a ``bbox`` parameter.

    No condition without a ``bbox``; a bad one is a 422 naming the parameter.
    """
    box = parse_bbox(value)
    if box is None:
        return [], {}
    return [f"{geometry} && {BBOX_ENVELOPE}"], bbox_params(box)


def feature_collection(features: list[dict[str, Any]], *, total: int, limit: int,
                       offset: int, request: Request) -> dict[str, Any]:
    """A page of features with ``numberMatched``/``numberReturned`` and next/prev links."""
    links = [{"rel": "self", "href": str(request.url), "type": "application/geo+json"}]
    if offset + len(features) < total:
        nxt = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append({"rel": "next", "href": str(nxt), "type": "application/geo+json"})
    if offset > 0:
        prev = request.url.include_query_params(offset=max(0, offset - limit), limit=limit)
        links.append({"rel": "prev", "href": str(prev), "type": "application/geo+json"})
    return {"type": "FeatureCollection", "features": features, "numberMatched": total,
            "numberReturned": len(features), "links": links}


LimitQuery = Annotated[int, Query(ge=1, le=10_000, description="page size")]
OffsetQuery = Annotated[int, Query(ge=0, le=BIGINT_MAX, description="features to skip")]

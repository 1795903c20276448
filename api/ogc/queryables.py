"""Queryables (OGC API Features Part 3) and ``sortby`` of a collection.

The queryables of a collection are its declared properties (never personal
data, see :mod:`layers.catalog`) and its geometry; the same names are what
``filter`` and ``sortby`` accept.
"""

from __future__ import annotations

from typing import Any

from api.errors import APIError
from api.ogc.cql import GEOMETRY
from layers.model import Layer, LayerProperty

SCHEMA_JSON = "application/schema+json"
JSON_SCHEMA_TYPES: dict[str, dict[str, str]] = {
    "string": {"type": "string"}, "integer": {"type": "integer"},
    "number": {"type": "number"}, "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"}}
GEOMETRY_FORMATS = {"Point": "geometry-point", "LineString": "geometry-linestring",
                    "Polygon": "geometry-polygon", "MultiPoint": "geometry-multipoint",
                    "MultiLineString": "geometry-multilinestring",
                    "MultiPolygon": "geometry-multipolygon"}


def _schema(layer: Layer, prop: LayerProperty) -> dict[str, Any]:
    out: dict[str, Any] = {"title": prop.title.zh if prop.title else prop.name,
                           **JSON_SCHEMA_TYPES[prop.type]}
    declared = next((f for f in layer.filters if f.name == prop.name and f.values), None)
    if declared is not None:
        out["enum"] = list(declared.values or ())
    return out


def queryables(layer: Layer, href: str) -> dict[str, Any]:
    """The queryables of ``layer`` as a JSON Schema (``href``: this document's URL).

    Examples
    --------
    >>> from layers.registry import get_layer
    >>> doc = queryables(get_layer("events"), "http://h/ogc/collections/events/queryables")
    >>> doc["properties"]["geometry"]["format"], doc["properties"]["status"]["enum"][:2]
    ('geometry-point', ['registered', 'dispatched'])
    """
    props: dict[str, Any] = {GEOMETRY: {"title": "geometry", "x-ogc-role": "primary-geometry",
                                        "format": GEOMETRY_FORMATS[layer.geometry_type]}}
    props.update({p.name: _schema(layer, p) for p in layer.properties})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": href,
            "type": "object", "title": layer.title.zh, "description": layer.title.en,
            "properties": props, "additionalProperties": False}


def order_by(layer: Layer, raw: str | None) -> str:
    """The ``ORDER BY`` list of ``sortby``, then the feature id so that pages are stable.

    ``sortby`` is comma-separated names: ``+name`` or ``name`` ascending, ``-name``
    descending.

    Examples
    --------
    >>> from layers.registry import get_layer
    >>> order_by(get_layer("buildings"), "-floors,+code")
    '(t.floors) DESC NULLS LAST, (t.code) ASC NULLS LAST, t.id'
    >>> order_by(get_layer("buildings"), None)
    't.id'
    """
    by_name = {p.name: p for p in layer.properties}
    keys: list[str] = []
    for part in (raw.split(",") if raw is not None else []):
        # a '+' left unencoded in a URL arrives as a space
        name = part.strip().lstrip("+")
        descending = name.startswith("-")
        name = name.removeprefix("-")
        if name not in by_name:
            raise APIError(400, "invalid_parameter",
                           f"query parameter 'sortby': {name!r} is not a property of "
                           f"{layer.id!r}; sortable: {', '.join(sorted(by_name))}",
                           parameter="sortby")
        keys.append(f"({by_name[name].expression()}) {'DESC' if descending else 'ASC'} "
                    "NULLS LAST")
    return ", ".join([*keys, f"t.{layer.id_column}"])

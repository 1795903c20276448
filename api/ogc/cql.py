"""CQL2 filters of OGC API Features Part 3, parsed by pygeofilter, run as parameterised SQL.

A filter names a collection's queryables (its declared properties and
``geometry``); each is replaced by the property's own SQL expression over the
alias ``t``, and every literal becomes a bound parameter (``:cql_0``,
``:cql_1``, ...) cast to the property's type, so nothing from a request is
ever formatted into SQL. Supported: comparisons, ``LIKE``, ``BETWEEN``,
``IN``, ``IS NULL``, ``AND``/``OR``/``NOT``, the spatial predicates
``S_INTERSECTS``, ``S_WITHIN``, ``S_CONTAINS``, ``S_DISJOINT``, ``S_EQUALS``,
``S_TOUCHES``, ``S_CROSSES``, ``S_OVERLAPS`` and ``BBOX`` with geometries in
CRS84. Anything else is a 400 ``invalid_parameter`` naming the parameter.

pygeofilter 0.4's CQL2 text grammar reads ``a OR b AND c`` as ``(a OR b) AND
c`` and cannot read ``''`` inside a string; the grammar is corrected here
(``AND`` binds tighter than ``OR``, as CQL2 says; ``'it''s'`` is ``it's``).
"""

from __future__ import annotations

import json
import math
import os.path
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pygeofilter.parsers.cql2_text.parser as cql2_text
import shapely.geometry
from lark import Lark
from lark.exceptions import LarkError
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json

from api.errors import APIError
from layers.model import Layer, LayerProperty

#: ``filter-lang`` values; ``cql-text`` is the draft name GDAL 3.6 sends for CQL2 text
FILTER_LANGS = ("cql2-text", "cql2-json", "cql-text")
#: the longest ``filter`` read (characters)
MAX_FILTER_CHARS = 20_000
#: the name of a collection's geometry in filters
GEOMETRY = "geometry"
SQL_TYPES = {"string": "text", "integer": "bigint", "number": "double precision",
             "boolean": "boolean", "datetime": "timestamptz"}
COMPARISONS = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
               ast.GreaterThan: ">", ast.GreaterEqual: ">="}
SPATIAL = {ast.GeometryIntersects: "ST_Intersects", ast.GeometryWithin: "ST_Within",
           ast.GeometryContains: "ST_Contains", ast.GeometryDisjoint: "ST_Disjoint",
           ast.GeometryEquals: "ST_Equals", ast.GeometryTouches: "ST_Touches",
           ast.GeometryCrosses: "ST_Crosses", ast.GeometryOverlaps: "ST_Overlaps"}


class _Transformer(cql2_text.CQLTransformer):
    def SINGLE_QUOTED(self, token: str) -> str:
        return token[1:-1].replace("''", "'")


def _grammar() -> str:
    path = os.path.join(os.path.dirname(cql2_text.__file__), "grammar.lark")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    old = ('?condition: condition_1\n'
           '          | condition "AND"i condition_1                                 -> and_\n'
           '          | condition "OR"i condition_1                                   -> or_\n')
    new = ('?condition: conjunction\n          | condition "OR"i conjunction -> or_\n'
           '?conjunction: condition_1\n          | conjunction "AND"i condition_1 -> and_\n')
    if old not in text:  # a pygeofilter release that changed its grammar
        raise RuntimeError("pygeofilter's CQL2 grammar changed; review api/ogc/cql.py")
    text = text.replace(old, new)
    return text.replace('SINGLE_QUOTED: "\'" /.*?/ "\'"', "SINGLE_QUOTED: /'(?:[^']|'')*'/")


_TEXT_PARSER = Lark(_grammar(), parser="lalr", maybe_placeholders=False,
                    transformer=_Transformer(),
                    import_paths=[os.path.dirname(os.path.dirname(cql2_text.__file__))])


def _bad(message: str, parameter: str = "filter") -> APIError:
    return APIError(400, "invalid_parameter", f"query parameter '{parameter}': {message}",
                    parameter=parameter)


def parse(raw: str, lang: str | None) -> ast.Node:
    """Parse a ``filter`` in ``filter-lang`` (default ``cql2-text``) into pygeofilter's AST.

    Examples
    --------
    >>> parse("status = 'a' OR status = 'b' AND floors > 2", None).op.value
    'OR'
    >>> parse('{"op": "=", "args": [{"property": "status"}, "in_progress"]}', "cql2-json").rhs
    'in_progress'
    """
    lang = lang or "cql2-text"
    if lang not in FILTER_LANGS:
        raise _bad(f"must be one of {', '.join(FILTER_LANGS)}, got {lang!r}", "filter-lang")
    if len(raw) > MAX_FILTER_CHARS:
        raise _bad(f"at most {MAX_FILTER_CHARS} characters")
    try:
        node = (_TEXT_PARSER.parse(raw) if lang != "cql2-json"
                else parse_cql2_json(json.loads(raw)))
    except RecursionError:
        raise _bad("nested too deeply") from None
    except (LarkError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _bad(f"not valid {lang}: {first[:200]}") from None
    if not isinstance(node, ast.Node):
        raise _bad("a filter must be a condition, e.g. status = 'in_progress'")
    return node


@dataclass
class SQLFilter:
    """A filter as a boolean SQL condition over ``t`` and its bound parameters."""

    sql: str = "TRUE"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Compiler:
    layer: Layer
    params: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any, type_: str) -> str:
        name = f"cql_{len(self.params)}"
        self.params[name] = value
        return f"CAST(:{name} AS {SQL_TYPES.get(type_, type_)})"

    def prop(self, node: Any) -> LayerProperty:
        if not isinstance(node, ast.Attribute):
            raise _bad("each comparison needs a queryable on one side, e.g. floors > 3")
        for p in self.layer.properties:
            if p.name == node.name:
                return p
        names = ", ".join(sorted(p.name for p in self.layer.properties))
        raise _bad(f"{node.name!r} is not a queryable of {self.layer.id!r}; queryables: "
                   f"{names}, {GEOMETRY} (see /collections/{self.layer.id}/queryables)")

    @staticmethod
    def expr(prop: LayerProperty) -> str:
        """The property's SQL expression (text columns of any kind compare as text)."""
        return (f"CAST(({prop.expression()}) AS text)" if prop.type == "string"
                else f"({prop.expression()})")

    def literal(self, prop: LayerProperty, value: Any) -> str:
        return self.bind(_coerce(prop, value), prop.type)

    def condition(self, node: Any) -> str:
        if isinstance(node, ast.And | ast.Or):
            op = "AND" if isinstance(node, ast.And) else "OR"
            return f"({self.condition(node.lhs)} {op} {self.condition(node.rhs)})"
        if isinstance(node, ast.Not):
            return f"(NOT {self.condition(node.sub_node)})"
        if isinstance(node, ast.Include):
            return "FALSE" if node.not_ else "TRUE"
        if type(node) in COMPARISONS:
            return self.comparison(node)
        if type(node) in SPATIAL or isinstance(node, ast.BBox):
            return self.spatial(node)
        if isinstance(node, ast.Like | ast.Between | ast.In | ast.IsNull):
            return self.advanced(node)
        raise _bad(f"{type(node).__name__} is not supported; use comparisons, LIKE, BETWEEN, "
                   "IN, IS NULL, AND, OR, NOT and the S_* spatial functions")

    def comparison(self, node: Any) -> str:
        op = COMPARISONS[type(node)]
        if not isinstance(node.lhs, ast.Attribute) and isinstance(node.rhs, ast.Attribute):
            flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            prop, value, op = self.prop(node.rhs), node.lhs, flipped
        else:
            prop, value = self.prop(node.lhs), node.rhs
        return f"({self.expr(prop)} {op} {self.literal(prop, value)})"

    def advanced(self, node: Any) -> str:
        prop = self.prop(node.lhs)
        expr = self.expr(prop)
        negate = "NOT " if node.not_ else ""
        if isinstance(node, ast.IsNull):
            return f"({expr} IS {negate}NULL)"
        if isinstance(node, ast.Between):
            low, high = self.literal(prop, node.low), self.literal(prop, node.high)
            return f"({expr} {negate}BETWEEN {low} AND {high})"
        if isinstance(node, ast.In):
            items = ", ".join(self.literal(prop, v) for v in node.sub_nodes)
            return f"({expr} {negate}IN ({items}))"
        if not isinstance(node.pattern, str) or re.search(r"(?<!\\)(?:\\\\)*\\$",
                                                          node.pattern):
            raise _bad("LIKE needs a text pattern that does not end with an escaping "
                       "backslash, e.g. name LIKE '3%'")
        like = "ILIKE" if node.nocase else "LIKE"
        return f"(CAST({expr} AS text) {negate}{like} {self.bind(node.pattern, 'text')})"

    def spatial(self, node: Any) -> str:
        if not (isinstance(node.lhs, ast.Attribute) and node.lhs.name == GEOMETRY):
            raise _bad(f"spatial functions compare {GEOMETRY!r} with a geometry literal, e.g. "
                       f"S_INTERSECTS({GEOMETRY}, POINT(114.25 22.72))")
        geom = f"t.{self.layer.geometry_column}"
        if isinstance(node, ast.BBox):
            box = [self.bind(_number(v), "double precision")
                   for v in (node.minx, node.miny, node.maxx, node.maxy)]
            return f"ST_Intersects({geom}, ST_MakeEnvelope({', '.join(box)}, 4326))"
        literal = self.bind(_geometry_wkt(node.rhs), "text")
        return f"{SPATIAL[type(node)]}({geom}, ST_GeomFromText({literal}, 4326))"


def _geometry_wkt(value: Any) -> str:
    """The WKT of a geometry literal: WKT, GeoJSON, ``BBOX(minx, miny, maxx, maxy)``."""
    if isinstance(value, ast.Function) and value.name.lower() == "bbox":
        if len(value.arguments) != 4:
            raise _bad("BBOX(minx, miny, maxx, maxy) takes four numbers")
        return str(shapely.geometry.box(*(_number(v) for v in value.arguments)).wkt)
    if not isinstance(value, values.Geometry | values.Envelope):
        raise _bad("the second argument of a spatial function must be a geometry")
    try:
        shape = shapely.geometry.shape(value.geometry)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        raise _bad("the geometry literal is not a valid geometry") from None
    if shape.is_empty or not shape.is_valid:
        raise _bad("the geometry literal is empty or invalid")
    return str(shape.wkt)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise _bad(f"{value!r} is too large a number") from None
    if not math.isfinite(number):
        raise _bad(f"{value!r} is not a finite number")
    return number


def _coerce(prop: LayerProperty, value: Any) -> Any:
    """``value`` as a value of ``prop``'s type; 400 naming both when it is not one."""
    wrong = _bad(f"{prop.name!r} is a {prop.type} queryable; {value!r} is not a {prop.type}")
    if isinstance(value, ast.Node | values.Geometry | values.Envelope | values.Interval):
        raise _bad(f"compare {prop.name!r} with a literal value (no expressions or functions)")
    if prop.type == "string":
        if not isinstance(value, str):
            raise wrong
        return value
    if prop.type == "boolean":
        if not isinstance(value, bool):
            raise wrong
        return value
    if prop.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2 ** 63:
            raise wrong
        return value
    if prop.type == "number":
        return _number(value)
    return _instant(value, wrong)


def _instant(value: Any, wrong: APIError) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise wrong from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise wrong


def to_sql(node: ast.Node, layer: Layer) -> SQLFilter:
    """Compile a parsed filter into a SQL condition over ``layer``'s alias ``t``.

    Examples
    --------
    >>> from layers.registry import get_layer
    >>> f = to_sql(parse("status = 'in_progress' AND floors >= 3", None), get_layer("buildings"))
    >>> f.sql, f.params
    ('((CAST((t.status) AS text) = CAST(:cql_0 AS text)) AND ((t.floors) >= CAST(:cql_1 AS \
bigint)))', {'cql_0': 'in_progress', 'cql_1': 3})
    """
    compiler = _Compiler(layer)
    try:
        return SQLFilter(compiler.condition(node), compiler.params)
    except RecursionError:
        raise _bad("nested too deeply") from None

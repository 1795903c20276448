"""Validators for the published GeoReport v2 JSON schemas (../shared/specs/open311-georeport-v2).

``request.json`` etc. are the open311/schema-validation schemas; the POST and
token responses have no schema file there, so their validators come from the
``definitions`` of the spec's ``swagger.json``. Formats (``date-time``, ``uri``)
are checked.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "open311-georeport-v2"
FILES = ("service.json", "services.json", "service-definition.json", "request.json",
         "requests.json")


@cache
def _registry() -> Registry:
    resources = [(name, Resource.from_contents(json.loads((SPECS / name).read_text()),
                                               default_specification=DRAFT4))
                 for name in FILES]
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft4Validator:
    """A validator for schema file ``name`` (its relative ``$ref`` resolve to the others)."""
    schema = json.loads((SPECS / name).read_text())
    return Draft4Validator(schema, registry=_registry(), format_checker=FormatChecker())


@cache
def swagger_validator(definition: str, array: bool = True) -> Draft4Validator:
    """A validator for ``definition`` of swagger.json (an array of it when ``array``)."""
    swagger = json.loads((SPECS / "swagger.json").read_text())
    item = dict(swagger["definitions"][definition])
    schema: dict[str, Any] = {"type": "array", "items": item, "minItems": 1} if array else item
    return Draft4Validator(schema, format_checker=FormatChecker())


# The spec defines errors only in prose ("an array of error objects, each with a code and
# a description"); neither schema file nor swagger.json has them, so this one is written
# from that text.
ERRORS_SCHEMA: dict[str, Any] = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["code", "description"],
              "properties": {"code": {"type": "integer"},
                             "description": {"type": "string", "minLength": 1}}}}


def errors_validator() -> Draft4Validator:
    """A validator for the spec's error array."""
    return Draft4Validator(ERRORS_SCHEMA)


def assert_valid(v: Draft4Validator, instance: Any) -> None:
    """Fail with every schema error listed."""
    errors = sorted(v.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])

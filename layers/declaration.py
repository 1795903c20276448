"""The parts of a layer declaration: titles, exposed properties and style hints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IDENT", "GeometryType", "LayerProperty", "LayerStyle", "PropertyType", "Title"]

GeometryType = Literal["Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                       "MultiPolygon"]
PropertyType = Literal["string", "integer", "number", "boolean", "datetime"]
#: A SQL identifier a declaration may use (lower case, never quoted).
IDENT = r"^[a-z_][a-z0-9_]*$"


class Title(BaseModel):
    """A label in Chinese and English."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str


class LayerProperty(BaseModel):
    """One exposed attribute: ``sql`` over the alias ``t`` (default ``t.<name>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=IDENT)
    type: PropertyType = "string"
    sql: str | None = None
    title: Title | None = None

    def expression(self) -> str:
        """The SQL expression of the value (datetimes as RFC 3339 text in tiles)."""
        return self.sql or f"t.{self.name}"


class LayerStyle(BaseModel):
    """Hints for the web client's layer switcher and legend (MapLibre paint)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["fill", "line", "circle"]
    color: str = Field(default="#3388ff", pattern=r"^#[0-9a-fA-F]{6}$")
    outline_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    opacity: float = Field(default=0.6, ge=0, le=1)
    width: float = Field(default=1.0, ge=0)
    radius: float = Field(default=4.0, ge=0)
    color_by: str | None = None
    colors: dict[str, str] = Field(default_factory=dict)
    visible: bool = True
    group: Literal["base", "operations", "analysis"] = "base"

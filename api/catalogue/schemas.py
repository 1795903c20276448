"""The bodies of the catalogue's admin routes and of the routing preview."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from api.auth.schemas import Text
from api.events.models import ROUTING_SCOPES

CodePath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[^\x00]+$")]
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Short = Annotated[Text, Field(max_length=200)]


class DepartmentIn(BaseModel):
    """A department's names (``name`` is required for a new department)."""

    model_config = ConfigDict(extra="forbid")
    name: Short | None = None
    name_en: Short | None = None


class CategoryIn(BaseModel):
    """A category's fields; a new category needs major_code, name and time_limit_hours."""

    model_config = ConfigDict(extra="forbid")
    major_code: Annotated[Text, Field(max_length=8)] | None = None
    major_name: Short | None = None
    major_name_en: Short | None = None
    name: Short | None = None
    name_en: Short | None = None
    department: Annotated[Text, Field(max_length=32, description="the default department's "
                                      "code; empty: none")] | None = None
    time_limit_hours: Annotated[float, Field(gt=0, le=24 * 366)] | None = None
    closing_standard: Annotated[Text, Field(max_length=2000)] | None = None
    dispatch_limit_hours: Annotated[float, Field(
        ge=0, le=24 * 366, description="from report to dispatch; 0: no limit")] | None = None
    verification_limit_hours: Annotated[float, Field(
        ge=0, le=24 * 366, description="from feedback to verification; 0: no limit")
    ] | None = None
    dispatch_working: Annotated[bool, Field(description="the dispatch limit runs in working "
                                            "time (else natural time)")] | None = None
    handling_working: bool | None = None
    verification_working: bool | None = None


class RuleIn(BaseModel):
    """Events of ``category`` (minor or major code) in one area go to ``department``."""

    model_config = ConfigDict(extra="forbid")
    scope: Annotated[Literal["grid", "community", "street"],
                     Field(description=f"one of {', '.join(ROUTING_SCOPES)}")]
    scope_code: Annotated[Text, Field(min_length=1, max_length=32)]
    category: Annotated[Text, Field(min_length=1, max_length=16)]
    department: Annotated[Text, Field(min_length=1, max_length=32)]
    note: Annotated[Text, Field(max_length=500)] | None = None


class PointIn(BaseModel):
    """A point: ``x``/``y`` in ``crs`` (lon/lat in EPSG:4326 by default; GCJ02, BD09 too)."""

    model_config = ConfigDict(extra="forbid")
    x: float
    y: float
    crs: Annotated[Text, Field(max_length=100)] = "EPSG:4326"


class PreviewIn(BaseModel):
    """A category and one location form of intake: a point, a building code or an address."""

    model_config = ConfigDict(extra="forbid")
    category: Annotated[Text, Field(min_length=1, max_length=16)]
    location: PointIn | None = None
    building_code: Annotated[Text, Field(max_length=32)] | None = None
    address: Annotated[Text, Field(max_length=200)] | None = None
    at: datetime | None = Field(None, description="the report time (default: now)")

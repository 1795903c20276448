"""Request bodies of the people routes (unknown fields refused)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.validation import Text

ResidenceKind = Literal["owner", "tenant", "resident", "registered_only"]
Code = Annotated[str, Field(min_length=1, max_length=40)]
#: free attributes of a person: short names, text, numbers or flags (PostgreSQL-storable)
Attributes = dict[Annotated[Text, Field(min_length=1, max_length=64)],
                  Annotated[Text, Field(max_length=1000)] | float | bool | None]
#: a day of a record: 1900 to 2100
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonIn(_In):
    """A new person; ``room_code`` gives their first residence."""

    name: Text = Field(min_length=1, max_length=100)
    id_number: Text = Field(min_length=15, max_length=20, examples=["11010519491231002X"])
    phone: Text | None = Field(None, max_length=30)
    registration_place: Annotated[str, Field(pattern=r"^\d{6}$")] | None = Field(
        None, description="GB/T 2260 county code of the household registration "
                          "(default: the ID number's region)")
    registered_building_code: Code | None = None
    ethnicity: Text | None = Field(None, max_length=32)
    household_code: Code | None = None
    relation: Text | None = Field(None, max_length=32)
    room_code: Code | None = None
    residence_kind: ResidenceKind = "resident"
    from_date: Day | None = None
    attributes: Attributes = Field(default_factory=dict, max_length=50)


class PersonPatch(_In):
    """Fields of a person that change (the ID number never does)."""

    phone: Text | None = Field(None, max_length=30)
    ethnicity: Text | None = Field(None, max_length=32)
    relation: Text | None = Field(None, max_length=32)
    attributes: Attributes | None = Field(None, max_length=50)


class UnmaskIn(_In):
    """Why the clear values are needed (written to the audit log)."""

    reason: Text = Field(max_length=500)


class MoveIn(_In):
    """A move: the current residences end on ``from_date``, a new one starts."""

    room_code: Code
    kind: ResidenceKind = "resident"
    from_date: Day


class LookupIn(_In):
    """An ID number or a phone to find a person by (in the body, never in the URL)."""

    id_number: Text | None = Field(None, max_length=20)
    phone: Text | None = Field(None, max_length=30)


class RoomPatch(_In):
    """The house record of a room."""

    use: Text | None = Field(None, max_length=32)
    area_m2: float | None = Field(None, gt=0, lt=100_000)
    rented: bool | None = None
    occupancy: Literal["occupied", "vacant"] | None = None


class OrganisationIn(_In):
    """An organisation at a building (and room)."""

    name: Text = Field(min_length=1, max_length=200)
    credit_code: Text = Field(max_length=20, examples=["91350100M000100Y43"])
    kind: Text | None = Field(None, max_length=32)
    building_code: Code
    room_code: Code | None = None
    contact_name: Text | None = Field(None, max_length=100)
    contact_phone: Text | None = Field(None, max_length=30)


class TagIn(_In):
    """A special-population tag and the visit cycle (days) of each level."""

    name: Text = Field(min_length=1, max_length=100)
    levels: dict[Annotated[int, Field(ge=1, le=9)], Annotated[int, Field(ge=1, le=3660)]]


class PersonTagIn(_In):
    """A tag given to a person at a level from a day."""

    tag: Code
    level: int = Field(ge=1, le=9)
    since: Day | None = None


class VisitIn(_In):
    """A visit as the field app sends it."""

    visited_at: AwareDatetime
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    notes: Text | None = Field(None, max_length=4000)
    findings: Text | None = Field(None, max_length=4000)
    photos: list[Annotated[Text, Field(max_length=500)]] = Field(default_factory=list,
                                                                max_length=10)


class CaseIn(_In):
    """The category of the case a visit's finding becomes."""

    category: Code
    description: Text | None = Field(None, max_length=4000)

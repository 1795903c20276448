"""The registry of personal fields: every column holding personal data, in one table.

Each field is stored encrypted (see :mod:`api.personal.cipher`); a field with a
``hash_column`` also stores the keyed hash of its normal form there, for exact
lookups. Encryption binds a value to its ``qualified`` column name, so a value
copied into another column does not decrypt. A new personal column (residents'
ID numbers, ...) is one more row here; ``gridgov keys rotate`` and
``encrypt-existing`` then cover it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PersonalField:
    """One personal column: where it is, what kind of value, where its lookup hash goes."""

    table: str
    column: str
    kind: str
    key: str
    hash_column: str | None = None

    @property
    def qualified(self) -> str:
        """``table.column``: the associated data of its ciphertexts."""
        return f"{self.table}.{self.column}"


PERSONAL_FIELDS: tuple[PersonalField, ...] = (
    PersonalField("events", "reporter_name", "name", "name"),
    PersonalField("events", "reporter_phone", "phone", "phone", "reporter_phone_hash"),
    PersonalField("events", "reporter_email", "email", "email", "reporter_email_hash"),
    # the people archive (api/people)
    PersonalField("persons", "name", "name", "name"),
    PersonalField("persons", "id_number", "id_number", "id_number", "id_number_hash"),
    PersonalField("persons", "phone", "phone", "phone", "phone_hash"),
    PersonalField("organisations", "contact_name", "name", "contact_name"),
    PersonalField("organisations", "contact_phone", "phone", "contact_phone",
                  "contact_phone_hash"),
    PersonalField("residence_declarations", "name", "name", "name"),
    # the grid workers' patrol tracks (api/field): "lon,lat" of each kept point
    PersonalField("track_points", "position", "position", "position"),
    PersonalField("residence_declarations", "id_number", "id_number", "id_number",
                  "id_number_hash"),
    PersonalField("residence_declarations", "phone", "phone", "phone", "phone_hash"),
    # the reporter of a report forwarded to a neighbour (api/handover), told by the outbox
    PersonalField("handovers", "reporter_phone", "phone", "phone"),
    PersonalField("handovers", "reporter_email", "email", "email"),
)

#: the reporter of an event: ``{"name", "phone", "email"}`` -> its field
REPORTER: dict[str, PersonalField] = {f.key: f for f in PERSONAL_FIELDS
                                      if f.table == "events"}
#: the reporter of a report forwarded at intake (no event): ``{"phone", "email"}``
HANDOVER_REPORTER: dict[str, PersonalField] = {f.key: f for f in PERSONAL_FIELDS
                                               if f.table == "handovers"}


def fields_of(table: str) -> tuple[PersonalField, ...]:
    """The personal fields of ``table``.

    Examples
    --------
    >>> [f.column for f in fields_of("events")]
    ['reporter_name', 'reporter_phone', 'reporter_email']
    """
    return tuple(f for f in PERSONAL_FIELDS if f.table == table)

"""Sealing and opening a person's record: validation, encryption, masking.

One home for what a person row must be before it is stored (the API, the
import and the self-declaration all go through :func:`person_row`), and for
how it is shown (:func:`shown`: masked unless unmasked).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from api.errors import APIError
from api.imports.admin_codes import DivisionTable
from api.personal.cipher import PersonalCipher, UnreadableValue
from api.personal.mask import mask, normalise_phone
from api.personal.models import fields_of
from api.personal.service import seal
from coding.resident_id import parse_resident_id
from gis_core.errors import InvalidCode

#: the personal fields of a person, by key
PERSON_FIELDS = {f.key: f for f in fields_of("persons")}


def check_id_number(value: str, today: date | None = None) -> tuple[str, date, str]:
    """The normalised ID number, birth date and gender; 422 ``invalid_id_number``."""
    try:
        found = parse_resident_id(value, today)
    except InvalidCode as exc:
        raise APIError(422, "invalid_id_number", str(exc), field="id_number") from None
    return found.number, found.birth_date, found.gender


def check_phone(value: str | None) -> str | None:
    """A phone of 7 to 15 digits (spaces, dashes, +86 allowed); 422 ``invalid_phone``."""
    if value is None or not value.strip():
        return None
    digits = normalise_phone(value)
    if not 7 <= len(digits) <= 15:
        raise APIError(422, "invalid_phone", f"field 'phone': {len(digits)} digits; a phone "
                       "number has 7 to 15", field="phone")
    return digits


def check_registration_place(divisions: DivisionTable, code: str | None,
                             id_number: str) -> str:
    """The GB/T 2260 county code of the registration; by default the ID number's region."""
    place = (code or id_number[:6]).strip()
    problem = divisions.problem(place, "district")
    if problem is not None and code is None:
        raise APIError(422, "invalid_registration_place", f"the ID number's region {place} is "
                       "not in the GB/T 2260 table: give 'registration_place'",
                       field="registration_place")
    if problem is not None:
        raise APIError(422, "invalid_registration_place",
                       f"field 'registration_place': {problem}", field="registration_place")
    return place


def person_row(cipher: PersonalCipher, divisions: DivisionTable, values: Mapping[str, Any],
               today: date | None = None) -> dict[str, Any]:
    """The stored columns of a new person from ``values`` (name, id_number, phone, ...).

    Raises :class:`APIError` 422 naming the field for a bad ID number (check
    character, birth date), phone or registration place.
    """
    name = str(values.get("name") or "").strip()
    if not name:
        raise APIError(422, "invalid_name", "field 'name' must not be empty", field="name")
    number, born, gender = check_id_number(str(values.get("id_number") or ""), today)
    phone = check_phone(values.get("phone"))
    sealed = seal(cipher, "persons", {"name": name, "id_number": number, "phone": phone})
    return {**sealed, "birth_date": born, "gender": gender,
            "registration_place": check_registration_place(
                divisions, values.get("registration_place"), number),
            "ethnicity": values.get("ethnicity"), "relation": values.get("relation"),
            "attributes": dict(values.get("attributes") or {})}


def id_number_hash(cipher: PersonalCipher, value: str) -> str:
    """The lookup hash of an ID number (its normal form); 422 when it is not one."""
    number, _, _ = check_id_number(value)
    found = cipher.lookup_hash(number, "id_number")
    assert found is not None  # noqa: S101
    return found


def opened(cipher: PersonalCipher, row: Mapping[Any, Any], table: str = "persons"
           ) -> dict[str, str | None]:
    """The clear personal values of a row, by key."""
    out: dict[str, str | None] = {}
    for f in fields_of(table):
        try:
            out[f.key] = cipher.decrypt(row[f.column], f.qualified)
        except UnreadableValue as exc:
            raise APIError(500, "personal_data_unreadable",
                           f"{table} {row.get('id')}: {exc}") from None
    return out


def shown(cipher: PersonalCipher, row: Mapping[Any, Any], *, clear: bool = False,
          table: str = "persons") -> dict[str, str | None]:
    """The personal values of a row as shown: masked (``4403**********1234``) or clear."""
    values = opened(cipher, row, table)
    if clear:
        return values
    kinds = {f.key: f.kind for f in fields_of(table)}
    return {k: mask(kinds[k], v) for k, v in values.items()}

"""GB 11643-1999 citizen identity numbers: check character, birth date and gender.

An identity number is 18 characters: a 6-digit address code (GB/T 2260, the
county of first registration), an 8-digit birth date ``YYYYMMDD``, a 3-digit
sequence (odd for men, even for women) and the ISO/IEC 7064 MOD 11,2 check
character (``0``-``9`` or ``X``) of the first 17 digits.

Examples
--------
The standard's own example (Beijing Chaoyang, born 31 December 1949, a woman):

>>> found = parse_resident_id("11010519491231002X")
>>> found.region, found.birth_date, found.gender
('110105', datetime.date(1949, 12, 31), 'female')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from coding.iso7064 import check_character
from gis_core.errors import InvalidCode

Gender = Literal["male", "female"]
_SHAPE = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class ResidentId:
    """An identity number and what it says: region code, birth date, gender."""

    number: str
    region: str
    birth_date: date
    gender: Gender


def normalise_resident_id(value: str) -> str:
    """Trimmed and upper-cased (``x`` -> ``X``), full-width characters folded.

    Examples
    --------
    >>> normalise_resident_id(" 11010519491231002x ")
    '11010519491231002X'
    """
    folded = value.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})
    return folded.strip().upper()


def resident_id_check(first17: str) -> str:
    """The check character of the first 17 digits of an identity number.

    Examples
    --------
    >>> resident_id_check("44052418800101001")
    '4'
    """
    if not re.fullmatch(r"\d{17}", first17 or ""):
        raise InvalidCode(f"the first 17 characters of an identity number are digits, got "
                          f"{first17!r}")
    return check_character(first17, modulus=11)


def parse_resident_id(value: str, today: date | None = None) -> ResidentId:
    """Check an 18-character identity number and read its birth date and gender.

    Parameters
    ----------
    value
        The number; ``x`` and full-width digits are accepted.
    today
        Birth dates after this day are refused (default: today).

    Raises
    ------
    InvalidCode
        Not 18 characters of digits (and a final ``X``), a birth date that is no
        date or lies in the future, or a wrong check character (the message gives
        the expected one).

    Examples
    --------
    >>> parse_resident_id("440524188001010014").gender
    'male'
    >>> parse_resident_id("110105194912310021")
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidCode: identity number 110105194912310021: check character ...
    """
    number = normalise_resident_id(value)
    if not _SHAPE.match(number):
        raise InvalidCode(f"identity number {number!r}: 18 characters, 17 digits and a digit "
                          "or X")
    expected = check_character(number[:17], modulus=11)
    if number[17] != expected:
        raise InvalidCode(f"identity number {number}: check character is {number[17]}, "
                          f"expected {expected}", position=18)
    born = _birth_date(number, today or date.today())
    gender: Gender = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number, number[:6], born, gender)


def _birth_date(number: str, today: date) -> date:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidCode(f"identity number {number}: {number[6:14]} is not a birth date "
                          "(YYYYMMDD)", position=7) from None
    if born > today or born.year < 1800:
        raise InvalidCode(f"identity number {number}: birth date {born.isoformat()} is "
                          "outside 1800 to today", position=7)
    return born


def make_resident_id(region: str, born: date, sequence: int) -> str:
    """An identity number with a valid check character (synthetic data, tests).

    ``sequence`` is 0..999: odd for men, even for women.

    Examples
    --------
    >>> make_resident_id("110105", date(1949, 12, 31), 2)
    '11010519491231002X'
    """
    if not re.fullmatch(r"\d{6}", region) or not 0 <= sequence <= 999:
        raise InvalidCode(f"region must be 6 digits and sequence 0..999, got {region!r}, "
                          f"{sequence!r}")
    first = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first + check_character(first, modulus=11)

"""Alias grid codes (Langfang style), 5 characters: county letter + township letter + 001-999.

See :mod:`coding.grid_codes` for the code structures and rules.
"""


from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from coding.grid_codes.unit import parse_unit_grid_code
from gis_core.errors import InvalidCode, InvalidInput

_ALIAS = re.compile(r"^([A-Z])([a-z])([0-9]{3})$")


@dataclass(frozen=True, slots=True)
class AliasGridCode:
    """A parsed 5-character alias code."""

    code: str
    county_letter: str
    township_letter: str
    sequence: int


def make_alias_code(county_letter: str, township_letter: str, seq: int) -> str:
    """Make a 5-character alias code.

    Examples
    --------
    >>> make_alias_code("A", "b", 7)
    'Ab007'
    """
    if not isinstance(county_letter, str) or not re.fullmatch(r"[A-Z]", county_letter):
        raise InvalidInput(f"county_letter must be one letter A-Z, got {county_letter!r}")
    if not isinstance(township_letter, str) or not re.fullmatch(r"[a-z]", township_letter):
        raise InvalidInput(f"township_letter must be one letter a-z, got {township_letter!r}")
    if isinstance(seq, bool) or not isinstance(seq, int | np.integer) or not 1 <= seq <= 999:
        raise InvalidInput(f"seq must be an integer in 1-999, got {seq!r}")
    return f"{county_letter}{township_letter}{int(seq):03d}"


def validate_alias_code(code: str) -> str:
    """Check a 5-character alias code (``[A-Z][a-z]001``-``999``) and return it stripped.

    Alias codes are case-sensitive: the case tells the county from the township part.

    Examples
    --------
    >>> validate_alias_code("Ab007")
    'Ab007'
    >>> validate_alias_code("ab007")
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidCode: an alias grid code is an upper-case county letter, ...
    """
    m = _ALIAS.match(code.strip()) if isinstance(code, str) else None
    if m is None or m.group(3) == "000":
        raise InvalidCode(
            "an alias grid code is an upper-case county letter, a lower-case township "
            f"letter and a grid number 001-999 (e.g. 'Ab007'), got {code!r}"
        )
    return m.group(0)


def parse_alias_code(code: str) -> AliasGridCode:
    """Validate and split an alias code.

    Examples
    --------
    >>> parse_alias_code("Ab007")
    AliasGridCode(code='Ab007', county_letter='A', township_letter='b', sequence=7)
    """
    norm = validate_alias_code(code)
    return AliasGridCode(norm, norm[0], norm[1], int(norm[2:]))


def _letters(
    keys: Iterable[str], given: Mapping[str, str] | None, alphabet: str, what: str
) -> dict[str, str]:
    """Letters for ``keys``: ``given`` ones kept, the others take the next free letters."""
    out = dict(given or {})
    if len(set(out.values())) != len(out):
        raise InvalidInput(f"{what} letters must be distinct, got {dict(out)}")
    free = [c for c in alphabet if c not in out.values()]
    for key in sorted(set(keys) - set(out)):
        if not free:
            raise InvalidInput(f"an alias scheme holds at most {len(alphabet)} {what}s")
        out[key] = free.pop(0)
    return out


def assign_alias_codes(
    unit_grid_codes: Sequence[str],
    county_letters: Mapping[str, str] | None = None,
    township_letters: Mapping[str, str] | None = None,
) -> list[str]:
    """Give the grids of a layer unique 5-character alias codes.

    Parameters
    ----------
    unit_grid_codes
        The CJ/T 213 codes of the layer's grids (distinct).
    county_letters
        Optional fixed letters for 6-digit county codes (e.g. to keep earlier
        assignments); other counties get the next free letters ``A``-``Z`` in
        ascending code order.
    township_letters
        Optional fixed letters for 9-digit township codes, same rule with
        ``a``-``z`` (letters are unique within one county).

    Returns
    -------
    list of str
        One alias per input code, aligned with the input.

    Examples
    --------
    >>> assign_alias_codes(["440307003001002", "440307003001001", "440307003002001",
    ...                     "440307006001001", "440308001001001"])
    ['Aa002', 'Aa001', 'Aa003', 'Ab001', 'Ba001']
    """
    parsed = [parse_unit_grid_code(c) for c in unit_grid_codes]
    if len({p.code for p in parsed}) != len(parsed):
        raise InvalidInput("unit_grid_codes must be distinct")
    counties = _letters(
        (p.county for p in parsed), county_letters, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "county"
    )
    by_county: dict[str, list[str]] = {}
    for p in parsed:
        by_county.setdefault(p.county, []).append(p.county + p.street)
    towns: dict[str, str] = {}
    for county, keys in by_county.items():
        given = {k: v for k, v in (township_letters or {}).items() if k[:6] == county}
        towns.update(_letters(keys, given, "abcdefghijklmnopqrstuvwxyz", "township"))
    seq: dict[str, int] = {}
    out = [""] * len(parsed)
    for i in sorted(range(len(parsed)), key=lambda k: parsed[k].code):
        town = parsed[i].code[:9]
        seq[town] = seq.get(town, 0) + 1
        if seq[town] > 999:
            raise InvalidInput(f"township {town} has more than 999 grids; alias codes hold 001-999")
        out[i] = counties[parsed[i].county] + towns[town] + f"{seq[town]:03d}"
    return out

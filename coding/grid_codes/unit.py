"""Unit grid codes (CJ/T 213-2005), 15 digits: community prefix + grid sequence 001-999.

See :mod:`coding.grid_codes` for the code structures and rules.
"""


from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry.base import BaseGeometry

from coding.grid_codes.admin import AdminCodes, check_admin_structure, check_community_code
from coding.grid_codes.ordering import grid_order
from gis_core.errors import InvalidCode, InvalidInput

_UNIT = re.compile(r"^[0-9]{15}$")


@dataclass(frozen=True, slots=True)
class UnitGridCode:
    """A parsed CJ/T 213 unit grid code."""

    code: str
    county: str
    street: str
    community: str
    sequence: int

    @property
    def community_code(self) -> str:
        """The 12-digit community prefix."""
        return self.code[:12]


def make_unit_grid_code(community_code: str, seq: int) -> str:
    """Make the 15-digit unit grid code of grid ``seq`` (1-999) of a community.

    Examples
    --------
    >>> make_unit_grid_code("440307003001", 7)
    '440307003001007'
    """
    check_community_code(community_code)
    if isinstance(seq, bool) or not isinstance(seq, int | np.integer) or not 1 <= seq <= 999:
        raise InvalidInput(f"seq must be an integer in 1-999, got {seq!r}")
    return f"{community_code}{int(seq):03d}"


def number_unit_grids(community_code: str, geometries: Sequence[BaseGeometry]) -> list[str]:
    """Give the grids of one community their CJ/T 213 15-digit codes.

    Parameters
    ----------
    community_code
        The 12-digit community prefix: 6-digit county code + 3-digit street
        + 3-digit community.
    geometries
        The grid polygons of that community, in a geographic CRS.

    Returns
    -------
    list of str
        One code per geometry, aligned with the input, numbered 001... in the
        order of :func:`grid_order` (west -> east, north -> south).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> number_unit_grids("440307003001", [box(1, 0, 2, 1), box(0, 0, 1, 1), box(0, 1, 1, 2)])
    ['440307003001003', '440307003001002', '440307003001001']
    """
    if not isinstance(community_code, str) or not re.fullmatch(r"[0-9]{12}", community_code):
        raise InvalidInput(f"community_code must be 12 digits, got {community_code!r}")
    if len(geometries) > 999:
        raise InvalidInput("a community holds at most 999 unit grids")
    order = grid_order(geometries)
    codes = [""] * len(order)
    for seq, i in enumerate(order, start=1):
        codes[i] = f"{community_code}{seq:03d}"
    return codes


def validate_unit_grid_code(code: str, admin: AdminCodes | None = None) -> str:
    """Check a CJ/T 213 unit grid code and return it stripped.

    Parameters
    ----------
    code
        15 digits.
    admin
        Optional county / township table; when given, the county and the
        township must exist in it.

    Raises
    ------
    InvalidCode
        With the reason (length, non-digit, county, street, community, sequence).

    Examples
    --------
    >>> validate_unit_grid_code(" 440307003001007 ")
    '440307003001007'
    >>> validate_unit_grid_code("440307003001000")
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidCode: '440307003001000': the grid sequence must be 001-999
    """
    if not isinstance(code, str) or not _UNIT.match(code.strip()):
        raise InvalidCode(f"a unit grid code has 15 digits, got {code!r}", reason="structure")
    norm = code.strip()
    check_admin_structure(norm, norm[:6], norm[6:9], norm[9:12])
    if norm[12:] == "000":
        raise InvalidCode(f"{norm!r}: the grid sequence must be 001-999", reason="sequence")
    if admin is not None:
        admin.check(norm[:6], norm[6:9])
    return norm


def parse_unit_grid_code(code: str, admin: AdminCodes | None = None) -> UnitGridCode:
    """Validate and split a CJ/T 213 unit grid code.

    Examples
    --------
    >>> parse_unit_grid_code("440307003001007")
    UnitGridCode(code='440307003001007', county='440307', street='003', community='001', sequence=7)
    """
    norm = validate_unit_grid_code(code, admin)
    return UnitGridCode(norm, norm[:6], norm[6:9], norm[9:12], int(norm[12:]))

"""Professional grid codes (CJ/T 349-2010), 20 digits: object code + community prefix + 01-99.

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

_PROFESSIONAL = re.compile(r"^[0-9]{20}$")


@dataclass(frozen=True, slots=True)
class ProfessionalGridCode:
    """A parsed CJ/T 349 professional grid code."""

    code: str
    object_code: str
    county: str
    street: str
    community: str
    sequence: int

    @property
    def community_code(self) -> str:
        """The 12-digit community prefix."""
        return self.code[6:18]

    @property
    def merged_communities(self) -> bool:
        """Whether the grid spans merged communities (community code 601 or above)."""
        return int(self.community) >= 601

    @property
    def major_class(self) -> bool:
        """Whether the object code names a major class (ends in ``00``)."""
        return self.object_code.endswith("00")


def _check_object_code(object_code: str) -> str:
    if not isinstance(object_code, str) or not re.fullmatch(r"[0-9]{6}", object_code):
        raise InvalidInput(f"object_code must be 6 digits (CJ/T 348), got {object_code!r}")
    if object_code == "000000":
        raise InvalidInput("object_code must not be 000000")
    return object_code


def make_professional_grid_code(object_code: str, community_code: str, seq: int) -> str:
    """Make a 20-digit CJ/T 349 professional grid code.

    ``seq`` is 1-99, or 0 when the community is not subdivided.

    Examples
    --------
    >>> make_professional_grid_code("100100", "440307003001", 2)
    '10010044030700300102'
    """
    _check_object_code(object_code)
    check_community_code(community_code)
    if isinstance(seq, bool) or not isinstance(seq, int | np.integer) or not 0 <= seq <= 99:
        raise InvalidInput(f"seq must be an integer in 0-99 (0 = not subdivided), got {seq!r}")
    return f"{object_code}{community_code}{int(seq):02d}"


def number_professional_grids(
    object_code: str, community_code: str, geometries: Sequence[BaseGeometry]
) -> list[str]:
    """Give the professional grids of one community their CJ/T 349 codes.

    A single grid (the community is not subdivided) gets sequence ``00``;
    otherwise the grids are numbered ``01``-``99`` left -> right, top ->
    bottom in the order of :func:`grid_order`.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> number_professional_grids("100100", "440307003001", [box(1, 0, 2, 1), box(0, 0, 1, 1)])
    ['10010044030700300102', '10010044030700300101']
    >>> number_professional_grids("100100", "440307003001", [box(0, 0, 1, 1)])
    ['10010044030700300100']
    """
    _check_object_code(object_code)
    check_community_code(community_code)
    if len(geometries) > 99:
        raise InvalidInput("a community holds at most 99 professional grids of one object class")
    order = grid_order(geometries)
    codes = [""] * len(order)
    if len(order) == 1:
        return [make_professional_grid_code(object_code, community_code, 0)]
    for seq, i in enumerate(order, start=1):
        codes[i] = f"{object_code}{community_code}{seq:02d}"
    return codes


def validate_professional_grid_code(code: str, admin: AdminCodes | None = None) -> str:
    """Check a CJ/T 349 20-digit professional grid code and return it stripped.

    Examples
    --------
    >>> validate_professional_grid_code("10010044030700300102")
    '10010044030700300102'
    """
    if not isinstance(code, str) or not _PROFESSIONAL.match(code.strip()):
        raise InvalidCode(
            f"a professional grid code has 20 digits, got {code!r}", reason="structure"
        )
    norm = code.strip()
    if norm[:6] == "000000":
        raise InvalidCode(f"{norm!r}: the object code must not be 000000", reason="object")
    check_admin_structure(norm, norm[6:12], norm[12:15], norm[15:18])
    if admin is not None:
        admin.check(norm[6:12], norm[12:15])
    return norm


def parse_professional_grid_code(
    code: str, admin: AdminCodes | None = None
) -> ProfessionalGridCode:
    """Validate and split a CJ/T 349 professional grid code.

    Examples
    --------
    >>> p = parse_professional_grid_code("10010044030700360102")
    >>> p.object_code, p.community_code, p.sequence, p.merged_communities, p.major_class
    ('100100', '440307003601', 2, True, True)
    """
    norm = validate_professional_grid_code(code, admin)
    return ProfessionalGridCode(
        norm, norm[:6], norm[6:12], norm[12:15], norm[15:18], int(norm[18:])
    )

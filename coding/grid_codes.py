"""Grid codes: CJ/T 213 unit grid codes, CJ/T 349 professional grid codes, short alias codes.

Unit grid code (CJ/T 213-2005), 15 digits
    ``440307 003 001 007`` = county-level admin code (GB/T 2260, 6 digits)
    + street / township (GB/T 10114, 3 digits) + community / village (3)
    + grid sequence in the community (001-999).

Professional grid code (CJ/T 349-2010), 20 digits
    ``100100 440307 003 001 02`` = object (management / service) code (6
    digits; a major class ends in ``00``, CJ/T 348) + the 12-digit community
    prefix (a grid spanning merged communities takes a community code from
    601 upward) + sequence 01-99, or ``00`` when the community is not
    subdivided.

Alias code (Langfang style), 5 characters
    ``Ab007`` = county letter ``A``-``Z`` + township letter ``a``-``z`` +
    village-level grid number ``001``-``999``. Letters are assigned per grid
    layer: counties in ascending admin-code order get ``A``, ``B``, ...;
    the townships of each county in ascending code order get ``a``, ``b``,
    ...; the grids of a township are numbered from ``001`` in ascending unit
    grid code order (community by community, and inside a community in the
    west -> east, north -> south order of the unit codes). A layer therefore
    holds at most 26 counties x 26 townships x 999 grids, and its alias codes
    are unique by construction (:func:`assign_alias_codes`).

Numbering order (unit and professional codes)
    West -> east, north -> south. Rows are bands of centroid latitude: with
    ``h`` the median north-south extent of the community's grids, centroids
    are taken north to south and a new row starts at a drop of more than
    ``0.4 h`` from the previous centroid or at ``h`` or more below the first
    centroid of the row; within a row grids are ordered by centroid
    longitude, ties by centroid latitude then input order (see
    :func:`grid_order`).

Admin prefix check
    Validation always checks structure. With an :class:`AdminCodes` table
    (from the GB/T 2260 county and township lists, e.g. the statistical
    division codes CSVs) it also checks that the county and the township
    exist. No table is bundled except a tiny sample for 440307 (龙岗区) in
    ``data_samples/``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from gis_core.errors import InvalidCode, InvalidGeometry, InvalidInput

PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
"""First two digits of GB/T 2260 codes (provinces, autonomous regions, municipalities, SARs)."""

_UNIT = re.compile(r"^[0-9]{15}$")
_PROFESSIONAL = re.compile(r"^[0-9]{20}$")
_ALIAS = re.compile(r"^([A-Z])([a-z])([0-9]{3})$")


# ----------------------------------------------------------------------------- admin tables


@dataclass(frozen=True)
class AdminCodes:
    """County (6-digit) and township (9-digit) codes with their names.

    Build it with :meth:`from_csv`; any CSV with ``code`` and ``name`` columns
    works (6-digit codes are counties, 9-digit codes townships, other rows are
    ignored), e.g. the 国家统计局 statistical division code lists.
    """

    counties: Mapping[str, str] = field(default_factory=dict)
    townships: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_csv(cls, *paths: str | Path) -> AdminCodes:
        """Load one or more ``code,name`` CSV files (lines starting with ``#`` skipped).

        Examples
        --------
        >>> from pathlib import Path
        >>> import data_samples
        >>> sample = Path(data_samples.__file__).parent / "admin_codes_440307.csv"
        >>> table = AdminCodes.from_csv(sample)
        >>> table.counties["440307"], table.townships["440307003"]
        ('龙岗区', '平湖街道')
        """
        counties: dict[str, str] = {}
        townships: dict[str, str] = {}
        for path in paths:
            with open(path, encoding="utf-8", newline="") as fh:
                rows = csv.DictReader(line for line in fh if not line.startswith("#"))
                if rows.fieldnames is None or not {"code", "name"} <= set(rows.fieldnames):
                    raise InvalidInput(f"{path}: an admin code CSV needs 'code' and 'name' columns")
                for row in rows:
                    code = row["code"].strip()
                    if len(code) == 6:
                        counties[code] = row["name"]
                    elif len(code) == 9:
                        townships[code] = row["name"]
        return cls(counties=counties, townships=townships)

    def check(self, county: str, township: str | None = None) -> None:
        """Raise :class:`InvalidCode` if the county (or township) is not in the table."""
        if self.counties and county not in self.counties:
            raise InvalidCode(
                f"county code {county} is not in the GB/T 2260 table", reason="county"
            )
        if township is not None and self.townships and county + township not in self.townships:
            raise InvalidCode(
                f"township code {township} of county {county} is not in the township table",
                reason="township",
            )


def _check_admin_structure(code: str, county: str, street: str, community: str) -> None:
    if county[:2] not in PROVINCE_CODES or county[2:] == "0000":
        raise InvalidCode(
            f"{code!r}: {county} is not a county-level GB/T 2260 code", reason="county"
        )
    if street == "000":
        raise InvalidCode(f"{code!r}: the street / township code must be 001-999", reason="street")
    if community == "000":
        raise InvalidCode(f"{code!r}: the community code must be 001-999", reason="community")


def _check_community_code(community_code: str) -> str:
    if not isinstance(community_code, str) or not re.fullmatch(r"[0-9]{12}", community_code):
        raise InvalidInput(
            "community_code must be 12 digits (6-digit county + 3-digit street "
            f"+ 3-digit community), got {community_code!r}"
        )
    _check_admin_structure(
        community_code, community_code[:6], community_code[6:9], community_code[9:12]
    )
    return community_code


# ----------------------------------------------------------------------------- ordering

ROW_GAP = 0.4
"""A new row starts where centroids drop by more than this share of the median grid height."""


def _row_bands(cy: npt.NDArray[np.float64], height: float) -> npt.NDArray[np.int64]:
    """Row number of each centroid latitude (0 = northernmost row)."""
    height = height if height > 0 else 1.0
    by_lat = np.argsort(-cy, kind="stable")
    ys = cy[by_lat]
    rows = np.zeros(ys.size, dtype=np.int64)
    row, top = 0, ys[0] if ys.size else 0.0
    for k in range(1, ys.size):  # at most 999 grids per community
        if ys[k - 1] - ys[k] > ROW_GAP * height or top - ys[k] >= height:
            row, top = row + 1, ys[k]
        rows[k] = row
    out = np.empty_like(rows)
    out[by_lat] = rows
    return out


def grid_order(geometries: Sequence[BaseGeometry] | npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Return the positions of ``geometries`` in west -> east, north -> south order.

    Rows: with ``h`` the median north-south extent of the geometries, the
    centroids are taken north to south and a new row starts where a centroid
    lies more than ``0.4 h`` below the previous one (a gap between rows) or at
    least ``h`` below the first centroid of the current row (so rows never get
    taller than one grid). Within a row the order is by centroid longitude
    (then latitude, then input position).

    Parameters
    ----------
    geometries
        Non-empty polygons (any CRS whose y axis points north).

    Returns
    -------
    numpy.ndarray
        ``order[k]`` is the input position of the ``k``-th grid.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grid_order([box(1, 0, 2, 1), box(0, 0, 1, 1), box(0, 1, 1, 2)]).tolist()
    [2, 1, 0]
    """
    geoms = np.asarray(geometries, dtype=object).ravel()
    if geoms.size == 0:
        return np.empty(0, dtype=np.int64)
    bad = ~shapely.is_geometry(geoms)
    bad[~bad] = shapely.is_empty(geoms[~bad].astype(object))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidGeometry(f"geometries must be non-empty geometries; item {i} is {geoms[i]!r}")
    centroids = shapely.centroid(geoms)
    cx, cy = shapely.get_x(centroids), shapely.get_y(centroids)
    bounds = shapely.bounds(geoms)
    row = _row_bands(cy, float(np.median(bounds[:, 3] - bounds[:, 1])))
    return np.lexsort((np.arange(geoms.size), -cy, cx, row)).astype(np.int64)


# ----------------------------------------------------------------------------- unit grid codes


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
    _check_community_code(community_code)
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
    _check_admin_structure(norm, norm[:6], norm[6:9], norm[9:12])
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


# ----------------------------------------------------------------------------- professional


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
    _check_community_code(community_code)
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
    _check_community_code(community_code)
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
    _check_admin_structure(norm, norm[6:12], norm[12:15], norm[15:18])
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


# ----------------------------------------------------------------------------- alias codes


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

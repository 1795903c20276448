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

Numbering order (unit and professional codes; :mod:`~coding.grid_codes.ordering`)
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

from coding.grid_codes.admin import PROVINCE_CODES, AdminCodes
from coding.grid_codes.alias import (
    AliasGridCode,
    assign_alias_codes,
    make_alias_code,
    parse_alias_code,
    validate_alias_code,
)
from coding.grid_codes.ordering import ROW_GAP, grid_order
from coding.grid_codes.professional import (
    ProfessionalGridCode,
    make_professional_grid_code,
    number_professional_grids,
    parse_professional_grid_code,
    validate_professional_grid_code,
)
from coding.grid_codes.unit import (
    UnitGridCode,
    make_unit_grid_code,
    number_unit_grids,
    parse_unit_grid_code,
    validate_unit_grid_code,
)

__all__ = [
    "PROVINCE_CODES",
    "ROW_GAP",
    "AdminCodes",
    "AliasGridCode",
    "ProfessionalGridCode",
    "UnitGridCode",
    "assign_alias_codes",
    "grid_order",
    "make_alias_code",
    "make_professional_grid_code",
    "make_unit_grid_code",
    "number_professional_grids",
    "number_unit_grids",
    "parse_alias_code",
    "parse_professional_grid_code",
    "parse_unit_grid_code",
    "validate_alias_code",
    "validate_professional_grid_code",
    "validate_unit_grid_code",
]

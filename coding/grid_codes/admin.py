"""Admin prefixes of grid codes: the GB/T 2260 county and township tables and their checks.

See :mod:`coding.grid_codes` for the code structures and rules.
"""


from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gis_core.errors import InvalidCode, InvalidInput

PROVINCE_CODES = frozenset((
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
))
"""First two digits of GB/T 2260 codes (provinces, autonomous regions, municipalities, SARs)."""


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


def check_admin_structure(code: str, county: str, street: str, community: str) -> None:
    """:class:`InvalidCode` unless county, street and community are well-formed (no table)."""
    if county[:2] not in PROVINCE_CODES or county[2:] == "0000":
        raise InvalidCode(
            f"{code!r}: {county} is not a county-level GB/T 2260 code", reason="county"
        )
    if street == "000":
        raise InvalidCode(f"{code!r}: the street / township code must be 001-999", reason="street")
    if community == "000":
        raise InvalidCode(f"{code!r}: the community code must be 001-999", reason="community")


def check_community_code(community_code: str) -> str:
    """The 12-digit community prefix, checked; :class:`InvalidInput` otherwise."""
    if not isinstance(community_code, str) or not re.fullmatch(r"[0-9]{12}", community_code):
        raise InvalidInput(
            "community_code must be 12 digits (6-digit county + 3-digit street "
            f"+ 3-digit community), got {community_code!r}"
        )
    check_admin_structure(
        community_code, community_code[:6], community_code[6:9], community_code[9:12]
    )
    return community_code

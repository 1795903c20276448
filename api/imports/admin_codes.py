"""Admin-area codes checked against the GB/T 2260 tables (and taken from names on request).

The table shipped in ``data_samples/admin_codes_cn_2023.csv.gz`` holds the
National Bureau of Statistics 2023 statistical division codes (provinces,
cities, counties and townships; see ``data_samples/ATTRIBUTION.md``).
What a code of each level must be:

========== =============================================================
level      code
========== =============================================================
city       a 4-digit city code of the table, or the same followed by 00
district   a 6-digit county-level code of the table
street     a 9-digit township / street code of the table
community  12 digits: a street of the table + a community number 001-999
========== =============================================================

A name such as ``南山`` is not a code: the error names the codes whose names
match, and :meth:`DivisionTable.codes_for_names` takes codes from names when
the user asks for it (``--code-from-name``), within a parent code
(``--within 4403``) when a name is not unique.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import data_samples
from api.imports.tables import rows_of
from gis_core.errors import InvalidInput

TABLE = Path(data_samples.__file__).parent / "admin_codes_cn_2023.csv.gz"
LEVELS = ("city", "district", "street", "community")
_DIGITS = {"city": 6, "district": 6, "street": 9, "community": 12}
_TABLE_DIGITS = {"city": 4, "district": 6, "street": 9, "community": 9}
#: endings a short name may leave out (南山 for 南山区, 蛇口 for 蛇口街道)
_SUFFIXES = ("", "区", "县", "市", "旗", "街道", "镇", "乡", "地区", "自治县", "社区", "村")


@dataclass(frozen=True)
class DivisionTable:
    """Codes and names of the statistical divisions (2, 4, 6 and 9 digits)."""

    names: Mapping[str, str]

    @classmethod
    def load(cls, path: str | Path = TABLE) -> DivisionTable:
        """Read a ``code,name`` CSV (optionally gzip-compressed; ``#`` lines skipped).

        Examples
        --------
        >>> DivisionTable.load().names["440305"]
        '南山区'
        """
        path = Path(path)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", newline="") as fh:
            rows = csv.DictReader(line for line in fh if not line.startswith("#"))
            return cls({row["code"].strip(): row["name"].strip() for row in rows})

    def label(self, code: str) -> str:
        """``code name (city)`` for messages.

        Examples
        --------
        >>> DivisionTable.load().label("440305")
        '440305 南山区 (深圳市)'
        """
        parent = self.names.get(code[:4]) if len(code) > 4 else self.names.get(code[:2])
        if parent in (None, "市辖区", "县"):
            parent = self.names.get(code[:2])
        return f"{code} {self.names.get(code, '?')} ({parent})" if parent else code

    def matching(self, name: str, level: str, within: str | None = None) -> list[str]:
        """Codes of ``level`` whose name is ``name`` or ``name`` plus a usual ending.

        Examples
        --------
        >>> DivisionTable.load().matching("南山", "district")
        ['230404', '440305']
        >>> DivisionTable.load().matching("南山", "district", within="4403")
        ['440305']
        """
        digits = _TABLE_DIGITS[level]
        wanted = {name + s for s in _SUFFIXES}
        return sorted(c for c, n in self.names.items()
                      if len(c) == digits and n in wanted and c.startswith(within or ""))

    def problem(self, code: str, level: str) -> str | None:
        """Why ``code`` is not a code of ``level`` (None when it is one).

        Examples
        --------
        >>> table = DivisionTable.load()
        >>> table.problem("440305", "district") is None
        True
        >>> table.problem("440305005001", "community") is None
        True
        >>> print(table.problem("南山", "district"))  # doctest: +NORMALIZE_WHITESPACE
        '南山' is a name, not a code; districts named so: 230404 南山区 (鹤岗市),
        440305 南山区 (深圳市)
        >>> table.problem("440399", "district")
        "'440399' is not a district code of the GB/T 2260 table"
        """
        if not code.isdigit():
            found = self.matching(code, level)
            named = (f"; {level}s named so: " + ", ".join(self.label(c) for c in found[:5])
                     if found else "")
            return f"{code!r} is a name, not a code{named}"
        if level == "city" and len(code) == 6 and code.endswith("00"):
            code = code[:4]
        elif len(code) != _DIGITS[level]:
            return f"{code!r} has {len(code)} digits; a {level} code has {_DIGITS[level]}"
        if level == "community" and code[9:] == "000":
            return f"{code!r}: the community number (last 3 digits) must be 001-999"
        if code[:_TABLE_DIGITS[level]] not in self.names:
            what = "street of the community" if level == "community" else f"{level} code"
            return f"{code!r} is not a {what} of the GB/T 2260 table"
        return None

    def check(self, codes: pd.Series, level: str) -> None:
        """Raise :class:`InvalidInput` naming the rows whose code is not one of ``level``."""
        if level not in LEVELS:
            raise InvalidInput(f"parameter 'level': one of {', '.join(LEVELS)}, got {level!r}",
                               parameter="level")
        problems = codes.map(lambda c: self.problem(str(c), level))
        bad = problems.notna()
        if bad.any():
            first = problems[bad].iloc[:3].tolist()
            raise InvalidInput(
                f"{int(bad.sum())} codes are not GB/T 2260 {level} codes (rows "
                f"{rows_of(bad)[:20]}): {'; '.join(first)}. Name the code column with "
                "--code-field, or take codes from names with --code-from-name "
                "(and --within PARENT_CODE)", code="admin_code", rows=rows_of(bad))

    def codes_for_names(self, names: pd.Series, level: str, within: str | None = None
                        ) -> pd.Series:
        """The code of each name; refuse names matching no code or several."""
        found = names.astype(str).str.strip().map(lambda n: self.matching(n, level, within))
        unique = found.map(len) == 1
        if not unique.all():
            first = "; ".join(
                f"{n!r}: " + (", ".join(self.label(c) for c in f[:4]) or "no match")
                for n, f in zip(names[~unique].iloc[:3], found[~unique].iloc[:3], strict=True))
            raise InvalidInput(
                f"{int((~unique).sum())} names do not match exactly one {level} of the "
                f"GB/T 2260 table (rows {rows_of(~unique)[:20]}): {first}; narrow names "
                "matching several with --within PARENT_CODE; an area the table does not "
                "list (a functional zone such as 大鹏新区) is not a GB/T 2260 area",
                code="admin_code", rows=rows_of(~unique))
        return found.map(lambda f: f[0])


def parent_codes(codes: pd.Series, known: set[str]) -> pd.Series:
    """The nearest area above each code among ``known`` codes (None when there is none).

    Community -> street -> district -> city (``4403`` or ``440300``) -> province.

    Examples
    --------
    >>> parent_codes(pd.Series(["440305005001", "440305005", "440305"]),
    ...              {"440305", "440305005", "4403"}).tolist()
    ['440305005', '440305', '4403']
    """
    def parent(code: str) -> str | None:
        above = {12: [code[:9]], 9: [code[:6]], 6: [code[:4], code[:4] + "00"],
                 4: [code[:2]]}.get(len(code), [])
        return next((p for p in above if p in known and p != code), None)

    return codes.astype(str).map(parent)

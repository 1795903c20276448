"""Plain tables (CSV or XLSX) read as text, and their columns found by name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gis_core.errors import InvalidInput

TABLE_SUFFIXES = (".csv", ".txt", ".xlsx")


def read_table(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, a BOM allowed) or the first (or named) sheet of an XLSX as text.

    Empty cells are missing values; every other cell is a string, so codes
    such as ``0101`` keep their leading zeros.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, engine="openpyxl")
    elif suffix in (".csv", ".txt"):
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False,
                            na_values=[""])
    else:
        raise InvalidInput(f"{path.name}: a table must be {', '.join(TABLE_SUFFIXES)}")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda col: col.str.strip() if col.dtype == object else col)


def find_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    """The first column named like one of ``names`` (case and spaces ignored).

    Examples
    --------
    >>> find_column(pd.DataFrame(columns=["Code ", "Name"]), ("code", "id"))
    'Code '
    """
    lower = {str(c).lower().strip(): str(c) for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def rows_of(mask: pd.Series) -> list[int]:
    """1-based row numbers where ``mask`` is true (as a user counts rows of a file).

    Examples
    --------
    >>> rows_of(pd.Series([False, True, True]))
    [2, 3]
    """
    return [int(i) + 1 for i in mask.to_numpy().nonzero()[0]]

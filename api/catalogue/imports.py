"""A district's own service catalogue: categories, departments and time limits.

:func:`read_catalogue` reads a CSV, or an XLSX whose ``categories`` sheet (else
the first) holds the categories and whose optional ``departments`` sheet holds
the departments; :func:`import_catalogue` writes them in the caller's
transaction through :mod:`api.catalogue.service` (the same checks and one
audit row per change as the administration API), creating or updating by code,
and one ``catalogue.import`` row with the counts. Both are for any
caller (``gridgov import catalogue``, an administration API).

Category columns (case-insensitive; Chinese headers accepted):

=================== ============================================ ==========
column              meaning                                      required
=================== ============================================ ==========
code                the category code (e.g. ``0101``)            yes
name                its name (``暴露垃圾``)                        yes
major_code          its major class (default: first 2 characters) no
major_name          the major class's name                       yes
time_limit_hours    the handling time limit, in hours            yes
department_code     the default department                       no
department_name     the department's name (creates or renames it) no
closing_standard    what closes a case                           no
name_en,            English names (default: the Chinese ones)    no
major_name_en
=================== ============================================ ==========

A departments sheet has ``code``, ``name`` and optionally ``name_en``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.catalogue import service
from api.imports.tables import find_column, read_table, rows_of
from gis_core.errors import InvalidInput

CATEGORY_NAMES: dict[str, tuple[str, ...]] = {
    "code": ("code", "category_code", "类别编码", "小类编码", "编码"),
    "name": ("name", "category_name", "类别名称", "小类名称", "名称"),
    "major_code": ("major_code", "大类编码"),
    "major_name": ("major_name", "大类名称", "大类"),
    "time_limit_hours": ("time_limit_hours", "time_limit", "时限(小时)", "时限（小时）",
                         "处置时限(小时)", "时限"),
    "department_code": ("department_code", "部门编码"),
    "department_name": ("department_name", "处置部门", "责任部门", "部门"),
    "closing_standard": ("closing_standard", "结案标准"),
    "name_en": ("name_en",),
    "major_name_en": ("major_name_en",),
}
DEPARTMENT_NAMES: dict[str, tuple[str, ...]] = {
    "code": ("code", "department_code", "部门编码"),
    "name": ("name", "department_name", "部门名称"),
    "name_en": ("name_en",),
}
def _pick(frame: pd.DataFrame, names: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    cols = {ours: find_column(frame, theirs) for ours, theirs in names.items()}
    return pd.DataFrame({ours: frame[c] if c else None for ours, c in cols.items()},
                        index=frame.index)


def read_catalogue(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The categories and (from an XLSX ``departments`` sheet) departments of a file."""
    path = Path(path)
    departments = None
    if path.suffix.lower() == ".xlsx":
        sheets = pd.ExcelFile(path, engine="openpyxl").sheet_names
        categories = read_table(path, "categories" if "categories" in sheets else None)
        if "departments" in sheets:
            departments = _pick(read_table(path, "departments"), DEPARTMENT_NAMES)
    else:
        categories = read_table(path)
    return _pick(categories, CATEGORY_NAMES), departments


def _required(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    names = CATEGORY_NAMES if what == "categories" else DEPARTMENT_NAMES
    for col in columns:
        missing = frame[col].isna() | (frame[col].astype(str).str.strip() == "")
        if missing.all():
            raise InvalidInput(f"the {what} have no {col!r} column (read from a column named "
                               f"{' or '.join(names[col])})", parameter=col)
        if missing.any():
            raise InvalidInput(f"{what}: rows {rows_of(missing)[:20]} have no {col}",
                               rows=rows_of(missing))


def _checked(categories: pd.DataFrame) -> pd.DataFrame:
    _required(categories, ("code", "name", "major_name", "time_limit_hours"), "categories")
    cats = categories.copy()
    cats["major_code"] = cats["major_code"].where(cats["major_code"].notna(),
                                                  cats["code"].str[:2])
    hours = pd.to_numeric(cats["time_limit_hours"], errors="coerce")
    bad = hours.isna() | (hours <= 0)
    if bad.any():
        raise InvalidInput(f"categories: rows {rows_of(bad)[:20]} have no positive time limit "
                           "in hours", rows=rows_of(bad), parameter="time_limit_hours")
    repeated = cats["code"].duplicated(keep=False)
    if repeated.any():
        raise InvalidInput(f"categories: repeated codes {sorted(set(cats['code'][repeated]))}")
    cats["time_limit_hours"] = hours
    for en, zh in (("name_en", "name"), ("major_name_en", "major_name")):
        cats[en] = cats[en].where(cats[en].notna(), cats[zh])
    return cats.astype(object).where(cats.notna(), None)


def _departments(categories: pd.DataFrame, departments: pd.DataFrame | None) -> pd.DataFrame:
    named = categories[categories["department_code"].notna()
                       & categories["department_name"].notna()]
    parts = [pd.DataFrame({"code": named["department_code"], "name": named["department_name"],
                           "name_en": None})]
    if departments is not None:
        _required(departments, ("code", "name"), "departments")
        parts.append(departments)
    out = pd.concat(parts, ignore_index=True).drop_duplicates("code", keep="last")
    return out.astype(object).where(out.notna(), None)


def import_catalogue(conn: Connection, categories: pd.DataFrame,
                     departments: pd.DataFrame | None = None, *,
                     actor: Actor | str = "import") -> dict[str, int]:
    """Create or update the categories and departments; counts of each; never commits.

    Raises
    ------
    InvalidInput
        For a missing column or value, a time limit that is not a positive
        number, a repeated code, or a department code that is neither in the
        file nor stored; nothing is written then.
    """
    cats = _checked(categories)
    deps = _departments(cats, departments)
    wanted = set(cats["department_code"].dropna())
    stored = set(conn.execute(text("SELECT code FROM departments WHERE code = ANY(:c)"),
                              {"c": sorted(wanted)}).scalars())
    unknown = sorted(wanted - stored - set(deps["code"]))
    if unknown:
        raise InvalidInput(f"department codes {unknown} are neither stored nor named in the "
                           "file; add a department_name column or a departments sheet",
                           parameter="department_code")
    by = Actor(actor) if isinstance(actor, str) else actor
    with Session(bind=conn) as session:  # the caller's transaction; never commits
        dep_before = {d.code for d in service.list_departments(session)}
        cat_before = {c.code for c, _ in service.list_categories(session)}
        for row in deps.to_dict("records"):
            service.save_department(session, row["code"], name=row["name"],
                                    name_en=row["name_en"], by=by)
        for row in cats.to_dict("records"):
            values = {k: row[k] for k in service.CATEGORY_FIELDS if row.get(k) is not None}
            service.save_category(session, row["code"], department=row["department_code"],
                                  by=by, **values)
    dep_created = len(set(deps["code"]) - dep_before)
    cat_created = len(set(cats["code"]) - cat_before)
    counts = {"categories_created": cat_created, "categories_updated": len(cats) - cat_created,
              "departments_created": dep_created,
              "departments_updated": len(deps) - dep_created}
    record(conn, actor=by, action="catalogue.import", object_type="event_category",
           details=counts)
    return counts

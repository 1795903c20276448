"""The catalogue as tables: CSV (UTF-8, with BOM for spreadsheets) and XLSX, out and in.

One table per kind (:data:`COLUMNS`): ``departments``, ``categories``
(``categories.csv`` of the sample town has this form), ``rules`` and ``users``
(never a secret: no password, no token). An import creates or changes one
object per row through the services, so every row is checked and audited as a
single change would be; the first bad row refuses the whole file (422 naming
the row) and the caller's transaction is rolled back: nothing is stored half-way.
New users get a first API token each, returned once.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from api.audit.service import Actor
from api.auth import service as users
from api.catalogue import service
from gis_core.errors import GisError, InvalidInput

COLUMNS: dict[str, tuple[str, ...]] = {
    "departments": ("code", "name", "name_en"),
    "categories": ("code", "major_code", "major_name", "major_name_en", "name", "name_en",
                   "department_code", "time_limit_hours", "closing_standard",
                   "dispatch_limit_hours", "verification_limit_hours", "dispatch_working",
                   "handling_working", "verification_working"),
    "rules": ("scope", "scope_code", "category", "department_code", "note"),
    "users": ("name", "role", "department_code", "areas", "grids", "active"),
}
#: the columns a file must have (the others may be missing)
REQUIRED = {"departments": ("code", "name"), "categories": ("code",),
            "rules": ("scope", "scope_code", "category", "department_code"),
            "users": ("name",)}
KINDS = tuple(COLUMNS)
FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_LIST = re.compile(r"[\s,;，；]+")


def _check_kind(kind: str) -> None:
    if kind not in COLUMNS:
        raise InvalidInput(f"parameter 'kind': one of {', '.join(KINDS)}, got {kind!r}",
                           code="invalid_parameter", parameter="kind")


def export_frame(session: Session, kind: str) -> pd.DataFrame:
    """The objects of ``kind`` as a table with the columns of :data:`COLUMNS`."""
    _check_kind(kind)
    rows: list[dict[str, Any]]
    if kind == "departments":
        rows = [service.department_json(d) for d in service.list_departments(session)]
    elif kind == "categories":
        rows = [{**service.category_json(c, d), "department_code": d}
                for c, d in service.list_categories(session)]
    elif kind == "rules":
        rows = [{**service.rule_json(r, d), "department_code": d}
                for r, d in service.list_rules(session)]
    else:
        rows = [{"name": u.name, "role": u.role, "department_code": d,
                 "areas": " ".join(u.area_codes or ()), "grids": " ".join(u.grid_codes or ()),
                 "active": u.active} for u, d, _ in users.list_users(session)]
    return pd.DataFrame(rows, columns=list(COLUMNS[kind]))


def to_bytes(frame: pd.DataFrame, fmt: str, sheet: str = "sheet") -> bytes:
    """``frame`` as CSV (UTF-8 with BOM) or XLSX bytes."""
    if fmt not in FORMATS:
        raise InvalidInput(f"parameter 'format': csv or xlsx, got {fmt!r}",
                           code="invalid_parameter", parameter="format")
    buf = io.BytesIO()
    if fmt == "csv":
        buf.write(frame.to_csv(index=False).encode("utf-8-sig"))
    else:
        frame.to_excel(buf, index=False, sheet_name=sheet[:31], engine="openpyxl")
    return buf.getvalue()


def read_frame(data: bytes, filename: str) -> pd.DataFrame:
    """A CSV or XLSX file (by its name's suffix) as text cells, empty cells as None."""
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    try:
        if suffix == "csv":
            frame = pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8-sig",
                                keep_default_na=False, na_values=[""])
        elif suffix == "xlsx":
            frame = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
        else:
            raise InvalidInput(f"file {filename!r}: a .csv or .xlsx file, please",
                               code="invalid_file", field="file")
    except (ValueError, UnicodeDecodeError, KeyError, OSError) as exc:
        raise InvalidInput(f"file {filename!r} cannot be read as {suffix.upper()}: {exc}",
                           code="invalid_file", field="file") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame.astype(object).where(frame.notna(), None)


def _check_columns(kind: str, frame: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED[kind] if c not in frame.columns]
    if missing:
        raise InvalidInput(f"the {kind} table lacks the columns {missing}; its columns are "
                           f"{', '.join(COLUMNS[kind])}", code="missing_columns",
                           columns=missing)


def _codes(value: Any) -> list[str] | None:
    return [c for c in _LIST.split(str(value)) if c] if value is not None else None


def _department(row: dict[str, Any], session: Session, by: Actor) -> str:
    service.save_department(session, str(row.get("code") or ""), name=row.get("name"),
                            name_en=row.get("name_en"), by=by)
    return "saved"


def _category(row: dict[str, Any], session: Session, by: Actor) -> str:
    values = {k: row.get(k) for k in service.CATEGORY_FIELDS if row.get(k) is not None}
    service.save_category(session, str(row.get("code") or ""),
                          department=row.get("department_code"), by=by, **values)
    return "saved"


def _rule(row: dict[str, Any], session: Session, by: Actor) -> str:
    service.save_rule(session, scope=str(row.get("scope") or ""),
                      scope_code=str(row.get("scope_code") or ""),
                      category=str(row.get("category") or ""),
                      department=str(row.get("department_code") or ""),
                      note=row.get("note"), by=by)
    return "saved"


def _user(row: dict[str, Any], session: Session, by: Actor) -> str:
    name = str(row.get("name") or "").strip()
    role, department = row.get("role"), row.get("department_code")
    grids, areas = _codes(row.get("grids")), _codes(row.get("areas"))
    active = None if row.get("active") is None else service.flag(row["active"], "active")
    try:
        user = users.user_by_name(session, name)
    except GisError:
        user, token = users.create_user(session, name=name, role=str(role or ""),
                                        department=department, grids=grids or (),
                                        areas=areas or (), by=by)
        if active is False:
            users.update_user(session, user, active=False, by=by)
        return token
    users.update_user(session, user, role=role, department=department, grids=grids,
                      areas=areas, active=active, by=by)
    return "saved"


_IMPORTERS: dict[str, Callable[[dict[str, Any], Session, Actor], str]] = {
    "departments": _department, "categories": _category, "rules": _rule, "users": _user}


def import_frame(session: Session, kind: str, frame: pd.DataFrame, by: Actor
                 ) -> dict[str, Any]:
    """Create or change one object of ``kind`` per row; ``{"rows": n, "tokens": {...}}``.

    ``tokens``: the first API token of each new user (users only), shown this once.
    """
    _check_kind(kind)
    _check_columns(kind, frame)
    tokens: dict[str, str] = {}
    with session.begin_nested():  # a bad row takes the rows before it back
        for number, row in enumerate(frame.to_dict("records"), start=2):  # 1: the header
            try:
                outcome = _IMPORTERS[kind](row, session, by)
            except GisError as exc:
                raise InvalidInput(f"row {number}: {exc.message}", code=exc.code, row=number,
                                   **exc.details) from None
            if outcome != "saved":
                tokens[str(row["name"]).strip()] = outcome
    return {"kind": kind, "rows": len(frame), "tokens": tokens}

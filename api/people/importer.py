"""Import persons from the tables district offices keep (XLSX or CSV, Chinese headers).

Columns, by the headers used in the offices (or the English names):

=================  ===============================================  ==========
our field          headers understood                               needed
=================  ===============================================  ==========
name               姓名                                             yes
id_number          公民身份号码, 身份证号, 身份证号码               yes
phone              联系电话, 手机号码, 电话
registration_place 户籍地, 户籍地代码 (GB/T 2260; default: the ID's)
ethnicity          民族
room_code          房屋编码, 房间编码, 房屋编码/房间号, 房间号
household_code     户号, 户编号
relation           与户主关系
residence_kind     居住类型 (自有/户主 owner, 租住/租户 tenant, 居住
                   resident, 户籍在此/人户分离 registered_only)
from_date          入住日期, 居住起始日期 (YYYY-MM-DD; default: today)
registered_        户籍地址房屋编码 (the building of the registered
building_code      address, when in the territory)
=================  ===============================================  ==========

Every row is checked first; any error (a bad check character, an unknown room,
a person twice in the file or already in the archive, ...) refuses the whole
file with the errors listed by row number (rows counted from 1 under the header,
at most :data:`MAX_ERRORS`). The rows are then written in one transaction with
``COPY``: persons (encrypted, hashed), households, residences; one audit row
``people.import``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, text

from api.audit.service import Actor, record
from api.db.bulk import copy_rows
from api.errors import APIError
from api.imports.admin_codes import DivisionTable
from api.imports.tables import find_column, read_table
from api.people.archive import person_row
from api.personal.cipher import PersonalCipher
from gis_core.errors import InvalidInput

MAX_ERRORS = 200
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "id_number": ("公民身份号码", "身份证号", "身份证号码", "id_number"),
    "phone": ("联系电话", "手机号码", "电话", "phone"),
    "registration_place": ("户籍地", "户籍地代码", "registration_place"),
    "ethnicity": ("民族", "ethnicity"),
    "room_code": ("房屋编码", "房间编码", "房屋编码/房间号", "房间号", "room_code"),
    "household_code": ("户号", "户编号", "household_code"),
    "relation": ("与户主关系", "relation"),
    "residence_kind": ("居住类型", "residence_kind"),
    "from_date": ("入住日期", "居住起始日期", "from_date"),
    "registered_building_code": ("户籍地址房屋编码", "户籍房屋编码", "registered_building_code"),
}
REQUIRED = ("name", "id_number")
KINDS = {"自有": "owner", "户主": "owner", "产权人": "owner", "租住": "tenant",
         "租户": "tenant", "承租": "tenant", "居住": "resident", "借住": "resident",
         "户籍在此": "registered_only", "人户分离": "registered_only",
         "owner": "owner", "tenant": "tenant", "resident": "resident",
         "registered_only": "registered_only"}
_PERSON_COLUMNS = ("id", "name", "id_number", "id_number_hash", "phone", "phone_hash",
                   "birth_date", "gender", "registration_place", "ethnicity",
                   "registered_building_id", "household_id", "relation", "attributes")


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row."""

    row: int
    column: str
    message: str


def _columns(frame: pd.DataFrame) -> dict[str, str]:
    found = {f: find_column(frame, tuple(n.lower() for n in names))
             for f, names in HEADERS.items()}
    missing = [HEADERS[f][0] for f in REQUIRED if found[f] is None]
    if missing:
        raise InvalidInput(f"the table needs the columns {', '.join(missing)} (headers "
                           f"found: {', '.join(map(str, frame.columns))})", code="missing_column")
    return {f: c for f, c in found.items() if c is not None}


def _records(frame: pd.DataFrame, cols: dict[str, str]) -> Iterator[tuple[int, dict[str, Any]]]:
    data = {f: [None if pd.isna(v) or v == "" else str(v) for v in frame[c].tolist()]
            for f, c in cols.items()}
    for i in range(len(frame)):
        yield i + 1, {f: values[i] for f, values in data.items()}


def _check_row(n: int, values: dict[str, Any], ctx: _Context) -> dict[str, Any] | RowError:
    try:
        row = person_row(ctx.cipher, ctx.divisions, values, ctx.today)
    except APIError as exc:
        return RowError(n, str(exc.details.get("field", "")), str(exc))
    first = ctx.seen.setdefault(row["id_number_hash"], n)
    if first != n:
        return RowError(n, "id_number", f"duplicate person: the same ID number as row {first}")
    room = values.get("room_code")
    if room and room not in ctx.rooms:
        return RowError(n, "room_code", f"unknown room {room!r}")
    registered = values.get("registered_building_code")
    if registered and registered not in ctx.buildings:
        return RowError(n, "registered_building_code", f"unknown building {registered!r}")
    kind = KINDS.get(values.get("residence_kind") or "居住")
    if kind is None:
        return RowError(n, "residence_kind", f"居住类型 {values['residence_kind']!r}: one of "
                        f"{', '.join(k for k in KINDS if not k.isascii())}")
    try:
        since = date.fromisoformat(values["from_date"]) if values.get("from_date") else ctx.today
    except ValueError:
        return RowError(n, "from_date", f"入住日期 {values['from_date']!r}: YYYY-MM-DD")
    return {**row, "room_id": ctx.rooms.get(room) if room else None, "kind": kind,
            "registered_building_id": ctx.buildings.get(registered) if registered else None,
            "from_date": since, "household_code": values.get("household_code")}


@dataclass
class _Context:
    cipher: PersonalCipher
    divisions: DivisionTable
    rooms: dict[str, int]
    buildings: dict[str, int]
    today: date
    seen: dict[str, int]


def _ids(conn: Connection, table: str, frame: pd.DataFrame, column: str | None
         ) -> dict[str, int]:
    if column is None:
        return {}
    codes = sorted(set(frame[column].dropna()))
    return {str(c): int(i) for c, i in conn.execute(text(
        f"SELECT code, id FROM {table} WHERE code = ANY(CAST(:c AS text[]))"), {"c": codes})}  # noqa: S608


def _in_archive(conn: Connection, hashes: list[str]) -> set[str]:
    return {str(h) for h in conn.execute(text(
        "SELECT id_number_hash FROM persons WHERE id_number_hash = ANY(CAST(:h AS text[]))"),
        {"h": hashes}).scalars()}


def import_people(conn: Connection, path: str | Path, cipher: PersonalCipher,
                  divisions: DivisionTable, actor: Actor, today: date | None = None
                  ) -> dict[str, int]:
    """Import a table of persons in ``conn``'s transaction (never commits); rows written.

    Raises
    ------
    InvalidInput
        ``invalid_rows`` with ``details["errors"]``: ``[{"row", "column", "message"}]``;
        nothing is stored.
    """
    frame = read_table(path)
    cols = _columns(frame)
    ctx = _Context(cipher, divisions, _ids(conn, "rooms", frame, cols.get("room_code")),
                   _ids(conn, "buildings", frame, cols.get("registered_building_code")),
                   today or date.today(), {})
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for n, values in _records(frame, cols):
        checked = _check_row(n, values, ctx)
        if isinstance(checked, RowError):
            errors.append(checked)
        else:
            rows.append(checked)
    known = _in_archive(conn, [r["id_number_hash"] for r in rows])
    errors += [RowError(ctx.seen[r["id_number_hash"]], "id_number",
                        "duplicate person: already in the archive")
               for r in rows if r["id_number_hash"] in known]
    if errors:
        raise _refused(sorted(errors, key=lambda e: e.row), len(frame))
    counts = _write(conn, rows)
    record(conn, actor=actor, action="people.import", object_type="person",
           fields=["name", "id_number", "phone"], details={"file": Path(path).name,
                                                           **counts})
    return counts


#: the tables an import writes in bulk
IMPORTED_TABLES = ("persons", "residences", "households")


def settle(engine: Engine) -> None:
    """``VACUUM (ANALYZE)`` the tables an import wrote, after its commit.

    A large import leaves every new row for its first reader to mark as committed
    (hint bits) and the planner without statistics: after 1,000,000 persons each
    lookup by ID number took twice as long (9.4 ms p50 over HTTP, 5.0 ms after)
    until autovacuum came by. One pass now (about a second per million persons)
    spares the residents' first readers.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM (ANALYZE) {', '.join(IMPORTED_TABLES)}"))


def _refused(errors: list[RowError], total: int) -> InvalidInput:
    shown = errors[:MAX_ERRORS]
    lines = "; ".join(f"row {e.row}: {e.message}" for e in shown[:5])
    return InvalidInput(f"{len(errors)} of {total} rows have errors, nothing was imported: "
                        f"{lines}{' ...' if len(errors) > 5 else ''}", code="invalid_rows",
                        errors=[e.__dict__ for e in shown])


def _write(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    households = _households(conn, rows)
    ids = conn.execute(text("SELECT nextval('persons_id_seq') FROM generate_series(1, :n)"),
                       {"n": len(rows)}).scalars().all()
    persons = copy_rows(conn, "persons", _PERSON_COLUMNS, (
        [pid, *(r[c] for c in _PERSON_COLUMNS[1:11]), households.get(r["household_code"]),
         r["relation"], r["attributes"]] for pid, r in zip(ids, rows, strict=True)))
    residences = copy_rows(conn, "residences", ("person_id", "room_id", "kind", "from_date"), (
        [pid, r["room_id"], r["kind"], r["from_date"]]
        for pid, r in zip(ids, rows, strict=True) if r["room_id"] is not None))
    return {"persons": persons, "residences": residences, "households": len(households)}


def _households(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    first: dict[str, int | None] = {}
    for r in rows:
        if r["household_code"] and (r["household_code"] not in first
                                    or r["relation"] == "户主"):
            first[r["household_code"]] = r["room_id"]
    if not first:
        return {}
    found = conn.execute(text(
        "INSERT INTO households (code, room_id) SELECT * FROM unnest(CAST(:c AS text[]), "
        "CAST(:r AS int[])) ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code "
        "RETURNING code, id"), {"c": list(first), "r": list(first.values())})
    return {str(c): int(i) for c, i in found}

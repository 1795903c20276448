"""Rooms imported from a table (CSV or XLSX): one room, one code.

Columns read (names case-insensitive; ``fields`` maps ours to theirs):

- ``building_code``: the building's standard code, or its ``external_code``
  (the identifier of the file the buildings came from) when that names one
  building;
- ``unit`` (0 or empty: the building has no units), ``floor`` (``-1`` or
  ``B1`` below ground) and ``room`` (the number on the floor), from which the
  26-character room code is made (:func:`coding.building_codes.make_room_code`);
- or ``code``: a ready room code, checked and split into the same parts.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from api.db.bulk import copy_frame
from api.imports.tables import find_column, rows_of
from coding.building_codes import make_room_code, parse
from gis_core.errors import InvalidCode, InvalidInput

NAMES: dict[str, tuple[str, ...]] = {
    "building_code": ("building_code", "building", "楼栋编码"),
    "code": ("code", "room_code", "房屋编码"),
    "unit": ("unit", "单元"),
    "floor": ("floor", "楼层"),
    "room": ("room", "number", "room_number", "房号"),
}


def _columns(frame: pd.DataFrame, fields: dict[str, str]) -> dict[str, str | None]:
    unknown = set(fields) - set(NAMES)
    if unknown:
        raise InvalidInput(f"--field: unknown fields {sorted(unknown)}; ours are "
                           f"{', '.join(NAMES)}", parameter="field")
    cols = {k: fields.get(k) or find_column(frame, names) for k, names in NAMES.items()}
    missing = [c for c in cols.values() if c is not None and c not in frame.columns]
    if missing:
        raise InvalidInput(f"--field: {missing} not in the file; columns: "
                           f"{', '.join(frame.columns)}", parameter="field")
    return cols


def _floor(value: str) -> int:
    value = value.strip().upper()
    return -int(value[1:]) if value.startswith("B") else int(float(value))


def _room_code(row: pd.Series) -> str:
    unit = 0 if pd.isna(row["unit"]) or row["unit"] == "" else int(float(row["unit"]))
    return make_room_code(row["building_code"], unit, _floor(str(row["floor"])),
                          int(float(row["room"])))


def _building_codes(conn: Connection, given: pd.Series) -> pd.Series:
    """Standard codes of the buildings named by code or by a unique external code."""
    rows = conn.execute(text(
        "SELECT code, external_code FROM buildings WHERE code = ANY(:c) OR external_code = "
        "ANY(:c)"), {"c": sorted(set(given.dropna()))}).all()
    by_code = {r.code: r.code for r in rows}
    external = pd.Series([r.code for r in rows], index=[r.external_code for r in rows])
    unique = external[~external.index.duplicated(keep=False)]
    return given.map(lambda g: by_code.get(g) or unique.get(g))


def import_rooms(conn: Connection, frame: pd.DataFrame, fields: dict[str, str]) -> int:
    """Write the rooms of ``frame`` (a table read as text); refuse the file on any bad row."""
    cols = _columns(frame, fields)
    if cols["building_code"] is None and cols["code"] is None:
        raise InvalidInput("rooms need a building_code column (with unit, floor, room) or a "
                           "room code column; name them with --field building_code=COLUMN")
    rooms = pd.DataFrame(index=frame.index)
    for ours, theirs in cols.items():
        rooms[ours] = frame[theirs] if theirs is not None else None
    if cols["code"] is None:
        rooms["building_code"] = _building_codes(conn, rooms["building_code"])
        unknown = rooms["building_code"].isna()
        if unknown.any():
            raise InvalidInput(f"rows {rows_of(unknown)[:20]} name no stored building (by "
                               "code or external code)", rows=rows_of(unknown))
    try:
        codes = rooms["code"] if cols["code"] else rooms.apply(_room_code, axis=1)
        parsed = [parse(str(c)) for c in codes]
    except (InvalidCode, InvalidInput, ValueError) as exc:
        raise InvalidInput(f"a room cannot be coded: {exc}") from None
    out = pd.DataFrame({"building_code": [p.building_code for p in parsed],
                        "code": [p.code for p in parsed], "unit": [p.unit for p in parsed],
                        "floor": [p.floor for p in parsed], "number": [p.room for p in parsed]})
    ids: dict[str, int] = dict(conn.execute(
        text("SELECT code, id FROM buildings WHERE code = ANY(:c)"),
        {"c": sorted(set(out["building_code"]))}).all())
    out["building_id"] = out["building_code"].map(ids)
    if out["building_id"].isna().any():
        raise InvalidInput(f"rows {rows_of(out['building_id'].isna())[:20]} are rooms of "
                           "buildings that are not stored")
    repeated = sorted(set(out["code"][out["code"].duplicated()]))
    stored = conn.execute(text("SELECT code FROM rooms WHERE code = ANY(:c) ORDER BY code"),
                          {"c": out["code"].tolist()}).scalars().all()
    if repeated or stored:
        raise InvalidInput(f"room codes repeated in the file {repeated[:5]} or already "
                           f"stored {list(stored[:5])}", code="room_code")
    return copy_frame(conn, "rooms", out[["building_id", "code", "unit", "floor", "number"]])

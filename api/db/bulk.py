"""Bulk writes with PostgreSQL COPY (geometries as hex EWKB)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text


def ewkb_hex(geoms: gpd.GeoSeries | Sequence[Any], srid: int = 4326) -> list[str | None]:
    """Hex EWKB of each geometry (None stays None), tagged with ``srid``."""
    arr = np.asarray(geoms, dtype=object)
    arr = shapely.set_srid(arr, srid)
    return list(shapely.to_wkb(arr, hex=True, include_srid=True))


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, np.generic):
        return value.item()
    return value


def copy_rows(conn: Connection, table: str, columns: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` into ``table(columns)`` on the connection's current transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None  # noqa: S101 - an invariant, for the type checker
    n = 0
    cols = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_cell(v) for v in row])
            n += 1
    return n


def copy_frame(conn: Connection, table: str, frame: pd.DataFrame,
               columns: dict[str, str] | None = None, geometry: str | None = None) -> int:
    """COPY a (Geo)DataFrame: ``columns`` maps frame columns to table columns."""
    columns = columns or {c: c for c in frame.columns if c != geometry}
    data = [frame[c].astype(object).where(frame[c].notna(), None).tolist()
            for c in columns]
    names = list(columns.values())
    if geometry is not None:
        data.append(ewkb_hex(frame[geometry]))
        names.append("geom")
    return copy_rows(conn, table, names, zip(*data, strict=True))


def reset_sequence(conn: Connection, table: str, column: str = "id") -> None:
    """Move the id sequence of ``table`` past its largest id (after COPY with explicit ids)."""
    conn.execute(text(
        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "  # noqa: S608 - SQL from trusted parts; values bound
        f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"))

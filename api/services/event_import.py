"""Import events from a file (e.g. a hotline export) through the batch pipeline.

Columns are found by common names or given by ``fields`` (``category``,
``reported_at``, ``description``, ``address``, ``external_id``); a category map
(their names -> our category codes) makes foreign exports importable. Each
event gets its grid in every layer, its department from the category and its
due time from the category's time limit, with a first history row.
"""

from __future__ import annotations

import secrets

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from api.services import assignment
from api.services.bulk import copy_frame
from gis_core.errors import InvalidInput


def _pick(frame: pd.DataFrame, given: str | None, names: tuple[str, ...]) -> str | None:
    if given:
        if given not in frame.columns:
            raise InvalidInput(f"field {given!r} is not in the file")
        return given
    lower = {str(c).lower(): str(c) for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def import_event_frame(conn: Connection, frame: gpd.GeoDataFrame, options: object) -> int:
    """Write the events of ``frame``; ``options`` is an ``ImportOptions``."""
    fields: dict[str, str] = getattr(options, "fields", {})
    category_map: dict[str, str] = getattr(options, "category_map", {}) or {}
    cat_col = _pick(frame, fields.get("category"),
                    ("category", "category_code", "service_code", "requesttype", "srtype",
                     "complaint type"))
    if cat_col is None:
        raise InvalidInput("no category column; name it with --field category=COLUMN")
    when_col = _pick(frame, fields.get("reported_at"),
                     ("reported_at", "createddate", "created date", "requested_datetime"))
    cats = pd.DataFrame(conn.execute(text(
        "SELECT c.code, c.id, c.department_id, c.time_limit_hours FROM event_categories c"
    )).mappings().all())
    if cats.empty:
        raise InvalidInput("the category catalogue is empty: load categories first")
    raw = frame[cat_col].astype(str).str.strip()
    codes = raw.map(lambda v: category_map.get(v, v))
    known = codes.isin(set(cats["code"]))
    if not known.all():
        unknown = sorted(set(raw[~known]))[:10]
        raise InvalidInput(f"{int((~known).sum())} rows have categories with no mapping: "
                           f"{unknown}; map them with --category-map", unknown=unknown)
    info = cats.set_index("code").loc[codes.to_numpy()]
    reported = (pd.to_datetime(frame[when_col], utc=True, errors="coerce", format="mixed")
                if when_col else pd.Series(pd.Timestamp.now(tz="UTC"), index=frame.index))
    if reported.isna().any():
        rows = (np.flatnonzero(reported.isna().to_numpy()) + 1).tolist()
        raise InvalidInput(f"rows {rows[:20]} have no readable report time", rows=rows)
    desc_col = _pick(frame, fields.get("description"), ("description", "descriptor"))
    addr_col = _pick(frame, fields.get("address"), ("address", "incident address"))
    start = conn.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar_one()
    ids = np.arange(start + 1, start + 1 + len(frame), dtype=np.int64)
    out = gpd.GeoDataFrame({
        "id": ids,
        "public_token": [secrets.token_hex(8) for _ in range(len(frame))],
        "category_id": info["id"].to_numpy(),
        "department_id": info["department_id"].to_numpy(),
        "description": frame[desc_col].to_numpy() if desc_col else None,
        "address": frame[addr_col].to_numpy() if addr_col else None,
        "channel": "hotline",
        "status": "registered",
        "reported_at": reported.to_numpy(),
        "registered_at": reported.to_numpy(),
        "due_at": (reported + pd.to_timedelta(info["time_limit_hours"].to_numpy(), "h"))
        .to_numpy(),
    }, geometry=frame.geometry.values, crs=4326)
    n = copy_frame(conn, "events", out, {c: c for c in out.columns if c != "geometry"},
                   "geometry")
    conn.execute(text("SELECT setval(pg_get_serial_sequence('events', 'id'), :v)"),
                 {"v": int(ids[-1]) if len(ids) else max(start, 1)})
    conn.execute(text(
        "INSERT INTO event_history (event_id, action, from_status, to_status, actor, at) "
        "SELECT id, 'import', NULL, status, 'import', reported_at FROM events "
        "WHERE id > :start"), {"start": start})
    assignment.assign_events(conn, f"e.id > {int(start)}")
    return n

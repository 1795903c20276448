"""Import events from a file (e.g. a hotline or 311 export) through the batch pipeline.

The same pipeline as intake, vectorised for a whole file in one transaction:

1. columns: our fields are found by common names or given by ``options.fields``
   (our field -> their column): ``category``, ``reported_at``, ``closed_at``,
   ``description``, ``address``, ``external_id``, ``channel``;
2. categories: their names map to our codes through ``options.category_map``
   (our codes and our category names, when unique, are understood as they are)
   (a ``"*"`` entry is the default for names not in the map; without it an
   unmapped name is refused, listing the first ones);
3. grids: the in-memory ``gis_core.grid_index.GridIndex`` over the stored grids,
   once per period of grid versions (an event counts in the grids valid at its
   report time); community from the basic grid, street from the community's parent;
4. department: the routing rules (``api.events.routing.route_rows``, intake's
   statement for a batch), else the category's default department;
5. times: naive ones are local time in ``options.timezone``, stored in UTC;
   channels from a channel column (mapped by ``options.channel_map``) or
   ``options.channel`` (:mod:`api.imports.event_fields`);
   due time = report time + the category's time limit; status ``closed`` when the
   file has a close time, else ``dispatched`` when a department is found (at the
   report time, as intake's automatic dispatch), else ``registered``;
6. rows: events and their history (``register``, ``dispatch``, ``close`` by
   ``import``) are written with ``COPY ... (FORMAT csv)`` in chunks; ids come
   from the events sequence, so concurrent intake is safe.

Rows without coordinates are dropped by the reader; events outside every grid are
kept with empty ``grids`` (historical data is kept as it is).
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from api.audit.service import record
from api.calendar.deadlines import first_deadlines
from api.events.routing import grid_codes, route_rows
from api.imports.event_fields import channels, utc_times
from gis_core.errors import InvalidInput

CHUNK = 100_000
EVENT_COLUMNS = ("id", "public_token", "category_id", "description", "status", "channel",
                 "geom", "address", "grids", "community_code", "street_code", "department_id",
                 "reported_at", "registered_at", "dispatched_at", "closed_at", "due_at",
                 "attributes")
HISTORY_COLUMNS = ("event_id", "action", "from_status", "to_status", "actor", "at")
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "category": ("category", "category_code", "service_code", "requesttype", "srtype",
                 "complaint type", "service_name", "事件类型", "问题类型", "事件类别"),
    "reported_at": ("reported_at", "createddate", "created date", "requested_datetime",
                    "created_date", "受理时间", "上报时间", "创建时间"),
    "closed_at": ("closed_at", "closeddate", "closed date", "closed_date", "结案时间",
                  "办结时间"),
    "description": ("description", "descriptor", "问题描述", "事件描述"),
    "address": ("address", "incident address", "incident_address", "地址", "事发地址"),
    "external_id": ("external_id", "srnumber", "unique key", "service_request_id",
                    "工单编号", "工单号"),
    "channel": ("channel", "渠道", "来源渠道"),
}


def _pick(frame: pd.DataFrame, given: str | None, names: tuple[str, ...]) -> str | None:
    if given:
        if given not in frame.columns:
            raise InvalidInput(f"field {given!r} is not in the file; columns: "
                               f"{', '.join(map(str, frame.columns))}")
        return given
    lower = {str(c).lower().strip(): str(c) for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def _times(frame: pd.DataFrame, column: str | None, what: str, required: bool,
           timezone: str) -> pd.Series:
    if column is None:
        if required:
            return pd.Series(pd.Timestamp.now(tz="UTC"), index=frame.index)
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    values = utc_times(frame[column], timezone)
    if required and values.isna().any():
        rows = (np.flatnonzero(values.isna().to_numpy()) + 1).tolist()
        raise InvalidInput(f"rows {rows[:20]} have no readable {what}", rows=rows)
    return values


def _categories(conn: Connection, raw: pd.Series, category_map: dict[str, str]
                ) -> pd.DataFrame:
    cats = pd.DataFrame(conn.execute(text(
        "SELECT code, name, id, major_code, department_id, time_limit_hours "
        "FROM event_categories"
    )).mappings().all())
    if cats.empty:
        raise InvalidInput("the category catalogue is empty: load categories first")
    raw = raw.fillna("").astype(str).str.strip()
    default = category_map.get("*")
    codes = raw.map(category_map).astype(object)
    direct = raw.where(raw.isin(set(cats["code"])))
    names = cats.drop_duplicates("name", keep=False).set_index("name")["code"]
    codes = codes.fillna(direct).fillna(raw.map(names))
    if default is not None:
        codes = codes.fillna(default)
    known = codes.isin(set(cats["code"]))
    if not known.all():
        unknown = sorted(set(raw[~known]))[:10]
        raise InvalidInput(f"{int((~known).sum())} rows have categories with no mapping: "
                           f"{unknown}; map them with --category-map (a '*' entry is the "
                           "default)", unknown=unknown)
    info = cats.set_index("code").loc[codes.to_numpy()].reset_index()
    info.index = raw.index
    return info


def _grids(conn: Connection) -> tuple[dict[str, bool], gpd.GeoDataFrame]:
    """Exclusive flag per layer and every grid version (code, layer, validity, community)."""
    grids = gpd.read_postgis(text(
        "SELECT g.code, l.name AS layer, g.valid_from, g.valid_to, g.community_code, g.geom "
        "FROM grids g JOIN grid_layers l ON l.id = g.layer_id ORDER BY g.id"),
        conn, geom_col="geom")
    layers: dict[str, bool] = {str(n): bool(e) for n, e in conn.execute(text(
        "SELECT name, exclusive FROM grid_layers ORDER BY id"))}
    return layers, grids if grids.empty else grids.set_crs(4326, allow_override=True)


def assign_grids(conn: Connection, lon: np.ndarray, lat: np.ndarray,
                 reported: pd.Series) -> tuple[pd.DataFrame, dict[str, bool], pd.DataFrame]:
    """Grid per layer of each point at its report time (one GridIndex pass per period)."""
    from gis_core.batch import assign_at_times

    layers, grids = _grids(conn)
    return assign_at_times(grids, layers, lon, lat, reported), layers, grids


def grids_json(assigned: pd.DataFrame, layers: dict[str, bool]) -> pd.Series:
    """The ``events.grids`` JSON text of each row, built column by column.

    Examples
    --------
    >>> frame = pd.DataFrame({"basic": ["A", None], "extra": [["X", "Y"], None]})
    >>> grids_json(frame, {"basic": True, "extra": False}).tolist()
    ['{"basic": "A", "extra": ["X", "Y"]}', '{}']
    """
    out = pd.Series("", index=assigned.index, dtype=object)
    for name in assigned.columns:
        col = assigned[name]
        present = col.notna().to_numpy()
        if not present.any():
            continue
        if layers.get(name, True):
            values = col[present].astype(str)
            uniq = pd.unique(values)
            encoded = values.map(dict(zip(uniq, map(json.dumps, uniq), strict=True)))
        else:
            encoded = col[present].map(lambda v: json.dumps(sorted(map(str, v))))
        part = json.dumps(name) + ": " + encoded
        current = out[present]
        out[present] = np.where(current == "", part, current + ", " + part)
    return "{" + out + "}"


def _admin_places(conn: Connection, assigned: pd.DataFrame, layers: dict[str, bool],
                  grids: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    n = len(assigned)
    basic = [name for name, exclusive in layers.items() if exclusive]
    if not basic or grids.empty:
        empty = pd.Series([None] * n, index=assigned.index, dtype=object)
        return empty, empty.copy()
    kinds = {str(r[0]): str(r[1]) for r in conn.execute(text(
        "SELECT name, kind FROM grid_layers"))}
    name = next((b for b in basic if kinds.get(b) == "basic"), basic[0])
    sub = grids[(grids["layer"] == name) & grids["community_code"].notna()]
    community = assigned[name].map(dict(zip(sub["code"], sub["community_code"], strict=True)))
    parents = {str(r[0]): r[1] for r in conn.execute(text(
        "SELECT code, parent_code FROM admin_areas WHERE level = 'community'"))}
    street = community.map(parents)
    street = street.where(street.notna(), community.str.slice(0, 9))
    return community.astype(object), street.astype(object)


def route_frame(conn: Connection, info: pd.DataFrame, assigned: pd.DataFrame,
                community: pd.Series, street: pd.Series) -> pd.Series:
    """Department per row: routing rules by precedence, else the category default."""
    codes = [grid_codes(dict(zip(assigned.columns, row, strict=True)))
             for row in assigned.itertuples(index=False, name=None)]
    found = route_rows(conn, info["id"].tolist(), codes,
                       [c if isinstance(c, str) else None for c in community],
                       [s if isinstance(s, str) else None for s in street])
    return pd.Series(found, index=info.index, dtype="Float64")


def _iso_text(values: pd.Series) -> np.ndarray:
    """UTC timestamps as ISO text for COPY (vectorised; NaT -> None).

    Examples
    --------
    >>> _iso_text(pd.Series(pd.to_datetime(["2024-01-02 03:04:05", None], utc=True))).tolist()
    ['2024-01-02T03:04:05.000000+00', None]
    """
    raw = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    out = np.char.add(np.datetime_as_string(raw, unit="us"), "+00").astype(object)
    out[np.isnat(raw)] = None
    return out


def _copy_csv(conn: Connection, table: str, columns: Iterable[str], frame: pd.DataFrame
              ) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None  # noqa: S101 - an invariant, for the type checker
    cols = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as cp:
        for start in range(0, len(frame), CHUNK):
            buf = io.StringIO()
            chunk = frame.iloc[start:start + CHUNK]
            for col in chunk.columns:
                if isinstance(chunk[col].dtype, pd.DatetimeTZDtype):
                    chunk = chunk.assign(**{col: _iso_text(chunk[col])})
            chunk.to_csv(buf, index=False, header=False)
            cp.write(buf.getvalue())


def _history(events: pd.DataFrame) -> pd.DataFrame:
    dispatched = events["dispatched_at"].notna().to_numpy()
    closed = events["closed_at"].notna().to_numpy()
    parts = [pd.DataFrame({"event_id": events["id"], "action": "register", "from_status": None,
                           "to_status": "registered", "actor": "import",
                           "at": events["reported_at"]})]
    parts.append(pd.DataFrame({
        "event_id": events["id"][dispatched], "action": "dispatch",
        "from_status": "registered", "to_status": "dispatched", "actor": "import",
        "at": events["dispatched_at"][dispatched]}))
    before = np.where(dispatched, "dispatched", "registered")[closed]
    parts.append(pd.DataFrame({
        "event_id": events["id"][closed], "action": "close", "from_status": before,
        "to_status": "closed", "actor": "import", "at": events["closed_at"][closed]}))
    return pd.concat(parts, ignore_index=True)


def import_event_frame(conn: Connection, frame: gpd.GeoDataFrame, options: object) -> int:
    """Write the events of ``frame`` (EPSG:4326 points); ``options`` is an ``ImportOptions``."""
    fields: dict[str, str] = getattr(options, "fields", {}) or {}
    category_map: dict[str, str] = getattr(options, "category_map", {}) or {}
    unknown = set(fields) - set(FIELD_NAMES)
    if unknown:
        raise InvalidInput(f"--field: unknown fields {sorted(unknown)}; ours are "
                           f"{', '.join(FIELD_NAMES)}")
    cols = {k: _pick(frame, fields.get(k), names) for k, names in FIELD_NAMES.items()}
    if cols["category"] is None:
        raise InvalidInput("no category column; name it with --field category=COLUMN")
    if not (shapely.get_type_id(frame.geometry.values) == 0).all():
        raise InvalidInput("events must be points")
    frame = frame.reset_index(drop=True)
    n = len(frame)
    if n == 0:
        return 0
    info = _categories(conn, frame[cols["category"]], category_map)
    timezone: str = getattr(options, "timezone", None) or "UTC"
    reported = _times(frame, cols["reported_at"], "report time", True, timezone)
    closed = _times(frame, cols["closed_at"], "close time", False, timezone)
    channel = channels(frame[cols["channel"]] if cols["channel"] else None, n,
                       getattr(options, "channel", None) or "hotline",
                       getattr(options, "channel_map", {}) or {})
    lon = shapely.get_x(frame.geometry.values)
    lat = shapely.get_y(frame.geometry.values)
    assigned, layers, grids = assign_grids(conn, lon, lat, reported)
    assigned.index = frame.index
    community, street = _admin_places(conn, assigned, layers, grids)
    dept = route_frame(conn, info, assigned, community, street)
    has_dept = dept.notna().to_numpy()
    is_closed = closed.notna().to_numpy()
    ids = np.asarray(conn.execute(text(
        "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, :n)"),
        {"n": n}).scalars().all(), dtype=np.int64)
    external = frame[cols["external_id"]] if cols["external_id"] else None
    events = pd.DataFrame({
        "id": ids,
        "public_token": [secrets.token_urlsafe(12) for _ in range(n)],
        "category_id": info["id"].to_numpy(),
        "description": frame[cols["description"]].to_numpy() if cols["description"] else None,
        "status": np.where(is_closed, "closed", np.where(has_dept, "dispatched", "registered")),
        "channel": channel,
        "geom": shapely.to_wkb(shapely.set_srid(frame.geometry.values, 4326), hex=True,
                               include_srid=True),
        "address": frame[cols["address"]].to_numpy() if cols["address"] else None,
        "grids": grids_json(assigned, layers).to_numpy(),
        "community_code": community.to_numpy(),
        "street_code": street.to_numpy(),
        "department_id": dept.astype("Int64").to_numpy(),
        "reported_at": reported,
        "registered_at": reported,
        "dispatched_at": reported.where(has_dept),
        "closed_at": closed,
        "due_at": None,  # below: the calendar's deadlines, in one statement
        "attributes": ("{\"external_id\": " + external.astype(str).map(json.dumps) + "}"
                       ).to_numpy() if external is not None else "{}",
    })
    events["due_at"] = first_deadlines(conn, events["category_id"], events["status"],
                                       reported, street.where(street.notna(), community))
    _copy_csv(conn, "events", EVENT_COLUMNS, events)
    _copy_csv(conn, "event_history", HISTORY_COLUMNS, _history(events))
    record(conn, actor=getattr(options, "actor", "import"), action="event.import",
           object_type="event",
           details={"count": n, "first_id": int(ids[0]), "last_id": int(ids[-1])})
    return n

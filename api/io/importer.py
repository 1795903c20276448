"""Import admin areas, grids, buildings, rooms, cameras, events and the catalogue.

Reads GeoPackage, Shapefile, GeoJSON (pyogrio), CSV and XLSX (lon/lat columns or
a WKT column), reprojects from any CRS to EPSG:4326, validates geometries and
writes everything in one transaction: a failed import changes nothing. The
checks and links that make the result a working district (GB/T 2260 codes,
communities, standard building codes, rooms, the catalogue) live in
:mod:`api.imports`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from api.audit.service import record
from api.catalogue.imports import import_catalogue, read_catalogue
from api.codes import service as codes_service
from api.db.bulk import copy_frame
from api.grids import assignment
from api.grids import qa as grid_qa
from api.imports import communities
from api.imports.admin_codes import TABLE, DivisionTable, parent_codes
from api.imports.buildings import building_codes
from api.imports.reading import check_geometries, read_any
from api.imports.rooms import import_rooms
from api.imports.tables import find_column, read_table
from gis_core.errors import InvalidGeometry, InvalidInput
from gis_core.topology import TopologyReport

Kind = Literal["admin", "grids", "buildings", "rooms", "cameras", "events", "catalogue"]
KINDS: tuple[str, ...] = ("admin", "grids", "buildings", "rooms", "cameras", "events",
                          "catalogue")
#: kinds read as plain tables (no geometry)
TABLE_KINDS = ("rooms", "catalogue")


@dataclass
class ImportOptions:
    """What to read from the file and how to write it."""

    layer: str | None = None
    crs: str | None = None
    #: an OGR SQL condition on the features read (GIS files only), e.g. ``qh = '南山'``
    where: str | None = None
    code_field: str | None = None
    name_field: str | None = None
    source_layer: str | None = None
    invalid: Literal["refuse", "repair"] = "refuse"
    layer_kind: str = "basic"
    exclusive: bool = True
    #: import an exclusive grid layer even when it has gaps or overlaps
    allow_invalid: bool = False
    level: str | None = None
    parent_field: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    category_map: dict[str, str] = field(default_factory=dict)
    #: buildings: the column kept as ``external_code`` (default: the first of
    #: :data:`api.imports.buildings.EXTERNAL_NAMES` found)
    external_code_field: str | None = None
    #: buildings outside every community: ``grids``, ``nearest`` or ``refuse``
    community_from: str = "refuse"
    #: admin: take codes from names (``name_field``) in the GB/T 2260 table
    code_from_name: bool = False
    #: admin: the parent code names are looked up within (``4403``)
    within: str | None = None
    #: admin: the GB/T 2260 table (default: the one in ``data_samples/``)
    admin_codes: str | Path = TABLE
    #: events: the zone of times without one (IANA name; default GRIDGOV_TIMEZONE)
    timezone: str | None = None
    #: events: the channel of rows without one
    channel: str | None = None
    #: events: their channel values -> ours (``"*"``: every other value)
    channel_map: dict[str, str] = field(default_factory=dict)
    #: who imports (the audit rows' actor)
    actor: str = "import"
    #: grids: called with (layer, exclusive, report) of ``gridgov grids check``
    on_report: Callable[[str, bool, TopologyReport], None] | None = None


def _polygonal(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep the polygonal part of each geometry as a MultiPolygon."""
    out = []
    for g in frame.geometry.values:
        parts = [p for p in getattr(g, "geoms", [g])
                 if p.geom_type in ("Polygon", "MultiPolygon")]
        polys = [q for p in parts for q in getattr(p, "geoms", [p])]
        out.append(shapely.MultiPolygon(polys) if polys else None)
    frame = frame.copy()
    frame["geometry"] = out
    empty = frame.geometry.isna()
    if empty.any():
        rows = (np.flatnonzero(empty.to_numpy()) + 1).tolist()
        raise InvalidGeometry(f"rows {rows[:20]} have no polygon geometry", rows=rows)
    return frame


def _column(frame: pd.DataFrame, name: str | None, fallbacks: tuple[str, ...],
            what: str, required: bool = True) -> pd.Series | None:
    if name is not None:
        if name not in frame.columns:
            raise InvalidInput(f"field {name!r} for {what} is not in the file; "
                               f"fields: {', '.join(map(str, frame.columns))}")
        return frame[name]
    found = find_column(frame, fallbacks)
    if found is None:
        if required:
            raise InvalidInput(f"no field for {what}; name it with --{what}-field "
                               f"(fields: {', '.join(map(str, frame.columns))})")
        return None
    return frame[found]


def _as_code(series: pd.Series) -> pd.Series:
    s = series.astype(str).str.strip()
    s = s.str.replace(r"\.0$", "", regex=True)
    if s.eq("").any() or series.isna().any():
        rows = (np.flatnonzero((s.eq("") | series.isna()).to_numpy()) + 1).tolist()
        raise InvalidInput(f"rows {rows[:20]} have no code", rows=rows)
    dup = s[s.duplicated()]
    if len(dup):
        raise InvalidInput(f"duplicate codes in the file: {sorted(set(dup))[:10]}")
    return s


def import_file(engine: Engine, kind: str, path: str | Path, options: ImportOptions
                ) -> dict[str, int]:
    """Import one file of ``kind`` in one transaction; return counts."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind in TABLE_KINDS:
        return _table_kind(engine, kind, path, options)
    frame = read_any(path, options.crs, options.source_layer, options.where)
    frame = check_geometries(frame, options.invalid)
    with engine.begin() as conn:
        n = {"admin": _admin, "grids": _grids, "buildings": _buildings,
             "cameras": _cameras, "events": _events}[kind](conn, frame, options)
        if kind != "events":  # the events import writes its own row (with the id range)
            _audit(conn, kind, path, n, options)
    return {kind: n}


def _audit(conn: Connection, kind: str, path: str | Path, n: int, o: ImportOptions) -> None:
    record(conn, actor=o.actor, action=f"{kind}.import", object_type=kind,
           details={"count": n, "file": Path(path).name,
                    **({"layer": o.layer} if kind == "grids" else {})})


def _table_kind(engine: Engine, kind: str, path: str | Path, o: ImportOptions
                ) -> dict[str, int]:
    with engine.begin() as conn:
        if kind == "rooms":
            n = import_rooms(conn, read_table(path), o.fields)
            _audit(conn, kind, path, n, o)
            return {"rooms": n}
        categories, departments = read_catalogue(path)
        return import_catalogue(conn, categories, departments, actor=o.actor)


def _admin_codes(frame: gpd.GeoDataFrame, o: ImportOptions) -> tuple[pd.Series, pd.Series]:
    """Codes checked against the GB/T 2260 table (or taken from the names) and names."""
    if o.level is None:
        raise InvalidInput("parameter 'level': give the admin level "
                           "(city, district, street or community)", parameter="level")
    table = DivisionTable.load(o.admin_codes)
    if o.code_from_name:
        names = _column(frame, o.name_field, ("name", "qh", "mc"), "name")
        assert names is not None  # noqa: S101 - an invariant, for the type checker
        return table.codes_for_names(names, o.level, o.within), names
    codes = _as_code(_column(frame, o.code_field, ("code", "adcode", "qh"), "code"))
    table.check(codes, o.level)
    names = _column(frame, o.name_field, ("name", "qh", "mc"), "name", required=False)
    return codes, names if names is not None else codes.map(lambda c: table.names.get(c, c))


def _admin(conn: Connection, frame: gpd.GeoDataFrame, o: ImportOptions) -> int:
    frame = _polygonal(frame)
    codes, names = _admin_codes(frame, o)
    parents = _column(frame, o.parent_field, ("parent_code", "parent"), "parent",
                      required=False)
    stored = set(conn.execute(text("SELECT code FROM admin_areas")).scalars())
    again = sorted(set(codes) & stored)
    if again:
        raise InvalidInput(f"{len(again)} admin codes of the file are already stored: "
                           f"{again[:10]}", code="admin_code")
    if parents is None:
        parents = parent_codes(codes, stored | set(codes))
    unknown = sorted(set(parents.dropna().astype(str)) - stored - set(codes))
    if unknown:
        raise InvalidInput(f"parent codes {unknown[:10]} are neither stored nor in the file: "
                           "import the areas above first", parameter="parent_field")
    out = gpd.GeoDataFrame({"code": codes.to_numpy(), "name": names.to_numpy(),
                            "level": o.level, "parent_code": parents.to_numpy()},
                           geometry=frame.geometry.values, crs=4326)
    n = copy_frame(conn, "admin_areas", out,
                   {"code": "code", "name": "name", "level": "level",
                    "parent_code": "parent_code"}, "geometry")
    if o.level == "community":
        for layer, exclusive in grid_qa.layers(conn).items():
            if exclusive:
                communities.link_grids(conn, layer)
    return n


def _grids(conn: Connection, frame: gpd.GeoDataFrame, o: ImportOptions) -> int:
    if not o.layer:
        raise InvalidInput("parameter 'layer': name the grid layer to import into")
    frame = _polygonal(frame)
    codes = _as_code(_column(frame, o.code_field, ("code", "grid_code", "id"), "code"))
    names = _column(frame, o.name_field, ("name",), "name", required=False)
    given = _column(frame, o.fields.get("community_code"), ("community_code",),
                    "community_code", required=False)
    _check_communities(conn, given)
    layer_id = conn.execute(text(
        "INSERT INTO grid_layers (name, kind, exclusive) VALUES (:n, :k, :e) "
        "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id"),
        {"n": o.layer, "k": o.layer_kind, "e": o.exclusive}).scalar_one()
    existing = conn.execute(text("SELECT count(*) FROM grids WHERE layer_id = :l "
                                 "AND code = ANY(:c)"),
                            {"l": layer_id, "c": codes.tolist()}).scalar_one()
    if existing:
        raise InvalidInput(f"{existing} of these grid codes already exist in layer {o.layer!r}")
    out = gpd.GeoDataFrame({"layer_id": layer_id, "code": codes,
                            "name": names if names is not None else None,
                            "community_code": given if given is not None else None},
                           geometry=frame.geometry.values, crs=4326)
    n = copy_frame(conn, "grids", out, {"layer_id": "layer_id", "code": "code",
                                        "name": "name", "community_code": "community_code"},
                   "geometry")
    if o.exclusive:
        communities.link_grids(conn, o.layer)
    exclusive, report = grid_qa.check_layer(conn, o.layer)
    if o.on_report is not None:
        o.on_report(o.layer, exclusive, report)
    if not o.allow_invalid:
        grid_qa.refuse_errors(o.layer, exclusive, report)
    assignment.assign_buildings(conn)
    assignment.assign_cameras(conn)
    return n


def _check_communities(conn: Connection, given: pd.Series | None) -> None:
    if given is None:
        return
    named = sorted(set(given.dropna().astype(str)))
    stored = set(conn.execute(text("SELECT code FROM admin_areas WHERE level = 'community' "
                                   "AND code = ANY(:c)"), {"c": named}).scalars())
    unknown = [c for c in named if c not in stored]
    if unknown:
        raise InvalidInput(f"community codes {unknown[:10]} of the file are not stored "
                           "communities: import them first (gridgov import admin FILE "
                           "--level community)", parameter="community_code")


def _buildings(conn: Connection, frame: gpd.GeoDataFrame, o: ImportOptions) -> int:
    frame = _polygonal(frame)
    data = building_codes(conn, frame, o.code_field, o.external_code_field, o.community_from)
    stored = conn.execute(text("SELECT code FROM buildings WHERE code = ANY(:c) ORDER BY code"),
                          {"c": data["code"].tolist()}).scalars().all()
    if stored:
        raise InvalidInput(f"{len(stored)} building codes of the file are already stored: "
                           f"{list(stored[:5])}", code="building_code")
    for target, names in (("address", ("address", "addr")), ("name", ("name", "building_name")),
                          ("floors", ("floors", "floor", "storeys")),
                          ("height", ("height", "heightroof", "max_hgt", "approx_hgt"))):
        col = _column(frame, o.fields.get(target), names, target, required=False)
        data[target] = col if col is not None else None
    out = gpd.GeoDataFrame(data, geometry=frame.geometry.values, crs=4326)
    out["floors"] = pd.to_numeric(out["floors"], errors="coerce").round().astype("Int64")
    out["height"] = pd.to_numeric(out["height"], errors="coerce")
    columns = ("code", "external_code", "community_code", "address", "name", "floors",
               "height")
    n = copy_frame(conn, "buildings", out, {c: c for c in columns}, "geometry")
    assignment.assign_buildings(conn, "b.code = ANY(ARRAY[" + ",".join(
        "'" + c.replace("'", "''") + "'" for c in out["code"]) + "])")
    codes_service.fill_beidou_codes(conn)
    return n


def _cameras(conn: Connection, frame: gpd.GeoDataFrame, o: ImportOptions) -> int:
    geoms = frame.geometry.values
    if not (shapely.get_type_id(geoms) == 0).all():
        raise InvalidGeometry("cameras must be points")
    codes = _as_code(_column(frame, o.code_field, ("code", "id", "location id"), "code"))
    data: dict[str, object] = {"code": codes}
    for target, names in (("name", ("name", "address", "intersection")),
                          ("heading", ("heading",)), ("hfov", ("hfov",)),
                          ("range_m", ("range_m", "range")),
                          ("mount_height", ("mount_height", "height"))):
        col = _column(frame, o.fields.get(target), names, target, required=False)
        data[target] = col
    out = gpd.GeoDataFrame(data, geometry=geoms, crs=4326)
    defaults = {"heading": 0.0, "hfov": 60.0, "range_m": 50.0, "mount_height": 6.0}
    for col, value in defaults.items():
        out[col] = pd.to_numeric(out[col], errors="coerce").fillna(value)
    n = copy_frame(conn, "cameras", out,
                   {c: c for c in ("code", "name", "heading", "hfov", "range_m",
                                   "mount_height")}, "geometry")
    assignment.assign_cameras(conn)
    return n


def _events(conn: Connection, frame: gpd.GeoDataFrame, o: ImportOptions) -> int:
    from api.events.bulk_import import import_event_frame
    from api.settings import APISettings

    return import_event_frame(conn, frame, replace(o, timezone=o.timezone
                                                   or APISettings().timezone))

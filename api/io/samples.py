"""Load a sample directory (written by ``gridgov sample``) into the database.

The whole load is one transaction: a failed load changes nothing. Reporters'
contacts are stored encrypted (``api.personal``). A province sample
(``--scale province``) is loaded part by part: the shared catalogue and the
cities first, then each district's directory, so that only one district's
files are in memory at a time; the grids of every event, building and camera
are written once at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Engine, text

from api.codes.service import fill_beidou_codes
from api.db.bulk import copy_frame, reset_sequence
from api.grids import assignment
from api.people.sample import load_people
from api.personal.cipher import PersonalCipher
from api.personal.service import seal

Progress = Callable[[str, int, int], None]

LEVEL_ORDER = {"city": 0, "district": 1, "street": 2, "community": 3}
TABLES = ("event_history", "events", "rooms", "buildings", "cameras", "roads", "grids",
          "grid_layers", "event_categories", "departments", "admin_areas")


class LoadError(RuntimeError):
    """The sample directory is incomplete or the database already holds data."""


def _codes(conn: Connection, table: str) -> dict[str, int]:
    """Map code -> id of a table (trusted table name)."""
    rows = conn.execute(text(f"SELECT code, id FROM {table}")).all()  # noqa: S608 - SQL from trusted parts; values bound
    return {str(code): int(i) for code, i in rows}


def is_empty(conn: Connection) -> bool:
    """Whether the database holds no grids, buildings or events."""
    return not conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM grids) OR EXISTS (SELECT 1 FROM buildings) "
        "OR EXISTS (SELECT 1 FROM events)")).scalar_one()


def clear(conn: Connection) -> None:
    """Delete every row of the core tables."""
    conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))


def _read_layer(directory: Path, layer: str) -> gpd.GeoDataFrame:
    frame = gpd.read_file(directory / "sample.gpkg", layer=layer, engine="pyogrio")
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        frame = frame.set_crs(4326, allow_override=True) if frame.crs is None \
            else frame.to_crs(4326)
    return frame


def _multi(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import shapely

    geoms = frame.geometry.values
    kinds = shapely.get_type_id(geoms)
    out = frame.copy()
    polys = kinds == 3
    lines = kinds == 1
    if polys.any():
        out.loc[polys, "geometry"] = [shapely.MultiPolygon([g]) for g in geoms[polys]]
    if lines.any():
        out.loc[lines, "geometry"] = [shapely.MultiLineString([g]) for g in geoms[lines]]
    return out


def load_directory(engine: Engine, directory: str | Path, *, replace: bool = False,
                   progress: Progress | None = None,
                   personal: PersonalCipher | None = None) -> dict[str, int]:
    """Load every file of a sample directory; return row counts per table.

    ``personal`` encrypts the reporters' contacts; by default the cipher of the
    key the environment's settings name (``PersonalCipher.from_settings``).
    """
    directory = Path(directory)
    if personal is None:
        from api.settings import Settings

        personal = PersonalCipher.from_settings(Settings())
    if not (directory / "sample.gpkg").exists():
        raise LoadError(f"{directory} has no sample.gpkg: run 'gridgov sample --out {directory}'")
    parts = _province_parts(directory)
    steps = _steps(directory, personal) if parts is None \
        else _province_steps(directory, parts, personal)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        if not is_empty(conn):
            if not replace:
                raise LoadError("the database already holds data; use --replace to clear it")
            clear(conn)
        for i, (label, table, step) in enumerate(steps):
            if progress:
                progress(label, i, len(steps))
            counts[table] = counts.get(table, 0) + step(conn)
        if progress:
            progress("done", len(steps), len(steps))
    return counts


def analyse(engine: Engine) -> None:
    """``VACUUM (ANALYZE)`` the loaded tables.

    Their statistics are fresh and their rows' hint bits set, so that the first
    queries after a load do not pay for them.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM (ANALYZE) {', '.join(TABLES)}"))


Step = tuple[str, str, Callable[[Connection], int]]


def _province_parts(directory: Path) -> list[Path] | None:
    """The district directories of a province sample, in loading order; None for others."""
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if manifest.get("scale") != "province":
        return None
    parts = [directory / p for p in manifest.get("parts", [])]
    missing = [str(p) for p in parts if not (p / "sample.gpkg").exists()]
    if not parts or missing:
        raise LoadError(f"the province sample {directory} lacks its parts: "
                        f"{', '.join(missing) or 'none listed'}")
    return parts


def _named(steps: list[tuple[str, Callable[[Connection], int]]], prefix: str = "") -> list[Step]:
    return [(f"{prefix}{name}", name, fn) for name, fn in steps]


def _steps(d: Path, personal: PersonalCipher) -> list[Step]:
    return _named([*_catalogue(d), *_district(d, personal), *_assignment(),
                   ("people", lambda c: load_people(c, d, personal))])


def _province_steps(d: Path, parts: list[Path], personal: PersonalCipher) -> list[Step]:
    steps = _named([*_catalogue(d), ("admin_areas", lambda c: _load_admin(c, d))])
    for part in parts:
        steps += _named(_district(part, personal), f"{part.name} ")
    return steps + _named(_assignment())


def _catalogue(d: Path) -> list[tuple[str, Callable[[Connection], int]]]:
    return [
        ("departments", lambda c: copy_frame(c, "departments",
                                             pd.read_csv(d / "departments.csv", dtype=str))),
        ("event_categories", lambda c: _load_categories(c, d)),
        ("grid_layers", lambda c: _load_grid_layers(c, d)),
    ]


def _district(d: Path, personal: PersonalCipher) -> list[tuple[str, Callable[[Connection], int]]]:
    """The steps of one district's directory: its admin areas and all that lies in it."""
    return [
        ("admin_areas", lambda c: _load_admin(c, d)),
        ("grids", lambda c: _load_grids(c, d)),
        ("roads", lambda c: copy_frame(c, "roads", _multi(_read_layer(d, "roads")),
                                       {"name": "name", "kind": "kind"}, "geometry")),
        ("buildings", lambda c: _load_buildings(c, d)),
        ("rooms", lambda c: _load_rooms(c, d)),
        ("cameras", lambda c: _load_cameras(c, d)),
        ("events", lambda c: _load_events(c, d, personal)),
        ("event_history", lambda c: _load_history(c, d)),
    ]


def _assignment() -> list[tuple[str, Callable[[Connection], int]]]:
    return [("assignment", lambda c: assignment.assign_events(c) + assignment.assign_buildings(c)
                            + assignment.assign_cameras(c))]


def _load_categories(conn: Connection, d: Path) -> int:
    cats = pd.read_csv(d / "categories.csv", dtype={"code": str, "major_code": str,
                                                    "department_code": str})
    deps = _codes(conn, "departments")
    cats["department_id"] = cats["department_code"].map(deps)
    cols = ["code", "major_code", "major_name", "major_name_en", "name", "name_en",
            "department_id", "time_limit_hours", "closing_standard"]
    return copy_frame(conn, "event_categories", cats[cols])


def _load_admin(conn: Connection, d: Path) -> int:
    admin = _multi(_read_layer(d, "admin_areas"))
    admin = admin.sort_values("level", key=lambda s: s.map(LEVEL_ORDER), kind="stable")
    known = set(admin["code"]) | set(_codes(conn, "admin_areas"))
    # a district of a province loaded on its own stands at the top
    admin["parent_code"] = admin["parent_code"].where(admin["parent_code"].isin(known))
    return copy_frame(conn, "admin_areas", admin,
                      {"code": "code", "name": "name", "level": "level",
                       "parent_code": "parent_code"}, "geometry")


def _load_grid_layers(conn: Connection, d: Path) -> int:
    layers = pd.read_csv(d / "grid_layers.csv")
    layers["exclusive"] = layers["exclusive"].astype(str).str.lower().isin(["true", "1"])
    return copy_frame(conn, "grid_layers", layers[["name", "kind", "exclusive", "description"]])


def _load_grids(conn: Connection, d: Path) -> int:
    grids = _multi(_read_layer(d, "grids"))
    ids = {str(n): int(i) for n, i in conn.execute(text("SELECT name, id FROM grid_layers"))}
    grids["layer_id"] = grids["layer"].map(ids)
    for col in ("valid_from", "valid_to"):
        grids[col] = pd.to_datetime(grids[col], utc=True)
    return copy_frame(conn, "grids", grids,
                      {"layer_id": "layer_id", "code": "code", "alias_code": "alias_code",
                       "name": "name", "community_code": "community_code",
                       "valid_from": "valid_from", "valid_to": "valid_to"}, "geometry")


def _load_buildings(conn: Connection, d: Path) -> int:
    b = _multi(_read_layer(d, "buildings"))
    n = copy_frame(conn, "buildings", b,
                   {c: c for c in ("code", "address", "name", "floors", "height", "use",
                                   "community_code")}, "geometry")
    fill_beidou_codes(conn)
    return n


def _load_rooms(conn: Connection, d: Path) -> int:
    path = d / "rooms.parquet"
    if not path.exists():
        return 0
    rooms = pd.read_parquet(path)
    ids = {str(code): int(i) for code, i in conn.execute(text(
        "SELECT code, id FROM buildings WHERE code = ANY(:codes)"),
        {"codes": rooms["building_code"].unique().tolist()})}
    rooms["building_id"] = rooms["building_code"].map(ids)
    return copy_frame(conn, "rooms", rooms[["building_id", "code", "unit", "floor", "number"]])


def _load_cameras(conn: Connection, d: Path) -> int:
    cams = _read_layer(d, "cameras")
    cols = ("code", "name", "mount_height", "heading", "hfov", "range_m", "kind", "pan_min",
            "pan_max", "status")
    return copy_frame(conn, "cameras", cams, {c: c for c in cols}, "geometry")


def _sealed(ev: pd.DataFrame, personal: PersonalCipher) -> pd.DataFrame:
    """The frame with its reporter columns encrypted and their lookup hashes added."""
    keys = [k for k in ("name", "phone", "email") if f"reporter_{k}" in ev.columns]
    rows = [seal(personal, "events", {k: (None if pd.isna(v) else str(v))
                                      for k, v in zip(keys, values, strict=True)})
            for values in ev[[f"reporter_{k}" for k in keys]].itertuples(index=False)]
    sealed = pd.DataFrame(rows, index=ev.index)
    return ev.drop(columns=[f"reporter_{k}" for k in keys]).join(sealed)


def _load_events(conn: Connection, d: Path, personal: PersonalCipher) -> int:
    ev = _sealed(pd.read_parquet(d / "events.parquet"), personal)
    cats = _codes(conn, "event_categories")
    deps = _codes(conn, "departments")
    ev["category_id"] = ev["category_code"].map(cats)
    ev["department_id"] = ev["department_code"].map(deps)
    geoms = gpd.GeoSeries(gpd.points_from_xy(ev["lon"], ev["lat"]), crs=4326)
    ev = gpd.GeoDataFrame(ev, geometry=geoms)
    cols = ["id", "public_token", "category_id", "description", "status", "channel", "address",
            "department_id", "reported_at", "registered_at", "dispatched_at", "handled_at",
            "closed_at", "evaluated_at", "due_at", "satisfaction", "reporter_name",
            "reporter_phone", "reporter_email", "reporter_phone_hash", "reporter_email_hash"]
    n = copy_frame(conn, "events", ev, {c: c for c in cols if c in ev.columns}, "geometry")
    reset_sequence(conn, "events")
    return n


def _load_history(conn: Connection, d: Path) -> int:
    path = d / "event_history.parquet"
    if not path.exists():
        return 0
    hist = pd.read_parquet(path)
    cols = ["event_id", "action", "from_status", "to_status", "actor", "note", "at"]
    return copy_frame(conn, "event_history", hist[[c for c in cols if c in hist.columns]])

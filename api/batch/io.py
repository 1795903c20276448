"""What a batch task reads from and writes to PostGIS, on its own psycopg connection.

Every function takes a libpq URL (``postgresql://``) rather than an engine:
tasks run in other processes or on other machines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

from gis_core.errors import NotFound
from gis_core.types import Bounds

_ENVELOPE = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"


def extent(url: str) -> Bounds:
    """Bounding box of the grids and the events together (every event falls in it)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Extent(g) "
            "AS b FROM (SELECT geom AS g FROM grids UNION ALL SELECT geom FROM events "
            "WHERE geom IS NOT NULL) u) t").fetchone()
    if row is None or row[0] is None:
        return (np.nan,) * 4
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def grid_layers(url: str) -> dict[str, bool]:
    """Layer name -> exclusive, in the order of the layers."""
    with psycopg.connect(url) as conn:
        return {str(n): bool(e) for n, e in conn.execute(
            "SELECT name, exclusive FROM grid_layers ORDER BY id")}


def read_grids(url: str, box: Bounds) -> gpd.GeoDataFrame:
    """Every grid version whose geometry meets ``box`` (a prefilter of the halo)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT g.code, l.name, g.valid_from, g.valid_to, ST_AsBinary(g.geom) FROM grids g "  # noqa: S608
            f"JOIN grid_layers l ON l.id = g.layer_id WHERE g.geom && {_ENVELOPE} ORDER BY g.id",
            box).fetchall()
    frame = pd.DataFrame([r[:4] for r in rows],
                         columns=["code", "layer", "valid_from", "valid_to"])
    geoms = shapely.from_wkb([bytes(r[4]) for r in rows]) if rows else []
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs=4326)


def read_points(url: str, box: Bounds, start: object = None, end: object = None
                ) -> pd.DataFrame:
    """Events in the closed ``box``: ``id``, ``lon``, ``lat``, ``reported_at`` (UTC)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom), reported_at FROM events WHERE geom && "  # noqa: S608
            f"{_ENVELOPE} AND (%s::timestamptz IS NULL OR reported_at >= %s) AND "
            "(%s::timestamptz IS NULL OR reported_at < %s) ORDER BY id",
            (*box, start, start, end, end)).fetchall()
    frame = pd.DataFrame(rows, columns=["id", "lon", "lat", "reported_at"])
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    return frame.astype({"id": np.int64, "lon": float, "lat": float})


def time_range(url: str, start: object = None, end: object = None
               ) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last report time (UTC) of the located events in a window; None when none."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT min(reported_at), max(reported_at) FROM events WHERE geom IS NOT NULL AND "
            "(%s::timestamptz IS NULL OR reported_at >= %s) AND "
            "(%s::timestamptz IS NULL OR reported_at < %s)", (start, start, end, end)).fetchone()
    if row is None or row[0] is None:
        return None
    return pd.Timestamp(row[0]).tz_convert("UTC"), pd.Timestamp(row[1]).tz_convert("UTC")


def write_event_grids(url: str, ids: Sequence[int], grids_json: Sequence[str]) -> int:
    """COPY ``events.grids`` of the given events in; the number of events that changed."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TEMP TABLE batch_grids (id bigint PRIMARY KEY, grids jsonb) "
                     "ON COMMIT DROP")
        with conn.cursor().copy("COPY batch_grids (id, grids) FROM STDIN") as copy:
            for row in zip(ids, grids_json, strict=True):
                copy.write_row(row)
        changed = conn.execute(
            "UPDATE events e SET grids = b.grids FROM batch_grids b WHERE e.id = b.id "
            "AND e.grids IS DISTINCT FROM b.grids").rowcount
    return int(changed)


def copy_hotspot_rows(url: str, table: str, rows: pd.DataFrame) -> int:
    """COPY hot-spot rows (method, cell, value, z, p, hot_class, geom as EWKB hex) into ``table``.

    ``table`` is the run's staging table (:func:`create_staging`), never a user value.
    """
    with psycopg.connect(url) as conn:
        columns = "method, cell, value, z, p, hot_class, geom"
        with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows.itertuples(index=False):
                copy.write_row([None if isinstance(v, float) and not np.isfinite(v) else v
                                for v in row])
    return len(rows)


def create_staging(url: str, table: str) -> None:
    """An empty table shaped like ``hotspot_cells`` for one run's parallel COPY."""
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE UNLOGGED TABLE {table} (LIKE hotspot_cells INCLUDING DEFAULTS)")


def publish_hotspots(url: str, table: str, method_prefix: str) -> int:
    """Replace the stored hot spots of ``method_prefix`` with the staged rows, in one transaction.

    The staging table is dropped whatever happens.
    """
    with psycopg.connect(url) as conn:
        try:
            with conn.transaction():
                conn.execute("DELETE FROM hotspot_cells WHERE method LIKE %s",
                             (method_prefix + "%",))
                moved = conn.execute(
                    f"INSERT INTO hotspot_cells (method, cell, value, z, p, hot_class, geom) "  # noqa: S608
                    f"SELECT method, cell, value, z, p, hot_class, geom FROM {table}").rowcount
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.commit()
    return int(moved)


def drop_staging(url: str, table: str) -> None:
    """Drop a run's staging table (the run failed: the stored hot spots stay as they were)."""
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


# --------------------------------------------------------------------------- coverage

#: Current grids of a layer (``valid_to IS NULL``), as :func:`api.analytics.reading.read_grids`.
_LAYER_GRIDS = ("FROM grids g JOIN grid_layers l ON l.id = g.layer_id WHERE l.name = %s "
                "AND g.valid_to IS NULL")
#: Cameras that count for coverage, as :func:`api.analytics.reading.read_cameras`: online,
#: and with a range reaching the envelope that follows.
_CAMERAS_REACHING = ("FROM cameras WHERE status = 'online' AND ST_DWithin(geom::geography, "
                     f"{_ENVELOPE}::geography, range_m)")


def _frame(rows: list[Any], columns: Sequence[str]) -> gpd.GeoDataFrame:
    """Rows whose last value is WKB as a GeoDataFrame in EPSG:4326."""
    frame = pd.DataFrame([r[:-1] for r in rows], columns=list(columns))
    geoms = shapely.from_wkb([bytes(r[-1]) for r in rows]) if rows else []
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs=4326)


def layer_extent(url: str, layer: str) -> tuple[Bounds | None, int]:
    """Bounding box and number of the current grids of ``layer``; NotFound for no such layer.

    The box is taken from the coordinates themselves (not PostGIS's single-precision
    box of each geometry), so it is the ``total_bounds`` one process computes.
    """
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT 1 FROM grid_layers WHERE name = %s", (layer,)).fetchone() is None:
            known = conn.execute("SELECT string_agg(name, ', ') FROM grid_layers").fetchone()
            raise NotFound(f"--layer: no grid layer {layer!r} (layers: "
                           f"{known[0] if known else ''})", parameter="layer")
        rows = conn.execute(f"SELECT ST_AsBinary(g.geom) {_LAYER_GRIDS}",
                            (layer,)).fetchall()
    if not rows:
        return None, 0
    x0, y0, x1, y1 = shapely.total_bounds(shapely.from_wkb([bytes(r[0]) for r in rows]))
    return (float(x0), float(y0), float(x1), float(y1)), len(rows)


def camera_reach(url: str, box: Bounds) -> tuple[int, float, Bounds | None]:
    """Cameras reaching ``box``: how many, their longest range (m) and their bounding box."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT n, r, ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "  # noqa: S608
                           "(SELECT count(*) AS n, max(range_m) AS r, ST_Extent(geom) AS b "
                           f"{_CAMERAS_REACHING}) t", box).fetchone()
    if row is None or not row[0]:
        return 0, 0.0, None
    return int(row[0]), float(row[1]), (float(row[2]), float(row[3]), float(row[4]),
                                        float(row[5]))


def any_in(url: str, table: str, box: Bounds) -> bool:
    """Whether ``table`` (``buildings`` or ``roads``) has a geometry meeting ``box``."""
    if table not in ("buildings", "roads"):
        raise ValueError(f"table must be buildings or roads, got {table!r}")
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE geom && "  # noqa: S608
                            f"{_ENVELOPE})", box).fetchone() == (True,)


def read_layer_grids(url: str, layer: str, box: Bounds) -> gpd.GeoDataFrame:
    """Current grids of ``layer`` meeting ``box``: ``code``, ``name``, sorted by code."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT g.code, g.name, ST_AsBinary(g.geom) {_LAYER_GRIDS} "
                            f"AND g.geom && {_ENVELOPE} ORDER BY g.code",
                            (layer, *box)).fetchall()
    return _frame(rows, ["code", "name"])


def read_cameras(url: str, box: Bounds, territory: Bounds) -> gpd.GeoDataFrame:
    """Cameras counting for coverage whose range reaches both ``box`` and ``territory``."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT code, kind, mount_height, heading, hfov, range_m, pan_min, pan_max, "
            f"ST_AsBinary(geom) {_CAMERAS_REACHING} AND ST_DWithin(geom::geography, "
            f"{_ENVELOPE}::geography, range_m) ORDER BY code", (*territory, *box)).fetchall()
    return _frame(rows, ["code", "kind", "mount_height", "heading", "hfov", "range_m",
                         "pan_min", "pan_max"])


def read_buildings(url: str, box: Bounds, within: Bounds | None = None) -> gpd.GeoDataFrame:
    """Footprints with ``height`` (or floors x 3 m) meeting ``box`` (and ``within``), by code."""
    extra = f" AND geom && {_ENVELOPE}" if within is not None else ""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT code, coalesce(height, floors * 3.0), ST_AsBinary(geom) "  # noqa: S608
                            f"FROM buildings WHERE geom && {_ENVELOPE}{extra} ORDER BY code",
                            (*box, *(within or ()))).fetchall()
    frame = _frame(rows, ["code", "height"])
    frame["height"] = pd.to_numeric(frame["height"], errors="coerce")
    return frame


def read_roads(url: str, box: Bounds) -> gpd.GeoDataFrame:
    """Road centre lines meeting ``box``."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name, ST_AsBinary(geom) FROM roads WHERE geom && "  # noqa: S608
                            f"{_ENVELOPE} ORDER BY id", box).fetchall()
    return _frame(rows, ["name"])


def create_blind_staging(url: str, table: str) -> None:
    """An empty table shaped like ``blind_spots`` for one run's parallel COPY."""
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE UNLOGGED TABLE {table} (LIKE blind_spots INCLUDING DEFAULTS)")


def copy_blind_spots(url: str, table: str, rows: pd.DataFrame) -> int:
    """COPY blind spots (grid_code, area_m2, geom as EWKB hex) into the staging ``table``."""
    with psycopg.connect(url) as conn, conn.cursor().copy(
            f"COPY {table} (grid_code, area_m2, geom) FROM STDIN") as copy:
        for row in rows.itertuples(index=False):
            copy.write_row(row)
    return len(rows)


def publish_blind_spots(url: str, table: str, layer: str) -> int:
    """Replace the stored blind spots of the current grids of ``layer`` with the staged rows.

    In one transaction, as :func:`api.analytics.service.coverage_report` replaces
    those of the grids it computed; the staging table is dropped whatever happens.
    """
    with psycopg.connect(url) as conn:
        try:
            with conn.transaction():
                conn.execute("DELETE FROM blind_spots WHERE grid_code IN "  # noqa: S608
                             f"(SELECT g.code {_LAYER_GRIDS})", (layer,))
                moved = conn.execute(
                    f"INSERT INTO blind_spots (grid_code, area_m2, geom) "  # noqa: S608
                    f"SELECT grid_code, area_m2, geom FROM {table} ORDER BY id").rowcount
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.commit()
    return int(moved)

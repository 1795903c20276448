"""Which grid, in every layer, holds a point: the server's view of the grid engine.

The app keeps one ``GridLookup`` in its state (``api.deps.GridLookupDep``). Services call
``lookup.assign(lon, lat, at)`` with arrays in EPSG:4326 and get a DataFrame
with one column per grid layer (exclusive layers: a code or None;
non-exclusive layers: a sorted list of codes or None).

The server uses :class:`IndexedGridLookup`: the grids are loaded from PostGIS
into a :class:`gis_core.grid_index.GridIndex` at start-up and rebuilt when they
change. Every call reads the change counters of ``grids`` and ``grid_layers``
(kept by the triggers of migration 0003, one indexed row each), so a grid
redrawn and committed by any process is used by the very next assignment, with
no restart. :class:`PostGISGridLookup` gives the same answers with a join in
the database (kept as the reference the tests compare with).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from datetime import datetime
from typing import Any, Protocol

import anyio.to_thread
import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from sqlalchemy import Connection, Engine, text

from api.db.change_counters import VersionCheck, versions_sql
from gis_core.grid_index import GridIndex


class GridLookup(Protocol):
    """Assign points to grids."""

    def layers(self) -> dict[str, bool]:
        """Grid layer names with their ``exclusive`` flag."""
        ...

    def assign(self, lon: np.ndarray, lat: np.ndarray, at: datetime | None = None
               ) -> pd.DataFrame:
        """One row per point, one column per layer."""
        ...


_SQL = """
WITH pts AS (
    SELECT ord, ST_SetSRID(ST_MakePoint(x, y), 4326) AS geom
    FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS t(x, y, ord)
)
SELECT p.ord, l.name AS layer, l.exclusive, g.code
FROM pts p
JOIN grids g ON ST_Covers(g.geom, p.geom)
    AND (g.valid_from IS NULL OR g.valid_from <= CAST(:at AS timestamptz))
    AND (g.valid_to IS NULL OR g.valid_to > CAST(:at AS timestamptz))
JOIN grid_layers l ON l.id = g.layer_id
"""


class PostGISGridLookup:
    """Assignment by a PostGIS join (``ST_Covers`` + the smallest-code tie rule)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def layers(self) -> dict[str, bool]:
        """Grid layer names with their ``exclusive`` flag."""
        with self.engine.connect() as conn:
            return dict(conn.execute(text("SELECT name, exclusive FROM grid_layers "
                                          "ORDER BY id")).all())

    def assign(self, lon: np.ndarray, lat: np.ndarray, at: datetime | None = None
               ) -> pd.DataFrame:
        """One row per point, one column per layer."""
        layers = self.layers()
        out = pd.DataFrame({name: pd.Series([None] * len(lon), dtype=object)
                            for name in layers})
        if len(lon) == 0:
            return out
        with self.engine.connect() as conn:
            rows = conn.execute(text(_SQL), {
                "xs": np.asarray(lon, float).tolist(), "ys": np.asarray(lat, float).tolist(),
                "at": at or datetime.now().astimezone()}).all()
        hits: dict[tuple[int, str], list[str]] = {}
        for ordinal, layer, _, code in rows:
            hits.setdefault((ordinal - 1, layer), []).append(code)
        for (i, layer), codes in hits.items():
            codes.sort()
            out.at[i, layer] = codes[0] if layers[layer] else codes
        return out


_TABLES = ("grid_layers", "grids")
_VERSIONS = versions_sql(_TABLES)
_GRIDS = ("SELECT g.code, l.name AS layer, g.valid_from, g.valid_to, ST_AsBinary(g.geom) AS wkb "
          "FROM grids g JOIN grid_layers l ON l.id = g.layer_id ORDER BY g.id")


class IndexedGridLookup:
    """Assignment by an in-memory :class:`GridIndex`, rebuilt when the grids change.

    Parameters
    ----------
    engine
        The database holding ``grids`` and ``grid_layers``.

    Notes
    -----
    The change counters are read before the grids, so an index is never older
    than the counters it is filed under; a rebuild happens under a lock (other
    callers wait for it rather than building their own) and swaps the new
    index in whole, so concurrent callers see the old or the new index, never a
    mix.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._libpq_url = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._checks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, VersionCheck] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._check_conn: psycopg.Connection[Any] | None = None
        self._key: tuple[tuple[str, int], ...] | None = None
        self._index: GridIndex | None = None
        self._layers: dict[str, bool] = {}
        #: how many times the index was built (start-up counts as one)
        self.builds = 0

    def index(self) -> tuple[GridIndex, dict[str, bool]]:
        """The index of the grids as last committed, and the layers' ``exclusive`` flags."""
        key = self._versions()
        index, layers = self._index, self._layers
        if index is not None and key == self._key:
            return index, layers
        with self._lock, self.engine.connect() as conn:
            key = tuple((str(t), int(v)) for t, v in conn.execute(text(_VERSIONS)))
            if self._index is None or key != self._key:
                self._build(conn, key)
            assert self._index is not None  # noqa: S101 - an invariant, for the type checker
            return self._index, self._layers

    def _versions(self) -> tuple[tuple[str, int], ...]:
        """The change counters, on a connection of our own (one round trip, no pool ping)."""
        with self._check_lock:
            try:
                rows = self._read_versions()
            except psycopg.OperationalError:  # died while idle (a restart): once more
                rows = self._read_versions()
        return tuple((str(t), int(v)) for t, v in rows)

    def _read_versions(self) -> list[tuple[Any, ...]]:
        try:
            if self._check_conn is None or self._check_conn.closed:
                self._check_conn = psycopg.connect(self._libpq_url, autocommit=True)
            return self._check_conn.execute(_VERSIONS, prepare=True).fetchall()
        except psycopg.Error:
            if self._check_conn is not None:
                self._check_conn.close()
            self._check_conn = None
            raise

    def close(self) -> None:
        """Close the connection of the change counters."""
        with self._check_lock:
            if self._check_conn is not None:
                self._check_conn.close()
            self._check_conn = None

    async def aindex(self) -> tuple[GridIndex, dict[str, bool]]:
        """:meth:`index` for the event loop.

        The change counters are read on an async connection shared by concurrent
        callers; only a rebuild leaves the loop.
        """
        loop = asyncio.get_running_loop()
        check = self._checks.get(loop)
        if check is None:
            check = self._checks[loop] = VersionCheck(self._libpq_url)
        versions = await check.versions()
        key = tuple(sorted((t, v) for t, v in versions.items() if t in _TABLES))
        index, layers = self._index, self._layers
        if index is not None and key == self._key:
            return index, layers
        return await anyio.to_thread.run_sync(self.index)

    def _build(self, conn: Connection, key: tuple[tuple[str, int], ...]) -> None:
        layers = {str(n): bool(e) for n, e in conn.execute(
            text("SELECT name, exclusive FROM grid_layers ORDER BY id"))}
        rows = conn.execute(text(_GRIDS)).all()
        frame = gpd.GeoDataFrame(
            {"code": [r.code for r in rows], "layer": [r.layer for r in rows],
             "valid_from": pd.to_datetime([r.valid_from for r in rows], utc=True),
             "valid_to": pd.to_datetime([r.valid_to for r in rows], utc=True)},
            geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]), crs=4326)
        index = GridIndex(frame, exclusive=layers)
        self._index, self._layers, self._key = index, layers, key
        self.builds += 1

    def layers(self) -> dict[str, bool]:
        """Grid layer names with their ``exclusive`` flag."""
        return dict(self.index()[1])

    def assign(self, lon: np.ndarray, lat: np.ndarray, at: datetime | None = None
               ) -> pd.DataFrame:
        """One row per point, one column per layer (in ``grid_layers`` order)."""
        index, layers = self.index()
        frame = index.assign(np.asarray(lon, float), np.asarray(lat, float), at=at)
        if list(frame.columns) == list(layers):  # the usual case: object columns, None missing
            return frame
        n = len(frame)
        columns = {}
        for name in layers:
            values = frame[name].tolist() if name in frame else [None] * n
            columns[name] = pd.Series([v if isinstance(v, list) or v == v else None
                                       for v in values], dtype=object)
        return pd.DataFrame(columns, index=pd.RangeIndex(n))

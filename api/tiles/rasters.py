"""Raster (PNG) tiles of the surfaces of :mod:`layers.raster`, cached like vector tiles.

A raster tile is cached in the vector tile service's :class:`TileCache` under the
surface's name and evicted by the same change tracking: its envelope is widened
by the distance over which rows influence it (the density bandwidth, the
camera range), so an event reported near a tile evicts it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from sqlalchemy import Connection

from api.db.change_counters import read_versions
from api.tiles.cache import (
    CachedTile,
    CacheKey,
    etag_of,
    filter_key,
    tile_bounds,
)
from api.tiles.service import TileService
from gis_core.types import FloatArray
from layers.raster import RASTERS, RasterSurface, event_points, get_raster

__all__ = ["RASTERS", "RasterService"]


class RasterService:
    """PNG tiles of raster surfaces through the tile service's cache.

    Every event's position is kept in memory with the ``events`` and
    ``event_categories`` versions it was read at; an unfiltered density tile
    reads them from there when the versions read for the tile are the same,
    so it costs no scan of the events table. Reports keep arriving on a live
    server, so the copy is often behind: a tile is then drawn from its own
    rows (the per-tile query, exact) while one background thread reads the
    copy again, at most once per :attr:`refresh_interval` seconds.
    """

    #: the least time (s) between two reloads of every event's position
    refresh_interval = 2.0

    def __init__(self, tiles: TileService) -> None:
        self.tiles = tiles
        self._points: tuple[tuple[int, int], FloatArray] | None = None
        self._points_lock = threading.Lock()
        self._reloading = False
        self._reloaded_at = -float("inf")
        for surface in RASTERS.values():
            tiles.cache.register_tables(f"raster:{surface.name}", surface.tables)

    def get(self, name: str) -> RasterSurface:
        """The surface ``name`` (404 when unknown)."""
        return get_raster(name)

    def tile(self, name: str, z: int, x: int, y: int,
             params: Mapping[str, str] | None = None) -> tuple[bytes, str]:
        """PNG bytes (``b""`` when nothing to draw) and ETag of one tile."""
        surface = get_raster(name)
        surface.parse(params or {})  # 422 before any work
        self.tiles.sync()
        key: CacheKey = (f"raster:{name}", z, x, y, filter_key(params))
        hit = self.tiles.cache.get(key)
        if hit is not None:
            return hit.data, hit.etag
        with self.tiles.engine.connect() as conn:
            versions = read_versions(conn)
            points = self._event_points(conn, versions) if surface.uses_events else None
            data = surface.render(conn, z, x, y, params, points)
        bounds = tile_bounds(z, x, y, buffer=0, margin_deg=surface.margin_deg(z, y))
        entry = CachedTile(data, etag_of(data), bounds, None)
        # versions read before rendering: a change committed in between makes the
        # cache's versions move past them at the next sync, and the tile is evicted
        self.tiles.cache.put(key, entry, surface.tables, versions)
        return data, entry.etag

    def _event_points(self, conn: Connection, versions: Mapping[str, int]) -> FloatArray | None:
        """Every event's position if the copy is as new as ``versions``, else ``None``.

        The first tile after start-up reads the copy itself (on ``conn``); a stale
        copy is read again in the background and this tile uses its own rows.
        """
        key = _points_key(versions)
        with self._points_lock:
            if self._points is not None and self._points[0] == key:
                return self._points[1]
            if self._points is None:
                self._points = (key, event_points(conn))
                self._reloaded_at = time.monotonic()
                return self._points[1]
            due = time.monotonic() - self._reloaded_at >= self.refresh_interval
            if due and not self._reloading:
                self._reloading = True
                threading.Thread(target=self._reload, name="gridgov-density-points",
                                 daemon=True).start()
            return None

    def _reload(self) -> None:
        try:
            with self.tiles.engine.connect() as conn:
                # versions read first: rows committed in between are in the copy, which
                # is then newer than its label and is read again at the next change
                key = _points_key(read_versions(conn))
                points = event_points(conn)
            with self._points_lock:
                self._points = (key, points)
        finally:
            with self._points_lock:
                self._reloading = False
                self._reloaded_at = time.monotonic()

    def wait_for_reload(self, timeout: float = 30.0) -> None:
        """Block until no background reload runs (for tests and benches)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._points_lock:
                if not self._reloading:
                    return
            time.sleep(0.01)
        raise TimeoutError("the events' positions were not read again in time")


def _points_key(versions: Mapping[str, int]) -> tuple[int, int]:
    return versions.get("events", 0), versions.get("event_categories", 0)

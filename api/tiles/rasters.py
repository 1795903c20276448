"""Raster (PNG) tiles of the surfaces of :mod:`layers.raster`, cached like vector tiles.

A raster tile is cached in the vector tile service's :class:`TileCache` under the
surface's name and evicted by the same change tracking: its envelope is widened
by the distance over which rows influence it (the density bandwidth, the
camera range), so an event reported near a tile evicts it.
"""

from __future__ import annotations

import threading
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
    reads them from there when the versions read for the tile are the same
    (else they are read again), so it costs no scan of the events table.
    """

    def __init__(self, tiles: TileService) -> None:
        self.tiles = tiles
        self._points: tuple[tuple[int, int], FloatArray] | None = None
        self._points_lock = threading.Lock()
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

    def _event_points(self, conn: Connection, versions: Mapping[str, int]) -> FloatArray:
        key = (versions.get("events", 0), versions.get("event_categories", 0))
        with self._points_lock:
            if self._points is None or self._points[0] != key:
                self._points = (key, event_points(conn))
            return self._points[1]

"""Tile serving with a memory cache that is never stale.

Freshness
---------
Triggers of migration 0003 bump a per-table counter in ``table_versions`` with
every writing statement (the row lock is held to commit, so versions follow
commit order) and record the changed rows' boxes in ``tile_changes``. Before a
request is answered the cache *syncs*: it reads ``table_versions`` (a tiny
table) with a query that started after the request arrived, and for every
table whose version moved it reads the new boxes and evicts every cached tile,
at every zoom, of every layer depending on that table whose envelope meets a
box. Any commit that finished before a request arrived - in this process,
another worker or a CLI import - is therefore reflected in its answer.
Concurrent requests share one sync (a request reuses a sync that started after
it arrived), so under load there is about one small query per batch of hits.

A built tile is stored only when the table versions read *in the same
statement* as the tile equal the versions the cache has synced to; a tile
built from an older snapshot is served but never stored. Tiles whose content
changes with time alone (an open event becoming overdue, a grid version whose
validity ends) carry an expiry computed in SQL and are rebuilt after it.

Memory
------
LRU by bytes: ``max_bytes`` bounds the sum of the cached tiles' sizes.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from api.db.change_counters import read_versions
from layers import REGISTRY, Registry

ENTRY_OVERHEAD = 200

CacheKey = tuple[str, int, int, int, tuple[tuple[str, str], ...]]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class CachedTile:
    """A tile in the cache: content, its ETag, lon/lat envelope and time expiry."""

    data: bytes
    etag: str
    bounds: Box
    expires_at: datetime | None

    @property
    def size(self) -> int:
        """Bytes charged against the budget."""
        return len(self.data) + ENTRY_OVERHEAD


def etag_of(data: bytes) -> str:
    """Strong ETag (quoted) of ``data``: 96 bits of its SHA-256 (hardware-accelerated).

    Examples
    --------
    >>> etag_of(b"abc") == etag_of(b"abc"), etag_of(b"") != etag_of(b"x")
    (True, True)
    """
    return '"' + hashlib.sha256(data).hexdigest()[:24] + '"'


def tile_bounds(z: int, x: int, y: int, buffer: float = 64 / 4096, margin_deg: float = 0.0
                ) -> Box:
    """Lon/lat envelope of tile ``z/x/y`` widened by ``buffer`` tiles and ``margin_deg``.

    Examples
    --------
    >>> [round(v, 6) for v in tile_bounds(1, 0, 0, buffer=0)]
    [-180.0, 0.0, 0.0, 85.051129]
    """
    n = 1 << z

    def lat(row: float) -> float:
        row = min(max(row, 0.0), float(n))
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    west = max(-180.0, (x - buffer) / n * 360 - 180)
    east = min(180.0, (x + 1 + buffer) / n * 360 - 180)
    return (west - margin_deg, lat(y + 1 + buffer) - margin_deg,
            east + margin_deg, lat(y - buffer) + margin_deg)


class TileCache:
    """An LRU (by bytes) of tiles, invalidated from ``tile_changes``; thread-safe."""

    def __init__(self, max_bytes: int, registry: Registry = REGISTRY) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = max_bytes
        self.registry = registry
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[CacheKey, CachedTile] = OrderedDict()
        self._by_layer: dict[str, set[CacheKey]] = {}
        self._known: dict[str, int] | None = None
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._last_sync_start = 0
        self._extra_tables: dict[str, tuple[str, ...]] = {}

    @property
    def known_versions(self) -> dict[str, int]:
        """Table versions the cache has synced to."""
        return dict(self._known or {})

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ freshness

    def sync(self, conn_factory: Callable[[], Any]) -> None:
        """Catch up with every change committed before this call; evict what they touched."""
        arrived = time.monotonic_ns()
        with self._sync_lock:
            if self._last_sync_start > arrived:
                return  # a sync that began after we arrived has just finished
            self._last_sync_start = time.monotonic_ns()
            with conn_factory() as conn:
                self._sync(conn)

    def _sync(self, conn: Connection) -> None:
        current = read_versions(conn)
        known = self._known
        if known is None:
            self._known = current
            self.registry.refresh(conn)
            return
        moved = {t: v for t, v in current.items() if v != known.get(t, 0)}
        if not moved:
            return
        if any(v < known.get(t, 0) for t, v in moved.items()):
            self.clear()  # the database was rebuilt under us
        else:
            rows = conn.execute(text(
                "SELECT c.table_name, c.minx, c.miny, c.maxx, c.maxy FROM tile_changes AS c "
                "JOIN unnest(CAST(:names AS text[]), CAST(:lo AS bigint[]), "
                "CAST(:hi AS bigint[])) AS k(name, lo, hi) ON c.table_name = k.name "
                "AND c.version > k.lo AND c.version <= k.hi"),
                {"names": list(moved), "lo": [known.get(t, 0) for t in moved],
                 "hi": list(moved.values())}).all()
            if "grid_layers" in moved:
                self.registry.refresh(conn)
            self.evict_changes(rows, moved)
        self._known = current

    def evict_changes(self, rows: Iterable[tuple[str, Any, Any, Any, Any]],
                      tables: Iterable[str]) -> int:
        """Evict tiles of layers on ``tables`` meeting a changed box; NULL box: all of them."""
        boxes: dict[str, list[tuple[float, float, float, float]]] = {t: [] for t in tables}
        everything: set[str] = set()
        for table, minx, miny, maxx, maxy in rows:
            if minx is None:
                everything.add(table)
            else:
                boxes.setdefault(table, []).append((minx, miny, maxx, maxy))
        evicted = 0
        with self._lock:
            for table, tbl_boxes in boxes.items():
                whole = {layer.id for layer in self.registry.depending_on(table)
                         if layer.aggregate}
                for layer_id in self._layers_on(table):
                    keys = list(self._by_layer.get(layer_id, ()))
                    doomed = (keys if table in everything or layer_id in whole
                              else self._meeting(keys, tbl_boxes))
                    for key in doomed:
                        self._drop(key)
                    evicted += len(doomed)
        return evicted

    def _layers_on(self, table: str) -> list[str]:
        ids = [layer.id for layer in self.registry.depending_on(table)]
        # layers no longer in the registry (a removed grid layer) and raster surfaces
        ids += [lid for lid in self._by_layer if lid not in ids and table in
                self._extra_tables.get(lid, ())]
        return ids

    def register_tables(self, cache_id: str, tables: tuple[str, ...]) -> None:
        """Declare the tables of a cached source that is not a registry layer (rasters)."""
        self._extra_tables[cache_id] = tables

    def _meeting(self, keys: list[CacheKey], boxes: list[Box]) -> list[CacheKey]:
        if not keys or not boxes:
            return []
        tb = np.array([self._entries[k].bounds for k in keys])
        cb = np.array(boxes)
        hit = ((tb[:, None, 0] <= cb[None, :, 2]) & (tb[:, None, 2] >= cb[None, :, 0])
               & (tb[:, None, 1] <= cb[None, :, 3]) & (tb[:, None, 3] >= cb[None, :, 1]))
        return [keys[i] for i in np.flatnonzero(hit.any(axis=1))]

    # ------------------------------------------------------------------ storage

    def get(self, key: CacheKey) -> CachedTile | None:
        """The cached tile or None (missing or past its time expiry)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            if entry.expires_at is not None and entry.expires_at <= datetime.now(UTC):
                self._drop(key)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: CacheKey, entry: CachedTile, tables: Iterable[str],
            versions: Mapping[str, int] | None) -> bool:
        """Store ``entry`` if it was built at the versions the cache knows; True if stored."""
        if versions is None or entry.size > self.max_bytes:
            return False
        with self._lock:
            known = self._known or {}
            if any(versions.get(t, 0) != known.get(t, 0) for t in tables):
                return False
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._by_layer.setdefault(key[0], set()).add(key)
            self.size += entry.size
            while self.size > self.max_bytes and self._entries:
                self._drop(next(iter(self._entries)))
        return True

    def _drop(self, key: CacheKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.size -= entry.size
            self._by_layer.get(key[0], set()).discard(key)

    def clear(self) -> None:
        """Forget every tile."""
        with self._lock:
            self._entries.clear()
            self._by_layer.clear()
            self.size = 0


def filter_key(filters: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """A hashable, order-independent key of raw filter values."""
    return tuple(sorted((filters or {}).items()))

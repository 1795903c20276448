"""The tile service: registry layers' tiles built through the :class:`TileCache`.

Tiles are built on reused psycopg connections (:class:`TileConnections`) with
options that suit short tile statements; the layer's tile statement is read
with the table versions in the same statement, so a tile is stored only when
it was built at the versions the cache has synced to (see :mod:`api.tiles.cache`).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
import psycopg
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from api.db.change_counters import VERSIONS_JSON_SQL, VersionCheck
from api.settings import TileSettings
from api.tiles.cache import CachedTile, CacheKey, TileCache, etag_of, filter_key, tile_bounds
from gis_core.errors import InvalidInput, NotFound
from layers import REGISTRY, Layer, Registry

#: Options of the tile connections: no parallel plans, no JIT, plans reused.
TILE_CONNECT_OPTIONS = ("-c max_parallel_workers_per_gather=0 -c jit=off "
                        "-c plan_cache_mode=force_generic_plan -c timezone=UTC")


def tile_connect_options(statement_timeout_ms: int | None = None) -> str:
    """:data:`TILE_CONNECT_OPTIONS` with a ``statement_timeout`` (None or 0: no limit)."""
    if not statement_timeout_ms:
        return TILE_CONNECT_OPTIONS
    return f"{TILE_CONNECT_OPTIONS} -c statement_timeout={int(statement_timeout_ms)}"


PSYCOPG_DIALECT = psycopg_dialect()

class TileService:
    """Builds vector tiles of registry layers through a :class:`TileCache`.

    Parameters
    ----------
    engine
        Engine of the tile connections (see :func:`make_tile_engine`).
    max_bytes
        Memory budget of the cache; 0 disables caching.
    statement_timeout_ms
        Tile statements running longer are cancelled (None: no limit).
    read_urls
        Streaming replicas that build the tiles (in turn); the versions and any
        tile a lagging replica would build older than them stay on ``engine``'s
        primary (``api/replicas``).
    """

    def __init__(self, engine: Engine, max_bytes: int, registry: Registry = REGISTRY,
                 connections: int = 4, statement_timeout_ms: int | None = None,
                 read_urls: tuple[str, ...] = ()) -> None:
        self.engine = engine
        self.registry = registry
        self.cache = TileCache(max_bytes, registry)
        self._sql: dict[str, tuple[Layer, str]] = {}
        self._libpq_url = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._options = tile_connect_options(statement_timeout_ms)
        self.connections = TileConnections(self._libpq_url, connections, self._options)
        self.replicas = [TileConnections(_libpq(url), connections, self._options)
                         for url in read_urls]
        self._turn = itertools.cycle(self.replicas or [self.connections])
        self._turn_lock = threading.Lock()
        #: tiles a lagging replica would have built from older versions, built on the primary
        self.primary_fallbacks = 0
        self._checks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, VersionCheck] = (
            weakref.WeakKeyDictionary())

    @classmethod
    def from_settings(cls, engine: Engine, settings: TileSettings,
                      statement_timeout_ms: int | None = None,
                      read_urls: tuple[str, ...] = ()) -> TileService:
        """The tile service of ``engine``'s database, with engine and connections of its own."""
        return cls(make_tile_engine(engine.url, statement_timeout_ms=statement_timeout_ms),
                   settings.cache_bytes, connections=settings.connections,
                   statement_timeout_ms=statement_timeout_ms, read_urls=read_urls)

    def close(self) -> None:
        """Close the tile connections (primary and replicas) and dispose of the tile engine."""
        for conns in (self.connections, *self.replicas):
            conns.close()
        self.engine.dispose()

    async def async_sync(self) -> None:
        """:meth:`sync` for the event loop: the version check runs on an async connection.

        The common case (nothing changed) costs one small query shared by every
        request that arrived before it started; when a version moved the eviction
        runs as :meth:`sync` in a worker thread.
        """
        if self.cache.max_bytes == 0 and self.cache.known_versions and not self.replicas:
            return
        check = self._checks.get(asyncio.get_running_loop())
        if check is None:
            check = self._checks[asyncio.get_running_loop()] = VersionCheck(self._libpq_url,
                                                                             self._options)
        current = await check.versions()
        if current != self.cache.known_versions:
            await anyio.to_thread.run_sync(self.sync, True)

    def sync(self, force: bool = False) -> None:
        """Bring the cache (and the grid layers) up to date with every committed change.

        With caching off (``max_bytes == 0``) there is nothing to evict, and only
        the first call, a forced one or an unknown layer id reads the versions
        (every call with replicas: a tile built on a lagging one is found by them).
        """
        if (force or self.cache.max_bytes > 0 or not self.cache.known_versions
                or self.replicas):
            self.cache.sync(self.engine.connect)

    def _statement(self, layer: Layer) -> str:
        """The layer's tile statement with the table versions, as psycopg SQL (built once)."""
        known = self._sql.get(layer.id)
        if known is not None and known[0] is layer:
            return known[1]
        stmt = text(f"SELECT q.mvt, q.expires_at, {VERSIONS_JSON_SQL} AS versions "  # noqa: S608 - SQL from trusted parts; values bound
                    f"FROM ({layer.tile_sql.text}) AS q")
        sql = str(stmt.compile(dialect=PSYCOPG_DIALECT))  # :name -> %(name)s
        self._sql[layer.id] = (layer, sql)
        return sql

    def _reader(self) -> TileConnections:
        with self._turn_lock:
            return next(self._turn)

    def _behind(self, layer: Layer, row: tuple[Any, ...]) -> bool:
        """Whether a tile row was built before changes the cache has synced to."""
        versions, known = row[2] or {}, self.cache.known_versions
        if any(versions.get(t, 0) < known.get(t, 0) for t in layer.tables):
            self.primary_fallbacks += 1
            return True
        return False

    def _fetch(self, layer: Layer, params: Mapping[str, Any]) -> tuple[Any, ...]:
        reader, sql = self._reader(), self._statement(layer)
        row = reader.fetch(sql, params)
        if reader is not self.connections and self._behind(layer, row):
            row = self.connections.fetch(sql, params)
        return row

    async def _afetch(self, layer: Layer, params: Mapping[str, Any]) -> tuple[Any, ...]:
        reader, sql = self._reader(), self._statement(layer)
        row = await reader.afetch(sql, params)
        if reader is not self.connections and self._behind(layer, row):
            row = await self.connections.afetch(sql, params)
        return row

    def _without_query(self, layer: Layer, z: int, x: int, y: int,
                       filters: Mapping[str, str] | None
                       ) -> tuple[CachedTile | None, CacheKey, dict[str, Any]]:
        """(tile or None, cache key, statement parameters).

        The tile is given when no query is needed: cached, or outside the zoom range.
        """
        layer.check_tile(z, x, y)
        params = {**layer.bind(filters), "z": z, "x": x, "y": y}
        key: CacheKey = (layer.id, z, x, y, filter_key(filters))
        hit = self.cache.get(key)
        if hit is None and not layer.minzoom <= z <= layer.maxzoom:
            bounds = tile_bounds(z, x, y, margin_deg=layer.search_margin_deg)
            hit = CachedTile(b"", etag_of(b""), bounds, None)
        return hit, key, params

    def _built(self, layer: Layer, key: CacheKey, row: tuple[Any, ...]) -> CachedTile:
        """The tile from a statement row, stored when built at the versions the cache knows."""
        mvt, expires_at, versions = row
        data = bytes(mvt or b"")
        bounds = tile_bounds(*key[1:4], margin_deg=layer.search_margin_deg)
        entry = CachedTile(data, etag_of(data), bounds, expires_at)
        self.cache.put(key, entry, layer.tables, versions)
        return entry

    def layer_tile(self, layer: Layer, z: int, x: int, y: int,
                   filters: Mapping[str, str] | None = None) -> CachedTile:
        """One layer's tile (from the cache when fresh). Call :meth:`sync` first."""
        hit, key, params = self._without_query(layer, z, x, y, filters)
        if hit is not None:
            return hit
        return self._built(layer, key, self._fetch(layer, params))

    async def alayer_tile(self, layer: Layer, z: int, x: int, y: int,
                          filters: Mapping[str, str] | None = None) -> CachedTile:
        """:meth:`layer_tile` for the event loop: hits never leave it, queries run in threads."""
        hit, key, params = self._without_query(layer, z, x, y, filters)
        if hit is not None:
            return hit
        return self._built(layer, key, await self._afetch(layer, params))

    async def atile(self, layer_ids: list[str], z: int, x: int, y: int,
                    filters: Mapping[str, str] | None = None) -> tuple[bytes, str]:
        """:meth:`tile` for the event loop: cache hits never leave it, misses run in threads."""
        await self.async_sync()
        try:
            layers = [self.registry.get(i) for i in layer_ids] or self.layers(layer_ids)
        except NotFound:
            layers = await anyio.to_thread.run_sync(self.layers, layer_ids)
        per_layer = split_filters(layers, filters or {})
        parts = [await self.alayer_tile(layer, z, x, y, per_layer[layer.id]) for layer in layers]
        if len(parts) == 1:
            return parts[0].data, parts[0].etag
        data = b"".join(p.data for p in parts)
        return data, etag_of(data)

    def layers(self, layer_ids: list[str]) -> list[Layer]:
        """The layers named (404 for an unknown id, 422 for none)."""
        if not layer_ids:
            raise InvalidInput("path parameter 'layers': name at least one layer",
                               code="invalid_parameter", parameter="layers")
        try:
            return [self.registry.get(i) for i in layer_ids]
        except NotFound:
            self.sync(force=True)  # a grid layer created since the last sync
            return [self.registry.get(i) for i in layer_ids]

    def check_filters(self, layer_ids: list[str], filters: Mapping[str, str]) -> None:
        """Raise :class:`InvalidInput` (422) for a filter that is invalid or unknown."""
        split_filters(self.layers(layer_ids), filters)

    def tile(self, layer_ids: list[str], z: int, x: int, y: int,
             filters: Mapping[str, str] | None = None) -> tuple[bytes, str]:
        """MVT bytes of one or several layers (concatenated) and the ETag of the content.

        Each filter must be known to at least one of the layers; each layer
        gets the filters it declares.
        """
        self.sync()
        layers = self.layers(layer_ids)
        per_layer = split_filters(layers, filters or {})
        parts = [self.layer_tile(layer, z, x, y, per_layer[layer.id]) for layer in layers]
        if len(parts) == 1:
            return parts[0].data, parts[0].etag
        data = b"".join(p.data for p in parts)
        return data, etag_of(data)


class TileConnections:
    """Reused psycopg connections for tile queries (thread-safe), with binary results.

    Tiles are fetched in binary (no hex encoding of the MVT bytes on either side)
    on connections made with :data:`TILE_CONNECT_OPTIONS`, each statement
    prepared once per connection. From the event loop, :meth:`afetch` runs the
    query in a worker thread, at most ``size`` at a time per loop: a large tile
    arrives in many socket reads, which a blocking read takes in a few calls
    where the event loop would wake up for each, and more concurrent queries
    than that only queue inside PostgreSQL. A connection whose query failed or
    was interrupted is closed rather than reused, so a connection in an unknown
    state never serves another tile.
    """

    def __init__(self, url: str, size: int = 4, options: str = TILE_CONNECT_OPTIONS) -> None:
        if size < 1:
            raise ValueError("size must be >= 1")
        self.url = url
        self.size = size
        self.options = options
        self._idle: list[psycopg.Connection[Any]] = []
        self._closed = False
        self._lock = threading.Lock()
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                  anyio.CapacityLimiter] = (
            weakref.WeakKeyDictionary())

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, prepare_threshold=0,
                               options=self.options)

    def fetch(self, sql: str, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The one row of ``sql`` with ``params`` (blocking).

        An idle connection found broken (the server restarted, the backend was
        terminated) is replaced once, so a restart of PostgreSQL costs no request.
        """
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        reused = conn is not None
        if conn is None:
            conn = self._connect()
        while True:
            try:
                row = conn.cursor(binary=True).execute(sql, params, prepare=True).fetchone()
                break
            except psycopg.OperationalError:
                retry = reused and conn.broken  # read before close(), which clears it
                conn.close()
                if not retry:
                    raise
                reused = False
                conn = self._connect()
            except BaseException:
                conn.close()
                raise
        with self._lock:
            keep = not self._closed and len(self._idle) < self.size
            if keep:
                self._idle.append(conn)
        if not keep:
            conn.close()
        if row is None:
            raise RuntimeError("a tile statement returned no row")
        return tuple(row)

    async def afetch(self, sql: str, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """:meth:`fetch` from the event loop, in a worker thread."""
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self.size)
        return await anyio.to_thread.run_sync(self.fetch, sql, params, limiter=limiter)

    def close(self) -> None:
        """Close the idle connections; busy ones are closed when their query ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def split_filters(layers: list[Layer], filters: Mapping[str, str]
                  ) -> dict[str, dict[str, str]]:
    """The filters each layer declares; raise :class:`InvalidInput` for invalid or unknown ones."""
    per_layer: dict[str, dict[str, str]] = {}
    for layer in layers:
        names = {f.name for f in layer.all_filters}
        per_layer[layer.id] = {k: v for k, v in filters.items() if k in names}
        layer.bind(per_layer[layer.id])  # parses: a 422 naming the parameter
    known = {k for sub in per_layer.values() for k in sub}
    unknown = sorted(set(filters) - known)
    if unknown:
        allowed = sorted({f.name for layer in layers for f in layer.all_filters})
        raise InvalidInput(f"query parameter '{unknown[0]}': not a filter of "
                           f"{', '.join(la.id for la in layers)} (allowed: "
                           f"{', '.join(allowed) or 'none'})",
                           code="invalid_parameter", parameter=unknown[0])
    return per_layer


def make_tile_engine(url: Any, pool_size: int = 4, statement_timeout_ms: int | None = None
                     ) -> Engine:
    """Engine of the cache's bookkeeping, TileJSON bounds and raster tiles.

    Same options as the tile connections; no overflow connections, which would be
    opened and closed per request under load. A pooled connection is checked when
    taken (``pool_pre_ping``): the first tile after a restart of the database works.
    """
    return create_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=60,
                         pool_pre_ping=True, isolation_level="AUTOCOMMIT",
                         connect_args={"options": tile_connect_options(statement_timeout_ms),
                                       "prepare_threshold": 0})

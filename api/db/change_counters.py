"""The change counters of the tracked tables (``table_versions``): one reader for all.

Triggers (migrations 0003 and 0022) bump a table's counter in
``table_versions`` with every statement that writes it (the row lock orders the
counters by commit) and record the changed rows' boxes in ``tile_changes``. The
tile cache, the grid lookup and the analytics cache read the counters here to
know whether what they hold is still current.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import BigInteger, Connection, DateTime, Float, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base

#: the table of the counters: one row (table_name, version) per tracked table
TABLE = "table_versions"
#: every counter as one JSON object, to read with a statement's result (the tiles)
VERSIONS_JSON_SQL = f"(SELECT json_object_agg(table_name, version) FROM {TABLE})"  # noqa: S608 - constant
#: options of a connection that only reads counters: no parallel plans, no JIT
READ_OPTIONS = "-c max_parallel_workers_per_gather=0 -c jit=off"


def versions_sql(tables: Iterable[str] | None = None) -> str:
    """The statement reading the counters of ``tables`` (trusted names; None: all).

    Examples
    --------
    >>> versions_sql(["grids", "grid_layers"])
    "SELECT table_name, version FROM table_versions WHERE table_name IN ('grid_layers', 'grids') ORDER BY table_name"
    """  # noqa: E501
    where = ""
    if tables is not None:
        where = f" WHERE table_name IN ({', '.join(repr(t) for t in sorted(tables))})"
    return f"SELECT table_name, version FROM {TABLE}{where} ORDER BY table_name"  # noqa: S608


def read_versions(conn: Connection, tables: Iterable[str] | None = None) -> dict[str, int]:
    """The counters of ``tables`` (None: every tracked table) as committed now."""
    return {str(r[0]): int(r[1]) for r in conn.execute(text(versions_sql(tables)))}


class VersionCheck:
    """Reads the counters on one async connection; concurrent callers share a read.

    A caller reuses a read that started after it arrived, so every commit that
    finished before the call is seen. ``tables``: the counters to read (None: all).
    """

    def __init__(self, url: str, options: str = READ_OPTIONS,
                 tables: Iterable[str] | None = None) -> None:
        self.url = url
        self.options = options
        self._sql = versions_sql(tables)
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        self._last_start = 0
        self._last: dict[str, int] = {}

    async def versions(self) -> dict[str, int]:
        """Table versions as committed at some moment after this call began."""
        arrived = time.monotonic_ns()
        async with self._lock:
            if self._last_start > arrived:
                return self._last
            self._last_start = time.monotonic_ns()
            self._last = await self._read()
            return self._last

    async def _read(self) -> dict[str, int]:
        """Read the versions; a connection that died while idle is replaced once."""
        reused = self._conn is not None and not self._conn.closed
        try:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, prepare_threshold=0, options=self.options)
            cur = await self._conn.execute(self._sql)
            return {r[0]: int(r[1]) for r in await cur.fetchall()}
        except psycopg.Error:
            if self._conn is not None:
                await self._conn.close()
            self._conn = None
            if not reused:
                raise
        return await self._read()


class TableVersion(Base):
    """Change counter of one tracked table, bumped by every writing statement."""

    __tablename__ = "table_versions"

    table_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class TileChange(Base):
    """Bounding box (EPSG:4326) of rows changed at one version; NULL box: everywhere."""

    __tablename__ = "tile_changes"
    __table_args__ = (Index("ix_tile_changes_table_version", "table_name", "version"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(BigInteger)
    minx: Mapped[float | None] = mapped_column(Float)
    miny: Mapped[float | None] = mapped_column(Float)
    maxx: Mapped[float | None] = mapped_column(Float)
    maxy: Mapped[float | None] = mapped_column(Float)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

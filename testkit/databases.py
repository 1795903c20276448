"""Throwaway databases on a PostgreSQL server, for the tests and the benches."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy import Engine, make_url

from api.db.migrate import upgrade
from api.db.session import make_engine
from api.io.samples import load_directory
from testkit.clusters import server_or_throwaway

if TYPE_CHECKING:
    from data_samples.generator import Scale


def plain(url: str) -> str:
    """A SQLAlchemy URL as libpq (psycopg) takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` next to ``server_url``'s and return its URL."""
    with psycopg.connect(plain(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` on ``server_url``'s server."""
    with psycopg.connect(plain(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new database migrated to head, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(server_url, name)


@contextmanager
def sample_database(server_url: str, sample_dir: Path, prefix: str = "gridgov_live", *,
                    analyze: bool = False) -> Iterator[tuple[str, Engine]]:
    """A new database, migrated and loaded with the sample: its URL and an engine on it.

    With ``analyze`` the planner's statistics are fresh (``VACUUM ANALYZE``), as a
    bench needs; the database is dropped afterwards.
    """
    with migrated_database(server_url, prefix) as url:
        engine = make_engine(url, pool_size=2)
        try:
            load_directory(engine, sample_dir)
            if analyze:
                with psycopg.connect(plain(url), autocommit=True) as conn:
                    conn.execute("VACUUM ANALYZE")
            yield url, engine
        finally:
            engine.dispose()


@contextmanager
def fresh_sample_database(server_url: str, sample_dir: Path, prefix: str = "gridgov_live", *,
                          analyze: bool = False) -> Iterator[str]:
    """The URL of a :func:`sample_database` (no engine kept open on it)."""
    with sample_database(server_url, sample_dir, prefix, analyze=analyze) as (url, engine):
        engine.dispose()
        yield url


def cached_sample(scale: Scale, seed: int = 7) -> Path:
    """The sample town of ``scale`` in the temporary folder, generated on first use."""
    from data_samples.generator import generate

    folder = Path(tempfile.gettempdir()) / f"gridgov-sample-{scale}-seed{seed}"
    if not (folder / "sample.gpkg").exists():
        generate(folder, seed=seed, scale=scale)
    return folder


@contextmanager
def throwaway_sample_database(server_url: str | None, scale: Scale = "small", *,
                              durable: bool = True) -> Iterator[tuple[str, Path]]:
    """A fresh database with the sample of ``scale``, and the sample's folder, for a bench.

    On ``server_url``'s server, else on a throwaway cluster, ``durable`` by default
    (fsync and synchronous commit: a 201 means the report is on disk).
    """
    sample = cached_sample(scale)
    with server_or_throwaway(server_url, durable=durable) as server, \
            fresh_sample_database(server, sample, "gridgov_bench") as url:
        yield url, sample


@contextmanager
def analysed_sample_database(server_url: str | None, scale: Scale) -> Iterator[str]:
    """A fresh database with the sample of ``scale``, its statistics fresh, for a bench.

    On ``server_url``'s server, else on a throwaway cluster (not durable: the benches
    that use it read).
    """
    with server_or_throwaway(server_url) as server, fresh_sample_database(
            server, cached_sample(scale), "gridgov_bench", analyze=True) as url:
        yield url

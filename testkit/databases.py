"""Throwaway databases on a PostgreSQL server, for the tests and the benches."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from api.db.migrate import upgrade
from api.db.session import make_engine
from api.io.samples import load_directory


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` next to ``server_url``'s and return its URL."""
    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` on ``server_url``'s server."""
    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
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
def fresh_sample_database(server_url: str, sample_dir: Path) -> Iterator[str]:
    """A new database, migrated and loaded with the sample; dropped afterwards."""
    name = f"gridgov_live_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        try:
            load_directory(engine, sample_dir)
        finally:
            engine.dispose()
        yield url
    finally:
        drop_database(server_url, name)

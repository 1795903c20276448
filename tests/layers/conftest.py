"""A fresh database of our own with the small sample, for tests that must commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from api.db.migrate import upgrade
from api.db.session import make_engine
from api.io.samples import load_directory
from api.main import create_app
from api.settings import Settings
from testkit.databases import create_database, drop_database


@pytest.fixture(scope="package")
def tiles_db(server_url: str, sample_dir: Path) -> Iterator[str]:
    """URL of a fresh database holding the small sample, committed."""
    name = f"gridgov_tiles_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    upgrade(url)
    engine = make_engine(url, pool_size=1)
    load_directory(engine, sample_dir)
    engine.dispose()
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="package")
def tiles_client(tiles_db: str) -> Iterator[TestClient]:
    """A client of an app on :func:`tiles_db` (its requests see committed data only)."""
    settings = Settings()
    settings.db.database_url = tiles_db
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture()
def pg(tiles_db: str) -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection to :func:`tiles_db`: every statement commits."""
    plain = make_url(tiles_db).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        yield conn

"""Test fixtures: a real, throwaway PostGIS; never a mock, never SQLite.

One session fixture starts a private cluster (or uses ``GRIDGOV_TEST_DATABASE_URL``),
creates a fresh database and runs ``alembic upgrade head``; the small sample town
is loaded once; each test runs inside a transaction that is rolled back.
A skipped test fails the run: the database must be there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from api.db.session import make_engine
from api.deps import get_session
from api.main import create_app
from api.settings import Settings, normalise_url
from testkit.clusters import throwaway_cluster
from testkit.databases import migrated_database

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# One key of personal data for the whole run (apps, the sample loader, servers started
# by tests); the tests of key files build settings of their own.
os.environ.setdefault("GRIDGOV_PERSONAL_KEY", "Z3JpZGdvdiB0ZXN0IGtleSBvZiAzMiBieXRlcyEhISE=")

@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of a PostgreSQL server for the test run (an embedded throwaway cluster)."""
    external = os.environ.get("GRIDGOV_TEST_DATABASE_URL")
    if external:
        yield normalise_url(external)
        return
    with throwaway_cluster("gridgov-test-") as cluster:
        yield cluster.url("postgres")


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database migrated to head (the sample is loaded into it by ``engine``)."""
    with migrated_database(server_url, "gridgov_test") as url:
        yield url


@pytest.fixture()
def empty_database_url(server_url: str) -> Iterator[str]:
    """An empty migrated database of the test's own, for code that commits."""
    with migrated_database(server_url, "gridgov_own") as url:
        yield url


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small sample town, generated once per run."""
    from data_samples.generator import generate

    out = tmp_path_factory.mktemp("sample-small")
    generate(out, seed=7, scale="small", end="2026-11-01")  # fixed figures for the tests
    return out


@pytest.fixture(scope="session")
def engine(database_url: str, sample_dir: Path) -> Iterator[Engine]:
    """Engine on the test database with the small sample town loaded (committed)."""
    from api.io.samples import load_directory

    eng = make_engine(database_url, pool_size=5)
    load_directory(eng, sample_dir)
    yield eng
    eng.dispose()


@pytest.fixture()
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn
        finally:
            trans.rollback()


@pytest.fixture()
def session(connection: Connection) -> Iterator[Session]:
    """An ORM session whose commits become savepoints of the test's transaction."""
    with Session(bind=connection, join_transaction_mode="create_savepoint",
                 expire_on_commit=False) as s:
        yield s


@pytest.fixture()
def app_settings(database_url: str) -> Settings:
    """Settings pointing at the test database."""
    settings = Settings()
    settings.db.database_url = database_url
    return settings


@pytest.fixture()
def client(engine: Engine, session: Session, app_settings: Settings) -> Iterator[TestClient]:
    """A client of the app whose requests share the test's rolled-back transaction."""
    # reports are written in savepoints of the test's transaction too
    app = create_app(app_settings, engine=engine, intake_connection=session.connection())
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data beside the clone (``../shared/data``)."""
    if not SHARED_DATA.exists():
        raise FileNotFoundError(f"real data expected at {SHARED_DATA}")
    return SHARED_DATA

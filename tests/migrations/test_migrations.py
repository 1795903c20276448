"""The Alembic migrations upgrade to head, downgrade to base, and match the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, inspect, pool, text

from api.db.all_models import Base
from api.db.migrate import downgrade, upgrade
from testkit.databases import create_database, drop_database

CORE_TABLES = {"admin_areas", "grid_layers", "grids", "buildings", "rooms", "roads", "cameras",
               "departments", "event_categories", "events", "event_history"}
SPATIAL = {"admin_areas", "grids", "buildings", "roads", "cameras", "events"}


@pytest.fixture()
def empty_db(server_url: str) -> Iterator[str]:
    name = f"gridgov_mig_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    yield url
    drop_database(server_url, name)


def _tables(url: str) -> set[str]:
    eng = create_engine(url, poolclass=pool.NullPool)
    with eng.connect() as conn:
        names = set(inspect(conn).get_table_names())
    eng.dispose()
    return names - {"spatial_ref_sys"}


def _gist_indexed(url: str) -> set[str]:
    eng = create_engine(url, poolclass=pool.NullPool)
    with eng.connect() as conn:
        rows = conn.execute(text(
            "SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%USING gist (geom)%'"))
        out = {r[0] for r in rows}
    eng.dispose()
    return out


def test_upgrade_head_creates_core_schema_with_gist_indexes(empty_db: str) -> None:
    upgrade(empty_db)
    assert CORE_TABLES <= _tables(empty_db)
    gist = _gist_indexed(empty_db)
    assert SPATIAL <= gist
    eng = create_engine(empty_db, poolclass=pool.NullPool)
    with eng.connect() as conn:
        with_geometry = {r[0] for r in conn.execute(text(
            "SELECT f_table_name FROM geometry_columns WHERE f_geometry_column = 'geom'"))}
    eng.dispose()
    assert with_geometry == gist, "every geometry column of the schema has a GiST index"


def test_the_migrations_form_one_line() -> None:
    from alembic.script import ScriptDirectory

    from api.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    assert len(script.get_heads()) == 1


def test_downgrade_base_removes_everything_and_upgrade_again(empty_db: str) -> None:
    upgrade(empty_db)
    downgrade(empty_db, "base")
    assert _tables(empty_db) == {"alembic_version"}
    upgrade(empty_db)
    assert CORE_TABLES <= _tables(empty_db)


def test_models_and_migrations_agree(database_url: str) -> None:
    eng = create_engine(database_url, poolclass=pool.NullPool)
    with eng.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_object": alembic_helpers.include_object, "compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    eng.dispose()
    assert diff == []

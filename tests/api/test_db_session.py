"""The engine's pool: a connection that died while it waited is replaced before anyone uses it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, create_engine, exc, text

from api.db.session import PING_AFTER_IDLE_S, make_engine, ping_when_idle


def _kill_pooled_backend(engine: Engine, other: Engine) -> int:
    """Put one connection back in ``engine``'s pool, then end its backend from ``other``."""
    with engine.connect() as conn:
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    with other.connect() as killer:
        assert killer.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        for _ in range(100):  # the backend is gone once pg_stat_activity no longer lists it
            if not killer.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                                  {"p": pid}).scalar():
                break
            time.sleep(0.02)
    return pid


def test_a_connection_that_died_while_idle_is_replaced_before_use(database_url: str) -> None:
    engine, other = make_engine(database_url, pool_size=1), make_engine(database_url, 1)
    try:
        dead = _kill_pooled_backend(engine, other)
        time.sleep(PING_AFTER_IDLE_S * 2)  # idle long enough to be pinged when taken again
        with engine.connect() as conn:  # no error: the ping found it dead, the pool replaced it
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != dead
    finally:
        engine.dispose()
        other.dispose()


def test_a_connection_back_a_moment_ago_is_taken_without_a_ping(database_url: str) -> None:
    # the other side of the bargain: no round trip for a connection just returned. One killed
    # in that moment (not a restart: the database takes longer) fails its statement, and the
    # pool then replaces it, as it would a connection that died during a request.
    engine = create_engine(database_url, pool_size=1)
    ping_when_idle(engine, idle_s=3600)  # every checkout of this test is "a moment ago"
    other = make_engine(database_url, 1)
    try:
        _kill_pooled_backend(engine, other)
        with pytest.raises(exc.OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
        other.dispose()

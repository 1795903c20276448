"""Engine and session factory."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

#: a connection back in the pool for less than this is taken again without a ping: the
#: database cannot have restarted in between (its shutdown and start take longer)
PING_AFTER_IDLE_S = 0.1


def connect_options(statement_timeout_ms: int | None = None) -> str:
    """The libpq ``options`` of our connections: no parallel plans, UTC, a statement limit.

    Examples
    --------
    >>> connect_options(15000)
    '-c max_parallel_workers_per_gather=0 -c timezone=UTC -c statement_timeout=15000'
    """
    options = "-c max_parallel_workers_per_gather=0 -c timezone=UTC"
    if statement_timeout_ms:
        options += f" -c statement_timeout={int(statement_timeout_ms)}"
    return options


def make_engine(url: str, pool_size: int = 10, statement_timeout_ms: int | None = None
                ) -> Engine:
    """Create the SQLAlchemy engine; parallel plans are off for short, many queries.

    ``statement_timeout_ms``: statements running longer are cancelled (the server's
    request connections); None or 0, no limit (migrations, imports, the CLI). A
    connection found dead when taken from the pool is replaced, so the first request
    after a restart of the database succeeds: :func:`ping_when_idle`.
    """
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"options": connect_options(statement_timeout_ms)},
    )
    ping_when_idle(engine)
    return engine


def ping_when_idle(engine: Engine, idle_s: float = PING_AFTER_IDLE_S) -> None:
    """Ping a pooled connection before use when it has been idle ``idle_s`` or more.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip to the
    database before each request's first statement. Under load a connection comes
    back to the pool and goes out again within milliseconds, too soon for the
    database to have gone away and come back; one that waited longer is pinged, and
    a dead one is replaced before the request sees it (the pool retries the
    checkout on ``DisconnectionError``).
    """
    @event.listens_for(engine, "checkin")
    def _back(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is not None and time.monotonic() - since < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: a connection to replace
            raise exc.DisconnectionError(f"pooled connection dead: {error}") from error


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Session factory bound to ``engine``; objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)

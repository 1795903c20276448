"""Engine and session factory."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


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
    connection found dead when taken from the pool is replaced (``pool_pre_ping``),
    so the first request after a restart of the database succeeds.
    """
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"options": connect_options(statement_timeout_ms)},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Session factory bound to ``engine``; objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)

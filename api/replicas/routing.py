"""Where a read goes: a replica's session, or the primary's when there is none.

The app builds :class:`ReadReplicas` once in its lifespan
(``AppState.replicas``); ``api.deps.get_read_session`` gives a request a
session on the next replica (round robin). Without replicas it is the
request's primary session (``api.deps.get_session``), so the same code runs on
one database.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.db.session import make_engine, make_sessionmaker

VERSIONS_OF = ("SELECT table_name, version FROM table_versions "
               "WHERE table_name = ANY(CAST(:t AS text[]))")


class ReadReplicas:
    """Engines and session factories of the replicas, taken in turn (thread-safe).

    Parameters
    ----------
    urls
        SQLAlchemy URLs of the replicas; none: every read goes to the primary.
    pool_size, statement_timeout_ms
        As the primary's engine (:func:`api.db.session.make_engine`).
    """

    def __init__(self, urls: Iterable[str], pool_size: int = 10,
                 statement_timeout_ms: int | None = None) -> None:
        self.engines: list[Engine] = [make_engine(u, pool_size, statement_timeout_ms)
                                      for u in urls]
        self._makers = [make_sessionmaker(e) for e in self.engines]
        self._turn = itertools.cycle(range(len(self._makers))) if self._makers else None
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.engines)

    def sessionmaker(self) -> sessionmaker[Session] | None:
        """The next replica's session factory, or None without replicas."""
        if self._turn is None:
            return None
        with self._lock:
            return self._makers[next(self._turn)]

    def dispose(self) -> None:
        """Close every replica connection."""
        for engine in self.engines:
            engine.dispose()


def versions_of(conn: Connection, tables: Iterable[str]) -> dict[str, int]:
    """The change counters of ``tables`` as ``conn``'s snapshot sees them."""
    rows = conn.execute(text(VERSIONS_OF), {"t": list(tables)}).all()
    return {str(t): int(v) for t, v in rows}


def caught_up(replica: Connection, primary: Engine, tables: Iterable[str]) -> bool:
    """Whether ``replica``'s snapshot holds the primary's changes of ``tables``.

    Every change committed on the primary before this call counts: each change
    counter on the replica must be at least the primary's.
    """
    names = list(tables)
    with primary.connect() as conn:
        wanted = versions_of(conn, names)
    seen = versions_of(replica, names)
    return all(seen.get(t, 0) >= v for t, v in wanted.items())

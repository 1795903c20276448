"""Group commit of event reports: reports that arrive together share one transaction.

The intake endpoint hands each validated report to the app's :class:`IntakeWriter`
and answers when the report is committed. The writer takes whatever reports are
waiting (up to ``max_batch``), writes them in order with
:func:`api.events.intake.write_reports` (one grid lookup, one pipeline of
statements) and commits once; the reports that came in meanwhile form the next
batch. Under load a report thus costs a share of a commit (one WAL flush,
one bump of the tile change counters, one round trip) instead of a whole one,
and nothing is acknowledged before its transaction is durable.

While a batch is in the database, the next one is prepared in another worker
thread (:func:`api.events.intake.prepare_reports`: checks, places, grids, sealed
contacts, parameters; read-only, on a session of the pool), so the server's
Python and PostgreSQL work at the same time instead of taking turns. It is
taken once as many reports wait as the batch being written holds, handed to
the thread writing that batch, and written by it right after that batch's
commit (the event loop is not on the way from one transaction to the next):
transactions stay one at a time and in order, so a batch still sees everything
committed before it (duplicates, keys). The thread answers each batch on the
event loop as soon as it is committed.

A report refused for its content (unknown category, outside the jurisdiction,
...) gets its 4xx and the others of its batch are written. When anything else
fails while the batch is written (the grid lookup, a statement the database
rejects, text the driver cannot encode, an unexpected error), the transaction
is rolled back and its reports are written again one transaction each, so the
report at fault fails alone (with the answer of
:func:`api.errors.database_error`, e.g. 422 ``invalid_text``, else 500) and the
others are stored. When the database is unavailable (the connection breaks,
no new one can be made) or a statement is cancelled by ``statement_timeout``,
the reports of that batch get 503 (``database_unavailable`` or
``query_timeout``: retry with the same ``Idempotency-Key``). A connection
that died while idle (the database restarted) is replaced and the batch
written on the new one, so the first reports after a restart are stored;
the next batch after a failure opens a new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.errors import INVALID_TEXT, APIError, database_error
from api.events.intake import Intake, Prepared, Report, prepare_reports, write_prepared
from api.grids.lookup import GridLookup
from api.personal.cipher import PersonalCipher
from api.settings import EventSettings
from gis_core.errors import GisError

logger = logging.getLogger("gridgov.intake")

Outcome = Intake | BaseException
#: reports with the futures of their callers
Batch = list[tuple[Report, "asyncio.Future[Intake]"]]
#: a batch for the writing thread: the loop and wake-up of its callers, it, its preparation
Handoff = tuple[asyncio.AbstractEventLoop, asyncio.Event, Batch, "Prepared | None"]


class IntakeWriter:
    """Writes reports in group commits on one connection of ``engine``.

    Parameters
    ----------
    engine
        The database; the writer keeps one connection of its own.
    lookup
        The app's grid lookup.
    settings
        Duplicate radius and window.
    max_batch
        The most reports in one transaction.
    connection
        Write on this connection instead, each batch in a savepoint of its
        transaction (tests whose requests share a transaction that is rolled back).
    personal
        The cipher of personal data (reporters' contacts are stored encrypted).
    """

    def __init__(self, engine: Engine, lookup: GridLookup, settings: EventSettings,
                 max_batch: int = 64, connection: Connection | None = None,
                 personal: PersonalCipher | None = None) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.engine = engine
        self.lookup = lookup
        self.settings = settings
        self.max_batch = max_batch
        self.personal = personal
        self._given = connection
        self._conn: Connection | None = connection
        self._queue: list[tuple[Report, asyncio.Future[Intake]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        #: transactions committed
        self.batches = 0
        #: batches prepared while the one before them was being written
        self.prepared_ahead = 0
        self._last = 1  # reports in the batch last taken
        #: the task of the thread writing batches (one after the other), if any
        self._writing: asyncio.Task[None] | None = None
        self._chain = threading.Lock()  # guards the two below, shared with that thread
        self._writing_on = False        # the thread is writing and will look for more
        self._handoff: Handoff | None = None  # its next batch

    async def submit(self, report: Report) -> Intake:
        """Write ``report``; return when it is committed (or raise why it was not)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name="gridgov intake writer")
        assert self._wake is not None  # noqa: S101 - an invariant, for the type checker
        future: asyncio.Future[Intake] = loop.create_future()
        self._queue.append((report, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        """Take batches in turn: each is prepared while the one before it is written.

        The next batch is taken once as many reports wait as the batch being written
        holds (or when that one is done), so that preparing ahead does not make the
        batches, and so the commits' share of each report, smaller. A batch prepared
        while another is written is handed to the writing thread, which goes on with
        it right after its commit: the event loop is not on the way from one
        transaction to the next.
        """
        wake = self._wake
        assert wake is not None  # noqa: S101 - an invariant, for the type checker
        loop = asyncio.get_running_loop()
        while True:
            with self._chain:
                writing, handed = self._writing_on, self._handoff is not None
            if not self._queue or (writing and (handed or len(self._queue) < self._last)):
                wake.clear()
                await wake.wait()  # a report came, or the writing thread moved on
                continue
            batch = self._queue[:self.max_batch]
            del self._queue[:self.max_batch]
            self._last = len(batch)
            prepared = None  # nothing being written: the batch's write prepares it
            if writing:
                prepared = await anyio.to_thread.run_sync(
                    self._prepare, [report for report, _ in batch])
            with self._chain:
                if self._writing_on:  # the thread takes it after its commit
                    self._handoff = (loop, wake, batch, prepared)
                    continue
                self._writing_on = True
            self._writing = loop.create_task(anyio.to_thread.run_sync(
                self._write_on, (loop, wake, batch, prepared)), name="gridgov intake batches")

    def _write_on(self, work: Handoff) -> None:
        """Write a batch, then each batch handed over meanwhile, answering each on its loop."""
        try:
            while True:
                loop, wake, batch, prepared = work
                try:
                    outcomes: Sequence[Outcome] = self._write(
                        [report for report, _ in batch], prepared)
                except Exception as exc:  # the batch failed as a whole; so do its reports
                    logger.exception("intake batch of %d reports failed", len(batch))
                    outcomes = [_answer(exc)] * len(batch)
                with self._chain:
                    handed, self._handoff = self._handoff, None
                    if handed is None:
                        self._writing_on = False
                _call(loop, _settle, batch, outcomes)
                _call(loop, wake.set)  # the loop may take the next batch
                if handed is None:
                    return
                work = handed
        except BaseException:  # not even answered: let the loop start another thread
            with self._chain:
                self._writing_on = False
            raise

    # -- in a worker thread -----------------------------------------------------------
    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            if self._conn is not None:
                self._conn.close()
            self._conn = self.engine.connect()
        return self._conn

    def _transaction(self, conn: Connection) -> Any:
        return conn.begin_nested() if self._given is not None else conn.begin()

    def _prepare(self, reports: list[Report]) -> Prepared | None:
        """``reports`` made ready on a session of the pool, or None: the writer does it.

        The session reads only (staff tokens, building codes, addresses) and takes a
        connection only when a report needs one. With a connection of the caller's
        (tests in one transaction) nothing is prepared ahead. Anything that fails
        here is left to :meth:`_write`, which prepares the batch again on its own
        connection and answers as it always does.
        """
        if self._given is not None:
            return None
        try:
            with Session(self.engine) as session:
                prepared = prepare_reports(session, self.lookup, reports, self.settings,
                                           datetime.now(UTC), personal=self.personal)
        except Exception as exc:  # written (or refused) by _write, on its own
            logger.debug("intake batch not prepared ahead: %s", exc)
            return None
        self.prepared_ahead += 1
        return prepared

    def _write(self, reports: list[Report], prepared: Prepared | None = None
               ) -> list[Outcome]:
        """Write ``reports`` in one transaction; on failure, see the module docstring."""
        conn = self._conn
        reused = (self._given is None and conn is not None and not conn.closed
                  and not conn.invalidated)
        try:
            conn = self._connection()
        except Exception as exc:  # every report gets the answer
            logger.error("intake cannot connect: %s", exc)
            return [_answer(exc)] * len(reports)
        trans = self._transaction(conn)
        try:
            if prepared is None:
                prepared = prepare_reports(conn, self.lookup, reports, self.settings,
                                           datetime.now(UTC), personal=self.personal)
            outcomes: list[Outcome] = list(write_prepared(conn, prepared))
        except Exception as exc:  # the batch is retried or answered
            _rollback(trans)
            return self._failed(conn, reports, exc, retry=reused)
        try:
            trans.commit()
        except Exception as exc:  # the batch is retried or answered
            _rollback(trans)
            if _lost(conn, exc):  # committed or not: unknown; the client retries with its key
                return self._failed(conn, reports, exc, retry=False)
            return self._failed(conn, reports, exc, retry=reused)
        self.batches += 1
        return outcomes

    def _failed(self, conn: Connection, reports: list[Report], exc: Exception,
                retry: bool) -> list[Outcome]:
        """The outcomes of a batch whose transaction failed with ``exc`` (rolled back)."""
        if _lost(conn, exc):
            if not conn.invalidated:
                conn.invalidate()
            if retry:  # it died while idle (the database restarted): write on a new one
                logger.warning("intake connection was lost (%s); reconnecting", exc)
                return self._write(reports)
            logger.error("intake connection lost: %s", exc)
            return [_unavailable()] * len(reports)
        answer = database_error(exc)
        if answer is not None and answer.status == 503:  # not one report's fault
            logger.error("intake batch of %d reports: %s", len(reports), exc)
            return [answer] * len(reports)
        if len(reports) == 1:
            if answer is None and not isinstance(exc, UnicodeEncodeError):
                logger.error("intake report failed", exc_info=exc)
            return [_answer(exc)]
        logger.warning("intake batch rolled back (%s: %s); writing its %d reports one by one",
                       type(exc).__name__, exc, len(reports))
        return [self._write([report])[0] for report in reports]

    def close(self) -> None:
        """Close the writer's own connection (not one it was given)."""
        if self._given is None and self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        """Stop the batch task and close the connection."""
        if self._task is not None:
            self._task.cancel()
            # the task's own failure was answered to its reports; only stopping it matters
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._writing is not None:  # the batch being written is answered first
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writing
            self._writing = None
        await anyio.to_thread.run_sync(self.close)


def _call(loop: asyncio.AbstractEventLoop, callback: Any, *args: Any) -> None:
    """``callback(*args)`` soon on ``loop``, from another thread; nothing if it has closed."""
    with contextlib.suppress(RuntimeError):  # closed: nobody is left to be answered
        loop.call_soon_threadsafe(callback, *args)


def _settle(batch: Batch, outcomes: Sequence[Outcome]) -> None:
    """Answer the reports of ``batch`` (on the event loop)."""
    for (_, future), outcome in zip(batch, outcomes, strict=True):
        if future.done():  # the client went away; its report was written
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _lost(conn: Connection, exc: Exception) -> bool:
    """Whether ``exc`` left ``conn`` unusable (rather than one statement failing)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if conn.invalidated or conn.closed:
        return True
    driver = conn.connection.driver_connection
    return not isinstance(driver, psycopg.Connection) or driver.closed or driver.broken


def _rollback(trans: Any) -> None:
    try:
        if trans.is_active:
            trans.rollback()
    except (DBAPIError, psycopg.Error):  # the connection is gone: nothing to roll back
        pass


def _answer(exc: Exception) -> Outcome:
    """What a report that failed with ``exc`` is answered (the exception: a 500)."""
    if isinstance(exc, UnicodeEncodeError):
        return APIError(422, INVALID_TEXT, "the report contains text that is not valid "
                        "Unicode (lone surrogates)")
    return database_error(exc) or exc


def _unavailable() -> GisError:
    return APIError(503, "database_unavailable", "the database connection was lost while "
                    "writing the report; retry with the same Idempotency-Key")


__all__ = ["IntakeWriter"]

"""Everything app-scoped, built once in the lifespan of :func:`api.main.create_app`.

:class:`AppState` holds the engine and the objects that live as long as the app
(grid lookup, intake writer, tile and raster services, analytics cache, the
personal-data cipher, the listener of live case updates); :func:`open_state`
builds them, starts the background jobs (:func:`scheduled_jobs`, each on
:func:`api.nodes.schedule.every`; notification delivery in its worker thread)
and closes everything in reverse order. Requests reach the parts through the typed
dependencies of :mod:`api.deps`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial

import anyio.to_thread
import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.alerts.scheduled import run_alerts_once
from api.analytics.scheduled import refresh_map_analyses
from api.analytics.service import ResultCache
from api.auth.cache import CredentialCache
from api.camera_feed.scheduled import run_sweep
from api.db.session import make_engine, make_sessionmaker
from api.events.scheduled import run_escalation
from api.events.writer import IntakeWriter
from api.field.scheduled import run_retention
from api.grids.lookup import IndexedGridLookup
from api.handover.scheduled import run_poll
from api.imports.admin_codes import DivisionTable
from api.nodes.schedule import every
from api.notify.delivery import delivery_schedule
from api.personal.cipher import PersonalCipher
from api.replicas.routing import ReadReplicas
from api.reports.scheduled import run_reports
from api.settings import Settings
from api.tiles.rasters import RasterService
from api.tiles.service import TileService
from api.workbench.live import LiveHub

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppState:
    """The app-scoped parts, one of each per app."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    personal: PersonalCipher
    grid_lookup: IndexedGridLookup
    intake_writer: IntakeWriter
    tiles: TileService
    rasters: RasterService
    analytics_cache: ResultCache
    #: streaming replicas for reads (none: everything reads the primary)
    replicas: ReadReplicas
    #: the GB/T 2260 division table (the people archive's registration places)
    divisions: DivisionTable
    #: one LISTEN connection fanning changed cases out to the workbench's live streams
    live: LiveHub
    #: the principals the gate resolved, reused while the credential tables stand still
    credentials: CredentialCache


def scheduled_jobs(state: AppState) -> list[tuple[str, float, Callable[[], object]]]:
    """The server's scheduled jobs: (name, seconds between rounds (0: off), the job)."""
    s, sessions = state.settings, state.sessions
    return [
        ("escalation", s.events.escalation_interval_seconds,
         partial(run_escalation, sessions, s.events)),
        ("anomaly alerts", s.events.anomaly_interval_seconds, partial(run_alerts_once, sessions)),
        ("camera sweep", s.camera.sweep_interval_seconds,
         partial(run_sweep, sessions, s.camera.offline_after_seconds)),
        ("neighbour polling", s.events.handover_poll_interval_seconds,
         partial(run_poll, sessions, state.personal, s.events.handover_poll_timeout_seconds)),
        ("track retention", s.field.track_retention_interval_seconds,
         partial(run_retention, sessions, s.field.track_retention_days)),
        ("hot and blind spots", s.analytics.refresh_interval_seconds,
         partial(refresh_map_analyses, sessions, state.engine, state.analytics_cache,
                 s.analytics)),
        ("reports", s.reports.interval_seconds if s.reports.area_codes() else 0,
         partial(run_reports, sessions, s)),
    ]


@asynccontextmanager
async def open_state(settings: Settings, engine: Engine | None = None,
                     intake_connection: Connection | None = None) -> AsyncIterator[AppState]:
    """Build the app's state, run its background schedules, close it all at the end.

    Parameters
    ----------
    settings
        The app's settings.
    engine
        An existing engine (left open at the end); otherwise one is made from ``settings.db``.
    intake_connection
        Write reports on this connection, each batch in a savepoint (tests).
    """
    # the key of personal data first: a missing or too widely readable key stops here
    personal = PersonalCipher.from_settings(settings)
    timeout = settings.db.statement_timeout_ms
    async with AsyncExitStack() as stack:
        if engine is None:
            engine = make_engine(settings.db.resolved_url(), settings.db.pool_size, timeout)
            stack.callback(engine.dispose)
        lookup = IndexedGridLookup(engine)
        stack.callback(lookup.close)
        writer = IntakeWriter(engine, lookup, settings.events, connection=intake_connection,
                              personal=personal)
        stack.push_async_callback(writer.aclose)
        tiles = TileService.from_settings(engine, settings.tiles, timeout,
                                          read_urls=settings.db.read_urls())
        stack.callback(tiles.close)
        replicas = ReadReplicas(settings.db.read_urls(), settings.db.pool_size, timeout)
        stack.callback(replicas.dispose)
        state = AppState(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                         personal=personal, grid_lookup=lookup, intake_writer=writer,
                         tiles=tiles, rasters=RasterService(tiles),
                         analytics_cache=ResultCache(), replicas=replicas,
                         divisions=DivisionTable.load(), live=LiveHub.for_engine(engine),
                         credentials=CredentialCache.for_engine(
                             engine, 0 if intake_connection is not None
                             else settings.auth.credential_cache_seconds))
        await _load_grid_index(lookup)
        await state.live.start()
        stack.push_async_callback(state.live.stop)
        for name, interval, job in scheduled_jobs(state):
            await stack.enter_async_context(every(name, interval, job))
        await stack.enter_async_context(delivery_schedule(engine, personal, settings))
        yield state


async def _load_grid_index(lookup: IndexedGridLookup) -> None:
    """Load the grid index now rather than on the first report."""
    try:
        await anyio.to_thread.run_sync(lookup.index)
    except (SQLAlchemyError, psycopg.Error) as exc:  # not migrated yet: built on first use
        logger.warning("grid index not loaded at start-up: %s", exc)

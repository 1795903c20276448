"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import psycopg
from fastapi import Depends, FastAPI
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

import api
from api import security
from api.alerts import router as alerts_router
from api.audit import router as audit_router
from api.auth import router as auth
from api.auth.access import gate
from api.auth.principal import ScopeCache
from api.auth.throttle import SignInThrottle
from api.calendar import router as calendar_router
from api.camera_feed import router as camera_feed_router
from api.catalogue import router as catalogue_router
from api.db.session import make_engine, make_sessionmaker
from api.errors import add_exception_handlers
from api.escalation import router as escalation_router
from api.grids import router as grid_versions_router
from api.handover import router as handover_router
from api.joint import router as joint_router
from api.notify import router as notify_router
from api.openapi import document_errors
from api.personal import router as personal_router
from api.personal.cipher import PersonalCipher
from api.routers import (
    analytics,
    assign,
    buildings,
    cameras,
    categories,
    codes,
    events,
    grids,
    health,
    ogc,
    open311,
    plate_page,
    stats,
    tiles,
    web,
)
from api.services.analytics import ResultCache
from api.services.grid_lookup import IndexedGridLookup
from api.services.intake_writer import IntakeWriter
from api.settings import Settings
from api.tracking import router as tracking_router
from api.validation import check_request_text


def create_app(settings: Settings | None = None, engine: Engine | None = None,
               intake_connection: Connection | None = None) -> FastAPI:
    """Build the application.

    Parameters
    ----------
    settings
        Settings; read from the environment when omitted.
    engine
        An existing engine (tests pass theirs); otherwise one is created in the
        lifespan from ``settings.db``.
    intake_connection
        Write reports on this connection, each batch in a savepoint of its
        transaction (tests whose requests share a transaction that is rolled back);
        by default the intake writer keeps a connection of its own.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the key of personal data first: a missing or too widely readable key stops here
        app.state.personal = personal = PersonalCipher.from_settings(settings)
        own = engine is None
        eng = engine or make_engine(settings.db.resolved_url(), settings.db.pool_size,
                                    settings.db.statement_timeout_ms)
        app.state.engine = eng
        app.state.sessionmaker = make_sessionmaker(eng)
        app.state.analytics_cache = ResultCache()
        app.state.grid_lookup = lookup = IndexedGridLookup(eng)
        app.state.intake_writer = writer = IntakeWriter(eng, lookup, settings.events,
                                                        connection=intake_connection,
                                                        personal=personal)
        try:  # load the grid index now rather than on the first report
            await anyio.to_thread.run_sync(lookup.index)
        except (SQLAlchemyError, psycopg.Error) as exc:  # not migrated yet: built on first use
            logging.getLogger(__name__).warning("grid index not loaded at start-up: %s", exc)
        # What is loaded now (modules, the grid index) lives as long as the app: keep it
        # out of the garbage collector's full passes, which otherwise walk these few
        # hundred thousand objects again and again and stall every request ~0.2 s.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await writer.aclose()
            lookup.close()
            if own:
                eng.dispose()

    app = FastAPI(
        title="gridgov",
        version=api.__version__,
        description="Spatial analytics server for grid-based community governance "
                    "(网格化管理): grids, buildings, cameras, events, analytics.",
        lifespan=lifespan,
        # deny by default (api.auth.access); no NUL in any path or query parameter
        dependencies=[Depends(check_request_text), Depends(gate)],
        docs_url=None,  # served from local assets by api.security
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sign_in_throttle = SignInThrottle.from_settings(settings.auth)
    app.state.scopes = ScopeCache(ttl=settings.auth.scope_cache_seconds)
    add_exception_handlers(app)
    security.install(app, settings)
    # tiles first: the busiest routes, matched before the others are tried
    for module in (tiles, health, assign, grids, buildings, codes, plate_page, cameras,
                   categories, open311, ogc, web, events, stats, analytics, auth,
                   personal_router, audit_router, catalogue_router, grid_versions_router,
                   tracking_router, notify_router, calendar_router, escalation_router,
                   joint_router, alerts_router, camera_feed_router, handover_router):
        app.include_router(module.router)
    document_errors(app)
    return app


def app_from_env() -> FastAPI:
    """Application factory for ``uvicorn --factory``: settings from the environment."""
    return create_app(Settings())

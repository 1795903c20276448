"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Connection, Engine

import api
from api import health, security
from api.alerts import router as alerts_router
from api.analytics import router as analytics
from api.audit import router as audit_router
from api.auth import router as auth
from api.auth.access import gate
from api.auth.principal import ScopeCache
from api.auth.throttle import SignInThrottle
from api.buildings import router as buildings
from api.calendar import router as calendar_router
from api.camera_feed import router as camera_feed_router
from api.cameras import router as cameras
from api.catalogue import categories_router as categories
from api.catalogue import router as catalogue_router
from api.codes import plate_page
from api.codes import router as codes
from api.errors import add_exception_handlers
from api.escalation import router as escalation_router
from api.events import router as events
from api.events import stats_router as stats
from api.field import router as field_router
from api.grids import assign_router as assign
from api.grids import layers_router as grids
from api.grids import router as grid_versions_router
from api.handover import peer as handover_peer
from api.handover import router as handover_router
from api.joint import router as joint_router
from api.notify import router as notify_router
from api.ogc import router as ogc
from api.open311 import router as open311
from api.openapi import document_errors
from api.people import router as people_router
from api.personal import router as personal_router
from api.report_page import router as report_page
from api.reports import router as reports_router
from api.screen import router as screen_router
from api.settings import Settings
from api.state import open_state
from api.tiles import router as tiles
from api.tracking import router as tracking_router
from api.web import router as web
from api.workbench import router as workbench_router


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
        async with open_state(settings, engine, intake_connection) as state:
            app.state.gridgov = state
            # What is loaded now (modules, the grid index) lives as long as the app: keep
            # it out of the garbage collector's full passes, which otherwise walk these few
            # hundred thousand objects again and again and stall every request ~0.2 s.
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()

    app = FastAPI(
        title="gridgov",
        version=api.__version__,
        description="Spatial analytics server for grid-based community governance "
                    "(网格化管理): grids, buildings, cameras, events, analytics.",
        lifespan=lifespan,
        # deny by default, and no NUL in any path or query parameter (api.auth.access.gate)
        dependencies=[Depends(gate)],
        docs_url=None,  # served from local assets by api.security
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sign_in_throttle = SignInThrottle.from_settings(settings.auth)
    app.state.scopes = ScopeCache(ttl=settings.auth.scope_cache_seconds)
    add_exception_handlers(app)
    security.install(app, settings)
    # the busiest routes first, tiles then intake: routes are tried in order, and trying
    # the 45 before the intake took an eighth of the server's time per report. No path
    # of one router is a path of another (tests/api/test_routes.py), so order is free.
    for module in (tiles, events, health, assign, grids, buildings, codes, plate_page,
                   cameras, categories, open311, ogc, web, stats, analytics, auth,
                   personal_router, audit_router, catalogue_router, grid_versions_router,
                   tracking_router, notify_router, calendar_router, escalation_router,
                   joint_router, alerts_router, camera_feed_router, field_router,
                   workbench_router, people_router, handover_router, screen_router,
                   reports_router, report_page, handover_peer):
        app.include_router(module.router)
    document_errors(app)
    return app


def app_from_env() -> FastAPI:
    """Application factory for ``uvicorn --factory``: settings from the environment."""
    return create_app(Settings())

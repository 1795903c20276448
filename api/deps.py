"""Request dependencies: the app's state and its parts, a session, settings, the base URL.

Every dependency here is ``async``: FastAPI runs a plain ``def`` dependency in a
worker thread, and a request's few hops there (each a hand-over of the GIL between
the event loop and a thread) cost more than the lookups they make. Only the
endpoint itself, which does the database work, takes a thread
(``tests/api/test_routes.py`` keeps it so).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.analytics.service import ResultCache
from api.events.writer import IntakeWriter
from api.grids.lookup import IndexedGridLookup
from api.personal.cipher import PersonalCipher
from api.settings import Settings
from api.state import AppState
from api.tiles.rasters import RasterService
from api.tiles.service import TileService


def get_state(request: Request) -> AppState:
    """The app's state, built in its lifespan (:func:`api.state.open_state`)."""
    state: AppState = request.app.state.gridgov
    return state


async def release(session: Session) -> None:
    """Close a request's session: in a worker thread when it still holds a connection.

    A session that committed holds none, and closing it is bookkeeping; one still in a
    transaction (a read, a refused change) rolls it back, a round trip to the database
    that must not stall the event loop.
    """
    if session.in_transaction():
        await run_in_threadpool(session.close)
    else:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Yield a session for one request; the service layer commits, nothing else does.

    Making a session opens no connection: its first statement, in the endpoint's
    worker thread, does.
    """
    session = get_state(request).sessions()
    try:
        yield session
    finally:
        await release(session)


def settings_of(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return settings_of(request)


async def get_public_base_url(request: Request) -> str:
    """The base of URLs given out (plates, Open311): the setting, else this request's address."""
    return settings_of(request).api.base_url(str(request.base_url))


async def get_engine(request: Request) -> Engine:
    """The app's engine (work outside the request's session)."""
    return get_state(request).engine


async def get_grid_lookup(request: Request) -> IndexedGridLookup:
    """The app's grid lookup."""
    return get_state(request).grid_lookup


async def get_intake_writer(request: Request) -> IntakeWriter:
    """The app's intake writer."""
    return get_state(request).intake_writer


async def get_tiles(request: Request) -> TileService:
    """The app's vector tile service."""
    return get_state(request).tiles


async def get_rasters(request: Request) -> RasterService:
    """The app's raster tile service."""
    return get_state(request).rasters


async def get_analytics_cache(request: Request) -> ResultCache:
    """The app's cache of analysis results."""
    return get_state(request).analytics_cache


async def get_personal(request: Request) -> PersonalCipher:
    """The app's personal-data cipher."""
    return get_state(request).personal


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PublicBaseDep = Annotated[str, Depends(get_public_base_url)]
EngineDep = Annotated[Engine, Depends(get_engine)]
GridLookupDep = Annotated[IndexedGridLookup, Depends(get_grid_lookup)]
IntakeWriterDep = Annotated[IntakeWriter, Depends(get_intake_writer)]
TilesDep = Annotated[TileService, Depends(get_tiles)]
RastersDep = Annotated[RasterService, Depends(get_rasters)]
AnalyticsCacheDep = Annotated[ResultCache, Depends(get_analytics_cache)]
PersonalDep = Annotated[PersonalCipher, Depends(get_personal)]


async def get_read_session(request: Request, primary: SessionDep) -> AsyncIterator[Session]:
    """A session on a replica for one request; without replicas, the request's session."""
    replicas = get_state(request).replicas
    maker = replicas.sessionmaker() if replicas else None
    if maker is None:
        yield primary
        return
    session = maker()
    try:
        yield session
    finally:
        await release(session)


ReadSessionDep = Annotated[Session, Depends(get_read_session)]

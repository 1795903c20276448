"""Request dependencies: the database session, settings and the public base URL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """Yield a session for one request; the service layer commits, nothing else does."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_public_base_url(request: Request) -> str:
    """The base of URLs given out (plates, Open311): the setting, else this request's address."""
    return get_settings(request).api.base_url(str(request.base_url))


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PublicBaseDep = Annotated[str, Depends(get_public_base_url)]

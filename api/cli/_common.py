"""What every command group shares: the console, settings, the engine, a session, errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from api.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


def _cluster() -> Any:
    from api.db.embedded import EmbeddedCluster

    return EmbeddedCluster(_settings().db.home)


def _fail(message: str, code: int = 1) -> typer.Exit:
    # never wrapped (a path cut in two cannot be pasted back), never read as markup
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def _friendly_errors() -> Iterator[None]:
    from api.db.embedded import EmbeddedError
    from api.personal.keys import KeyFileError
    from gis_core.errors import GisError

    try:
        yield
    except (EmbeddedError, GisError, KeyFileError) as exc:
        raise _fail(str(exc)) from None


@contextmanager
def _progress(label: str) -> Iterator[Any]:
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn(
            "{task.completed}/{task.total}"), TimeElapsedColumn(), console=err,
            transient=False) as bar:
        task = bar.add_task(label, total=1)

        def update(step: str, done: float, total: float) -> None:
            bar.update(task, description=f"{label}: {step}", completed=done, total=total)

        yield update


def database_url(start: bool = True) -> str:
    """The database URL, starting the embedded cluster when no DATABASE_URL is set."""
    settings = _settings()
    if settings.db.database_url:
        return settings.db.resolved_url()
    cluster = _cluster()
    if start:
        cluster.start()
    return str(cluster.url())


def _engine() -> Any:
    from api.db.session import make_engine

    return make_engine(database_url())


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the configured database; domain errors become a message and exit 1."""
    from sqlalchemy.orm import Session

    with _friendly_errors():
        engine = _engine()
        try:
            with Session(engine, expire_on_commit=False) as session:
                yield session
        finally:
            engine.dispose()

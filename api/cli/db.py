"""``gridgov db ...``: the embedded cluster and the migrations."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.cli._common import _cluster, _friendly_errors, _settings, console, database_url
from api.settings import libpq_url

db_app = typer.Typer(help="The database: embedded cluster and migrations.",
                     no_args_is_help=True)


@db_app.command("start")
def db_start() -> None:
    """Create (first time) and start the embedded PostgreSQL + PostGIS cluster."""
    with _friendly_errors():
        if _settings().db.database_url:
            console.print("DATABASE_URL is set: using that server, nothing to start.")
            return
        cluster = _cluster()
        cluster.start()
        console.print(f"embedded PostGIS running on 127.0.0.1:{cluster.port} "
                      f"(data in {cluster.data_dir.resolve()})")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    with _friendly_errors():
        _cluster().stop()
        console.print("embedded PostGIS stopped")


@db_app.command("status")
def db_status() -> None:
    """Show whether the embedded cluster exists and runs (or which server is used)."""
    with _friendly_errors():
        settings = _settings()
        if settings.db.database_url:
            console.print_json(json.dumps({"database_url": "set (external server)"}))
            return
        status = _cluster().status()
        console.print_json(json.dumps(status))
        if not status["running"]:
            raise typer.Exit(3)


@db_app.command("url")
def db_url(sqlalchemy: Annotated[bool, typer.Option(
        "--sqlalchemy", help="print the SQLAlchemy form (postgresql+psycopg://)")] = False
           ) -> None:
    """Print the URL of the database in use, for psql and libpq (postgresql://).

    Example: psql "$(gridgov db url)"
    """
    with _friendly_errors():
        settings = _settings()
        url = settings.db.resolved_url() if settings.db.database_url else _cluster().url()
        print(url if sqlalchemy else libpq_url(url))


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Run the Alembic migrations up to ``revision`` (default: every head)."""
    from api.db.migrate import upgrade

    with _friendly_errors():
        upgrade(database_url(), revision)
        console.print(f"database upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = "base") -> None:
    """Undo migrations down to ``revision`` (default: base, an empty schema)."""
    from api.db.migrate import downgrade

    with _friendly_errors():
        downgrade(database_url(), revision)
        console.print(f"database downgraded to {revision}")

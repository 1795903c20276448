"""The ``gridgov`` command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from api.settings import Settings, libpq_url

if TYPE_CHECKING:
    from data_samples.generator import Scale

app = typer.Typer(help="gridgov: grid-based community governance server.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: embedded cluster and migrations.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


def _cluster() -> Any:
    from api.db.embedded import EmbeddedCluster

    return EmbeddedCluster(_settings().db.home)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
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


# -- db -----------------------------------------------------------------------
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


# -- data ---------------------------------------------------------------------
@app.command()
def sample(
    out: Annotated[Path, typer.Option(help="directory to write the sample into")],
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    scale: Annotated[str, typer.Option(help="small, town or district")] = "town",
    end: Annotated[str | None, typer.Option(
        help="YYYY-MM-DD: the day the year of events ends (default: today)")] = None,
) -> None:
    """Generate the deterministic sample town (same seed, scale and end: same data)."""
    from data_samples.generator import generate

    if scale not in ("small", "town", "district"):
        raise _fail("--scale must be small, town or district")
    with _friendly_errors(), _progress("sample") as update:
        manifest = generate(out, seed=seed, scale=cast("Scale", scale), end=end,
                            progress=lambda step, frac: update(step, round(frac * 100), 100))
    counts = getattr(manifest, "counts", None)
    console.print(f"sample written to {out}: {counts}")


@app.command()
def load(
    directory: Annotated[Path, typer.Argument(help="a directory written by 'gridgov sample'")],
    replace: Annotated[bool, typer.Option(help="clear the database first")] = False,
) -> None:
    """Load a sample directory into the database (one transaction)."""
    from api.db.migrate import upgrade
    from api.services.loader import LoadError, load_directory

    with _friendly_errors():
        url = database_url()
        upgrade(url)
        from api.db.session import make_engine

        engine = make_engine(url)
        try:
            with _progress("load") as update:
                counts = load_directory(engine, directory, replace=replace, progress=update)
        except LoadError as exc:
            raise _fail(str(exc)) from None
        finally:
            engine.dispose()
    console.print(f"loaded: {counts}")


@app.command()
def export(
    layer: Annotated[str, typer.Argument(help="admin, grids[:LAYER], buildings, cameras, "
                                              "roads or events")],
    file: Annotated[Path, typer.Argument(
        help="output .gpkg, .shp, .geojson, .parquet, .csv or .xlsx (CSV/XLSX: WKT column)")],
) -> None:
    """Export a layer to GeoPackage, Shapefile, GeoJSON, GeoParquet, CSV or XLSX."""
    from api.services.exporter import export_layer

    with _friendly_errors():
        engine = _engine()
        try:
            n = export_layer(engine, layer, file)
        finally:
            engine.dispose()
    console.print(f"exported {n} features to {file}")


# -- server -------------------------------------------------------------------
@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API and the one-map."""
    import uvicorn

    from api.personal.keys import load_ring

    with _friendly_errors():
        database_url()  # starts the embedded cluster when no DATABASE_URL is set
        load_ring(_settings())  # the key of personal data: created, or refused clearly
    uvicorn.run("api.main:app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level="info")


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    scale: Annotated[str, typer.Option(help="sample scale to load when empty")] = "town",
    seed: int = 42,
) -> None:
    """Start the database, migrate, load the sample town (ending today) if empty, and serve."""
    from api.db.migrate import upgrade
    from api.db.session import make_engine
    from api.services.loader import is_empty, load_directory
    from data_samples.generator import generate, period_end

    with _friendly_errors():
        url = database_url()
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            empty = is_empty(conn)
        if empty:
            end = period_end().date()
            out = _settings().db.home / f"sample-{scale}-{seed}-{end}"
            if not (out / "sample.gpkg").exists():
                with _progress("sample") as update:
                    generate(out, seed=seed, scale=cast("Scale", scale), end=end,
                             progress=lambda s, f: update(s, round(f * 100), 100))
            with _progress("load") as update:
                load_directory(engine, out, progress=update)
        sign_in = _demo_admin(engine, _settings().db.home)
        engine.dispose()
    console.print(f"[bold green]gridgov demo:[/bold green] http://{host}:{port}/  "
                  f"(API docs at http://{host}:{port}/docs)")
    console.print(sign_in)
    serve(host=host, port=port)


def _demo_admin(engine: Any, home: Path) -> str:
    """The demo's admin: made with a random password on a database without users.

    The password is written once to ``$GRIDGOV_HOME/demo-admin.txt`` (mode 0600).
    """
    import secrets

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from api.audit.service import cli_actor
    from api.auth.models import User
    from api.auth.service import create_user

    note = home / "demo-admin.txt"
    with Session(engine) as session:
        if session.execute(select(func.count()).select_from(User)).scalar_one() == 0:
            password = secrets.token_urlsafe(12)
            create_user(session, name="demo-admin", role="admin", password=password,
                        by=cli_actor())
            session.commit()
            home.mkdir(parents=True, exist_ok=True)
            note.write_text(f"demo-admin\n{password}\n")
            note.chmod(0o600)
            return (f"sign in at /sign-in as [bold]demo-admin[/bold] with password "
                    f"[bold]{password}[/bold] (kept in {note})")
    if note.exists():
        return f"sign in at /sign-in with the demo admin in {note}"
    return "sign in at /sign-in (gridgov user create --name NAME --role admin --prompt-password)"


from api.cli_import import import_app  # noqa: E402

app.add_typer(import_app, name="import")

from api.cli_open311 import apikey_app  # noqa: E402

app.add_typer(apikey_app, name="apikey")

from api.cli_auth import tokens_app, users_app  # noqa: E402

app.add_typer(users_app, name="user")
app.add_typer(tokens_app, name="token")

from api.cli_events import events_app  # noqa: E402

app.add_typer(events_app, name="events")

from api.cli_grids import grids_app, plates  # noqa: E402
from api.grids.cli import versions_app  # noqa: E402

grids_app.add_typer(versions_app, name="version")
app.add_typer(grids_app, name="grids")
app.command("plates")(plates)

from api.catalogue.cli import categories_app, departments_app, rules_app  # noqa: E402

app.add_typer(departments_app, name="department")
app.add_typer(categories_app, name="category")
app.add_typer(rules_app, name="rule")

from api.cli_audit import audit_app  # noqa: E402

app.add_typer(audit_app, name="audit")

from api.cli_keys import keys_app  # noqa: E402

app.add_typer(keys_app, name="keys")

from api.cli_notify import notify_app  # noqa: E402

app.add_typer(notify_app, name="notify")

from api.calendar.cli import calendar_app  # noqa: E402

app.add_typer(calendar_app, name="calendar")

from api.batch.cli import analytics_app  # noqa: E402

app.add_typer(analytics_app, name="analytics")

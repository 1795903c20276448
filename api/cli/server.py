"""``gridgov serve`` and ``gridgov demo``: the server, and the demo on the sample town."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from api.cli._common import _friendly_errors, _progress, _settings, console, database_url

if TYPE_CHECKING:
    from data_samples.generator import Scale


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API and the one-map."""
    import uvicorn

    from api.personal.keys import load_ring

    with _friendly_errors():
        database_url()  # starts the embedded cluster when no DATABASE_URL is set
        load_ring(_settings())  # the key of personal data: created, or refused clearly
    uvicorn.run("api.main:app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level="info")


def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    scale: Annotated[str, typer.Option(help="sample scale to load when empty")] = "town",
    seed: int = 42,
) -> None:
    """Start the database, migrate, load the sample town (ending today) if empty, and serve."""
    from api.db.migrate import upgrade
    from api.db.session import make_engine
    from api.io.samples import is_empty, load_directory
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

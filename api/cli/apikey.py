"""``gridgov apikey``: keys for posting service requests through Open311 GeoReport v2."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

apikey_app = typer.Typer(help="Open311 API keys (needed to POST service requests).",
                         no_args_is_help=True)
console = Console()


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option("--name", help="who the key is for")],
) -> None:
    """Create a key and print it (only its hash is stored: keep it now)."""
    from sqlalchemy.orm import Session

    from api.cli._common import _engine, _friendly_errors
    from api.open311.keys import create_key

    with _friendly_errors():
        engine = _engine()
        try:
            with Session(engine) as session:
                _, key = create_key(session, name)
                session.commit()
        finally:
            engine.dispose()
    typer.echo(key)


@apikey_app.command("list")
def apikey_list() -> None:
    """List the keys: id, name, prefix, created, revoked."""
    from sqlalchemy.orm import Session

    from api.cli._common import _engine, _friendly_errors
    from api.open311.keys import list_keys

    with _friendly_errors():
        engine = _engine()
        try:
            with Session(engine) as session:
                rows = list_keys(session)
                table = Table("id", "name", "prefix", "created", "revoked")
                for row in rows:
                    table.add_row(str(row.id), row.name, row.key_prefix,
                                  row.created_at.isoformat(timespec="seconds"),
                                  "yes" if row.revoked else "no")
        finally:
            engine.dispose()
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    ref: Annotated[str, typer.Argument(help="the key's id, prefix or value")],
) -> None:
    """Revoke a key; requests posted with it are refused from now on."""
    from sqlalchemy.orm import Session

    from api.cli._common import _engine, _friendly_errors
    from api.open311.keys import revoke_key

    with _friendly_errors():
        engine = _engine()
        try:
            with Session(engine) as session:
                row = revoke_key(session, ref)
                session.commit()
                console.print(f"revoked key {row.id} ({row.name}, {row.key_prefix}...)")
        finally:
            engine.dispose()

"""``gridgov audit ...``: check the audit log's hash chain."""

from __future__ import annotations

import typer

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain of the audit log: exit 0 when whole, 1 at the first break."""
    from api.audit.service import verify
    from api.cli import _engine, _friendly_errors

    with _friendly_errors():
        engine = _engine()
        try:
            with engine.connect() as conn:
                result = verify(conn)
        finally:
            engine.dispose()
    if not result.ok:
        typer.echo(f"audit log broken at row {result.broken_id} ({result.reason}): "
                   f"{result.message}; {result.rows} rows before it are whole", err=True)
        raise typer.Exit(1)
    head = f"; head: row {result.head_id} hash {result.head_hash}" if result.rows else ""
    typer.echo(f"audit log whole: {result.rows} rows{head}")

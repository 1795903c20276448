"""``gridgov audit ...``: check the audit log's hash chain."""

from __future__ import annotations

from typing import Annotated

import typer

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    row, _, digest = value.partition(":")
    if not row.isdigit() or len(digest) != 64:
        raise typer.BadParameter("give ROW:HASH as printed by an earlier 'gridgov audit verify'")
    return int(row), digest.lower()


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[str | None, typer.Option(help=(
        "ROW:HASH of a head printed before: fail unless that row is still there with "
        "that hash (detects rows cut from the end)"))] = None,
) -> None:
    """Recompute the hash chain of the audit log: exit 0 when whole, 1 at the first break."""
    from sqlalchemy import text

    from api.audit.service import verify
    from api.cli._common import _engine, _friendly_errors

    expected = _anchor(anchor)
    with _friendly_errors():
        engine = _engine()
        try:
            with engine.connect() as conn:
                result = verify(conn)
                held = None if expected is None else conn.execute(text(
                    "SELECT hash FROM audit_log WHERE id = :id"), {"id": expected[0]}).scalar()
        finally:
            engine.dispose()
    if not result.ok:
        typer.echo(f"audit log broken at row {result.broken_id} ({result.reason}): "
                   f"{result.message}; {result.rows} rows before it are whole", err=True)
        raise typer.Exit(1)
    if expected is not None and held != expected[1]:
        typer.echo(f"audit log broken at row {expected[0]} (removed): the anchored row is "
                   f"{'missing' if held is None else 'not the one anchored'}", err=True)
        raise typer.Exit(1)
    head = f"; head: {result.head_id}:{result.head_hash}" if result.rows else ""
    typer.echo(f"audit log whole: {result.rows} rows{head}")

"""``gridgov user ...`` and ``gridgov events ...``: staff accounts and the escalation run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

users_app = typer.Typer(help="Staff users and their bearer tokens.", no_args_is_help=True)
events_app = typer.Typer(help="Event workflow jobs.", no_args_is_help=True)


@users_app.command("create")
def user_create(
    name: Annotated[str, typer.Option(help="unique user name")],
    role: Annotated[str, typer.Option(help="admin, dispatcher, handler, grid_worker or "
                                           "analyst")],
    department: Annotated[str | None, typer.Option(help="department code (handlers)")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="grid code (grid workers; repeat)")]
    = None,
) -> None:
    """Create a user and print its bearer token (shown once; only its hash is stored)."""
    from sqlalchemy.orm import Session

    from api.cli import _engine, _friendly_errors
    from api.cli_keys import _actor
    from api.services.auth import create_user

    with _friendly_errors():
        engine = _engine()
        try:
            with Session(engine) as session:
                user, token = create_user(session, name=name, role=role,
                                          department=department, grids=grid or [],
                                          by=_actor())
                label = f"user {user.name!r} ({user.role})"
                session.commit()
        finally:
            engine.dispose()
    typer.echo(token)
    typer.echo(f"{label} created; use 'Authorization: Bearer <token>'", err=True)


@events_app.command("escalate")
def events_escalate(
    delay_hours: Annotated[float | None, typer.Option(
        help="hours overdue per escalation step (default GRIDGOV_EVENTS_ESCALATION_DELAY_HOURS)"
    )] = None,
) -> None:
    """Escalate overdue open events one level per delay: community, street, district, city."""
    from sqlalchemy.orm import Session

    from api.cli import _engine, _friendly_errors, _settings
    from api.services.lifecycle import escalate_overdue

    hours = delay_hours if delay_hours is not None else \
        _settings().events.escalation_delay_hours
    with _friendly_errors():
        engine = _engine()
        try:
            with Session(engine) as session:
                ids = escalate_overdue(session, datetime.now(UTC), timedelta(hours=hours))
                session.commit()
        finally:
            engine.dispose()
    typer.echo(f"escalated {len(ids)} events" + (f": {ids[:50]}" if ids else ""))

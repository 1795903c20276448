"""``gridgov events ...``: the escalation run (users and tokens: :mod:`api.cli.users`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

events_app = typer.Typer(help="Event workflow jobs.", no_args_is_help=True)


@events_app.command("escalate")
def events_escalate(
    delay_hours: Annotated[float | None, typer.Option(
        help="hours overdue per escalation step (default GRIDGOV_EVENTS_ESCALATION_DELAY_HOURS)"
    )] = None,
) -> None:
    """Escalate overdue open events one level per delay: community, street, district, city."""
    from sqlalchemy.orm import Session

    from api.cli._common import _engine, _friendly_errors, _settings
    from api.events.lifecycle import escalate_overdue

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

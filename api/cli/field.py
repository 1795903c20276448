"""``gridgov field ...``: the retention job of track points, from the command line or cron."""

from __future__ import annotations

import json
from typing import Annotated

import typer

field_app = typer.Typer(help="The field app: patrol tracks.", no_args_is_help=True)


@field_app.command("purge-tracks")
def purge_tracks(days: Annotated[int | None, typer.Option(
        min=1, help="keep this many days (default GRIDGOV_TRACK_RETENTION_DAYS)")] = None
                 ) -> None:
    """Delete track points older than the retention period (audited as track.purge)."""
    from sqlalchemy.orm import sessionmaker

    from api.cli._common import _engine, _friendly_errors
    from api.field.scheduled import run_retention
    from api.settings import Settings

    keep = days or Settings().field.track_retention_days
    with _friendly_errors():
        engine = _engine()
        try:
            deleted = run_retention(sessionmaker(engine), keep)
        finally:
            engine.dispose()
    typer.echo(json.dumps({"days": keep, "deleted": deleted,
                           "skipped": deleted is None}))

"""``gridgov calendar ...``: working calendars, their hours and China's holidays per year."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import time
from typing import Annotated, Any

import typer

calendar_app = typer.Typer(help="Working calendars: hours, holidays, make-up working days.",
                           no_args_is_help=True)


@contextmanager
def _session() -> Iterator[Any]:
    from sqlalchemy.orm import Session

    from api.cli._common import _engine, _friendly_errors

    with _friendly_errors():
        engine = _engine()
        try:
            with Session(engine) as session:
                yield session
                session.commit()
        finally:
            engine.dispose()


def _run(work: Callable[[Any], Any]) -> None:
    with _session() as session:
        out = work(session)
    typer.echo(json.dumps(out, ensure_ascii=False, indent=1))


@calendar_app.command("load")
def calendar_load(
    year: Annotated[int, typer.Option(help="the year to load, e.g. 2026")],
    calendar: Annotated[str | None, typer.Option(help="one calendar (default: all)")] = None,
) -> None:
    """Load China's statutory holidays and make-up working days of a year (chinese-calendar)."""
    from api.audit.service import cli_actor
    from api.calendar.service import load_year

    _run(lambda s: load_year(s, year, cli_actor(), calendar))


@calendar_app.command("list")
def calendar_list() -> None:
    """List the calendars with their districts and working hours."""
    from api.calendar.service import list_calendars

    _run(list_calendars)


@calendar_app.command("days")
def calendar_days(code: Annotated[str, typer.Argument(help="calendar code")] = "default",
                  year: Annotated[int | None, typer.Option()] = None) -> None:
    """List a calendar's holidays and make-up working days."""
    from api.calendar.service import list_days

    _run(lambda s: list_days(s, code, year))


def _hours(weekdays: str, periods: list[str]) -> dict[int, list[tuple[time, time]]]:
    """``1-5`` and ``08:30-12:00`` as working hours per weekday.

    Examples
    --------
    >>> _hours("6,7", ["09:00-12:00"])[7]
    [(datetime.time(9, 0), datetime.time(12, 0))]
    """
    days: list[int] = []
    spans = []
    try:
        for part in weekdays.split(","):
            first, _, last = part.partition("-")
            days += range(int(first), int(last or first) + 1)
        for period in periods:
            start, _, end = period.partition("-")
            spans.append((time.fromisoformat(start), time.fromisoformat(end)))
    except ValueError:
        raise typer.BadParameter("--weekdays like 1-5 or 1,3,5 and --period like "
                                 "08:30-12:00") from None
    return dict.fromkeys(days, spans)


@calendar_app.command("create")
def calendar_create(
    code: Annotated[str, typer.Option()], name: Annotated[str, typer.Option()],
    district: Annotated[str | None, typer.Option(help="6-digit GB/T 2260 district code")] = None,
    timezone: Annotated[str, typer.Option()] = "Asia/Shanghai",
) -> None:
    """Create a calendar for a district with the default calendar's hours and days."""
    from api.audit.service import cli_actor
    from api.calendar.service import create_calendar, describe

    _run(lambda s: describe(s, create_calendar(s, code=code, name=name, actor=cli_actor(),
                                               district_code=district, timezone=timezone)))


@calendar_app.command("hours")
def calendar_hours(
    code: Annotated[str, typer.Argument(help="calendar code")],
    weekdays: Annotated[str, typer.Option(help="ISO weekdays, e.g. 1-5 or 1,3,5")] = "1-5",
    period: Annotated[list[str] | None, typer.Option(
        help="a working period HH:MM-HH:MM (repeat it)")] = None,
) -> None:
    """Set the working hours of weekdays (the other weekdays keep theirs)."""
    from api.audit.service import cli_actor
    from api.calendar.service import describe, get_calendar, hours_of, set_hours

    def work(session: Any) -> Any:
        hours: dict[int, Any] = dict(hours_of(session, get_calendar(session, code).id))
        hours.update(_hours(weekdays, period or ["08:30-12:00", "14:00-17:30"]))
        return describe(session, set_hours(session, code, hours, cli_actor()))

    _run(work)


@calendar_app.command("years")
def calendar_years(code: Annotated[str, typer.Argument(help="calendar code")],
                   first: Annotated[int, typer.Option()],
                   last: Annotated[int, typer.Option()]) -> None:
    """Set the years a calendar covers (a deadline outside them is refused)."""
    from api.audit.service import cli_actor
    from api.calendar.service import describe, set_years

    _run(lambda s: describe(s, set_years(s, code, first, last, cli_actor())))

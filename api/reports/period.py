"""The period of a report: a calendar month (``2026-11``) or an ISO week (``2026-W47``).

A period is ``[start, end)`` in local time (``GRIDGOV_TIMEZONE``, by default
Asia/Shanghai): a month runs from the 1st at midnight, a week from Monday at
midnight. :meth:`Period.previous` is the period of the same kind just before, the
one the KPIs are compared with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from gis_core.errors import InvalidInput

Kind = Literal["month", "week"]
KINDS: tuple[Kind, ...] = ("month", "week")

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True)
class Period:
    """A month or an ISO week: its kind, its first day and the time zone of its bounds."""

    kind: Kind
    first_day: date
    timezone: str = "Asia/Shanghai"

    @property
    def label(self) -> str:
        """``YYYY-MM`` for a month, ``YYYY-Www`` for a week.

        Examples
        --------
        >>> Period("week", date(2026, 11, 16)).label
        '2026-W47'
        """
        if self.kind == "month":
            return f"{self.first_day:%Y-%m}"
        year, week, _ = self.first_day.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def next_first_day(self) -> date:
        """The first day after the period."""
        if self.kind == "week":
            return self.first_day + timedelta(days=7)
        year, month = divmod(self.first_day.month, 12)
        return date(self.first_day.year + year, month + 1, 1)

    @property
    def start(self) -> datetime:
        """The first instant of the period, in its time zone."""
        return datetime.combine(self.first_day, time(), ZoneInfo(self.timezone))

    @property
    def end(self) -> datetime:
        """The first instant after the period, in its time zone."""
        return datetime.combine(self.next_first_day, time(), ZoneInfo(self.timezone))

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        count = (self.next_first_day - self.first_day).days
        return [self.first_day + timedelta(days=i) for i in range(count)]

    def previous(self) -> Period:
        """The period of the same kind just before this one.

        Examples
        --------
        >>> Period("month", date(2026, 1, 1)).previous().label
        '2025-12'
        >>> Period("week", date(2026, 1, 5)).previous().label
        '2026-W01'
        """
        before = self.first_day - timedelta(days=1)
        return containing(self.kind, before, self.timezone)


def containing(kind: Kind, day: date, timezone: str = "Asia/Shanghai") -> Period:
    """The month or ISO week that holds ``day``.

    Examples
    --------
    >>> containing("week", date(2026, 11, 19)).first_day
    datetime.date(2026, 11, 16)
    """
    if kind == "month":
        return Period("month", day.replace(day=1), timezone)
    return Period("week", day - timedelta(days=day.weekday()), timezone)


def parse_period(month: str | None = None, week: str | None = None,
                 timezone: str = "Asia/Shanghai") -> Period:
    """The period given as ``month`` (``YYYY-MM``) or ``week`` (ISO ``YYYY-Www``), one of them.

    Examples
    --------
    >>> parse_period(month="2026-11").end.isoformat()
    '2026-12-01T00:00:00+08:00'
    >>> parse_period(week="2026-W47").first_day
    datetime.date(2026, 11, 16)
    >>> parse_period(week="2026-W54")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidInput: parameter 'week': '2026-W54' is not an ISO week as YYYY-Www ...
    """
    if (month is None) == (week is None):
        raise InvalidInput("give the period as exactly one of 'month' (YYYY-MM, e.g. 2026-11) "
                           "or 'week' (ISO YYYY-Www, e.g. 2026-W47)", code="invalid_period")
    if month is not None:
        found = _MONTH.fullmatch(month)
        if found is None or not 1 <= int(found[2]) <= 12:
            raise InvalidInput(f"parameter 'month': {month!r} is not a month as YYYY-MM "
                               "(e.g. 2026-11)", code="invalid_period")
        return Period("month", date(int(found[1]), int(found[2]), 1), timezone)
    assert week is not None  # noqa: S101 - one of the two is given (checked above)
    found = _WEEK.fullmatch(week)
    try:
        if found is None:
            raise ValueError(week)
        first = date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        raise InvalidInput(f"parameter 'week': {week!r} is not an ISO week as YYYY-Www "
                           "(e.g. 2026-W47)", code="invalid_period") from None
    return Period("week", first, timezone)

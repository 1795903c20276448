"""Scheduled reports: the last ended month's and week's report of each configured area.

:func:`write_due_reports` is the job, a plain function: for each area of
``GRIDGOV_REPORTS_AREAS`` and each format of ``GRIDGOV_REPORTS_FORMATS``, it writes
the report of the month and of the ISO week that ended last (local time,
``GRIDGOV_TIMEZONE``) to ``GRIDGOV_HOME/reports/`` unless that file is there
already. So on the 1st of a month the previous month's report appears, on a Monday the
previous week's; a server that was down then writes them at its next run, and a second
run writes nothing. Files are written whole (a temporary file of the process, renamed), so
API processes sharing ``GRIDGOV_HOME`` never leave a partial report. The app state runs
:func:`run_reports` every ``GRIDGOV_REPORTS_INTERVAL_SECONDS`` when areas are configured
(``api.state.scheduled_jobs``).

The archive (:func:`archive`) lists the files whose area the caller may read.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from api.auth.principal import Principal
from api.errors import APIError
from api.reports.area import find_area
from api.reports.period import KINDS, Period, containing, parse_period
from api.reports.service import file_name, format_of, make_report, readable
from api.settings import Settings
from gis_core.errors import NotFound

logger = logging.getLogger("gridgov.reports")

#: the name of an archived report (:func:`api.reports.service.file_name`)
ARCHIVED = re.compile(r"report-(?P<area>\d{1,12})-(?P<period>\d{4}-(?:W\d{2}|\d{2}))"
                      r"\.(?P<format>pdf|xlsx)")


def archive_dir(settings: Settings) -> Path:
    """Where scheduled reports are written: ``GRIDGOV_HOME/reports``."""
    return settings.db.home / "reports"


def ended_periods(now: datetime, timezone: str) -> list[Period]:
    """The month and the ISO week that ended last before ``now`` (local time).

    Examples
    --------
    >>> [p.label for p in ended_periods(datetime(2026, 12, 1, 1, tzinfo=UTC), "Asia/Shanghai")]
    ['2026-11', '2026-W48']
    """
    today = now.astimezone(ZoneInfo(timezone)).date()
    return [containing(kind, today, timezone).previous() for kind in KINDS]


def write_due_reports(session: Session, settings: Settings, now: datetime) -> list[Path]:
    """Write the ended periods' reports that are not in the archive yet; the paths written."""
    directory = archive_dir(settings)
    written: list[Path] = []
    formats = [format_of(f) for f in settings.reports.format_names()]
    for code in settings.reports.area_codes():
        try:
            area = find_area(session, code)
        except NotFound as exc:  # a wrong setting must not stop the other areas
            logger.error("scheduled report of GRIDGOV_REPORTS_AREAS: %s", exc)
            continue
        for period in ended_periods(now, settings.api.timezone):
            for fmt in formats:
                path = directory / file_name(area, period, fmt)
                if path.exists():
                    continue
                data = make_report(session, area, period, fmt, now)
                directory.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(f".{path.name}.{os.getpid()}.part")
                partial.write_bytes(data)
                partial.replace(path)
                written.append(path)
    return written


def archive(settings: Settings, principal: Principal) -> list[dict[str, Any]]:
    """The archived reports of the areas ``principal`` may read, newest period first."""
    directory = archive_dir(settings)
    files = sorted(directory.iterdir()) if directory.is_dir() else []
    out = []
    for path in files:
        found = ARCHIVED.fullmatch(path.name)
        if found is None or not readable(principal, found["area"]):
            continue
        stat = path.stat()
        out.append({"name": path.name, "area": found["area"], "period": found["period"],
                    "format": found["format"], "bytes": stat.st_size,
                    "written_at": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
                    "url": f"/api/v1/reports/archive/{path.name}"})
    return sorted(out, key=_newest_first)


def _newest_first(row: dict[str, Any]) -> tuple[Any, ...]:
    label = row["period"]
    period = parse_period(week=label) if "W" in label else parse_period(month=label)
    return (-period.next_first_day.toordinal(), period.kind, row["area"], row["format"])


def archived_file(settings: Settings, principal: Principal, name: str) -> Path:
    """The archived report ``name``: 404 when there is none, 403 outside the caller's scope."""
    found = ARCHIVED.fullmatch(name)
    path = archive_dir(settings) / name
    if found is None or not path.is_file():
        raise NotFound(f"no archived report {name!r}; GET /api/v1/reports/archive lists them",
                       code="report_not_found")
    if not readable(principal, found["area"]):
        raise APIError(403, "out_of_scope", f"the area {found['area']} is not in your scope")
    return path


def run_reports(sessions: sessionmaker[Session], settings: Settings) -> list[Path]:
    """Write the reports that are due (:func:`write_due_reports`) once, now."""
    with sessions() as session:
        written = write_due_reports(session, settings, datetime.now(UTC))
    if written:
        logger.info("wrote %d scheduled reports", len(written))
    return written

"""``gridgov report``: the weekly or monthly report of an area, written as PDF or XLSX."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer


def report(
    out: Annotated[Path, typer.Option("--out", help="the file to write: .pdf or .xlsx")],
    district: Annotated[str | None, typer.Option(help="a district's code")] = None,
    street: Annotated[str | None, typer.Option(help="a street's code (9 digits)")] = None,
    community: Annotated[str | None, typer.Option(help="a community's code (12 digits)")] = None,
    month: Annotated[str | None, typer.Option(help="a month: YYYY-MM")] = None,
    week: Annotated[str | None, typer.Option(help="an ISO week: YYYY-Www")] = None,
) -> None:
    """Write the report of a district, street or community for a month or ISO week."""
    from api.cli._common import _session, _settings, console
    from api.reports import service
    from api.reports.period import parse_period

    with _session() as session:
        fmt = service.format_of(out.name)
        period = parse_period(month, week, _settings().api.timezone)
        area = service.area_of(session, district, street, community)
        data = service.make_report(session, area, period, fmt, datetime.now(UTC))
    out.write_bytes(data)
    console.print(f"wrote the {period.kind} report of {area.name} ({area.code}) "
                  f"{period.label} to {out}")

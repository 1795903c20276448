"""One report, from its request to its file: the area, the period, the format, the bytes.

The web route, the command line and the schedule all go through :func:`make_report`:
an area given as exactly one of district, street or community code, a period as a
month or an ISO week (:func:`api.reports.period.parse_period`), a format (``pdf`` or
``xlsx``). :func:`check_readable` is the one rule of who may read an area's report.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from api.auth.principal import TERRITORY_ROLES, Principal
from api.errors import APIError
from api.reports.area import LEVELS, Area, find_area
from api.reports.figures import Report, gather
from api.reports.pdf import render_pdf
from api.reports.period import Period
from api.reports.xlsx import render_xlsx
from gis_core.errors import InvalidInput

#: a format's media type and renderer
FORMATS: dict[str, tuple[str, Callable[[Report], bytes]]] = {
    "pdf": ("application/pdf", render_pdf),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", render_xlsx),
}


def area_of(session: Session, district: str | None = None, street: str | None = None,
            community: str | None = None) -> Area:
    """The area given by exactly one of its codes (district, street or community)."""
    given = {level: code for level, code in zip(LEVELS, (district, street, community),
                                                strict=True) if code is not None}
    if len(given) != 1:
        raise InvalidInput("give the area as exactly one of 'district', 'street' or "
                           "'community' (a GB/T 2260 code)", code="invalid_area")
    ((level, code),) = given.items()
    return find_area(session, code, level)


def format_of(name: str) -> str:
    """The format ``pdf`` or ``xlsx`` of a name or a file suffix (``.pdf``, ``F.xlsx``).

    Examples
    --------
    >>> format_of("out/report.XLSX"), format_of("pdf")
    ('xlsx', 'pdf')
    """
    fmt = Path(name).suffix.lower().lstrip(".") or name.lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"format {name!r}: reports are written as "
                           f"{' or '.join(FORMATS)} (.pdf, .xlsx)", code="invalid_format")
    return fmt


def file_name(area: Area, period: Period, fmt: str) -> str:
    """The file name of a report, e.g. ``report-440307003-2026-10.pdf``."""
    return f"report-{area.code}-{period.label}.{fmt}"


def readable(principal: Principal, area_code: str) -> bool:
    """Whether ``principal`` may read the reports of an area: its scope holds the whole area.

    A command centre user (no scope limit) reads every area; a dispatcher, analyst or
    leader of a street reads that street and its communities, not another street nor the
    district.
    """
    return principal.sees_everything or (principal.role in TERRITORY_ROLES
                                         and area_code in principal.areas)


def check_readable(principal: Principal, area: Area) -> None:
    """Refuse (403 ``out_of_scope``) a report of an area outside ``principal``'s scope."""
    if not readable(principal, area.code):
        raise APIError(403, "out_of_scope",
                       f"the {area.level} {area.code} ({area.name}) is not in your scope")


def make_report(session: Session, area: Area, period: Period, fmt: str, now: datetime
                ) -> bytes:
    """The file of ``area``'s report for ``period`` in ``fmt``, its figures counted at ``now``."""
    return FORMATS[format_of(fmt)][1](gather(session, area, period, now))

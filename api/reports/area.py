"""The area of a report: a district, street or community of ``admin_areas``, by its code.

An area's events are those whose community or street is the area or lies below it:
the same condition as a dispatcher's scope of that area
(:meth:`api.auth.principal.Principal.event_sql`), so a report of an area counts what
a dispatcher of that area sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from gis_core.errors import InvalidInput, NotFound

#: the levels a report is made for, largest first
LEVELS = ("district", "street", "community")

_AREA = text("""
WITH RECURSIVE below(code) AS (
    SELECT CAST(:code AS text)
    UNION
    SELECT a.code FROM admin_areas a JOIN below ON a.parent_code = below.code
)
SELECT a.code, a.name, a.level, ARRAY(SELECT code FROM below ORDER BY code) AS codes
FROM admin_areas a WHERE a.code = :code
""")


@dataclass(frozen=True)
class Area:
    """A district, street or community: its code, name, level and the codes of it and below."""

    code: str
    name: str
    level: str
    #: the area's code and those of every area below it
    codes: tuple[str, ...] = ()

    def scope(self) -> Principal:
        """The area as a scope: a read-only user who sees exactly the area's events.

        Examples
        --------
        >>> sql, params = Area("440307003", "平湖街道", "street", ("440307003",)).scope(
        ...     ).event_sql("e")
        >>> "e.street_code = ANY(CAST(:scope_areas AS text[]))" in sql, params
        (True, {'scope_areas': ['440307003']})
        """
        return Principal(id=0, name=f"report:{self.code}", role="analyst", areas=self.codes)

    def event_sql(self, alias: str = "e") -> tuple[str, dict[str, Any]]:
        """The condition on the events ``alias`` of the area, and its parameters."""
        return self.scope().event_sql(alias)


def find_area(session: Session, code: str, level: str | None = None) -> Area:
    """The area with ``code`` (of ``level`` when given); a clear error naming it otherwise.

    Raises
    ------
    InvalidInput
        ``level`` is not one of :data:`LEVELS` (``invalid_parameter``).
    NotFound
        No area (of that level) has that code (``area_not_found``); the message lists
        the codes of that level.
    """
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"parameter 'level': {level!r} is not one of {', '.join(LEVELS)}",
                           code="invalid_parameter")
    row = session.execute(_AREA, {"code": code}).mappings().first()
    if row is None or row["level"] not in ((level,) if level else LEVELS):
        levels = [level] if level else list(LEVELS)
        known = session.execute(text(
            "SELECT code FROM admin_areas WHERE level = ANY(CAST(:levels AS text[])) "
            "ORDER BY code LIMIT 20"), {"levels": levels}).scalars()
        what = level or "district, street or community"
        raise NotFound(f"parameter '{level or 'area'}': no {what} with code {code!r}; "
                       f"codes: {', '.join(known) or 'none loaded'}", code="area_not_found")
    return Area(row["code"], row["name"], row["level"], tuple(row["codes"]))

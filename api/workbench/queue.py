"""The staff queue: cases in the caller's scope by tab, filtered, sorted, paged, counted.

Everything runs in SQL with the caller's scope (:meth:`Principal.event_sql`):
one statement for the page and one for the counts of every tab.

Tabs (open cases only; "open" is :data:`api.db.models.OPEN_EVENT_STATUSES`):

- ``all``: every open case;
- ``new``: registered, not dispatched yet (受理 -> 交办);
- ``dispatched``: dispatched, not accepted yet (a handler's to-do);
- ``in_progress``: accepted by the department;
- ``returned``: returned by a department, to dispatch again;
- ``verify``: handled, waiting for verification (核查);
- ``closing``: verified, waiting to be closed;
- ``overdue``: past the deadline of its step (``due_at < now``);
- ``escalated``: escalation level above community (``attributes.escalation_level > 0``);
- ``supervised``: marked supervised (督办, ``attributes.supervised``).

A ``status`` filter replaces the "open" condition (closed cases can be looked up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.db.models import EVENT_STATUSES, OPEN_EVENTS_SQL
from gis_core.errors import InvalidInput

TABS: dict[str, str] = {
    "all": "TRUE",
    "new": "e.status = 'registered'",
    "dispatched": "e.status = 'dispatched'",
    "in_progress": "e.status = 'in_progress'",
    "returned": "e.status = 'returned'",
    "verify": "e.status = 'handled'",
    "closing": "e.status = 'verified'",
    "overdue": "e.due_at < CAST(:now AS timestamptz)",
    "escalated": "coalesce((e.attributes->>'escalation_level')::int, 0) > 0",
    "supervised": "e.attributes @> '{\"supervised\": true}'",
}

#: sort keys (``-key``: descending); ``overdue``: overdue first, then the nearest deadline
SORTS: dict[str, str] = {
    "reported_at": "e.reported_at", "due_at": "e.due_at NULLS LAST", "id": "e.id",
    "status": "e.status", "dispatch": "e.dispatched_at - e.reported_at NULLS LAST",
    "overdue": "(e.due_at < CAST(:now AS timestamptz)) DESC NULLS LAST, e.due_at NULLS LAST",
}

MAX_LIMIT = 200

#: one row of the queue, also sent by the live updates (``api.workbench.live``)
ROW_SQL = """
SELECT e.id, e.status, e.channel, c.code AS category, c.name AS category_name,
       c.name_en AS category_name_en, e.community_code, e.street_code,
       d.code AS department, d.name AS department_name, e.reported_at, e.dispatched_at,
       e.due_at, left(e.description, 140) AS description, e.address,
       coalesce(e.due_at < CAST(:now AS timestamptz), false) AS overdue,
       coalesce((e.attributes->>'escalation_level')::int, 0) AS escalation_level,
       e.attributes @> '{"supervised": true}' AS supervised,
       (e.attributes->>'duplicate_of')::bigint AS duplicate_of,
       round(EXTRACT(EPOCH FROM e.dispatched_at - e.reported_at) / 60.0, 1)
           AS minutes_to_dispatch
FROM events e
JOIN event_categories c ON c.id = e.category_id
LEFT JOIN departments d ON d.id = e.department_id
"""

_CATEGORY_JOIN = "JOIN event_categories c ON c.id = e.category_id"

_GRID = ("EXISTS (SELECT 1 FROM jsonb_each(e.grids) v WHERE v.value = to_jsonb(CAST(:grid AS "
         "text)) OR v.value @> jsonb_build_array(CAST(:grid AS text)))")


@dataclass(frozen=True)
class QueueFilter:
    """What narrows the queue (every field optional)."""

    status: tuple[str, ...] = ()
    category: str | None = None
    grid: str | None = None
    community: str | None = None
    street: str | None = None
    department: str | None = None
    channel: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    q: str | None = None

    def __post_init__(self) -> None:
        """Refuse unknown statuses, naming the allowed ones."""
        unknown = [s for s in self.status if s not in EVENT_STATUSES]
        if unknown:
            raise InvalidInput(f"parameter 'status': unknown status {unknown[0]!r}; allowed "
                               f"values: {', '.join(EVENT_STATUSES)}", code="invalid_parameter")

    @property
    def uses_categories(self) -> bool:
        """Whether the conditions read the categories ``c`` (joined only then)."""
        return self.category is not None or bool(self.q)

    def sql(self) -> tuple[list[str], dict[str, Any]]:
        """The conditions on events ``e`` (with categories ``c``) and their parameters."""
        where = ["e.status = ANY(CAST(:status AS text[]))" if self.status
                 else "e." + OPEN_EVENTS_SQL]
        params: dict[str, Any] = {"status": list(self.status)}
        simple = (("category", "(c.code = :category OR c.major_code = :category)"),
                  ("grid", _GRID), ("community", "e.community_code = :community"),
                  ("street", "e.street_code = :street"),
                  ("department", "e.department_id = (SELECT id FROM departments "
                                 "WHERE code = :department)"),
                  ("channel", "e.channel = :channel"), ("start", "e.reported_at >= :start"),
                  ("end", "e.reported_at < :end"))
        for name, condition in simple:
            if getattr(self, name) is not None:
                where.append(condition)
                params[name] = getattr(self, name)
        if self.q:
            where.append(_text_condition(self.q))
            params["q"] = self.q.strip()
            params["q_like"] = "%" + _escape_like(self.q.strip()) + "%"
        return where, params


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_condition(q: str) -> str:
    """Free text: a case number, or words in the description, address or category name.

    Text with no letter that has a case (Chinese, digits) is matched with ``LIKE``,
    the same answer as ``ILIKE`` at a fraction of its cost per row.

    Examples
    --------
    >>> _text_condition("垃圾").count("ILIKE"), _text_condition("Litter").count("ILIKE")
    (0, 4)
    """
    like = "LIKE" if q.lower() == q.upper() else "ILIKE"
    words = (f"e.description {like} :q_like OR e.address {like} :q_like "
             f"OR c.name {like} :q_like OR c.name_en {like} :q_like")
    if q.strip().isdigit() and len(q.strip()) < 19:
        return f"(e.id = CAST(:q AS bigint) OR {words})"
    return f"({words})"


def _order(sort: str) -> str:
    key = sort.removeprefix("-")
    if key not in SORTS:
        raise InvalidInput(f"parameter 'sort': unknown key {sort!r}; allowed values: "
                           f"{', '.join(SORTS)} (prefix '-' for descending)",
                           code="invalid_parameter")
    column = SORTS[key]
    if sort.startswith("-") and key != "overdue":
        column = column.replace(" NULLS LAST", "") + " DESC NULLS LAST"
    return f"{column}, e.id DESC"


def _tab(tab: str) -> str:
    if tab not in TABS:
        raise InvalidInput(f"parameter 'tab': unknown tab {tab!r}; allowed values: "
                           f"{', '.join(TABS)}", code="invalid_parameter")
    return TABS[tab]


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("reported_at", "dispatched_at", "due_at"):
        out[key] = out[key].isoformat() if out[key] is not None else None
    if out["minutes_to_dispatch"] is not None:
        out["minutes_to_dispatch"] = float(out["minutes_to_dispatch"])
    return out


def queue_page(session: Session, principal: Principal, *, tab: str = "all",
               filters: QueueFilter | None = None, sort: str = "-reported_at",
               limit: int = 50, offset: int = 0, now: datetime) -> dict[str, Any]:
    """One page of the queue with the counts of every tab under the same filters.

    Examples
    --------
    ``queue_page(session, principal, tab="new", sort="-reported_at", now=now)``
    returns ``{"tab": "new", "items": [...], "total": n, "counts": {"new": n, ...}}``.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"parameter 'limit': between 1 and {MAX_LIMIT}",
                           code="invalid_parameter")
    if offset < 0:
        raise InvalidInput("parameter 'offset': 0 or more", code="invalid_parameter")
    condition = _tab(tab)
    order = _order(sort)
    filters = filters or QueueFilter()
    where, params = filters.sql()
    scope, scope_params = principal.event_sql("e")
    params.update(scope_params, now=now, limit=limit, offset=offset)
    base = " AND ".join([f"({scope})", *where])
    categories = _CATEGORY_JOIN if filters.uses_categories else ""
    # the page's ids first (only the sort's columns), then its rows' columns for 50 rows
    items = session.execute(text(
        f"WITH page AS (SELECT e.id FROM events e {categories} WHERE {base} AND {condition} "  # noqa: S608
        f"ORDER BY {order} LIMIT :limit OFFSET :offset) "
        f"{ROW_SQL} JOIN page ON page.id = e.id ORDER BY {order}"), params).mappings().all()
    counts = tab_counts(session, f"events e {categories} WHERE {base}", params)
    return {"tab": tab, "sort": sort, "limit": limit, "offset": offset,
            "total": counts[tab], "counts": counts, "items": [_row(r) for r in items]}


def tab_counts(session: Session, source: str, params: dict[str, Any]) -> dict[str, int]:
    """The number of cases of every tab in ``source`` (``FROM ... WHERE ...``; one scan)."""
    figures = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {name}" for name, cond in TABS.items())
    row = session.execute(text(f"SELECT {figures} FROM {source}"), params).mappings().one()  # noqa: S608
    return {name: int(row[name]) for name in TABS}


def rows_by_id(session: Session, principal: Principal, ids: list[int], now: datetime
               ) -> list[dict[str, Any]]:
    """The queue rows of the cases ``ids`` that are in ``principal``'s scope."""
    scope, params = principal.event_sql("e")
    rows = session.execute(text(f"{ROW_SQL} WHERE ({scope}) AND e.id = ANY(CAST(:ids AS "
                                "bigint[])) ORDER BY e.id"),
                           {**params, "ids": ids, "now": now}).mappings().all()
    return [_row(r) for r in rows]

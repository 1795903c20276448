"""The words of the event workflow, defined once: statuses, open and final, overdue.

The database's check constraint (:mod:`api.db.models`), the event layers of the
tiles and OGC (:mod:`layers.catalog`), the lifecycle, the KPIs of
``/api/v1/stats/events``, the dashboard and the web client (through
``/api/v1/web/config``) all read these; nothing else spells them out.

*Overdue* (超期) means one thing everywhere: an open event, not closed, whose
due time has passed. A case closed after its due time is *closed late*, a
separate figure of the KPIs.

Examples
--------
>>> set(OPEN_STATUSES) | set(FINAL_STATUSES) == set(EVENT_STATUSES)
True
>>> overdue_sql("e", ":now")  # doctest: +ELLIPSIS
"(e.closed_at IS NULL AND e.status IN ('registered', ... AND e.due_at < :now)"
"""

from __future__ import annotations

EVENT_STATUSES = ("registered", "dispatched", "in_progress", "handled", "verified", "closed",
                  "evaluated", "rejected", "returned", "duplicate", "cancelled")
#: statuses of an event that still needs work (duplicates link to these; overdue counts them)
OPEN_STATUSES = ("registered", "dispatched", "in_progress", "handled", "verified", "returned")
#: closed cases (closure and on-time rates count these)
CLOSED_STATUSES = ("closed", "evaluated")
#: reports that never became or stopped being a case
VOID_STATUSES = ("rejected", "duplicate", "cancelled")
#: statuses after which an event can no longer be overdue
FINAL_STATUSES = CLOSED_STATUSES + VOID_STATUSES
#: where a report came from
CHANNELS = ("app", "qr", "hotline", "patrol", "camera", "open311")
#: the levels an overdue case escalates through, in order
ESCALATION_LEVELS = ("community", "street", "district", "city")
#: the lifecycle's actions and the roles that may take each (``api.events.lifecycle``)
ACTION_ROLES: dict[str, frozenset[str]] = {
    "dispatch": frozenset({"admin", "dispatcher"}),
    "reject": frozenset({"admin", "dispatcher"}),
    "cancel": frozenset({"admin", "dispatcher"}),
    "mark_duplicate": frozenset({"admin", "dispatcher"}),
    "accept": frozenset({"admin", "handler"}),
    "return": frozenset({"admin", "handler"}),
    "handle": frozenset({"admin", "handler", "grid_worker"}),
    "verify": frozenset({"admin", "dispatcher", "grid_worker"}),
    "reopen": frozenset({"admin", "dispatcher", "grid_worker"}),
    "close": frozenset({"admin", "dispatcher"}),
    "evaluate": frozenset({"admin", "dispatcher"}),
    "escalate": frozenset({"admin", "dispatcher", "grid_worker"}),
}
#: reports not accepted as cases (``registered`` of the KPIs counts the others)
NOT_REGISTERED_STATUSES = ("rejected", "duplicate")


def sql_in(column: str, values: tuple[str, ...]) -> str:
    """``column IN ('a', 'b')`` over trusted constants (the form a partial index states).

    Examples
    --------
    >>> sql_in("status", CLOSED_STATUSES)
    "status IN ('closed', 'evaluated')"
    """
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def overdue_sql(alias: str, now: str = "now()") -> str:
    """SQL of *overdue* on the events table aliased ``alias``, at the SQL time ``now``."""
    return (f"({alias}.closed_at IS NULL AND {sql_in(f'{alias}.status', OPEN_STATUSES)} "
            f"AND {alias}.due_at IS NOT NULL AND {alias}.due_at < {now})")


def becomes_overdue_sql(alias: str) -> str:
    """SQL of when an open event that is not overdue yet becomes overdue (else NULL)."""
    return (f"CASE WHEN {alias}.closed_at IS NULL AND {sql_in(f'{alias}.status', OPEN_STATUSES)} "
            f"AND {alias}.due_at > now() THEN {alias}.due_at END")

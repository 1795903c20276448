"""The caller of a request and the SQL of what they may see.

A :class:`Principal` is a signed-in staff user as one request sees them: role,
department, and the scope expanded once at sign-in time of the request (the
admin areas given and every area below them, the grids given). Reads and writes
of events filter by :meth:`Principal.event_sql` **in SQL**, never after
fetching.

Scope by role (an event is in scope when the condition holds):

- ``admin``: every event;
- ``dispatcher``, ``analyst``, ``leader`` (:data:`TERRITORY_ROLES`): the event's
  community or street is in their areas, or one of its grids is theirs; with no
  areas and no grids, the whole territory (the command centre's own staff);
- ``handler``: the event is dispatched to their department (and, when they
  have areas or grids, lies in them);
- ``grid_worker``: one of the event's grids is theirs, or its community or
  street is in their areas.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, and_, text
from sqlalchemy.orm import Session

#: roles that read reporters' contacts (masked) and may unmask them, within scope
PERSONAL_DATA_ROLES = frozenset({"admin", "dispatcher", "handler"})
#: roles whose scope is a territory (areas, grids): with neither, the whole territory
TERRITORY_ROLES = frozenset({"dispatcher", "analyst", "leader"})


@dataclass(frozen=True)
class Principal:
    """A staff user calling the API, with their scope."""

    id: int
    name: str
    role: str
    department_id: int | None = None
    #: admin area codes in scope: those given and every area below them
    areas: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()
    #: grid codes as ``events.grids`` containment documents (one per layer form)
    grid_docs: tuple[str, ...] = field(default=(), repr=False)
    via: Literal["token", "session"] = "token"
    #: the session's CSRF token (cookie sign-in only)
    csrf_token: str | None = field(default=None, repr=False)

    @property
    def sees_everything(self) -> bool:
        """Whether no scope limits this user's events."""
        return self.role == "admin" or (self.role in TERRITORY_ROLES
                                        and not self.areas and not self.grids)

    def event_sql(self, alias: str = "events") -> tuple[str, dict[str, Any]]:
        """A boolean SQL condition on the events table ``alias`` and its parameters.

        Examples
        --------
        >>> Principal(1, "w", "grid_worker", grids=("G1",), grid_docs=('{"basic": "G1"}',)
        ...           ).event_sql("e")[0]
        '(e.grids @> ANY(CAST(:scope_grid_docs AS jsonb[])))'
        >>> Principal(1, "a", "admin").event_sql()[0]
        'TRUE'
        """
        if self.sees_everything:
            return "TRUE", {}
        params: dict[str, Any] = {}
        area: list[str] = []
        if self.areas:
            params["scope_areas"] = list(self.areas)
            area.append(f"{alias}.community_code = ANY(CAST(:scope_areas AS text[])) OR "
                        f"{alias}.street_code = ANY(CAST(:scope_areas AS text[]))")
        if self.grid_docs:
            params["scope_grid_docs"] = list(self.grid_docs)
            area.append(f"{alias}.grids @> ANY(CAST(:scope_grid_docs AS jsonb[]))")
        where = " OR ".join(area)
        if self.role == "handler":
            params["scope_department"] = self.department_id
            own = f"{alias}.department_id = :scope_department"
            return (f"{own} AND ({where})" if where else own), params
        return (f"({where})" if where else "FALSE"), params

    def event_clause(self, alias: str = "events") -> ColumnElement[bool]:
        """:meth:`event_sql` as a SQLAlchemy clause for ``select().where()``."""
        sql, params = self.event_sql(alias)
        return and_(text(sql).bindparams(**params) if params else text(sql))

    @property
    def reads_personal_data(self) -> bool:
        """Whether this role sees reporters' (masked) contacts of events in scope."""
        return self.role in PERSONAL_DATA_ROLES


_CREDENTIAL_SQL = """
SELECT u.id, u.name, u.role, u.department_id, u.area_codes, u.grid_codes, {extra}
FROM {table} AS c JOIN users AS u ON u.id = c.user_id
WHERE c.{key} = :secret AND c.revoked_at IS NULL AND u.active AND {valid}
"""

_BY_TOKEN = text(_CREDENTIAL_SQL.format(
    extra="c.id AS credential_id, c.last_used_at AS last_used, c.expires_at, NULL AS csrf_token",
    table="api_tokens", key="token_hash",
    valid="(c.expires_at IS NULL OR c.expires_at > now())"))
_BY_SESSION = text(_CREDENTIAL_SQL.format(
    extra="c.id AS credential_id, c.last_seen_at AS last_used, c.expires_at, c.csrf_token",
    table="user_sessions", key="id", valid="c.expires_at > now()"))

#: the areas given and every area below them; the grids given as the documents an
#: event's ``grids`` contains (``{"layer": "code"}`` or ``{"layer": ["code"]}``)
_SCOPE = text("""
WITH RECURSIVE areas(code) AS (
    SELECT unnest(CAST(:areas AS text[]))
    UNION
    SELECT a.code FROM admin_areas AS a JOIN areas ON a.parent_code = areas.code
)
SELECT ARRAY(SELECT code FROM areas) AS areas,
       ARRAY(SELECT DISTINCT jsonb_build_object(l.name, g.code)::text
             FROM grids AS g JOIN grid_layers AS l ON l.id = g.layer_id
             WHERE g.code = ANY(CAST(:grids AS text[]))
             UNION
             SELECT DISTINCT jsonb_build_object(l.name, jsonb_build_array(g.code))::text
             FROM grids AS g JOIN grid_layers AS l ON l.id = g.layer_id
             WHERE g.code = ANY(CAST(:grids AS text[]))) AS grid_docs
""")

Scope = tuple[tuple[str, ...], tuple[str, ...]]


class ScopeCache:
    """Expanded scopes by the areas and grids a user is given, kept ``ttl`` seconds.

    A user's credential, role, department and the codes they are given count at
    the next request (:mod:`api.auth.cache` reuses them only while nothing about
    users, tokens or sessions changed); the expansion (areas below the given ones,
    the grids' documents) is kept here, so a new sub-area or a regridded layer
    reaches scopes within ``ttl``.

    Examples
    --------
    >>> cache = ScopeCache(ttl=30.0, clock=lambda: 0.0)
    >>> cache.put(("440307",), (), (("440307", "440307001"), ()))
    >>> cache.get(("440307",), ())
    (('440307', '440307001'), ())
    """

    def __init__(self, ttl: float = 30.0, max_entries: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: dict[Scope, tuple[float, Scope]] = {}
        self._lock = threading.Lock()

    def get(self, areas: tuple[str, ...], grids: tuple[str, ...]) -> Scope | None:
        """The expansion of ``areas`` and ``grids`` if known and fresh."""
        with self._lock:
            found = self._entries.get((areas, grids))
        return found[1] if found is not None and found[0] > self.clock() else None

    def put(self, areas: tuple[str, ...], grids: tuple[str, ...], scope: Scope) -> None:
        """Remember an expansion (the oldest entries go when full)."""
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[(areas, grids)] = (self.clock() + self.ttl, scope)


def expand_scope(conn: Connection | Session, areas: tuple[str, ...], grids: tuple[str, ...],
                 cache: ScopeCache | None = None) -> Scope:
    """The areas below ``areas`` (included) and the grid documents of ``grids``."""
    if not areas and not grids:
        return (), ()
    found = cache.get(areas, grids) if cache is not None else None
    if found is None:
        row = conn.execute(_SCOPE, {"areas": list(areas), "grids": list(grids)}).one()
        found = tuple(row.areas or ()), tuple(row.grid_docs or ())
        if cache is not None:
            cache.put(areas, grids, found)
    return found


@dataclass(frozen=True)
class Resolved:
    """A credential resolved: who holds it, its row id, its last use and its expiry."""

    principal: Principal
    credential_id: Any
    last_used: datetime | None
    expires_at: datetime | None


def resolve(conn: Connection | Session, secret_hash: str, via: Literal["token", "session"],
            scopes: ScopeCache | None = None) -> Resolved | None:
    """The principal holding a token or session (by its hash), with the credential's row.

    None when the credential is unknown, expired, revoked, or its user disabled.
    The scope's expansion comes from ``scopes`` when it has it.
    """
    row = conn.execute(_BY_TOKEN if via == "token" else _BY_SESSION,
                       {"secret": secret_hash}).mappings().one_or_none()
    if row is None:
        return None
    areas, grid_docs = expand_scope(conn, tuple(row["area_codes"] or ()),
                                    tuple(row["grid_codes"] or ()), scopes)
    principal = Principal(
        id=row["id"], name=row["name"], role=row["role"], department_id=row["department_id"],
        areas=areas, grids=tuple(row["grid_codes"] or ()), grid_docs=grid_docs, via=via,
        csrf_token=row["csrf_token"])
    return Resolved(principal, row["credential_id"], row["last_used"], row["expires_at"])

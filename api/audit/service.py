"""Write audit rows in the caller's transaction; verify the hash chain; list rows.

Every state change and every read of personal data writes one row of
``audit_log`` in the same transaction as the change or read (never commits):

    record(conn, actor=actor, action="event.action.dispatch", object_type="event",
           object_id="42", before={"status": "registered"}, after={...})

Actions written today: ``event.create`` (intake), ``event.import`` (one row per
import of an events file; ``admin.import``, ``grids.import``, ``buildings.import``,
``rooms.import``, ``cameras.import``, ``catalogue.import`` likewise),
``event.action.<action>``
(lifecycle; ``event.action.escalate`` by ``system`` for overdue events),
``event.read_personal`` (a case page that showed masked personal fields),
``personal.unmask`` (clear personal fields read), ``personal.lookup`` (events
found by a reporter's contact), ``personal.reencrypt``, ``keys.rotate``,
``keys.retire``, ``user.create``; the catalogue's ``department.save|remove``,
``category.save|remove``, ``rule.save|remove`` and the grid versions'
``grid_version.upload|repair|publish|discard``. Reserved for sign-in: ``auth.login``,
``auth.login_failed``. A row never holds a personal value: ``fields`` names the
fields that were read or written.

The chain (set by the database, migration 0010): rows are numbered in chain
order under an advisory lock; ``prev_hash`` is the previous row's ``hash``
(:data:`GENESIS` for the first) and ``hash = hex(sha256(utf8(prev_hash ||
canonical(row))))``. :func:`canonical` is the serialisation, the same as the
SQL function ``audit_canonical``: the fields ``id, at, actor, actor_id, role,
address, action, object_type, object_id, fields, before, after, details`` in
that order, each as ``item(text)`` = ``"~"`` for NULL, else ``"<n>:<text>"``
with ``n`` its length in characters, concatenated without separators, where

- ``id`` and ``actor_id`` are decimal integers;
- ``at`` is UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (microseconds);
- ``fields`` is the concatenation of ``item(element)`` for each element in order
  (``""`` for an empty array);
- ``before``, ``after``, ``details`` are PostgreSQL's text form of the stored
  ``jsonb`` (``CAST(col AS text)``, deterministic for a given value).

A row taken out, altered, or moved breaks the chain at that row or the next;
:func:`verify` finds the first break. Rows cut from the end leave a shorter,
whole chain: keep the head (``ID:HASH``) that ``gridgov audit verify`` prints
somewhere else and pass it back as ``--anchor`` to detect that.

Writers hold the chain lock from their first audit row to the end of their
transaction: write audit rows late in long transactions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, func, select, text
from sqlalchemy.orm import Session

from api.audit.models import AuditLog

GENESIS = "0" * 64
Conn = Connection | Session

COLUMNS = ("id", "at", "actor", "actor_id", "role", "address", "action", "object_type",
           "object_id", "fields", "before", "after", "details", "prev_hash", "hash")


@dataclass(frozen=True)
class Actor:
    """Who acts: a user name (or ``anonymous``, ``system``), their id and role, the address."""

    name: str
    id: int | None = None
    role: str | None = None
    address: str | None = None


SYSTEM = Actor("system")
ANONYMOUS = Actor("anonymous")


def entry(*, actor: Actor | str, action: str, object_type: str, object_id: object = None,
          fields: Iterable[str] = (), before: Mapping[str, Any] | None = None,
          after: Mapping[str, Any] | None = None, details: Mapping[str, Any] | None = None,
          address: str | None = None, actor_id: int | None = None, role: str | None = None
          ) -> dict[str, Any]:
    """The column values of one audit row (``actor``'s id, role and address unless given).

    Examples
    --------
    >>> row = entry(actor=Actor("li", 3, "dispatcher"), action="user.create",
    ...             object_type="user", object_id=7)
    >>> row["actor"], row["role"], row["object_id"]
    ('li', 'dispatcher', '7')
    """
    who = Actor(actor) if isinstance(actor, str) else actor
    return {"actor": who.name, "actor_id": actor_id if actor_id is not None else who.id,
            "role": role or who.role, "address": address or who.address, "action": action,
            "object_type": object_type,
            "object_id": None if object_id is None else str(object_id),
            "fields": list(fields), "before": _json(before), "after": _json(after),
            "details": _json(details)}


def _json(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(value) if value is not None else None


def record(conn: Conn, *, actor: Actor | str, action: str, object_type: str,
           object_id: object = None, fields: Iterable[str] = (),
           before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None,
           details: Mapping[str, Any] | None = None, address: str | None = None,
           actor_id: int | None = None, role: str | None = None) -> None:
    """Write one audit row in ``conn``'s transaction (see :func:`entry`); never commits."""
    record_many(conn, [entry(actor=actor, action=action, object_type=object_type,
                             object_id=object_id, fields=fields, before=before, after=after,
                             details=details, address=address, actor_id=actor_id, role=role)])


#: the rows of :func:`record_many` come as one JSON array (one parameter, so the statement
#: is prepared once whatever the number of rows) and are inserted in array order
_INSERT_MANY = text("""
INSERT INTO audit_log (actor, actor_id, role, address, action, object_type, object_id,
                       fields, before, after, details)
SELECT r->>'actor', CAST(r->>'actor_id' AS integer), r->>'role', r->>'address',
       r->>'action', r->>'object_type', r->>'object_id',
       ARRAY(SELECT jsonb_array_elements_text(r->'fields')),
       nullif(r->'before', 'null'), nullif(r->'after', 'null'), nullif(r->'details', 'null')
FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS e(r, n)
ORDER BY n""")


def record_many(conn: Conn, rows: Sequence[dict[str, Any]]) -> None:
    """Write audit rows (made by :func:`entry`) in one statement, in order; never commits."""
    if rows:
        conn.execute(_INSERT_MANY, {"rows": json.dumps(list(rows), ensure_ascii=False)})


def audited_select(conn: Conn, query: str, params: Mapping[str, Any], *, actor: Actor,
                   action: str, object_type: str, fields: Iterable[str], order_by: str = "id"
                   ) -> Sequence[RowMapping]:
    """The rows of ``query``, and the audit row of reading them, in one statement.

    The audit row is :func:`record`'s with ``details`` ``{"matches": n, "ids": [...]}``
    (the rows' ``id`` column, ascending), written by a data-modifying ``WITH`` of the
    same statement: one round trip where a read and then :func:`record` take two. The
    rows come ordered by ``order_by`` (columns of ``query``'s output).
    """
    statement = text(f"""
WITH found AS ({query}),
audit AS (
    INSERT INTO audit_log (actor, actor_id, role, address, action, object_type, fields, details)
    SELECT :audit_actor, :audit_actor_id, :audit_role, :audit_address, :audit_action,
           :audit_object_type, CAST(:audit_fields AS text[]),
           jsonb_build_object('matches', count(*),
                              'ids', coalesce(jsonb_agg(id ORDER BY id), '[]'::jsonb))
    FROM found
)
SELECT * FROM found ORDER BY {order_by}""")  # noqa: S608 - SQL from trusted parts; values bound
    return conn.execute(statement, {
        **params, "audit_actor": actor.name, "audit_actor_id": actor.id,
        "audit_role": actor.role, "audit_address": actor.address, "audit_action": action,
        "audit_object_type": object_type, "audit_fields": list(fields)}).mappings().all()


# -- the chain ------------------------------------------------------------------------
def item(value: str | None) -> str:
    """One field in the canonical serialisation.

    Examples
    --------
    >>> item(None), item(""), item("张三")
    ('~', '0:', '2:张三')
    """
    return "~" if value is None else f"{len(value)}:{value}"


def _at(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: Mapping[str, Any]) -> str:
    """The serialisation of a row that its hash covers (see the module docstring).

    ``row`` holds the columns, with ``before``, ``after`` and ``details`` as the
    database's text of the ``jsonb`` values.

    Examples
    --------
    >>> canonical({"id": 1, "at": datetime(2026, 1, 2, tzinfo=UTC), "actor": "li",
    ...            "actor_id": None, "role": None, "address": None, "action": "x",
    ...            "object_type": "event", "object_id": "9", "fields": ["phone"],
    ...            "before": None, "after": '{"status": "closed"}', "details": None})
    '1:127:2026-01-02T00:00:00.000000Z2:li~~~1:x5:event1:97:5:phone~20:{"status": "closed"}~'
    """
    fields = row["fields"]
    listed = None if fields is None else "".join(item(f) for f in fields)
    parts = [str(row["id"]), _at(row["at"]), row["actor"],
             None if row["actor_id"] is None else str(row["actor_id"]), row["role"],
             row["address"], row["action"], row["object_type"], row["object_id"], listed,
             row["before"], row["after"], row["details"]]
    return "".join(item(p) for p in parts)


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """``hex(sha256(utf8(prev_hash || canonical(row))))``."""
    return hashlib.sha256((prev_hash + canonical(row)).encode()).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :func:`verify`: rows checked, the first broken row and why, the head."""

    rows: int
    broken_id: int | None = None
    reason: str | None = None
    message: str = ""
    head_id: int | None = None
    head_hash: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the chain is whole."""
        return self.broken_id is None


_ROWS = text("""
SELECT id, at, actor, actor_id, role, address, action, object_type, object_id, fields,
       CAST(before AS text) AS before, CAST(after AS text) AS after,
       CAST(details AS text) AS details, prev_hash, hash
FROM audit_log ORDER BY id
""").execution_options(yield_per=5000)


def verify(conn: Conn) -> VerifyResult:
    """Recompute the chain in id order; stop at the first broken row.

    Reasons: ``altered`` (the row's content or hash was changed), ``removed``
    (its ``prev_hash`` is no row's hash: the row before it was taken out, or
    altered and rehashed), ``reordered`` (its ``prev_hash`` is the hash of a row
    that is not the one before it).
    """
    expected, count, last_id = GENESIS, 0, None
    for row in _stream(conn):
        if row["prev_hash"] != expected:
            return _broken_link(conn, row, count, last_id)
        if row_hash(row["prev_hash"], row) != row["hash"]:
            return VerifyResult(count, row["id"], "altered",
                                f"row {row['id']} was altered: its content does not give "
                                "its hash")
        expected, count, last_id = row["hash"], count + 1, row["id"]
    return VerifyResult(count, message=f"{count} rows, chain whole", head_id=last_id,
                        head_hash=expected if count else None)


def _stream(conn: Conn) -> Iterator[dict[str, Any]]:
    for row in conn.execute(_ROWS).mappings():
        yield dict(row)


def _broken_link(conn: Conn, row: dict[str, Any], count: int, last_id: int | None
                 ) -> VerifyResult:
    before = "the start of the log" if last_id is None else f"row {last_id}"
    linked = conn.execute(text("SELECT id FROM audit_log WHERE hash = :h ORDER BY id LIMIT 1"),
                          {"h": row["prev_hash"]}).scalar()
    if linked is not None:
        return VerifyResult(count, row["id"], "reordered",
                            f"row {row['id']} follows row {linked} in the chain, not "
                            f"{before}: rows were reordered")
    return VerifyResult(count, row["id"], "removed",
                        f"row {row['id']} does not follow {before}: a row before it was "
                        "removed (or altered and rehashed)")


# -- listing --------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditFilter:
    """Filters of the audit listing; ``action`` ending in ``*`` matches a prefix."""

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """The SQL conditions."""
        t = AuditLog
        out: list[ColumnElement[bool]] = []
        if self.actor:
            out.append(t.actor == self.actor)
        if self.action and self.action.endswith("*"):
            prefix = self.action[:-1].replace("\\", "\\\\").replace("%", r"\%").replace("_",
                                                                                   r"\_")
            out.append(t.action.like(prefix + "%", escape="\\"))
        elif self.action:
            out.append(t.action == self.action)
        if self.object_type:
            out.append(t.object_type == self.object_type)
        if self.object_id:
            out.append(t.object_id == self.object_id)
        if self.start:
            out.append(t.at >= self.start)
        if self.end:
            out.append(t.at < self.end)
        return out


def list_rows(conn: Conn, where: AuditFilter, *, limit: int, offset: int,
              newest_first: bool = True) -> tuple[list[dict[str, Any]], int]:
    """One page of audit rows matching ``where`` and the number of all matching rows."""
    cols = [getattr(AuditLog, c) for c in COLUMNS]
    conds = where.where()
    order = AuditLog.id.desc() if newest_first else AuditLog.id.asc()
    rows = conn.execute(select(*cols).where(*conds).order_by(order).limit(limit)
                        .offset(offset)).mappings().all()
    total = conn.execute(select(func.count()).select_from(AuditLog).where(*conds)).scalar_one()
    return [dict(r) for r in rows], int(total)


def cli_actor() -> Actor:
    """The actor of a command run by hand: ``cli:<system user>``."""
    import getpass

    return Actor(f"cli:{getpass.getuser()}")

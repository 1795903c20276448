"""Personal fields in and out: sealed on write, masked or unmasked on read, always audited.

- :func:`seal` gives the stored columns of a record's personal values
  (ciphertexts and lookup hashes); intake, Open311 and the sample loader write
  through it.
- :func:`read_reporter` gives an event's reporter, masked (``138****1234``) or
  clear, and writes the audit row of the read (``event.read_personal`` with the
  masked fields shown, ``personal.unmask`` with the clear ones) in the caller's
  transaction.
- :func:`may_read_personal` is the one permission check of personal data.
- :func:`find_events` finds events by a reporter's phone or e-mail through the
  lookup hashes (audited as ``personal.lookup``).
- :func:`reencrypt` moves every personal value (plaintext or an older key's) to
  the current key in batches; :func:`key_usage` and :func:`retire_keys` tell
  which keys are still used and drop the ones no value uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.principal import Principal
from api.errors import APIError
from api.personal.cipher import PREFIX, PersonalCipher, UnreadableValue
from api.personal.keys import KeyRing, write_ring
from api.personal.mask import mask
from api.personal.models import PERSONAL_FIELDS, REPORTER, PersonalField, fields_of

Conn = Connection | Session


def seal(cipher: PersonalCipher | None, table: str,
         values: Mapping[str, str | None] | None) -> dict[str, str | None]:
    """The stored columns of ``values`` (by field key) for ``table``: ciphertexts and hashes.

    Empty values are stored as NULL. Without a cipher only an empty record can be
    sealed: personal data is never stored in the clear.
    """
    out: dict[str, str | None] = {}
    for f in fields_of(table):
        raw = (values or {}).get(f.key)
        value = raw if raw is not None and raw.strip() else None
        if value is not None and cipher is None:
            raise ValueError(f"{f.qualified}: personal data needs the cipher "
                             "(the app state's ``personal``, PersonalCipher.from_settings)")
        out[f.column] = cipher.encrypt(value, f.qualified) if cipher and value else None
        if f.hash_column:
            out[f.hash_column] = cipher.lookup_hash(value, f.kind) if cipher and value else None
    return out


def may_read_personal(principal: Principal | None) -> bool:
    """Whether ``principal`` may see personal data of the events in their scope (the one check).

    Whether an event is in their scope is the caller's check, in SQL
    (``api.auth.policy.check_event_scope``, ``Principal.event_sql``).
    """
    return principal is not None and principal.reads_personal_data


def check_personal(principal: Principal | None) -> None:
    """401 without a user, 403 unless :func:`may_read_personal`."""
    if principal is None:
        raise APIError(401, "unauthorized", "sign in or send 'Authorization: Bearer TOKEN'")
    if not may_read_personal(principal):
        raise APIError(403, "forbidden", f"role {principal.role!r} may not read personal data")


def _open(cipher: PersonalCipher, f: PersonalField, stored: str | None, where: str) -> str | None:
    try:
        return cipher.decrypt(stored, f.qualified)
    except UnreadableValue as exc:
        raise APIError(500, "personal_data_unreadable", f"{where}: {exc}") from None


def read_reporter(conn: Conn, cipher: PersonalCipher, event_id: int, actor: Actor, *,
                  clear: bool = False) -> dict[str, str | None]:
    """The reporter of an event, masked (or ``clear``), and the audit row of the read.

    The row (``event.read_personal``, or ``personal.unmask`` when ``clear``)
    lists the fields that had a value; nothing is written when none had.
    """
    cols = ", ".join(f.column for f in REPORTER.values())
    row = conn.execute(text(f"SELECT {cols} FROM events WHERE id = :id"),  # noqa: S608 - SQL from trusted parts; values bound
                       {"id": event_id}).mappings().one()
    values = {k: _open(cipher, f, row[f.column], f"event {event_id}")
              for k, f in REPORTER.items()}
    shown = [k for k, v in values.items() if v is not None]
    if shown:
        record(conn, actor=actor, action="personal.unmask" if clear else "event.read_personal",
               object_type="event", object_id=event_id, fields=shown,
               details={"masked": not clear})
    if clear:
        return values
    return {k: mask(REPORTER[k].kind, v) for k, v in values.items()}


def add_reporter(conn: Conn, cipher: PersonalCipher, detail: dict[str, Any],
                 principal: Principal | None, event_id: int, actor: Actor) -> dict[str, Any]:
    """Add the masked reporter to an event's ``detail`` when ``principal`` may see it (audited).

    The event must be in the principal's scope (checked by the caller).
    """
    if may_read_personal(principal):
        detail["reporter"] = read_reporter(conn, cipher, event_id, actor)
    return detail


def find_events(conn: Conn, cipher: PersonalCipher, actor: Actor, *, phone: str | None = None,
                email: str | None = None, limit: int = 1000,
                scope: tuple[str, dict[str, Any]] = ("TRUE", {})) -> list[int]:
    """Ids of the events reported from ``phone`` and/or ``email`` (newest first), audited.

    ``scope`` (``Principal.event_sql("events")``) limits them to the reader's events.
    """
    conds: list[str] = [f"({scope[0]})"]
    fields: list[str] = []
    params: dict[str, object] = {"n": limit, **scope[1]}
    for key, value in (("phone", phone), ("email", email)):
        if value and value.strip():
            f = REPORTER[key]
            conds.append(f"{f.hash_column} = :{key}")
            params[key] = cipher.lookup_hash(value, f.kind)
            fields.append(key)
    if not fields:
        raise APIError(422, "invalid_parameter", "give 'phone' or 'email' to look up")
    ids = [int(i) for i in conn.execute(text(
        f"SELECT id FROM events WHERE {' AND '.join(conds)} ORDER BY id DESC LIMIT :n"),  # noqa: S608 - SQL from trusted parts; values bound
        params).scalars()]
    record(conn, actor=actor, action="personal.lookup", object_type="event", fields=fields,
           details={"matches": len(ids)})
    return ids


# -- keys -----------------------------------------------------------------------------
Progress = Callable[[str, int], None]


def _stale(fields: tuple[PersonalField, ...], current: str) -> str:
    prefix = f"{PREFIX}{current}:%"
    return " OR ".join(f"({f.column} IS NOT NULL AND {f.column} NOT LIKE '{prefix}')"
                       for f in fields)


def _resealed(cipher: PersonalCipher, fields: tuple[PersonalField, ...],
              row: Any) -> dict[str, Any]:
    values = {f.key: _open(cipher, f, row[f.column], f"{f.table} {row['id']}")
              for f in fields}
    return {"id": row["id"], **seal(cipher, fields[0].table, values)}


def reencrypt(engine: Engine, cipher: PersonalCipher, *, batch: int = 1000,
              progress: Progress | None = None) -> dict[str, int]:
    """Encrypt every personal value not under the current key with it; rows per table.

    Each batch of ``batch`` rows is one transaction (rows locked while they are
    rewritten); plaintext values are encrypted and get their lookup hashes.
    """
    counts: dict[str, int] = {}
    for table in dict.fromkeys(f.table for f in PERSONAL_FIELDS):
        fields = fields_of(table)
        cols = ", ".join(f.column for f in fields)
        sets = ", ".join(f"{c} = :{c}" for f in fields
                         for c in (f.column, f.hash_column) if c)
        after, done = 0, 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(text(
                    f"SELECT id, {cols} FROM {table} WHERE id > :after AND "  # noqa: S608 - SQL from trusted parts; values bound
                    f"({_stale(fields, cipher.current)}) ORDER BY id LIMIT :n FOR UPDATE"),
                    {"after": after, "n": batch}).mappings().all()
                if not rows:
                    break
                conn.execute(text(f"UPDATE {table} SET {sets} WHERE id = :id"),  # noqa: S608 - SQL from trusted parts; values bound
                             [_resealed(cipher, fields, r) for r in rows])
            after, done = int(rows[-1]["id"]), done + len(rows)
            if progress:
                progress(table, done)
        counts[table] = done
    return counts


def key_usage(conn: Conn) -> dict[str, int]:
    """How many stored values each key id encrypts (``plaintext``: not encrypted)."""
    usage: dict[str, int] = {}
    for f in PERSONAL_FIELDS:
        rows = conn.execute(text(
            f"SELECT CASE WHEN {f.column} LIKE '{PREFIX}%' THEN split_part({f.column}, ':', 2) "  # noqa: S608 - SQL from trusted parts; values bound
            f"ELSE 'plaintext' END AS kid, count(*) FROM {f.table} "
            f"WHERE {f.column} IS NOT NULL GROUP BY 1")).all()
        for kid, n in rows:
            usage[str(kid)] = usage.get(str(kid), 0) + int(n)
    return usage


def retire_keys(conn: Conn, ring: KeyRing) -> KeyRing:
    """Drop from ``ring``'s file every key but the current one; refuse while one is in use."""
    if ring.path is None:
        raise APIError(409, "key_not_in_file", "the key comes from GRIDGOV_PERSONAL_KEY; "
                       "there is no key file to retire keys from")
    old = set(ring.keys) - {ring.current}
    usage = key_usage(conn)
    used = {k: usage[k] for k in sorted(old) if usage.get(k)}
    if used:
        raise APIError(409, "key_in_use", f"keys still encrypt values: {used}; run "
                       "'gridgov keys encrypt-existing' first")
    retired = ring.without(old)
    write_ring(retired, ring.path)
    return retired


def encrypt_existing(engine: Engine, ring: KeyRing, actor: Actor, *, batch: int = 1000,
                     progress: Progress | None = None) -> dict[str, int]:
    """Re-encrypt every personal value to ``ring``'s current key; one audit row at the end."""
    counts = reencrypt(engine, PersonalCipher(ring), batch=batch, progress=progress)
    with engine.begin() as conn:
        record(conn, actor=actor, action="personal.reencrypt", object_type="key",
               object_id=ring.current, details={"rows": counts})
    return counts


def rotate_keys(engine: Engine, ring: KeyRing, actor: Actor, *, retire: bool = True,
                batch: int = 1000, progress: Progress | None = None) -> KeyRing:
    """Add a new current key to ``ring``'s file, re-encrypt everything, retire the old keys.

    The new ring is written before any value is re-encrypted, so an interrupted
    rotation leaves every value readable; run it (or ``encrypt-existing``) again.
    """
    if ring.path is None:
        raise APIError(409, "key_not_in_file", "the key comes from GRIDGOV_PERSONAL_KEY and "
                       "cannot be rotated in place: move to a key file "
                       "(GRIDGOV_PERSONAL_KEY_FILE) or set a new key and run "
                       "'gridgov keys encrypt-existing' with both readable")
    new = ring.rotated()
    write_ring(new, ring.path)
    with engine.begin() as conn:
        record(conn, actor=actor, action="keys.rotate", object_type="key",
               object_id=new.current, details={"previous": ring.current})
    encrypt_existing(engine, new, actor, batch=batch, progress=progress)
    if not retire:
        return new
    with engine.begin() as conn:
        retired = retire_keys(conn, new)
        record(conn, actor=actor, action="keys.retire", object_type="key",
               object_id=new.current, details={"retired": sorted(set(new.keys) - {new.current})})
    return retired

"""The delivery worker: one per database, sends the outbox with retries and backoff.

The worker holds a PostgreSQL advisory lock on a connection of its own; a
second server's worker waits for it (and takes over when the first one's
connection ends, e.g. when its process is killed). Each notification is sent
in a transaction of its own: the row is claimed ``FOR UPDATE SKIP LOCKED``,
sent, and marked (``sent``, or ``pending`` again at the next backoff time, or
``dead`` after ``GRIDGOV_NOTIFY_MAX_ATTEMPTS``) with its attempt row, all in
that transaction.

The guarantee: **at least once, with a stable idempotency key**. A sent
notification is marked in the transaction that claimed it, so the worker never
sends a notification it has recorded as sent. If the process dies after the
receiver accepted a message but before the commit, the claim rolls back and
the message is sent again after restart with the *same* key (the webhook's
``Idempotency-Key``, the e-mail's ``Message-ID``, the SMS ``client_ref``,
WeCom's duplicate check): a receiver that drops a key it has seen gets each
notification exactly once. At most one notification per worker is in doubt at
a time.

Non-urgent notifications (see :data:`api.notify.models.URGENT_KINDS`) to a
channel in its quiet hours wait until the hours end (no attempt is counted).
A reporter's contact is decrypted here, at send time, and the read is audited.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, text

from api.audit.service import record
from api.notify.channels import Channel, Message, Result
from api.notify.templates import render, render_payload
from api.personal.cipher import PersonalCipher, UnreadableValue
from api.personal.models import HANDOVER_REPORTER, REPORTER
from api.settings import NotifySettings

logger = logging.getLogger("gridgov.notify")

#: the advisory lock key of the delivery worker (one per database)
LOCK_KEY = 0x6E6F7469  # "noti"

_CLAIM = text("""
SELECT n.id, n.key, n.kind, n.event_id, n.channel, n.language, n.urgent, n.attempts,
       n.reporter_field, n.payload, n.handover_id, c.address, c.quiet_from, c.quiet_until,
       coalesce(e.reporter_phone, h.reporter_phone) AS reporter_phone,
       coalesce(e.reporter_email, h.reporter_email) AS reporter_email
FROM notifications n
LEFT JOIN events e ON e.id = n.event_id
LEFT JOIN handovers h ON h.id = n.handover_id AND n.event_id IS NULL
LEFT JOIN user_channels c ON c.id = n.user_channel_id
WHERE n.status = 'pending' AND n.next_attempt_at <= :now
  AND n.channel = ANY(CAST(:channels AS text[]))
ORDER BY n.next_attempt_at, n.id
LIMIT 1
FOR UPDATE OF n SKIP LOCKED
""")

#: notifications of a channel this server has no configuration for: parked as dead letters
#: at once, in one statement (an admin retries them once the channel is configured)
_PARK_UNCONFIGURED = text("""
WITH n AS (
    UPDATE notifications SET status = 'dead', attempts = attempts + 1,
           last_error = 'channel ' || channel || ' is not configured'
    WHERE status = 'pending' AND NOT channel = ANY(CAST(:channels AS text[]))
    RETURNING id, last_error
)
INSERT INTO notification_attempts (notification_id, at, ok, detail)
SELECT id, :now, FALSE, last_error FROM n
""")

_MARK = text("""
WITH n AS (
    UPDATE notifications SET status = :status, attempts = attempts + 1,
           next_attempt_at = :next, sent_at = CASE WHEN :ok THEN CAST(:now AS timestamptz) END,
           last_error = :error
    WHERE id = :id RETURNING id
)
INSERT INTO notification_attempts (notification_id, at, ok, detail)
SELECT id, :now, :ok, :detail FROM n
""")

_HOLD = text("UPDATE notifications SET next_attempt_at = :until WHERE id = :id")


def backoff(attempts: int, base: float, cap: float) -> timedelta:
    """The wait after failed attempt number ``attempts`` (1, 2, ...): doubled each time.

    Examples
    --------
    >>> [backoff(n, 30, 3600).total_seconds() for n in (1, 2, 3, 10)]
    [30.0, 60.0, 120.0, 3600.0]
    """
    return timedelta(seconds=min(cap, base * 2 ** (attempts - 1)))


def quiet_until(now: datetime, start: time | None, end: time | None,
                tz: tzinfo) -> datetime | None:
    """When the quiet hours ``start``-``end`` (local, may wrap midnight) holding ``now`` end.

    None when ``now`` is outside them (or there are none).

    Examples
    --------
    >>> tz = ZoneInfo("Asia/Shanghai")
    >>> at = datetime(2026, 12, 1, 23, 30, tzinfo=tz)
    >>> quiet_until(at, time(22), time(7), tz).isoformat()
    '2026-12-02T07:00:00+08:00'
    >>> quiet_until(at.replace(hour=12), time(22), time(7), tz) is None
    True
    """
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    until = datetime.combine(local.date(), end, tzinfo=tz)
    return until if until > local else until + timedelta(days=1)


class DeliveryWorker:
    """Send due notifications through ``channels`` (by name)."""

    def __init__(self, engine: Engine, channels: Mapping[str, Channel],
                 settings: NotifySettings, cipher: PersonalCipher | None, *,
                 base_url: str = "", timezone: str = "Asia/Shanghai",
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.channels, self.settings = engine, dict(channels), settings
        self.cipher, self.base_url, self.clock = cipher, base_url, clock
        self.tz = ZoneInfo(timezone)

    def run_once(self, limit: int = 100) -> int:
        """Handle up to ``limit`` due notifications, each in its own transaction.

        Returns how many were handled (sent, failed, held by quiet hours, or parked
        because their channel is not configured here).
        """
        with self.engine.begin() as conn:
            parked = conn.execute(_PARK_UNCONFIGURED, {"channels": sorted(self.channels),
                                                       "now": self.clock()}).rowcount
        done = 0
        while done < limit and self._one():
            done += 1
        return done + parked

    def _one(self) -> bool:
        now = self.clock()
        with self.engine.begin() as conn:
            found = conn.execute(_CLAIM, {"now": now, "channels": sorted(self.channels)}
                                 ).mappings().one_or_none()
            if found is None:
                return False
            row = dict(found)
            held = None if row["urgent"] else quiet_until(now, row["quiet_from"],
                                                         row["quiet_until"], self.tz)
            if held is not None:
                conn.execute(_HOLD, {"id": row["id"], "until": held})
                return True
            self._mark(conn, row, now, self._deliver(conn, row))
        return True

    def _deliver(self, conn: Connection, row: Mapping[str, Any]) -> Result:
        channel = self.channels[row["channel"]]  # claimed only for configured channels
        address = self._address(conn, row)
        if address is None:
            return Result(False, "no readable address", retry=False)
        language = row["language"] or self.settings.reporter_language
        text_ = (render(conn, row["event_id"], row["kind"], language, self.base_url, self.tz,
                        row["payload"])
                 if row["event_id"] is not None
                 else render_payload(conn, row["kind"], language, row["payload"]))
        if text_ is None:
            return Result(False, f"no template for {row['kind']!r} in {language!r}", retry=False)
        message = Message(key=row["key"], address=address, subject=text_[0], body=text_[1],
                          kind=row["kind"], event_id=row["event_id"])
        try:
            return channel.send(message)
        except Exception as exc:  # a channel's bug must not stop the outbox
            logger.exception("channel %s failed", row["channel"])
            return Result(False, f"{type(exc).__name__}: {exc}")

    def _address(self, conn: Connection, row: Mapping[str, Any]) -> str | None:
        field = row["reporter_field"]
        if field is None:
            return str(row["address"]) if row["address"] is not None else None
        if self.cipher is None:
            return None
        on_event = row["event_id"] is not None  # else a report forwarded at intake
        f = (REPORTER if on_event else HANDOVER_REPORTER)[field]
        try:
            clear = self.cipher.decrypt(row[f.column], f.qualified)
        except UnreadableValue:
            return None
        record(conn, actor="system", action="personal.notify",
               object_type="event" if on_event else "handover",
               object_id=row["event_id"] if on_event else row["handover_id"], fields=[field],
               details={"notification": row["id"], "channel": row["channel"]})
        return clear

    def _mark(self, conn: Connection, row: Mapping[str, Any], now: datetime,
              result: Result) -> None:
        attempts = row["attempts"] + 1
        dead = not result.ok and (not result.retry or attempts >= self.settings.max_attempts)
        status = "sent" if result.ok else "dead" if dead else "pending"
        wait = backoff(attempts, self.settings.backoff_seconds, self.settings.backoff_max_seconds)
        conn.execute(_MARK, {"id": row["id"], "status": status, "ok": result.ok, "now": now,
                             "next": now if result.ok or dead else now + wait,
                             "error": None if result.ok else result.detail,
                             "detail": result.detail[:2000]})
        if dead:
            logger.warning("notification %s parked as a dead letter: %s", row["id"],
                           result.detail)

    def run_forever(self, stop: threading.Event) -> None:
        """Take the advisory lock (waiting for it), then send until ``stop`` is set."""
        poll = self.settings.poll_seconds
        while not stop.is_set():
            try:
                with self.engine.connect() as lock:
                    if lock.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": LOCK_KEY}).scalar():
                        lock.commit()
                        self._serve(lock, stop)
                    else:
                        lock.rollback()
            except Exception:  # the database went away: try again at the next poll
                logger.exception("delivery worker failed; retrying")
            stop.wait(poll)

    def _serve(self, lock: Connection, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                if self.run_once() == 0:
                    stop.wait(self.settings.poll_seconds)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            lock.commit()

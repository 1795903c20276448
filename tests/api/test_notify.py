"""Notifications end to end, against real local counterparts on 127.0.0.1.

A fresh database with the small sample (the worker commits); an ``aiosmtpd``
SMTP server, a webhook receiver that checks the HMAC signature and the
timestamp, and fakes of the SMS gateway and of WeCom's gettoken/message/send
that check the request format. Time is the worker's injected clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.auth.service import create_user
from api.db.models import Event
from api.events.intake import Report, write_reports
from api.events.lifecycle import apply_action, escalate_overdue
from api.grids.lookup import IndexedGridLookup
from api.notify.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from api.notify.delivery import build_channels
from api.notify.models import UserChannel
from api.notify.worker import DeliveryWorker
from api.personal.cipher import PersonalCipher
from api.settings import NotifySettings, Settings
from testkit.counterparts import (
    AGENT_ID,
    CORP_ID,
    CORP_SECRET,
    SECRET,
    SMS_KEY,
    HttpCounterpart,
    http_counterpart,
    smtp_server,
)
from testkit.databases import sample_database
from tests.api.events_support import basic_grids

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE_URL = "https://grid.example.cn"


@pytest.fixture(scope="module")
def db(server_url: str, sample_dir: Path) -> Iterator[Engine]:
    """A database of this module's own with the small sample."""
    with sample_database(server_url, sample_dir, "gridgov_notify") as (_, engine):
        yield engine


@pytest.fixture()
def engine(db: Engine) -> Engine:
    """The module's database with an empty outbox and no channels."""
    with db.begin() as conn:
        conn.execute(text("TRUNCATE notification_attempts, notifications, user_channels"))
    return db


@pytest.fixture(scope="module")
def lookup(db: Engine) -> Iterator[IndexedGridLookup]:
    found = IndexedGridLookup(db)
    yield found
    found.close()


@pytest.fixture(scope="module")
def cipher() -> PersonalCipher:
    return PersonalCipher.from_settings(Settings())


@pytest.fixture()
def http() -> Iterator[HttpCounterpart]:
    with http_counterpart() as server:
        yield server


@pytest.fixture()
def smtp() -> Iterator[tuple[int, list[Any]]]:
    with smtp_server() as found:
        yield found


class Clock:
    """The worker's time, moved by the test (None: the real time)."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at or datetime.now(UTC)


def notify_settings(http: HttpCounterpart, smtp_port: int = 1, **kw: Any) -> NotifySettings:
    return NotifySettings(
        smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_from="gridgov@example.cn",
        webhook_secret=SecretStr(SECRET), sms_base_url=http.base,
        sms_api_key=SecretStr(SMS_KEY), wecom_base_url=http.base, wecom_corp_id=CORP_ID,
        wecom_secret=SecretStr(CORP_SECRET), wecom_agent_id=AGENT_ID, timeout_seconds=5,
        allow_internal_urls=True, **kw)


def make_worker(engine: Engine, settings: NotifySettings, cipher: PersonalCipher,
                clock: Clock) -> DeliveryWorker:
    return DeliveryWorker(engine, build_channels(settings), settings, cipher,
                          base_url=BASE_URL, clock=clock)


def department_category(engine: Engine) -> tuple[str, str]:
    """A category routed to a department by the catalogue, and that department's code."""
    with engine.connect() as conn:
        row = conn.execute(text("""
            SELECT c.code, d.code FROM event_categories c
            JOIN departments d ON d.id = c.department_id
            WHERE NOT EXISTS (SELECT 1 FROM routing_rules r
                              WHERE r.category_code IN (c.code, c.major_code))
            ORDER BY c.code LIMIT 1""")).one()
    return row[0], row[1]


def add_user(engine: Engine, name: str, role: str, channels: list[dict[str, Any]],
             **kw: Any) -> int:
    with Session(engine) as s:
        user, _ = create_user(s, name=name, role=role, **kw)
        s.add_all([UserChannel(user_id=user.id, **c) for c in channels])
        s.commit()
        return user.id


def report(engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher, category: str,
           point: dict[str, Any], reporter: dict[str, str | None] | None = None,
           now: datetime | None = None, commit: bool = True) -> int:
    with engine.connect() as conn:
        [made] = write_reports(conn, lookup, [Report(category, lon=point["lon"], lat=point["lat"],
                                                     reporter=reporter, actor="test")],
                               now=now, personal=cipher)
        assert not isinstance(made, Exception), made
        (conn.commit if commit else conn.rollback)()
    return made.event_id


def outbox(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT n.*, (SELECT count(*) FROM notification_attempts a "
            "WHERE a.notification_id = n.id) AS attempt_rows FROM notifications n ORDER BY id")
        ).mappings()]


def points(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return basic_grids(conn)


def test_a_dispatch_reaches_the_departments_handler_on_every_channel(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher,
        http: HttpCounterpart, smtp: tuple[int, list[Any]]) -> None:
    category, department = department_category(engine)
    add_user(engine, "handler-all", "handler", department=department, channels=[
        {"channel": "email", "address": "handler@example.cn", "language": "en"},
        {"channel": "webhook", "address": f"{http.base}/hook"},
        {"channel": "sms", "address": "13900000001"},
        {"channel": "wecom", "address": "zhangsan"}])
    with engine.connect() as conn:
        other = conn.execute(text("SELECT code FROM departments WHERE code <> :d LIMIT 1"),
                             {"d": department}).scalar()
    add_user(engine, "handler-elsewhere", "handler", department=other,
             channels=[{"channel": "sms", "address": "13900000009"}])
    event_id = report(engine, lookup, cipher, category, points(engine)[0])
    worker = make_worker(engine, notify_settings(http, smtp[0]), cipher,
                         Clock())
    assert worker.run_once() == 4
    [mail] = smtp[1]
    assert mail["X-Envelope-To"] == "handler@example.cn"
    assert mail["Subject"].startswith(f"New case #{event_id}")
    [hook] = http.webhooks.values()
    assert hook["event_id"] == event_id and hook["kind"] == "dispatched"
    assert f"#{event_id}" in hook["subject"] and "派遣" in hook["subject"]
    assert http.refused == []
    assert [m["to"] for m in http.sms] == ["13900000001"]
    assert [m["touser"] for m in http.wecom] == ["zhangsan"]
    assert f"#{event_id}" in http.wecom[0]["text"]["content"]
    rows = outbox(engine)
    assert {r["status"] for r in rows} == {"sent"} and len(rows) == 4
    assert all(r["attempt_rows"] == 1 for r in rows)
    key = {r["channel"]: r["key"] for r in rows}
    assert mail["Message-ID"] == f"<{key['email']}@gridgov>"
    assert list(http.webhooks) == [key["webhook"]]
    assert [m["client_ref"] for m in http.sms] == [key["sms"]]


def test_wecom_fetches_a_new_token_when_its_token_expires(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher,
        http: HttpCounterpart) -> None:
    category, department = department_category(engine)
    add_user(engine, "handler-wecom", "handler", department=department,
             channels=[{"channel": "wecom", "address": "lisi"}])
    worker = make_worker(engine, notify_settings(http), cipher, Clock())
    grid_points = points(engine)
    report(engine, lookup, cipher, category, grid_points[1])
    assert worker.run_once() == 1
    http.tokens_issued += 1  # WeCom expired the token the channel keeps
    report(engine, lookup, cipher, category, grid_points[2])
    assert worker.run_once() == 1
    assert [m["touser"] for m in http.wecom] == ["lisi", "lisi"]
    assert http.tokens_issued == 3
    assert {r["status"] for r in outbox(engine)} == {"sent"}


def test_a_rolled_back_change_sends_nothing(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher,
        http: HttpCounterpart) -> None:
    category, department = department_category(engine)
    add_user(engine, "handler-rollback", "handler", department=department,
             channels=[{"channel": "webhook", "address": f"{http.base}/hook"}])
    add_user(engine, "dispatcher-rollback", "dispatcher",
             channels=[{"channel": "webhook", "address": f"{http.base}/hook"}])
    report(engine, lookup, cipher, category, points(engine)[3], commit=False)
    event_id = report(engine, lookup, cipher, category, points(engine)[4])
    with Session(engine) as s:
        s.execute(text("DELETE FROM notifications"))
        s.commit()
        event = s.get(Event, event_id)
        assert event is not None
        apply_action(s, event, "escalate", actor="dispatcher-rollback", now=datetime.now(UTC))
        assert len(outbox(engine)) == 0  # not committed: not visible to the worker
        s.rollback()
    worker = make_worker(engine, notify_settings(http), cipher, Clock())
    assert worker.run_once() == 0
    assert http.webhook_requests == [] and outbox(engine) == []


def test_failures_back_off_then_park_a_dead_letter(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher,
        http: HttpCounterpart) -> None:
    category, department = department_category(engine)
    add_user(engine, "handler-failing", "handler", department=department,
             channels=[{"channel": "webhook", "address": f"{http.base}/hook"}])
    report(engine, lookup, cipher, category, points(engine)[5])
    t0 = datetime.now(UTC)
    clock = Clock(t0)
    worker = make_worker(engine, notify_settings(http, max_attempts=3, backoff_seconds=30),
                         cipher, clock)
    http.fail_with = 503
    assert worker.run_once() == 1
    [row] = outbox(engine)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["next_attempt_at"] == t0 + timedelta(seconds=30)
    clock.at = t0 + timedelta(seconds=29)
    assert worker.run_once() == 0  # not due yet
    clock.at = t0 + timedelta(seconds=30)
    assert worker.run_once() == 1
    [row] = outbox(engine)
    assert row["next_attempt_at"] == clock.at + timedelta(seconds=60)  # doubled
    clock.at += timedelta(seconds=60)
    assert worker.run_once() == 1
    [row] = outbox(engine)
    assert (row["status"], row["attempts"], row["attempt_rows"]) == ("dead", 3, 3)
    assert "HTTP 503" in row["last_error"]
    clock.at += timedelta(days=1)
    assert worker.run_once() == 0  # a dead letter stays parked
    assert len(http.webhook_requests) == 3


def test_a_refusal_that_retrying_cannot_fix_is_parked_at_once(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher,
        http: HttpCounterpart) -> None:
    category, department = department_category(engine)
    add_user(engine, "handler-refused", "handler", department=department,
             channels=[{"channel": "webhook", "address": f"{http.base}/hook"}])
    report(engine, lookup, cipher, category, points(engine)[6])
    bad = notify_settings(http).model_copy(update={"webhook_secret": SecretStr("wrong")})
    worker = make_worker(engine, bad, cipher, Clock())
    assert worker.run_once() == 1
    [row] = outbox(engine)
    assert (row["status"], row["attempts"]) == ("dead", 1)
    assert "HTTP 401" in row["last_error"] and len(http.refused) == 1


def test_quiet_hours_hold_non_urgent_messages_until_they_end(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher,
        http: HttpCounterpart) -> None:
    category, department = department_category(engine)
    quiet = {"quiet_from": time(22), "quiet_until": time(7)}
    add_user(engine, "handler-asleep", "handler", department=department,
             channels=[{"channel": "sms", "address": "13900000002", **quiet}])
    # a night to come: the outbox's rows are due from the real time they are written
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    night = datetime.combine(day, time(23, 30), tzinfo=SHANGHAI)
    morning = datetime.combine(day + timedelta(days=1), time(7), tzinfo=SHANGHAI)
    event_id = report(engine, lookup, cipher, category, points(engine)[7], now=night)
    add_user(engine, "dispatcher-asleep", "dispatcher", areas=[street_of(engine, event_id)],
             channels=[{"channel": "sms", "address": "13900000003", **quiet}])
    with Session(engine) as s:
        event = s.get(Event, event_id)
        assert event is not None
        apply_action(s, event, "escalate", actor="dispatcher-asleep", now=night)
        s.commit()
    clock = Clock(night)
    worker = make_worker(engine, notify_settings(http), cipher, clock)
    assert worker.run_once() == 2
    assert [m["to"] for m in http.sms] == ["13900000003"]  # the escalation is urgent
    held = {r["kind"]: r for r in outbox(engine)}["dispatched"]
    assert (held["status"], held["attempts"]) == ("pending", 0)
    assert held["next_attempt_at"] == morning
    clock.at = morning - timedelta(minutes=1)
    assert worker.run_once() == 0
    clock.at = morning
    assert worker.run_once() == 1
    assert [m["to"] for m in http.sms] == ["13900000003", "13900000002"]


def test_the_reporter_hears_of_a_duplicate_and_a_closing_with_the_tracking_link(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher,
        http: HttpCounterpart, smtp: tuple[int, list[Any]]) -> None:
    category, _ = department_category(engine)
    point = points(engine)[8]
    first = report(engine, lookup, cipher, category, point,
                   reporter={"email": "resident@example.cn"})
    second = report(engine, lookup, cipher, category, point,
                    reporter={"phone": "13700000042"})
    with Session(engine) as s:
        tokens: dict[int, str] = dict(s.execute(
            text("SELECT id, public_token FROM events WHERE id IN (:a, :b)"),
            {"a": first, "b": second}).all())
        event = s.get(Event, first)
        assert event is not None and event.status == "dispatched"
        for action in ("accept", "handle", "verify", "close"):
            apply_action(s, event, action, actor="test", now=datetime.now(UTC))
        s.commit()
    with engine.connect() as conn:  # the outbox never holds a clear contact
        stored = " ".join(conn.execute(text("SELECT n::text FROM notifications n")).scalars())
    assert "13700000042" not in stored and "resident@example.cn" not in stored
    worker = make_worker(engine, notify_settings(http, smtp[0]), cipher,
                         Clock())
    assert worker.run_once() == 2
    [sms] = http.sms
    assert sms["to"] == "13700000042" and "合并" in sms["text"]
    assert f"{BASE_URL}/t/{tokens[second]}" in sms["text"]
    [mail] = smtp[1]
    assert mail["X-Envelope-To"] == "resident@example.cn" and "办结" in mail["Subject"]
    assert f"{BASE_URL}/t/{tokens[first]}" in mail.get_content()
    with engine.connect() as conn:
        audited = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                    "'personal.notify' AND object_id IN (:a, :b)"),
                               {"a": str(first), "b": str(second)}).scalar()
    assert audited == 2


def street_of(engine: Engine, event_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT street_code FROM events WHERE id = :id"),
                                {"id": event_id}).scalar())


def heard_of(engine: Engine, event_id: int, kind: str) -> list[int]:
    """The users told of ``kind`` about an event, in the order they were told."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT c.user_id FROM notifications n JOIN user_channels c "
            "ON c.id = n.user_channel_id WHERE n.event_id = :id AND n.kind = :kind "
            "ORDER BY n.id"), {"id": event_id, "kind": kind}).scalars())


def level_people(engine: Engine, event_id: int, point: dict[str, Any]) -> dict[str, int]:
    """Dispatchers of the event's community, street, district, the centre, and bystanders."""
    with engine.connect() as conn:
        community, street, other = conn.execute(text(
            "SELECT e.community_code, e.street_code, (SELECT code FROM admin_areas "
            "WHERE level = 'street' AND code <> e.street_code LIMIT 1) FROM events e "
            "WHERE id = :id"), {"id": event_id}).one()
        district = conn.execute(text("SELECT parent_code FROM admin_areas WHERE code = :s"),
                                {"s": street}).scalar()
    sms = [{"channel": "sms", "address": "13900000004"}]
    ids = {name: add_user(engine, f"{name}-{event_id}", "dispatcher", channels=sms, **kw)
           for name, kw in {
               "centre": {}, "community": {"areas": [community]}, "street": {"areas": [street]},
               "district": {"areas": [district]}, "grid": {"grids": [point["code"]]},
               "other-street": {"areas": [other]}}.items()}
    add_user(engine, f"worker-near-{event_id}", "grid_worker", grids=[point["code"]],
             channels=sms)
    return ids


def test_overdue_escalation_reaches_the_people_of_the_level_it_reached(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher) -> None:
    category, _ = department_category(engine)
    point = points(engine)[9]
    event_id = report(engine, lookup, cipher, category, point)
    ids = level_people(engine, event_id, point)
    with Session(engine) as s:
        escalated = escalate_overdue(s, datetime.now(UTC) + timedelta(days=30),
                                     timedelta(hours=24))
        s.commit()
    assert event_id in escalated
    # a month late is the top level; the sample territory has no city: the command centre
    assert heard_of(engine, event_id, "overdue") == [ids["centre"]]


def test_each_escalation_step_reaches_the_people_of_its_level(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher) -> None:
    category, _ = department_category(engine)
    point = points(engine)[11]
    event_id = report(engine, lookup, cipher, category, point)
    ids = level_people(engine, event_id, point)
    with Session(engine) as s:
        for _ in range(3):
            event = s.get(Event, event_id)
            assert event is not None
            apply_action(s, event, "escalate", actor="test", now=datetime.now(UTC))
        s.commit()
    assert heard_of(engine, event_id, "escalated") == [ids["street"], ids["district"],
                                                       ids["centre"]]


def test_the_webhook_receiver_refuses_a_replayed_old_request(http: HttpCounterpart) -> None:
    body = b'{"key": "k1"}'
    old = int(datetime.now(UTC).timestamp()) - 600  # captured ten minutes ago
    headers = {TIMESTAMP_HEADER: str(old), SIGNATURE_HEADER: sign(SECRET, old, body),
               "Idempotency-Key": "k1", "Content-Type": "application/json"}
    assert httpx.post(f"{http.base}/hook", content=body, headers=headers).status_code == 401
    now = int(datetime.now(UTC).timestamp())
    headers.update({TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign(SECRET, old, body)})
    assert httpx.post(f"{http.base}/hook", content=body, headers=headers).status_code == 401
    headers[SIGNATURE_HEADER] = sign(SECRET, now, body)
    assert httpx.post(f"{http.base}/hook", content=body, headers=headers).status_code == 200


def test_a_channel_this_server_has_not_configured_is_parked_at_once(
        engine: Engine, lookup: IndexedGridLookup, cipher: PersonalCipher,
        http: HttpCounterpart) -> None:
    category, department = department_category(engine)
    add_user(engine, "handler-sms-only", "handler", department=department,
             channels=[{"channel": "sms", "address": "13900000002"}])
    report(engine, lookup, cipher, category, points(engine)[10])  # where no other test reports
    settings = NotifySettings(webhook_secret=SecretStr(SECRET),  # no SMS provider
                              allow_internal_urls=True)
    worker = make_worker(engine, settings, cipher, Clock())
    assert worker.run_once() == 1
    [row] = [r for r in outbox(engine) if r["channel"] == "sms"]
    assert (row["status"], row["attempts"], row["attempt_rows"]) == ("dead", 1, 1)
    assert row["last_error"] == "channel sms is not configured"
    assert worker.run_once() == 0  # parked once, not retried
    assert not http.sms

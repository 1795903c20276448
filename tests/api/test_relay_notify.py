"""Who hears what beyond the lifecycle: a visit due, an anomaly alert; internal webhooks refused.

Against the real webhook receiver of ``testkit.counterparts`` and the module
database of ``test_notify`` (the worker commits).
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.notify.outbox import notify_area, notify_users
from api.personal.cipher import PersonalCipher
from api.settings import NotifySettings
from testkit.counterparts import SECRET, HttpCounterpart
from tests.api import test_notify as base
from tests.api.events_support import bearer, token_for
from tests.api.test_notify import Clock, add_user, make_worker, notify_settings, outbox

# the fixtures of test_notify: its database (the worker commits), cipher, receiver
db, engine, cipher, http = base.db, base.engine, base.cipher, base.http


def _street(engine: Engine) -> tuple[str, str]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT code, parent_code FROM admin_areas "
                                "WHERE level = 'street' ORDER BY code LIMIT 1")).one()
    return row[0], row[1]


def _grid(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(conn.execute(text("SELECT code FROM grids ORDER BY code LIMIT 1")).scalar())]


def test_a_visit_due_reaches_the_worker_in_their_language(
        engine: Engine, cipher: PersonalCipher, http: HttpCounterpart) -> None:
    hook = [{"channel": "webhook", "address": f"{http.base}/hook", "language": "en"}]
    worker_id = add_user(engine, "visiting-worker", "grid_worker", grids=_grid(engine),
                         channels=hook)
    add_user(engine, "another-worker", "grid_worker", grids=_grid(engine), channels=hook)
    with Session(engine) as s:
        notify_users(s, "visit_due", [worker_id], {
            "subject": "Zhang** (household 101)", "due_at": "2026-12-05",
            "address": "Building 3"})
        s.commit()
    assert make_worker(engine, notify_settings(http), cipher, Clock()).run_once() == 1
    [sent] = http.webhooks.values()
    assert sent["kind"] == "visit_due" and sent["event_id"] is None
    assert sent["subject"] == "Visit due: Zhang** (household 101)"
    assert "due by 2026-12-05" in sent["body"] and "Building 3" in sent["body"]


def test_an_anomaly_alert_reaches_the_people_of_the_area_and_no_one_else(
        engine: Engine, cipher: PersonalCipher, http: HttpCounterpart) -> None:
    street, district = _street(engine)
    sms = [{"channel": "sms", "address": "13900000007"}]
    head = add_user(engine, "street-head", "dispatcher", areas=[street], channels=sms)
    add_user(engine, "district-head", "dispatcher", areas=[district], channels=sms)
    add_user(engine, "centre", "dispatcher", channels=sms)
    with Session(engine) as s:
        notify_area(s, "anomaly", street, {"area": "示例街道", "grid": "G1", "count": 9,
                                           "expected": 2, "window": "7d"})
        s.commit()
    rows = outbox(engine)
    with engine.connect() as conn:
        told = set(conn.execute(text("SELECT c.user_id FROM notifications n JOIN user_channels "
                                     "c ON c.id = n.user_channel_id")).scalars())
    assert told == {head} and rows[0]["urgent"]
    assert make_worker(engine, notify_settings(http), cipher, Clock()).run_once() == 1
    [message] = http.sms
    assert "示例街道" in message["text"] and "9 起" in message["text"]


def test_a_rolled_back_visit_sends_nothing(engine: Engine, cipher: PersonalCipher,
                                           http: HttpCounterpart) -> None:
    worker_id = add_user(engine, "rolled-worker", "grid_worker", grids=_grid(engine),
                         channels=[{"channel": "webhook", "address": f"{http.base}/hook"}])
    with Session(engine) as s:
        notify_users(s, "visit_due", [worker_id], {"subject": "x", "due_at": "-"})
        s.rollback()
    assert make_worker(engine, notify_settings(http), cipher, Clock()).run_once() == 0
    assert outbox(engine) == [] and http.webhook_requests == []


def test_a_webhook_to_an_internal_address_is_refused_when_sent(
        engine: Engine, cipher: PersonalCipher, http: HttpCounterpart) -> None:
    worker_id = add_user(engine, "ssrf-worker", "grid_worker", grids=_grid(engine),
                         channels=[{"channel": "webhook", "address": f"{http.base}/hook"}])
    with Session(engine) as s:
        notify_users(s, "visit_due", [worker_id], {"subject": "x", "due_at": "-"})
        s.commit()
    strict = NotifySettings(webhook_secret=SecretStr(SECRET))  # internal URLs not allowed
    assert make_worker(engine, strict, cipher, Clock()).run_once() == 1
    [row] = outbox(engine)
    assert row["status"] == "dead" and "internal address (127.0.0.1)" in row["last_error"]
    assert http.webhook_requests == []


def test_a_user_cannot_configure_a_webhook_to_an_internal_address(
        client: TestClient, session: Session) -> None:
    me = bearer(token_for(session, "dispatcher", "ssrf-user"))
    for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data",
                "http://[::1]/hook", "http://localhost/hook", "http://10.0.0.7/x"):
        resp = client.put("/api/v1/auth/me/channels", headers=me,
                          json={"channels": [{"channel": "webhook", "address": url}]})
        body: dict[str, Any] = resp.json()
        assert (resp.status_code, body["code"]) == (422, "internal_address"), url
    assert client.get("/api/v1/auth/me/channels", headers=me).json() == []

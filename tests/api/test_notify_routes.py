"""Users choose their channels: self-service and admin routes, checked and audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.api.events_support import bearer, token_for

CHANNELS = {"channels": [
    {"channel": "email", "address": "wang@example.cn", "language": "en"},
    {"channel": "sms", "address": "13800000000", "quiet_from": "22:00", "quiet_until": "07:00"},
]}


def test_a_user_sets_and_reads_their_own_channels(client: TestClient, session: Session) -> None:
    me = bearer(token_for(session, "dispatcher", "wang"))
    assert client.get("/api/v1/auth/me/channels", headers=me).json() == []
    resp = client.put("/api/v1/auth/me/channels", json=CHANNELS, headers=me)
    assert resp.status_code == 200, resp.text
    got = client.get("/api/v1/auth/me/channels", headers=me).json()
    assert [(c["channel"], c["address"], c["quiet_from"], c["quiet_until"]) for c in got] == [
        ("email", "wang@example.cn", None, None), ("sms", "13800000000", "22:00", "07:00")]
    audited = session.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                   "'notify.channels' AND actor = 'wang'")).scalar()
    assert audited == 1


def test_bad_channels_are_refused_whole(client: TestClient, session: Session) -> None:
    me = bearer(token_for(session, "handler", "li", department="CGJ"))
    client.put("/api/v1/auth/me/channels", json=CHANNELS, headers=me)
    for body, code in [
        ({"channels": [{"channel": "email", "address": "not-an-address"}]}, "invalid_address"),
        ({"channels": [{"channel": "sms", "address": "13800000000", "quiet_from": "22:00"}]},
         "invalid_quiet_hours"),
        ({"channels": [{"channel": "sms", "address": "138"}] * 2}, "invalid_address"),
        ({"channels": [{"channel": "sms", "address": "13800000001"}] * 2}, "duplicate_channel"),
        ({"channels": [{"channel": "pager", "address": "1"}]}, "invalid_parameter"),
    ]:
        resp = client.put("/api/v1/auth/me/channels", json=body, headers=me)
        assert resp.status_code == 422, resp.text
        assert resp.json()["code"] == code, resp.json()
    kept = client.get("/api/v1/auth/me/channels", headers=me).json()
    assert [c["address"] for c in kept] == ["wang@example.cn", "13800000000"]


def test_admins_set_a_users_channels_and_see_dead_letters(client: TestClient,
                                                           session: Session) -> None:
    admin = bearer(token_for(session, "admin", "root"))
    token_for(session, "analyst", "zhao")
    resp = client.put("/api/v1/users/zhao/channels", headers=admin,
                      json={"channels": [{"channel": "wecom", "address": "zhao"}]})
    assert resp.status_code == 200, resp.text
    assert client.get("/api/v1/users/zhao/channels", headers=admin).json()[0]["channel"] == \
        "wecom"
    assert client.get("/api/v1/users/nobody/channels", headers=admin).json()["code"] == \
        "user_not_found"
    assert client.get("/api/v1/notifications", headers=admin).json() == []
    resp = client.post("/api/v1/notifications/999999/retry", headers=admin)
    assert resp.status_code == 404 and resp.json()["code"] == "notification_not_found"

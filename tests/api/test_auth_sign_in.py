"""Sign-in, sessions, CSRF and the admin API of users and tokens, on the real app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.access import SESSION_COOKIE
from api.auth.service import create_user
from api.auth.throttle import SignInThrottle
from tests.api.events_support import bearer

PASSWORD = "correct horse battery"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _user(session: Session, name: str, role: str = "dispatcher", **kw: Any) -> str:
    """Create a user with PASSWORD; return its bearer token."""
    _, token = create_user(session, name=name, role=role, password=PASSWORD, **kw)
    return token


def _login(client: TestClient, name: str, password: str = PASSWORD, **kw: Any) -> Any:
    return client.post("/api/v1/auth/login", json={"name": name, "password": password}, **kw)


def _cookie_header(response: Any) -> str:
    return next(v for k, v in response.headers.multi_items()
                if k == "set-cookie" and v.startswith(f"{SESSION_COOKIE}="))


def _cookie(value: str) -> dict[str, str]:
    """A Cookie header with this session cookie (instead of the client's own)."""
    return {"Cookie": f"{SESSION_COOKIE}={value}"}


def _throttle(client: TestClient, **kw: Any) -> Clock:
    clock = Clock()
    client.app.state.sign_in_throttle = SignInThrottle(clock=clock, **kw)  # type: ignore
    return clock


def test_sign_in_sets_an_http_only_strict_cookie_and_answers_the_csrf_token(
        client: TestClient, session: Session) -> None:
    area = session.execute(text("SELECT code FROM admin_areas WHERE level = 'street' "
                                "ORDER BY code LIMIT 1")).scalar_one()
    _user(session, "disp-street", areas=[area])
    r = _login(client, "disp-street")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"] == {"name": "disp-street", "role": "dispatcher", "department": None,
                            "areas": [area], "grids": []}
    cookie = _cookie_header(r).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie.replace("samesite", "")  # plain http: not Secure
    assert "max-age=43200" in cookie  # GRIDGOV_AUTH_SESSION_HOURS=12
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["via"] == "session" and me.json()["csrf_token"] == body["csrf_token"]
    assert me.json()["areas"] == [area]


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(
        client: TestClient, session: Session) -> None:
    _user(session, "disp-a")
    wrong = _login(client, "disp-a", "not the password")
    unknown = _login(client, "nobody-at-all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"code": "invalid_credentials",
                                              "message": "wrong name or password"}
    assert "set-cookie" not in wrong.headers and SESSION_COOKIE not in client.cookies


def test_a_disabled_user_cannot_sign_in(client: TestClient, session: Session) -> None:
    _user(session, "disp-gone")
    session.execute(text("UPDATE users SET active = false WHERE name = 'disp-gone'"))
    assert _login(client, "disp-gone").json()["code"] == "invalid_credentials"


def test_failed_sign_ins_are_throttled_per_account(client: TestClient,
                                                   session: Session) -> None:
    clock = _throttle(client, max_per_account=5, max_per_address=100, window=900)
    _user(session, "disp-b")
    for _ in range(5):
        assert _login(client, "disp-b", "guess guess guess").status_code == 401
    refused = _login(client, "disp-b")  # even the right password waits
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_attempts"
    assert refused.headers["retry-after"] == "900"
    clock.now += 600
    assert _login(client, "disp-b").headers["retry-after"] == "300"
    clock.now += 300
    assert _login(client, "disp-b").status_code == 200


def test_a_success_resets_the_account_count(client: TestClient, session: Session) -> None:
    _throttle(client, max_per_account=3, max_per_address=100, window=900)
    _user(session, "disp-c")
    for _ in range(2):
        assert _login(client, "disp-c", "guess guess guess").status_code == 401
    assert _login(client, "disp-c").status_code == 200
    for _ in range(3):
        assert _login(client, "disp-c", "guess guess guess").status_code == 401
    assert _login(client, "disp-c").status_code == 429


def test_failed_sign_ins_are_throttled_per_address(client: TestClient,
                                                   session: Session) -> None:
    _throttle(client, max_per_account=100, max_per_address=4, window=900)
    _user(session, "disp-d")
    for name in ("a1", "a2", "a3", "a4"):  # a different account each time
        assert _login(client, name, "guess guess guess").status_code == 401
    assert _login(client, "disp-d").status_code == 429  # this address waits


def test_the_sign_in_form_posts_and_redirects(client: TestClient, session: Session) -> None:
    _user(session, "disp-form")
    ok = client.post("/api/v1/auth/login", data={"name": "disp-form", "password": PASSWORD,
                                                 "next": "/?layer=events"},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/?layer=events"
    assert client.get("/api/v1/auth/me").json()["name"] == "disp-form"
    bad = client.post("/api/v1/auth/login", data={"name": "disp-form", "password": "x",
                                                  "next": "/ogc"}, follow_redirects=False)
    assert bad.status_code == 303
    assert bad.headers["location"] == "/sign-in?error=invalid_credentials&next=%2Fogc"
    away = client.post("/api/v1/auth/login", data={"name": "disp-form", "password": PASSWORD,
                                                   "next": "//evil.example/"},
                       follow_redirects=False)
    assert away.headers["location"] == "/"


def test_a_sign_in_posted_by_another_site_is_refused(client: TestClient,
                                                     session: Session) -> None:
    _user(session, "disp-e")
    r = _login(client, "disp-e", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    assert _login(client, "disp-e", headers={"Origin": "http://testserver"}).status_code == 200


@pytest.mark.parametrize("body", [{"name": "a\x00b", "password": PASSWORD},
                                  {"name": "", "password": PASSWORD}, {"name": "x"},
                                  {"name": "x", "password": "p" * 1001}])
def test_bad_sign_in_bodies_are_422(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 422 and r.json()["code"] == "invalid_parameter"


def test_cookie_is_secure_over_https_and_behind_a_trusted_proxy(
        client: TestClient, session: Session) -> None:
    _user(session, "disp-tls")

    def secure(response: Any) -> bool:
        return "; secure" in _cookie_header(response).lower()

    assert secure(client.post("https://testserver/api/v1/auth/login",
                              json={"name": "disp-tls", "password": PASSWORD}))
    proxied = {"X-Forwarded-Proto": "https"}
    assert not secure(_login(client, "disp-tls", headers=proxied))  # not trusted by default
    client.app.state.settings.auth.trust_forwarded_proto = True  # type: ignore[attr-defined]
    assert secure(_login(client, "disp-tls", headers=proxied))
    client.app.state.settings.auth.secure_cookies = False  # type: ignore[attr-defined]
    assert not secure(_login(client, "disp-tls", headers=proxied))


def test_sign_out_ends_the_session(client: TestClient, session: Session) -> None:
    _user(session, "disp-out")
    _login(client, "disp-out")
    cookie = client.cookies[SESSION_COOKIE]
    out = client.post("/api/v1/auth/logout")
    assert out.status_code == 204
    assert "max-age=0" in _cookie_header(out).lower()
    assert SESSION_COOKIE not in client.cookies
    again = client.get("/api/v1/auth/me", headers=_cookie(cookie))
    assert again.status_code == 401


def test_an_ended_session_still_sees_the_public_pages(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "not-a-session")
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/categories").status_code == 200
    assert client.get("/sign-in").status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/web/dashboard").status_code == 401


def test_changes_with_the_cookie_need_the_csrf_header(client: TestClient,
                                                      session: Session) -> None:
    _user(session, "root-csrf", role="admin")
    csrf = _login(client, "root-csrf").json()["csrf_token"]
    event_id = session.execute(text("SELECT id FROM events WHERE status = 'in_progress' "
                                    "ORDER BY id LIMIT 1")).scalar_one()
    url = f"/api/v1/events/{event_id}/actions"
    missing = client.post(url, json={"action": "escalate"})
    wrong = client.post(url, json={"action": "escalate"}, headers={"X-CSRF-Token": "x" + csrf})
    assert missing.status_code == wrong.status_code == 403
    assert missing.json()["code"] == wrong.json()["code"] == "csrf_failed"
    done = client.post(url, json={"action": "escalate"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text
    assert done.json()["history"][-1]["actor"] == "root-csrf"


def test_a_new_sign_in_ends_the_previous_session(client: TestClient, session: Session) -> None:
    _user(session, "disp-twice")
    _login(client, "disp-twice")
    first = client.cookies[SESSION_COOKIE]
    _login(client, "disp-twice")
    assert client.cookies[SESSION_COOKIE] != first
    assert client.get("/api/v1/auth/me", headers=_cookie(first)).status_code == 401


# -- the admin API ---------------------------------------------------------------------------
@pytest.fixture()
def admin(session: Session) -> dict[str, str]:
    """The bearer header of an admin."""
    return bearer(_user(session, "root", role="admin"))


def test_admins_create_list_and_change_users(client: TestClient, session: Session,
                                             admin: dict[str, str]) -> None:
    grid = session.execute(text("SELECT code FROM grids ORDER BY code LIMIT 1")).scalar_one()
    made = client.post("/api/v1/users", headers=admin, json={
        "name": "worker-x", "role": "grid_worker", "grids": [grid], "password": PASSWORD})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert made.json()["user"]["grids"] == [grid] and made.json()["user"]["active"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).json()["via"] == "token"
    listed = {u["name"]: u for u in client.get("/api/v1/users", headers=admin).json()}
    assert listed["worker-x"]["last_sign_in_at"] is None
    assert _login(client, "worker-x").status_code == 200
    listed = {u["name"]: u for u in client.get("/api/v1/users", headers=admin).json()}
    assert listed["worker-x"]["last_sign_in_at"] is not None
    changed = client.patch("/api/v1/users/worker-x", headers=admin,
                           json={"role": "dispatcher", "grids": []})
    assert changed.status_code == 200 and changed.json()["role"] == "dispatcher"


def test_disabling_a_user_ends_their_sessions_and_stops_their_tokens(
        client: TestClient, session: Session, admin: dict[str, str]) -> None:
    token = _user(session, "disp-off")
    _login(client, "disp-off")
    cookie = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    off = client.patch("/api/v1/users/disp-off", headers=admin, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/auth/me", headers=_cookie(cookie)).status_code == 401
    client.patch("/api/v1/users/disp-off", headers=admin, json={"active": True})
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/auth/me", headers=_cookie(cookie)).status_code == 401


def test_a_new_password_signs_the_user_out(client: TestClient, session: Session,
                                           admin: dict[str, str]) -> None:
    _user(session, "disp-pw")
    _login(client, "disp-pw")
    cookie = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    new = "a much better password"
    assert client.patch("/api/v1/users/disp-pw", headers=admin,
                        json={"password": new}).status_code == 200
    assert client.get("/api/v1/auth/me", headers=_cookie(cookie)).status_code == 401
    assert _login(client, "disp-pw").status_code == 401
    assert _login(client, "disp-pw", new).status_code == 200


@pytest.mark.parametrize(("body", "code"), [
    ({"name": "u1", "role": "boss"}, "invalid_role"),
    ({"name": "u1", "role": "handler"}, "department_required"),
    ({"name": "u1", "role": "dispatcher", "areas": ["nowhere"]}, "unknown_area"),
    ({"name": "u1", "role": "dispatcher", "password": "short"}, "weak_password"),
    ({"name": "root", "role": "dispatcher"}, "user_exists"),
    ({"name": "u1", "role": "dispatcher", "extra": 1}, "invalid_parameter"),
    ({"name": "u\x00", "role": "dispatcher"}, "invalid_parameter"),
])
def test_bad_users_are_422_with_a_code(client: TestClient, admin: dict[str, str],
                                       body: dict[str, Any], code: str) -> None:
    r = client.post("/api/v1/users", headers=admin, json=body)
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert "u1" not in {u["name"] for u in client.get("/api/v1/users", headers=admin).json()}


def test_the_last_admin_cannot_be_disabled_or_demoted(client: TestClient,
                                                      admin: dict[str, str]) -> None:
    for change in ({"active": False}, {"role": "dispatcher"}):
        r = client.patch("/api/v1/users/root", headers=admin, json=change)
        assert r.status_code == 409 and r.json()["code"] == "last_admin"
    client.post("/api/v1/users", headers=admin, json={"name": "root2", "role": "admin"})
    assert client.patch("/api/v1/users/root", headers=admin,
                        json={"role": "dispatcher"}).status_code == 200


def test_only_admins_manage_users(client: TestClient, session: Session) -> None:
    token = _user(session, "disp-f")
    for method, url in (("GET", "/api/v1/users"), ("POST", "/api/v1/users"),
                        ("PATCH", "/api/v1/users/disp-f"), ("GET", "/api/v1/users/disp-f/tokens"),
                        ("POST", "/api/v1/users/disp-f/tokens"), ("DELETE", "/api/v1/tokens/1")):
        assert client.request(method, url).status_code == 401
        denied = client.request(method, url, headers=bearer(token), json={})
        assert denied.status_code == 403 and denied.json()["code"] == "forbidden"


def test_tokens_expire_are_listed_without_secrets_and_revoked(
        client: TestClient, session: Session, admin: dict[str, str]) -> None:
    _user(session, "disp-t")
    made = client.post("/api/v1/users/disp-t/tokens", headers=admin,
                       json={"name": "import job", "expires": "30d"})
    assert made.status_code == 201, made.text
    new = made.json()
    expires = datetime.fromisoformat(new["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    assert new["state"] == "active" and new["token"].startswith("gg_")
    assert client.get("/api/v1/auth/me", headers=bearer(new["token"])).status_code == 200
    listed = client.get("/api/v1/users/disp-t/tokens", headers=admin)
    assert [t["name"] for t in listed.json()] == ["token", "import job"]
    assert new["token"] not in listed.text
    revoked = client.delete(f"/api/v1/tokens/{new['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert client.get("/api/v1/auth/me", headers=bearer(new["token"])).status_code == 401
    assert client.delete("/api/v1/tokens/999999", headers=admin).json()["code"] == \
        "token_not_found"
    assert client.post("/api/v1/users/disp-t/tokens", headers=admin,
                       json={"expires": "1y"}).json()["code"] == "invalid_duration"
    assert client.get("/api/v1/users/nobody/tokens", headers=admin).json()["code"] == \
        "user_not_found"


def test_unknown_and_unstorable_user_names(client: TestClient, admin: dict[str, str]) -> None:
    missing = client.patch("/api/v1/users/nobody", headers=admin, json={"active": False})
    assert missing.status_code == 404 and missing.json()["code"] == "user_not_found"
    nul = client.get("/api/v1/users/a%00b/tokens", headers=admin)
    assert nul.status_code == 422 and nul.json()["code"] == "invalid_text"
    deep = client.post("/api/v1/auth/login", content="[" * 100_000,
                       headers={"Content-Type": "application/json"})
    assert deep.status_code == 422
    plain = client.post("/api/v1/auth/login", content="name=x",
                        headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415


def test_a_report_from_a_signed_in_browser_without_the_csrf_token_is_a_residents(
        client: TestClient, session: Session) -> None:
    from tests.api.events_support import basic_grids

    _user(session, "disp-plate")
    csrf = _login(client, "disp-plate").json()["csrf_token"]
    g = basic_grids(session)[0]
    body = {"category": "0101", "description": "路边垃圾",
            "location": {"x": g["lon"], "y": g["lat"]}}

    def actor(response: Any) -> str:
        assert response.status_code == 201, response.text
        return str(session.execute(text(
            "SELECT actor FROM event_history WHERE event_id = :id AND action = 'register'"),
            {"id": response.json()["id"]}).scalar_one())

    assert actor(client.post("/api/v1/events", json=body)) != "disp-plate"
    assert actor(client.post("/api/v1/events", json=body,
                             headers={"X-CSRF-Token": csrf})) == "disp-plate"

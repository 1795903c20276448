"""``gridgov user ...`` and ``gridgov token ...`` on a database of the test's own, checked
through the running app: what a disabled user, a revoked or an expired token gets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app as cli
from api.db.session import make_engine
from api.main import create_app
from api.settings import Settings
from tests.api.events_support import bearer

PASSWORD = "a long enough password"


@pytest.fixture()
def own(empty_database_url: str) -> Iterator[Engine]:
    """An engine on the test's own database (the commands commit)."""
    engine = make_engine(empty_database_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture()
def api(empty_database_url: str) -> Iterator[TestClient]:
    """The app on the test's own database."""
    settings = Settings()
    settings.db.database_url = empty_database_url
    settings.events.escalation_interval_seconds = 0
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture()
def run(empty_database_url: str) -> Any:
    """Run ``gridgov ARGS`` against the test's own database."""
    runner = CliRunner()
    env = {"DATABASE_URL": empty_database_url}

    def invoke(*args: str, input: str | None = None, ok: bool = True) -> Any:
        result = runner.invoke(cli, list(args), env=env, input=input)
        assert (result.exit_code == 0) == ok, (result.stdout, result.stderr)
        return result

    return invoke


def _me(api: TestClient, token: str) -> int:
    return api.get("/api/v1/auth/me", headers=bearer(token)).status_code


def _token(run: Any, *args: str) -> str:
    return str(run("token", "create", *args).stdout.strip())


def test_user_create_with_a_password_from_stdin_signs_in(run: Any, api: TestClient) -> None:
    made = run("user", "create", "--name", "ann", "--role", "dispatcher", "--password-stdin",
               input=PASSWORD + "\n")
    token = made.stdout.strip()
    assert token.startswith("gg_") and PASSWORD not in made.stdout + made.stderr
    assert _me(api, token) == 200
    signed = api.post("/api/v1/auth/login", json={"name": "ann", "password": PASSWORD})
    assert signed.status_code == 200
    listed = run("user", "list").stdout
    assert "ann\tdispatcher\tactive" in listed and "last_sign_in=-" not in listed


def test_a_password_is_never_taken_from_the_command_line(run: Any) -> None:
    run("user", "create", "--name", "bob", "--role", "admin", "--password", PASSWORD, ok=False)
    run("user", "create", "--name", "bob", "--role", "admin")
    refused = run("user", "set-password", "bob", ok=False)  # no terminal to ask on
    assert "--password-stdin" in refused.stderr
    weak = run("user", "set-password", "bob", "--password-stdin", input="short\n", ok=False)
    assert "at least 10 characters" in weak.stderr
    assert "no user named 'nobody'" in run("user", "disable", "nobody", ok=False).stderr


def test_disable_and_enable(run: Any, api: TestClient, own: Engine) -> None:
    token = run("user", "create", "--name", "cat", "--role", "analyst").stdout.strip()
    assert _me(api, token) == 200
    with own.connect() as conn:
        used = conn.execute(text("SELECT last_used_at FROM api_tokens t JOIN users u "
                                 "ON u.id = t.user_id WHERE u.name = 'cat'")).scalar_one()
    assert used is not None
    run("user", "disable", "cat")
    assert _me(api, token) == 401
    assert "cat\tanalyst\tdisabled" in run("user", "list").stdout
    run("user", "enable", "cat")
    assert _me(api, token) == 200


def test_set_password_replaces_the_old_one(run: Any, api: TestClient) -> None:
    run("user", "create", "--name", "dan", "--role", "dispatcher", "--password-stdin",
        input=PASSWORD + "\n")
    run("user", "set-password", "dan", "--password-stdin", input="another long password\n")

    def sign_in(password: str) -> int:
        return api.post("/api/v1/auth/login",
                        json={"name": "dan", "password": password}).status_code

    assert sign_in(PASSWORD) == 401
    assert sign_in("another long password") == 200


def test_tokens_are_created_listed_and_revoked(run: Any, api: TestClient) -> None:
    run("user", "create", "--name", "eve", "--role", "dispatcher")
    token = _token(run, "--user", "eve", "--name", "ci", "--expires", "30d")
    assert _me(api, token) == 200
    rows = [line.split("\t") for line in run("token", "list", "--user", "eve").stdout.splitlines()]
    assert [(r[1], r[2]) for r in rows] == [("token", "active"), ("ci", "active")]
    assert rows[0][4] == "expires=-" and rows[1][4] != "expires=-"
    assert token not in run("token", "list", "--user", "eve").stdout
    run("token", "revoke", rows[1][0])
    assert _me(api, token) == 401
    assert "\tci\trevoked\t" in run("token", "list", "--user", "eve").stdout
    assert "no token with id 999999" in run("token", "revoke", "999999", ok=False).stderr
    bad = run("token", "create", "--user", "eve", "--expires", "1y", ok=False)
    assert "'1y' is not N followed by h, d or w" in bad.stderr and bad.stdout == ""


def test_an_expired_token_is_refused(run: Any, api: TestClient, own: Engine) -> None:
    run("user", "create", "--name", "fay", "--role", "dispatcher")
    token = _token(run, "--user", "fay", "--expires", "1h")
    assert _me(api, token) == 200
    with own.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 minute' "
                          "WHERE name = 'token' AND expires_at IS NOT NULL"))
    assert _me(api, token) == 401
    assert "\texpired\t" in run("token", "list", "--user", "fay").stdout


def test_the_gate_reuses_a_token_until_anything_that_decides_it_changes(
        run: Any, api: TestClient, own: Engine) -> None:
    token = run("user", "create", "--name", "gus", "--role", "admin").stdout.strip()
    users = bearer(token)
    assert api.get("/api/v1/users", headers=users).status_code == 200
    assert api.get("/api/v1/users", headers=users).status_code == 200
    held = api.app.state.gridgov.credentials  # type: ignore[attr-defined]
    assert len(held) == 1  # resolved once, then reused
    with own.begin() as conn:  # another process changes the role: the next request knows
        conn.execute(text("UPDATE users SET role = 'dispatcher' WHERE name = 'gus'"))
    assert api.get("/api/v1/users", headers=users).status_code == 403
    with own.begin() as conn:  # an expiry a moment away, then nothing is written
        conn.execute(text("UPDATE api_tokens SET expires_at = now() + interval '2 seconds'"))
    assert _me(api, token) == 200
    assert len(held) == 1
    time.sleep(2.2)
    assert _me(api, token) == 401


def test_the_demo_makes_one_admin_who_can_sign_in(own: Engine, api: TestClient,
                                                  tmp_path: Any) -> None:
    from api.cli.server import _demo_admin

    first = _demo_admin(own, tmp_path)
    name, password = (tmp_path / "demo-admin.txt").read_text().split()
    assert name == "demo-admin" and password in first
    assert (tmp_path / "demo-admin.txt").stat().st_mode & 0o077 == 0
    signed = api.post("/api/v1/auth/login", json={"name": name, "password": password})
    assert signed.status_code == 200 and signed.json()["user"]["role"] == "admin"
    again = _demo_admin(own, tmp_path)  # users exist: nobody new, the note is named
    assert password not in again and "demo-admin.txt" in again
    with own.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1

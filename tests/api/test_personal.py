"""Personal data at rest: encrypted, looked up by keyed hash, masked, unmasked with an audit row."""

from __future__ import annotations

import doctest
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.audit.service import verify
from api.cli import app as cli
from api.db.session import make_engine
from api.errors import APIError
from api.io.samples import load_directory
from api.main import create_app
from api.personal import cipher as cipher_module
from api.personal import mask as mask_module
from api.personal.cipher import PersonalCipher, UnreadableValue, key_of
from api.personal.keys import KeyFileError, load_ring, read_ring, write_ring
from api.personal.service import key_usage, retire_keys
from api.settings import Settings
from tests.api.events_support import basic_grids, bearer, token_for

PHONE = "13812341234"
NAME = "张三丰"
EMAIL = "zhang.sf@example.com"


@pytest.fixture()
def staff(session: Session) -> dict[str, str]:
    return {"dispatcher": token_for(session, "dispatcher", "pd-disp"),
            "analyst": token_for(session, "analyst", "pd-analyst")}


@pytest.fixture()
def event_id(client: TestClient, session: Session) -> int:
    g = basic_grids(session)[0]
    r = client.post("/api/v1/events", json={
        "category": "0101", "location": {"x": g["lon"], "y": g["lat"]},
        "reporter": {"name": NAME, "phone": PHONE, "email": EMAIL}})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _audit(session: Session, eid: int, action: str) -> list[Any]:
    return list(session.execute(text(
        "SELECT actor, fields FROM audit_log WHERE object_type = 'event' AND object_id = :id "
        "AND action = :a ORDER BY id"), {"id": str(eid), "a": action}).mappings())


def test_masking_rules() -> None:
    for module in (mask_module, cipher_module):
        assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


def test_the_database_holds_no_plaintext_reporter(session: Session, event_id: int) -> None:
    row = session.execute(text(
        "SELECT reporter_name, reporter_phone, reporter_email, reporter_phone_hash, "
        "CAST(e AS text) AS whole FROM events e WHERE id = :id"), {"id": event_id}).one()
    for clear in (PHONE, NAME, EMAIL, "1234"):
        assert clear not in row.whole
    assert all(v.startswith("v1:") for v in row[:3])
    assert len(row.reporter_phone_hash) == 64
    assert session.execute(text("SELECT count(*) FROM events WHERE reporter_phone LIKE :p"),
                           {"p": f"%{PHONE}%"}).scalar_one() == 0


def test_case_page_shows_the_masked_reporter_and_audits_the_read(
        client: TestClient, session: Session, staff: dict[str, str], event_id: int) -> None:
    seen = client.get(f"/api/v1/events/{event_id}", headers=bearer(staff["dispatcher"]))
    assert seen.status_code == 200, seen.text
    assert seen.json()["reporter"] == {"name": "张**", "phone": "138****1234",
                                       "email": "z***@example.com"}
    assert PHONE not in seen.text
    assert [(r["actor"], r["fields"]) for r in _audit(session, event_id,
                                                      "event.read_personal")] == [
        ("pd-disp", ["name", "phone", "email"])]
    for headers in ({}, bearer(staff["analyst"])):
        other = client.get(f"/api/v1/events/{event_id}", headers=headers).json()
        assert "reporter" not in other
    assert len(_audit(session, event_id, "event.read_personal")) == 1


def test_unmasking_returns_the_clear_contact_and_writes_an_audit_row(
        client: TestClient, session: Session, staff: dict[str, str], event_id: int) -> None:
    url = f"/api/v1/events/{event_id}/reporter"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(staff["analyst"])).status_code == 403
    assert client.get("/api/v1/events/999999999/reporter",
                      headers=bearer(staff["dispatcher"])).status_code == 404
    assert _audit(session, event_id, "personal.unmask") == []
    r = client.get(url, headers=bearer(staff["dispatcher"]))
    assert r.status_code == 200, r.text
    assert r.json()["reporter"] == {"name": NAME, "phone": PHONE, "email": EMAIL}
    assert [(a["actor"], a["fields"]) for a in _audit(session, event_id, "personal.unmask")
            ] == [("pd-disp", ["name", "phone", "email"])]


def test_lookup_by_phone_finds_the_event(client: TestClient, session: Session,
                                         staff: dict[str, str], event_id: int) -> None:
    r = client.post("/api/v1/personal/lookup", json={"phone": "+86 138-1234-1234"},
                    headers=bearer(staff["dispatcher"]))
    assert r.status_code == 200, r.text
    assert r.json()["events"] == [event_id]
    other = client.post("/api/v1/personal/lookup", json={"phone": "13900000000"},
                        headers=bearer(staff["dispatcher"]))
    assert other.json()["events"] == []
    assert client.post("/api/v1/personal/lookup", json={"phone": PHONE},
                       headers=bearer(staff["analyst"])).status_code == 403
    assert client.post("/api/v1/personal/lookup", json={},
                       headers=bearer(staff["dispatcher"])).status_code == 422
    looked = session.execute(text(
        "SELECT fields, details FROM audit_log WHERE action = 'personal.lookup' "
        "AND actor = 'pd-disp' ORDER BY id")).all()
    assert [(f, d["matches"]) for f, d in looked] == [(["phone"], 1), (["phone"], 0)]


def test_a_ciphertext_moved_to_another_column_does_not_decrypt(
        client: TestClient, session: Session, staff: dict[str, str], event_id: int) -> None:
    cipher = PersonalCipher.from_settings(Settings())
    phone = session.execute(text("SELECT reporter_phone FROM events WHERE id = :id"),
                            {"id": event_id}).scalar_one()
    assert cipher.decrypt(phone, "events.reporter_phone") == PHONE
    with pytest.raises(UnreadableValue):
        cipher.decrypt(phone, "events.reporter_name")
    session.execute(text("UPDATE events SET reporter_name = reporter_phone WHERE id = :id"),
                    {"id": event_id})
    r = client.get(f"/api/v1/events/{event_id}/reporter", headers=bearer(staff["dispatcher"]))
    assert r.status_code == 500
    assert r.json()["code"] == "personal_data_unreadable"
    assert PHONE not in r.text


# -- keys ---------------------------------------------------------------------------------
def _file_settings(home: Path) -> Settings:
    settings = Settings()
    settings.personal.key = None
    settings.db.home = home
    return settings


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path, database_url: str) -> None:
    settings = _file_settings(tmp_path)
    settings.db.database_url = database_url
    ring = load_ring(settings)  # created on first use, owner only
    path = tmp_path / "keys" / "personal.key"
    assert ring.path == path and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_ring(settings) == ring
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="mode 0644.*chmod 600"):
        load_ring(settings)
    with pytest.raises(KeyFileError, match="chmod 600"), TestClient(create_app(settings)):
        pass  # the app does not start
    missing = _file_settings(tmp_path)
    missing.personal.key_file = tmp_path / "nowhere.key"
    with pytest.raises(KeyFileError, match="does not exist"):
        load_ring(missing)


@pytest.fixture()
def own_engine(empty_database_url: str) -> Iterator[Engine]:
    eng = make_engine(empty_database_url, pool_size=3)
    yield eng
    eng.dispose()


def _clear_values(engine: Engine, cipher: PersonalCipher) -> dict[int, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, reporter_name, reporter_phone, reporter_email, reporter_phone_hash "
            "FROM events WHERE reporter_phone IS NOT NULL OR reporter_name IS NOT NULL"
        )).all()
    return {r.id: (cipher.decrypt(r.reporter_name, "events.reporter_name"),
                   cipher.decrypt(r.reporter_phone, "events.reporter_phone"),
                   cipher.decrypt(r.reporter_email, "events.reporter_email"),
                   r.reporter_phone_hash) for r in rows}


def test_rotation_reencrypts_every_row_and_retires_the_old_key(
        tmp_path: Path, own_engine: Engine, empty_database_url: str, sample_dir: Path) -> None:
    settings = _file_settings(tmp_path)
    first = load_ring(settings)
    assert first.path is not None
    load_directory(own_engine, sample_dir, personal=PersonalCipher(first))
    with own_engine.begin() as conn:  # a plaintext left from before encryption
        legacy = conn.execute(text(
            "UPDATE events SET reporter_phone = '13900001111', reporter_phone_hash = NULL "
            "WHERE id = (SELECT min(id) FROM events) RETURNING id")).scalar_one()
        assert key_usage(conn)["plaintext"] == 1
    before = _clear_values(own_engine, PersonalCipher(first))
    assert len(before) > 100 and before[legacy][1] == "13900001111"
    # a new key alone cannot retire the old one while values use it
    pending = first.rotated()
    write_ring(pending, first.path)
    with own_engine.connect() as conn, pytest.raises(APIError, match="still encrypt"):
        retire_keys(conn, pending)
    result = CliRunner().invoke(cli, ["keys", "rotate", "--batch", "50"], env={
        "DATABASE_URL": empty_database_url, "GRIDGOV_HOME": str(tmp_path),
        "GRIDGOV_PERSONAL_KEY": None})
    assert result.exit_code == 0, result.output
    ring = read_ring(first.path)  # only the new key is left in the file
    assert list(ring.keys) == [ring.current]
    assert ring.current not in (first.current, pending.current)
    after = _clear_values(own_engine, PersonalCipher(ring))
    assert {k: v[:3] for k, v in after.items()} == {k: v[:3] for k, v in before.items()}
    assert after[legacy][3] is not None  # the plaintext got its lookup hash
    assert {k: v[3] for k, v in after.items() if k != legacy} == {
        k: v[3] for k, v in before.items() if k != legacy}  # hashes survive rotation
    with own_engine.connect() as conn:
        assert key_usage(conn) == {ring.current: sum(
            sum(x is not None for x in v[:3]) for v in after.values())}
        stored = conn.execute(text("SELECT reporter_phone FROM events WHERE id = :id"),
                              {"id": legacy}).scalar_one()
        assert key_of(stored) == ring.current
        actions = conn.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars()
        assert list(actions) == ["keys.rotate", "personal.reencrypt", "keys.retire"]
        assert verify(conn).ok
    status = CliRunner().invoke(cli, ["keys", "status"], env={
        "DATABASE_URL": empty_database_url, "GRIDGOV_HOME": str(tmp_path),
        "GRIDGOV_PERSONAL_KEY": None})
    assert json.loads(status.stdout)["keys"] == [ring.current]


def test_a_running_cipher_follows_the_rotated_key_file(tmp_path: Path) -> None:
    first = load_ring(_file_settings(tmp_path))
    assert first.path is not None
    running = PersonalCipher(first, reload_seconds=0)  # a server started before the rotation
    old = running.encrypt(PHONE, "events.reporter_phone")
    rotated = first.rotated()
    write_ring(rotated, first.path)
    rotating = PersonalCipher(rotated)
    new = rotating.encrypt(PHONE, "events.reporter_phone")
    assert running.decrypt(new, "events.reporter_phone") == PHONE
    assert key_of(running.encrypt(PHONE, "events.reporter_phone")) == rotated.current
    write_ring(rotated.without({first.current}), first.path)
    with pytest.raises(UnreadableValue, match="not in the key ring"):
        running.decrypt(old, "events.reporter_phone")


def test_odd_text_is_sealed_without_failing() -> None:
    cipher = PersonalCipher.from_settings(Settings())
    for odd in ("\ud800", "a\x00b", "😀"):
        stored = cipher.encrypt(odd, "events.reporter_name")
        assert cipher.decrypt(stored, "events.reporter_name") == odd
        assert cipher.lookup_hash(odd, "phone") is not None

"""The audit log: chained rows, append-only, tampering found by the CLI, admin listing."""

from __future__ import annotations

import csv
import importlib
import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.audit.service import (
    GENESIS,
    Actor,
    audited_select,
    entry,
    record,
    record_many,
    row_hash,
    verify,
)
from api.cli import app as cli
from api.db.session import make_engine
from api.events.intake_sql import AUDIT_CREATED
from tests.api.events_support import basic_grids, bearer, token_for

CANONICAL_0010 = importlib.import_module(
    "migrations.versions.0016_audit_chain_plpgsql").CANONICAL_0010


def _rows(conn: Connection | Session, where: str = "TRUE", **params: Any) -> list[Any]:
    return list(conn.execute(text(
        "SELECT id, actor, action, object_id, fields, before, after, prev_hash, hash "
        f"FROM audit_log WHERE {where} ORDER BY id"), params).mappings())


def test_rows_are_chained_and_the_chain_verifies(connection: Connection) -> None:
    for i in range(3):
        record(connection, actor=Actor("li", 1, "dispatcher", "10.1.2.3"),
               action="test.chain", object_type="event", object_id=i, fields=["phone"],
               before={"status": "registered"}, after={"status": "dispatched", "n": 1.5})
    mine = _rows(connection, "action = 'test.chain'")
    assert [r["id"] - mine[0]["id"] for r in mine] == [0, 1, 2]  # numbered in chain order
    for prev, row in zip(mine, mine[1:], strict=False):
        assert row["prev_hash"] == prev["hash"]
    first = connection.execute(text("SELECT prev_hash FROM audit_log ORDER BY id LIMIT 1"))
    assert first.scalar() == GENESIS
    result = verify(connection)
    assert result.ok, result.message
    assert result.head_hash == mine[-1]["hash"]


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'someone else'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
])
def test_audit_rows_cannot_be_changed_or_removed(connection: Connection, statement: str) -> None:
    record(connection, actor="li", action="test.append_only", object_type="event")
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError, match="audit_log is append-only"):
        connection.execute(text(statement))
    savepoint.rollback()
    assert _rows(connection, "action = 'test.append_only'")


# -- tampering, on a database of the test's own ----------------------------------------
@pytest.fixture()
def own_engine(empty_database_url: str) -> Iterator[Engine]:
    eng = make_engine(empty_database_url, pool_size=3)
    yield eng
    eng.dispose()


def _fill(engine: Engine, n: int) -> list[int]:
    with engine.begin() as conn:
        for i in range(n):
            record(conn, actor=f"user{i}", action="test.tamper", object_type="event",
                   object_id=i, after={"status": "closed"})
        return [r["id"] for r in _rows(conn)]


def _tamper(engine: Engine, statement: str, **params: Any) -> None:
    """What a superuser can do: switch the guard off, change the table, switch it on."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text(statement), params)
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def _verify_cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["audit", "verify", *args], env={"DATABASE_URL": url})


@pytest.mark.parametrize(("statement", "broken", "reason"), [
    ("UPDATE audit_log SET actor = 'nobody' WHERE id = :third", 2, "altered"),
    ("UPDATE audit_log SET after = '{\"status\": \"open\"}' WHERE id = :third", 2, "altered"),
    ("DELETE FROM audit_log WHERE id = :third", 3, "removed"),
    ("UPDATE audit_log SET id = 1000 WHERE id = :third", 3, "reordered"),
])
def test_verify_names_the_first_broken_row(own_engine: Engine, empty_database_url: str,
                                           statement: str, broken: int, reason: str) -> None:
    ids = _fill(own_engine, 5)
    whole = _verify_cli(empty_database_url)
    assert whole.exit_code == 0, whole.output
    assert "audit log whole: 5 rows" in whole.output
    _tamper(own_engine, statement, third=ids[2])
    result = _verify_cli(empty_database_url)
    assert result.exit_code == 1, result.output
    assert f"broken at row {ids[broken]} ({reason})" in result.output


def test_an_anchor_detects_rows_cut_from_the_end(own_engine: Engine,
                                                 empty_database_url: str) -> None:
    ids = _fill(own_engine, 4)
    whole = _verify_cli(empty_database_url)
    head = whole.output.strip().rsplit("head: ", 1)[1]
    assert head.startswith(f"{ids[-1]}:")
    assert _verify_cli(empty_database_url, "--anchor", head).exit_code == 0
    _tamper(own_engine, "DELETE FROM audit_log WHERE id = :last", last=ids[-1])
    assert _verify_cli(empty_database_url).exit_code == 0  # a shorter chain is whole
    cut = _verify_cli(empty_database_url, "--anchor", head)
    assert cut.exit_code == 1 and f"broken at row {ids[-1]} (removed)" in cut.output


def test_concurrent_writers_keep_one_chain(own_engine: Engine) -> None:
    first = own_engine.connect()
    tx = first.begin()
    record(first, actor="first", action="test.concurrent", object_type="event")
    done: list[BaseException | None] = []

    def second() -> None:
        try:
            with own_engine.begin() as conn:
                record(conn, actor="second", action="test.concurrent", object_type="event")
            done.append(None)
        except BaseException as exc:  # reported by the main thread
            done.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    with own_engine.connect() as watch:  # wait until the second writer waits for the first
        for _ in range(400):
            waiting = watch.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )).scalar_one()
            if waiting:
                break
            time.sleep(0.025)
        assert waiting == 1
    tx.commit()
    first.close()
    worker.join(timeout=60)
    assert done == [None]
    writers = [_writer(own_engine, i) for i in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    with own_engine.connect() as conn:
        rows = _rows(conn)
        assert [r["actor"] for r in rows[:2]] == ["first", "second"]
        assert rows[1]["prev_hash"] == rows[0]["hash"]
        assert len(rows) == 2 + 4 * 20
        result = verify(conn)
    assert result.ok and result.rows == 82, result.message


def _writer(engine: Engine, n: int) -> threading.Thread:
    def run() -> None:
        for i in range(20):
            with engine.begin() as conn:
                record(conn, actor=f"w{n}", action="test.concurrent", object_type="event",
                       object_id=i)
    return threading.Thread(target=run)


def test_row_hash_is_recomputed_in_python(connection: Connection) -> None:
    record(connection, actor="张三", action="test.python", object_type="event", object_id=7,
           fields=["name", "phone"], details={"b": [1, 2.50, None], "a": "ü"})
    row = connection.execute(text(
        "SELECT id, at, actor, actor_id, role, address, action, object_type, object_id, "
        "fields, CAST(before AS text) AS before, CAST(after AS text) AS after, "
        "CAST(details AS text) AS details, prev_hash, hash FROM audit_log "
        "WHERE action = 'test.python'")).mappings().one()
    assert row_hash(row["prev_hash"], row) == row["hash"]  # type: ignore[arg-type]


@pytest.mark.parametrize("fields", [[], ["phone"], ["姓名", "", "e-mail"], ["phone", None]])
def test_the_plpgsql_chain_hashes_as_migration_0010_did(connection: Connection,
                                                        fields: list[str | None]) -> None:
    # 0016 rewrote audit_canonical in PL/pgSQL for speed, 0031 without a call per
    # field: rows must hash as before
    old = CANONICAL_0010.replace("FUNCTION audit_canonical(",
                                 "FUNCTION pg_temp.audit_canonical_0010(")
    connection.execute(text(old))
    connection.execute(text(
        "INSERT INTO audit_log (actor, action, object_type, fields, after) "
        "VALUES ('王五', 'test.0010', 'event', :fields, CAST(:after AS jsonb))"),
        {"fields": fields, "after": '{"note": "ü \\u00e9", "n": [1, null]}'})
    new, before = connection.execute(text(
        "SELECT audit_canonical(a), pg_temp.audit_canonical_0010(a) FROM audit_log a "
        "WHERE action = 'test.0010'")).one()
    assert new == before
    row = connection.execute(text(
        "SELECT id, at, actor, actor_id, role, address, action, object_type, object_id, "
        "fields, CAST(before AS text) AS before, CAST(after AS text) AS after, "
        "CAST(details AS text) AS details, prev_hash, hash FROM audit_log "
        "WHERE action = 'test.0010'")).mappings().one()
    assert row_hash(row["prev_hash"], row) == row["hash"]  # type: ignore[arg-type]


def test_rows_written_together_are_chained_in_order(connection: Connection) -> None:
    record_many(connection, [entry(actor="li", action="test.many", object_type="event",
                                   object_id=i, fields=["phone"] * (i % 2),
                                   after={"i": i} if i % 3 else None) for i in range(5)])
    mine = _rows(connection, "action = 'test.many'")
    assert [r["object_id"] for r in mine] == ["0", "1", "2", "3", "4"]
    assert [r["fields"] for r in mine] == [[], ["phone"], [], ["phone"], []]
    assert [r["after"] for r in mine] == [None, {"i": 1}, {"i": 2}, None, {"i": 4}]
    assert verify(connection).ok



@pytest.mark.parametrize("wanted", [[], [2, 1]])
def test_a_read_audited_in_its_statement_writes_the_row_record_would(
        connection: Connection, wanted: list[int]) -> None:
    who = Actor("li", 1, "dispatcher", "10.1.2.3")
    rows = audited_select(
        connection, "SELECT n AS id, 'x' || n AS label FROM unnest(CAST(:ids AS int[])) n",
        {"ids": wanted}, actor=who, action="test.read", object_type="person",
        fields=["id_number"])
    assert [(r["id"], r["label"]) for r in rows] == [(n, f"x{n}") for n in sorted(wanted)]
    record(connection, actor=who, action="test.read", object_type="person",
           fields=["id_number"], details={"matches": len(wanted), "ids": sorted(wanted)})
    columns = ("actor", "actor_id", "role", "address", "action", "object_type", "object_id",
               "fields", "before", "after", "details")
    written = connection.execute(text(
        f"SELECT {', '.join(columns)} FROM audit_log WHERE action = 'test.read' ORDER BY id")
    ).all()
    assert len(written) == 2 and written[0] == written[1]  # the row record() writes
    assert verify(connection).ok


# -- what the application writes --------------------------------------------------------
def test_intake_actions_and_users_write_audit_rows(client: TestClient, session: Session) -> None:
    dispatcher = token_for(session, "dispatcher", "audit-disp")
    g = basic_grids(session)[0]
    r = client.post("/api/v1/events", json={
        "category": "0101", "location": {"x": g["lon"], "y": g["lat"]},
        "reporter": {"phone": "13812341234"}})
    assert r.status_code == 201, r.text
    eid = str(r.json()["id"])
    created = _rows(session, "object_type = 'event' AND object_id = :id", id=eid)
    assert [(c["action"], c["actor"], c["fields"]) for c in created] == [
        ("event.create", "anonymous", ["phone"])]
    assert created[0]["after"]["status"] == "dispatched"
    assert "13812341234" not in str(created[0])
    refused = client.post(f"/api/v1/events/{eid}/actions", json={"action": "close"},
                          headers=bearer(dispatcher))
    assert refused.status_code == 409  # refused: no audit row
    ok = client.post(f"/api/v1/events/{eid}/actions", json={"action": "escalate"},
                     headers=bearer(dispatcher))
    assert ok.status_code == 200, ok.text
    acts = _rows(session, "object_id = :id AND action LIKE 'event.action.%'", id=eid)
    assert [(a["action"], a["actor"]) for a in acts] == [("event.action.escalate",
                                                          "audit-disp")]
    assert acts[0]["before"]["escalation_level"] == 0
    assert acts[0]["after"]["escalation_level"] == 1
    users = _rows(session, "action = 'user.create' AND after ->> 'name' = 'audit-disp'")
    assert users and users[0]["after"]["role"] == "dispatcher"


def test_each_created_event_has_one_create_row_and_nothing_else_writes_one(
        client: TestClient, session: Session) -> None:
    g = basic_grids(session)[0]
    report = {"category": "0102", "location": {"x": g["lon"], "y": g["lat"]},
              "channel": "app", "address": "某路1号"}
    key = {"Idempotency-Key": "audit-once-1"}
    first = client.post("/api/v1/events", json=report, headers=key)
    again = client.post("/api/v1/events", json=report, headers=key)  # a retry: replayed
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    unknown = client.post("/api/v1/events", json={**report, "category": "9999"})
    assert unknown.status_code == 422
    rows = _rows(session, "action = 'event.create' AND object_id = :id",
                 id=str(first.json()["id"]))
    assert [(r["actor"], r["fields"], r["after"]["category"]) for r in rows] == [
        ("anonymous", [], "0102")]
    total = session.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                 "'event.create' AND after ->> 'category' = '9999'")).scalar()
    assert total == 0
    assert verify(session).ok


def test_the_intake_audit_statement_probes_each_key_never_hashes_them_all(
        connection: Connection) -> None:
    # The statement is prepared once per connection and its plan kept. In a new
    # database idempotency_keys has never been analysed (PostgreSQL guesses ten
    # pages), and hashing all keys looked cheaper than a probe per report: every
    # batch then read every key, more of them with each batch, until autovacuum
    # analysed the table. The transaction (and this catalogue change) is rolled back.
    connection.execute(text("UPDATE pg_class SET reltuples = -1, relpages = 0 "
                            "WHERE oid = 'idempotency_keys'::regclass"))
    connection.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    connection.exec_driver_sql(
        "PREPARE audit_created(text) AS " + AUDIT_CREATED.replace("%(rows)s", "$1"))
    try:
        plan = "\n".join(connection.exec_driver_sql(
            "EXPLAIN EXECUTE audit_created('[]')").scalars())
    finally:
        connection.exec_driver_sql("DEALLOCATE audit_created")
    keys = [line for line in plan.splitlines() if "idempotency_keys" in line]
    assert keys, plan
    assert all("Index" in line for line in keys), plan


# -- GET /api/v1/audit --------------------------------------------------------------------
def test_audit_listing_is_for_admins_with_filters_and_csv(client: TestClient,
                                                          session: Session) -> None:
    admin = token_for(session, "admin", "audit-admin")
    analyst = token_for(session, "analyst", "audit-analyst")
    for i in range(3):
        record(session, actor="exporter", action="test.export", object_type="event",
               object_id=i, fields=["phone"], details={"note": "=cmd()"})
    record(session, actor="exporter", action="test.other", object_type="event", object_id=9)
    assert client.get("/api/v1/audit").status_code == 401
    assert client.get("/api/v1/audit", headers=bearer(analyst)).status_code == 403
    page = client.get("/api/v1/audit", params={"action": "test.export", "limit": 2},
                      headers=bearer(admin)).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["object_id"] == "2"  # newest first
    prefixed = client.get("/api/v1/audit", params={"action": "test.*", "actor": "exporter"},
                          headers=bearer(admin)).json()
    assert prefixed["total"] == 4
    r = client.get("/api/v1/audit", params={"action": "test.export", "format": "csv"},
                   headers=bearer(admin))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["object_id"] for row in rows] == ["2", "1", "0"]
    assert {row["action"] for row in rows} == {"test.export"}
    assert rows[0]["fields"] == "phone" and len(rows[0]["hash"]) == 64
    by_accept = client.get("/api/v1/audit", params={"object_id": "9", "actor": "exporter"},
                           headers={**bearer(admin), "Accept": "text/csv"})
    assert [row["action"] for row in csv.DictReader(io.StringIO(by_accept.text))] == [
        "test.other"]
    assert client.get("/api/v1/audit", params={"limit": 100_000},
                      headers=bearer(admin)).status_code == 422


def test_automatic_escalation_writes_audit_rows(client: TestClient, session: Session) -> None:
    from datetime import datetime, timedelta

    from api.events.lifecycle import escalate_overdue

    g = basic_grids(session)[1]
    r = client.post("/api/v1/events", json={
        "category": "0101", "location": {"x": g["lon"], "y": g["lat"]}})
    eid = r.json()["id"]
    due = datetime.fromisoformat(r.json()["due_at"])
    ids = escalate_overdue(session, due + timedelta(hours=49), timedelta(hours=24))
    assert eid in ids
    rows = _rows(session, "action = 'event.action.escalate' AND object_id = :id", id=str(eid))
    assert [(x["actor"], x["before"]["escalation_level"], x["after"]["escalation_level"])
            for x in rows] == [("system", 0, 2)]
    ours = _rows(session, "action = 'event.action.escalate' AND at = now()")  # this transaction
    assert sorted(int(x["object_id"]) for x in ours) == ids


def test_audit_filters_refuse_nul(client: TestClient, session: Session) -> None:
    admin = token_for(session, "admin", "audit-nul")
    r = client.get("/api/v1/audit", params={"actor": "a\x00b"}, headers=bearer(admin))
    assert r.status_code == 422 and "actor" in r.json()["message"]

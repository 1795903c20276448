"""The people archive: every route by role and scope, masking, unmasking, encryption at rest,
lookups by keyed hash, residence history, grids by residence and by registration, check
characters refused with nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from coding.credit_code import make_credit_code
from tests.api.events_support import bearer, token_for
from tests.api.people_support import ROLES, World, make_world, person_body

READ = {"admin", "dispatcher", "grid_worker"}
WRITE = {"admin", "grid_worker"}


@pytest.fixture()
def world(client: TestClient, session: Session) -> World:
    return make_world(client, session)


def _visit(client: TestClient, world: World, person: int, **extra: Any) -> int:
    resp = client.post(f"/api/v1/people/persons/{person}/visits", headers=world.as_("admin"),
                       json={"visited_at": datetime.now(UTC).isoformat(), **extra})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def _category(session: Session) -> str:
    return str(session.execute(text("SELECT code FROM event_categories "
                                    "ORDER BY code LIMIT 1")).scalar())


#: (method, path, body, roles allowed, whether it names one object of the second grid)
def _calls(world: World, session: Session, client: TestClient) -> dict[str, Any]:
    other, room = world.persons[1], world.rooms[1]
    visit = _visit(client, world, other, findings="楼道堆放杂物")
    client.post(f"/api/v1/people/persons/{other}/tags", headers=world.as_("admin"),
                json={"tag": "elderly_alone", "level": 1})
    today = datetime.now(UTC).date().isoformat()
    declared = [client.post("/api/v1/people/declarations", json={
        "building_code": world.buildings[1], "room_code": room, "kind": "tenant",
        **{k: person_body(20 + n, room)[k] for k in ("name", "id_number", "phone")}}).json()["id"]
        for n in range(2)]
    return {
        "pending": ("GET", "/api/v1/people/declarations", None, READ, False),
        "verify": ("POST", f"/api/v1/people/declarations/{declared[0]}/verify", None, WRITE,
                   True),
        "reject": ("POST", f"/api/v1/people/declarations/{declared[1]}/reject", None, WRITE,
                   True),
        "list": ("GET", "/api/v1/people/persons", None, READ, False),
        "export": ("GET", "/api/v1/people/export.csv", None, READ, False),
        "stats": ("GET", "/api/v1/people/stats", None, READ | {"analyst"}, False),
        "create": ("POST", "/api/v1/people/persons", person_body(9, room), WRITE, True),
        "read": ("GET", f"/api/v1/people/persons/{other}", None, READ, True),
        "patch": ("PATCH", f"/api/v1/people/persons/{other}", {"ethnicity": "汉族"}, WRITE,
                  True),
        "unmask": ("POST", f"/api/v1/people/persons/{other}/unmask",
                   {"reason": "入户走访核对联系方式"}, WRITE, True),
        "move": ("POST", f"/api/v1/people/persons/{other}/moves",
                 {"room_code": room, "from_date": today}, WRITE, True),
        "tag": ("POST", f"/api/v1/people/persons/{other}/tags",
                {"tag": "low_income", "level": 2}, WRITE, True),
        "untag": ("DELETE", f"/api/v1/people/persons/{other}/tags/elderly_alone", None, WRITE,
                  True),
        "visit": ("POST", f"/api/v1/people/persons/{other}/visits",
                  {"visited_at": datetime.now(UTC).isoformat()}, WRITE, True),
        "case": ("POST", f"/api/v1/people/visits/{visit}/case",
                 {"category": _category(session)}, WRITE, True),
        "due": ("GET", "/api/v1/people/visits/due", None, READ, False),
        "kpi": ("GET", f"/api/v1/people/visits/kpi?start=2026-01-01&end={today}", None, READ,
                False),
        "lookup": ("POST", "/api/v1/people/lookup",
                   {"id_number": world.bodies[1]["id_number"]}, READ, False),
        "building": ("GET", f"/api/v1/people/buildings/{world.buildings[1]}", None, READ, True),
        "room": ("PATCH", f"/api/v1/people/rooms/{room}", {"rented": True}, WRITE, True),
        "organisation": ("POST", "/api/v1/people/organisations",
                         {"name": "测试商行", "credit_code": make_credit_code(
                             "92440305MA5D0000" + str(other % 10)),
                          "building_code": world.buildings[1]}, WRITE, True),
    }


def test_the_matrix_names_every_people_route() -> None:
    from tests.api.test_access import PEOPLE_ROUTES

    assert len(PEOPLE_ROUTES) == 21  # the calls of _calls, one per route


@pytest.mark.parametrize("call", ["list", "export", "stats", "create", "read", "patch", "unmask",
                                  "move", "tag", "untag", "visit", "case", "due", "kpi", "lookup",
                                  "building", "room", "organisation", "pending", "verify",
                                  "reject"])
def test_each_role_in_and_out_of_scope(client: TestClient, session: Session, world: World,
                                       call: str) -> None:
    """The grid worker serves the first grid; every call names the second grid's objects."""
    method, url, body, allowed, names_other = _calls(world, session, client)[call]
    for role in sorted(ROLES, key=lambda r: r != "grid_worker"):  # the changes come last
        resp = client.request(method, url, json=body, headers=world.as_(role))
        if role not in allowed:
            assert resp.status_code == 403, (role, resp.text)
            assert resp.json()["code"] == "forbidden"
        elif role == "grid_worker" and names_other:
            assert resp.status_code == 403, (role, resp.text)  # the second grid is not theirs
            assert resp.json()["code"] == "out_of_scope"
        else:
            assert resp.status_code in (200, 201), (role, resp.text)
            if call == "export":
                ids = {line.split(",")[0] for line in resp.text.splitlines()[1:]}
                assert (str(world.persons[1]) in ids) == (role != "grid_worker")
                continue
            listed = resp.json().get("items")
            if role == "grid_worker" and isinstance(listed, list) and call != "kpi":
                assert world.persons[1] not in {i.get("id", i.get("person_id"))
                                                for i in listed}


def test_a_grid_worker_lists_their_residents_only(client: TestClient, world: World) -> None:
    page = client.get("/api/v1/people/persons", headers=world.as_("grid_worker")).json()
    assert [i["id"] for i in page["items"]] == [world.persons[0]]
    everyone = client.get("/api/v1/people/persons", headers=world.as_("admin")).json()
    assert set(world.persons) <= {i["id"] for i in everyone["items"]}


def test_records_are_masked_and_every_read_is_audited(client: TestClient, session: Session,
                                                      world: World) -> None:
    pid, body = world.persons[0], world.bodies[0]
    rec = client.get(f"/api/v1/people/persons/{pid}", headers=world.as_("dispatcher")).json()
    assert rec["id_number"] == body["id_number"][:4] + "*" * 10 + body["id_number"][-4:]
    assert rec["phone"] == "138****0001" and rec["name"] == "测***"
    assert rec["birth_date"] == "1951-03-04" and rec["gender"] == "male"
    assert rec["registration_place"] == "440305"
    assert rec["room"] == world.rooms[0] and rec["grids"]["residence"]["basic"] == [
        world.grids[0]]
    audit = session.execute(text(
        "SELECT action, fields, details FROM audit_log WHERE object_type = 'person' AND "
        "object_id = :id AND actor = 'people-dispatcher'"), {"id": str(pid)}).one()
    assert audit[0] == "people.read" and set(audit[1]) == {"name", "id_number", "phone"}


def test_unmasking_needs_a_reason_and_a_role_and_is_audited(
        client: TestClient, session: Session, world: World) -> None:
    pid = world.persons[0]
    url = f"/api/v1/people/persons/{pid}/unmask"
    no_reason = client.post(url, json={"reason": " "}, headers=world.as_("grid_worker"))
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "reason_required"
    assert client.post(url, json={"reason": "核对身份"},
                       headers=world.as_("dispatcher")).status_code == 403
    clear = client.post(url, json={"reason": "入户走访核对"}, headers=world.as_("grid_worker"))
    assert clear.json()["id_number"] == world.bodies[0]["id_number"]
    assert clear.json()["phone"] == world.bodies[0]["phone"]
    reason = session.execute(text(
        "SELECT details ->> 'reason' FROM audit_log WHERE action = 'personal.unmask' AND "
        "object_type = 'person' AND object_id = :id"), {"id": str(pid)}).scalar()
    assert reason == "入户走访核对"


def test_the_columns_hold_no_plaintext(session: Session, world: World) -> None:
    body = world.bodies[0]
    row = session.execute(text("SELECT * FROM persons WHERE id = :id"),
                          {"id": world.persons[0]}).mappings().one()
    stored = " ".join(str(v) for v in row.values())
    for value in (body["name"], body["id_number"], body["phone"], body["id_number"][-4:]):
        assert value not in stored
    assert all(str(row[c]).startswith("v1:") for c in ("name", "id_number", "phone"))


def test_lookup_by_id_number_and_phone_stays_in_scope(client: TestClient, world: World,
                                                      session: Session) -> None:
    number = world.bodies[0]["id_number"].lower()  # x or X, the same person
    found = client.post("/api/v1/people/lookup", json={"id_number": number},
                        headers=world.as_("grid_worker")).json()
    assert [i["id"] for i in found["items"]] == [world.persons[0]]
    by_phone = client.post("/api/v1/people/lookup", json={"phone": "+86 138-0000-0002"},
                           headers=world.as_("admin")).json()
    assert [i["id"] for i in by_phone["items"]] == [world.persons[1]]
    hidden = client.post("/api/v1/people/lookup", json={"phone": "13800000002"},
                         headers=world.as_("grid_worker")).json()
    assert hidden["count"] == 0
    audited = session.execute(text(
        "SELECT actor, role, fields, details FROM audit_log WHERE action = 'people.lookup' "
        "ORDER BY id DESC LIMIT 3")).all()
    assert [(row.fields, row.details) for row in audited] == [
        (["phone"], {"matches": 0, "ids": []}),
        (["phone"], {"matches": 1, "ids": [world.persons[1]]}),
        (["id_number"], {"matches": 1, "ids": [world.persons[0]]})]
    assert [row.role for row in audited] == ["grid_worker", "admin", "grid_worker"]


def test_a_bad_check_character_and_a_duplicate_store_nothing(
        client: TestClient, session: Session, world: World) -> None:
    body = person_body(5, world.rooms[0])
    wrong = body["id_number"][:17] + ("0" if body["id_number"][17] != "0" else "1")
    before = session.execute(text("SELECT count(*) FROM persons")).scalar()
    bad = client.post("/api/v1/people/persons", json={**body, "id_number": wrong},
                      headers=world.as_("admin"))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_id_number"
    assert "check character" in bad.json()["message"]
    dup = client.post("/api/v1/people/persons", json=world.bodies[0], headers=world.as_("admin"))
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_person"
    unknown = client.post("/api/v1/people/persons", json={**body, "room_code": "NOPE"},
                          headers=world.as_("admin"))
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_room"
    assert session.execute(text("SELECT count(*) FROM persons")).scalar() == before


def test_moving_keeps_the_history_and_moves_the_person_between_workers(
        client: TestClient, world: World) -> None:
    pid = world.persons[0]
    moved = client.post(f"/api/v1/people/persons/{pid}/moves", headers=world.as_("admin"),
                        json={"room_code": world.rooms[1], "from_date": "2026-06-01"}).json()
    rooms = [(r["room"], r["from_date"], r["to_date"]) for r in moved["residences"]]
    assert rooms == [(world.rooms[1], "2026-06-01", None),
                     (world.rooms[0], "2025-01-01", "2026-06-01")]
    gone = client.get(f"/api/v1/people/persons/{pid}", headers=world.as_("grid_worker"))
    assert gone.status_code == 403


def test_the_registration_grid_worker_sees_the_person_registered_in_their_grid(
        client: TestClient, session: Session, world: World) -> None:
    """Dazhangzhuang: a resettled villager appears for the worker of their old village too."""
    session.execute(text("INSERT INTO grid_layers (name, kind, exclusive) "
                         "VALUES ('household', 'registration', true)"))
    session.execute(text(
        "INSERT INTO grids (layer_id, code, geom) SELECT l.id, 'HJ-' || g.code, g.geom "
        "FROM grid_layers l, grids g JOIN grid_layers b ON b.id = g.layer_id AND "
        "b.name = 'basic' WHERE l.name = 'household' AND g.code = :g AND g.valid_to IS NULL"),
        {"g": world.grids[1]})
    body = person_body(7, world.rooms[0], registered_building_code=world.buildings[1])
    pid = client.post("/api/v1/people/persons", json=body, headers=world.as_("admin")).json()["id"]
    village = bearer(token_for(session, "grid_worker", "hj-worker",
                               grids=[f"HJ-{world.grids[1]}"]))
    ids = {i["id"] for i in client.get("/api/v1/people/persons", headers=village).json()["items"]}
    assert ids == {pid}  # not the person living in that grid but registered elsewhere
    building = {i["id"] for i in client.get(
        "/api/v1/people/persons", headers=world.as_("grid_worker")).json()["items"]}
    assert pid in building
    rec = client.get(f"/api/v1/people/persons/{pid}", headers=village).json()
    assert rec["grids"]["registration"]["household"] == [f"HJ-{world.grids[1]}"]
    assert rec["grids"]["residence"]["basic"] == [world.grids[0]]


def test_an_organisation_needs_a_valid_credit_code(client: TestClient, world: World) -> None:
    resp = client.post("/api/v1/people/organisations", headers=world.as_("admin"), json={
        "name": "测试公司", "credit_code": "91350100M000100Y44",
        "building_code": world.buildings[0]})
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_credit_code"
    ok = client.post("/api/v1/people/organisations", headers=world.as_("grid_worker"), json={
        "name": "测试公司", "credit_code": "91350100M000100Y43", "contact_phone": "13900001111",
        "building_code": world.buildings[0]})
    assert ok.status_code == 201, ok.text
    record = client.get(f"/api/v1/people/buildings/{world.buildings[0]}",
                        headers=world.as_("grid_worker")).json()
    assert record["organisations"][0]["contact_phone"] == "139****1111"
    assert [r["id"] for r in record["residents"]] == [world.persons[0]]


def test_a_finding_becomes_one_case(client: TestClient, session: Session, world: World) -> None:
    pid = world.persons[0]
    visit = _visit(client, world, pid, findings="楼道堆放杂物", lon=None, lat=None)
    url = f"/api/v1/people/visits/{visit}/case"
    made = client.post(url, json={"category": _category(session)},
                       headers=world.as_("grid_worker"))
    assert made.status_code == 201, made.text
    event = session.execute(text("SELECT channel, b.code, description FROM events e JOIN "
                                 "buildings b ON b.id = e.building_id WHERE e.id = :id"),
                            {"id": made.json()["event_id"]}).one()
    assert tuple(event) == ("patrol", world.buildings[0], "楼道堆放杂物")
    again = client.post(url, json={"category": _category(session)},
                        headers=world.as_("grid_worker"))
    assert again.status_code == 409 and again.json()["code"] == "case_exists"
    rec = client.get(f"/api/v1/people/persons/{pid}", headers=world.as_("admin")).json()
    assert rec["visits"][0]["event_id"] == made.json()["event_id"]


def test_a_declaration_from_the_plate_waits_for_the_building_s_worker(
        client: TestClient, session: Session, world: World) -> None:
    body = person_body(30, world.rooms[0])
    sent = client.post("/api/v1/people/declarations", json={
        "building_code": world.buildings[0], "room_code": world.rooms[0],
        **{k: body[k] for k in ("name", "id_number", "phone")}})
    assert sent.status_code == 201 and sent.json()["status"] == "pending"
    wrong = client.post("/api/v1/people/declarations", json={
        "building_code": world.buildings[0], "room_code": world.rooms[1],
        **{k: body[k] for k in ("name", "id_number", "phone")}})
    assert wrong.status_code == 422 and wrong.json()["code"] == "unknown_room"
    waiting = client.get("/api/v1/people/declarations", headers=world.as_("grid_worker")).json()
    assert [(d["id"], d["phone"]) for d in waiting["items"]] == [(sent.json()["id"],
                                                                  "138****0030")]
    done = client.post(f"/api/v1/people/declarations/{sent.json()['id']}/verify",
                       headers=world.as_("grid_worker")).json()
    rec = client.get(f"/api/v1/people/persons/{done['person_id']}",
                     headers=world.as_("grid_worker")).json()
    assert rec["room"] == world.rooms[0] and rec["birth_date"] == "1980-03-04"
    again = client.post(f"/api/v1/people/declarations/{sent.json()['id']}/reject",
                        headers=world.as_("grid_worker"))
    assert again.status_code == 409

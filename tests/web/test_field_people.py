"""The field app and the people archive, in Playwright on the system Chromium.

- Self-declaration of residence (入住申报): a resident's phone opens a building's plate
  page, follows its declaration link and declares a room; the grid worker of that
  building's grid signs in, lands in the field app and finds the declaration in "my tasks"
  with the name masked, verifies it there, and the person is in the archive with a
  residence in that room. A worker of another grid does not see it.
- A visit: a resident of the worker's grid whose visit is overdue is in "my tasks"; the
  worker, without signal, records the visit there; back online it arrives once, with the
  phone's position and its distance to the residence, and the task is gone.

Screenshots are kept in ``tests/artifacts/field-people-*.png``; any request that would
leave 127.0.0.1 is aborted and fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from api.auth.service import create_user
from api.db.session import make_engine
from coding.resident_id import make_resident_id
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.web.accounts import make_user
from tests.web.desk_support import run_sql
from tests.web.playwright_support import Guard, phone, sign_in

WORKER, OTHER = "网格员申报核实", "网格员别处"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
#: a synthetic resident (the ID number's check character is computed)
RESIDENT = {"name": "申报测试人", "id_number": make_resident_id("440305", date(1988, 6, 1), 321),
            "phone": "13900001234"}

_PLACE = """
SELECT g.code AS grid, b.code AS building, r.code AS room, ST_X(ST_PointOnSurface(b.geom)),
       ST_Y(ST_PointOnSurface(b.geom)),
       (SELECT g2.code FROM grids g2 WHERE g2.layer_id = g.layer_id AND g2.code <> g.code
        AND g2.valid_to IS NULL ORDER BY g2.code LIMIT 1) AS other
FROM grids g JOIN grid_layers l ON l.id = g.layer_id AND l.name = 'basic'
JOIN buildings b ON b.geom && g.geom AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))
JOIN rooms r ON r.building_id = b.id
WHERE g.valid_to IS NULL ORDER BY g.code, b.code, r.code LIMIT 1
"""


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path) -> Iterator[dict[str, Any]]:
    """A live server on a fresh sample; the worker of a grid with a room, one of another."""
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base:
        grid, building, room, lon, lat, other = run_sql(url, _PLACE)
        make_user(url, WORKER, role="grid_worker", grids=[grid])
        make_user(url, OTHER, role="grid_worker", grids=[other])
        engine = make_engine(url, pool_size=1)
        with Session(engine) as session:
            _, admin = create_user(session, name="archive-admin", role="admin")
            session.commit()
        engine.dispose()
        yield {"base": base, "url": url, "building": building, "room": room,
               "at": (float(lon), float(lat)), "admin": {"Authorization": f"Bearer {admin}"}}


def _field_app(page: Page, base: str, name: str) -> None:
    """Sign in as a grid worker (landing in the field app) and wait for it to be ready."""
    sign_in(page, base, name, "/static/field/index.html")
    page.wait_for_function("() => window.fieldReady === true", timeout=30_000)


def test_a_resident_declares_at_the_plate_and_the_worker_verifies_in_the_field_app(
        browser: Browser, server: dict[str, Any]) -> None:
    base, building, room = server["base"], server["building"], server["room"]
    guard = Guard()
    ARTIFACTS.mkdir(exist_ok=True)

    resident = phone(browser, guard)
    resident.goto(f"{base}/b/{building}")
    resident.click("#declare-link")
    resident.wait_for_url(f"{base}/static/declare.html?b={building}")
    expect(resident.locator("#building")).to_have_text(building)
    resident.fill("input[name=room_code]", room)
    resident.fill("input[name=name]", RESIDENT["name"])
    resident.fill("input[name=id_number]", RESIDENT["id_number"])
    resident.fill("input[name=phone]", RESIDENT["phone"])
    resident.select_option("select[name=kind]", "tenant")
    resident.click("button[type=submit]")
    expect(resident.locator("#result")).to_contain_text("等待网格员核实")
    resident.screenshot(path=ARTIFACTS / "field-people-declare.png", full_page=True)
    declared, status = run_sql(server["url"], "SELECT array_agg(id), array_agg(status) "
                                   "FROM residence_declarations")
    assert status == ["pending"]

    other = phone(browser, guard)
    _field_app(other, base, OTHER)  # another grid's worker: nothing to verify here
    expect(other.locator("#declarations")).to_be_visible()
    expect(other.locator("#declarations-list li")).to_have_count(0)

    worker = phone(browser, guard)
    _field_app(worker, base, WORKER)
    item = worker.locator(f"#declarations-list li[data-declaration='{declared[0]}']")
    expect(item).to_contain_text(room)
    expect(item).to_contain_text("租住")
    assert RESIDENT["name"] not in item.inner_text()  # masked by default
    worker.screenshot(path=ARTIFACTS / "field-people-verify.png", full_page=True)
    item.locator(".decl-verify").click()
    expect(worker.locator("#declarations-status")).to_contain_text("已核实")
    expect(worker.locator("#declarations-list li")).to_have_count(0)

    status, decided_by, person = run_sql(server["url"], "SELECT status, decided_by, person_id "
                                         "FROM residence_declarations WHERE id = :id",
                                         id=declared[0])
    assert (status, decided_by) == ("verified", WORKER)
    lives = run_sql(server["url"], "SELECT ro.code, r.kind FROM residences r JOIN rooms ro ON "
                    "ro.id = r.room_id WHERE r.person_id = :p", p=person)
    assert tuple(lives) == (room, "tenant")
    sealed = run_sql(server["url"], "SELECT name, id_number FROM persons WHERE id = :p", p=person)
    assert RESIDENT["name"] not in sealed[0] and RESIDENT["id_number"] not in sealed[1]
    audited = run_sql(server["url"], "SELECT count(*) FROM audit_log WHERE action = "
                      "'declaration.verify' AND actor = :who", who=WORKER)
    assert audited == (1,)
    guard.check()


def _overdue_resident(server: dict[str, Any]) -> int:
    """A synthetic resident of the worker's room, living alone, last seen 60 days ago."""
    base, admin = server["base"], server["admin"]
    made = httpx.post(f"{base}/api/v1/people/persons", headers=admin, timeout=30, json={
        "name": "走访测试人", "id_number": make_resident_id("440305", date(1940, 2, 3), 77),
        "phone": "13900005678", "room_code": server["room"], "residence_kind": "owner",
        "from_date": "2020-01-01"})
    assert made.status_code == 201, made.text
    person = int(made.json()["id"])
    since = (date.today() - timedelta(days=60)).isoformat()
    tagged = httpx.post(f"{base}/api/v1/people/persons/{person}/tags", headers=admin,
                        timeout=30, json={"tag": "elderly_alone", "level": 1, "since": since})
    assert tagged.status_code in (200, 201), tagged.text
    return person


def test_a_visit_recorded_without_signal_arrives_once_with_its_position(
        browser: Browser, server: dict[str, Any]) -> None:
    person = _overdue_resident(server)
    guard = Guard()
    lon, lat = server["at"]
    worker = phone(browser, guard, at=(lon + 0.0003, lat))  # about 30 m east of the building
    _field_app(worker, server["base"], WORKER)
    task = worker.locator("#tasks-list li", has=worker.locator("button.visit-record"))
    expect(task).to_have_count(1)
    expect(task).to_contain_text("已超期")
    expect(task).to_contain_text("独居老人")  # the tag's name, never its code

    worker.context.set_offline(True)
    task.locator("button.visit-record").click()
    worker.fill("#visit-notes", "老人独居，身体尚可，已提醒防诈骗")
    worker.click("#visit-submit")
    expect(worker.locator("#visit-status")).to_contain_text("走访已保存")
    expect(worker.locator("#queue-count")).to_have_text("1")
    assert run_sql(server["url"], "SELECT count(*) FROM visits WHERE person_id = :p",
                   p=person) == (0,)
    worker.screenshot(path=ARTIFACTS / "field-people-visit-offline.png", full_page=True)

    worker.context.set_offline(False)
    expect(worker.locator("#queue-count")).to_have_text("0", timeout=20_000)
    worker.click("#tasks-refresh")
    expect(worker.locator("#tasks-list button.visit-record")).to_have_count(0)
    rows = run_sql(server["url"], "SELECT count(*), min(worker_name), min(notes), "
                   "min(distance_m), bool_and(client_key IS NOT NULL) FROM visits "
                   "WHERE person_id = :p", p=person)
    count, who, notes, distance, keyed = rows
    assert (count, who, notes, keyed) == (1, WORKER, "老人独居，身体尚可，已提醒防诈骗", True)
    assert 10 < distance < 100  # the phone's position, not the building's
    guard.check()

"""No input gives a 500: text, integers, CRS strings, addresses, keys, XML (issue 13).

Each test is a reproduction of an attack on a running server: the request as
the attacker sent it and what a user must see instead of a 500. The requests
share the test's rolled-back transaction, except where the test needs
concurrency or a timeout of its own (then a server or an app of its own).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from api.db.embedded import EmbeddedCluster
from api.db.migrate import upgrade
from api.db.session import make_engine
from api.io.samples import load_directory
from api.main import create_app
from api.open311.keys import create_key
from api.settings import Settings
from testkit.clusters import throwaway_cluster
from testkit.databases import sample_database
from testkit.servers import start_server
from testkit.tiles import tile_of
from tests.api.events_support import basic_grids, bearer, event_settings, signed_in, token_for

BIG = "99999999999999999999"  # past bigint


@pytest.fixture()
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings with photos under the test's temporary directory."""
    return event_settings(database_url, tmp_path / "photos")


@pytest.fixture()
def client(client: TestClient, session: Session) -> TestClient:
    """Reads are for staff: the tests call every route signed in as an admin."""
    return signed_in(client, session)


@pytest.fixture()
def point(session: Session) -> dict[str, Any]:
    """A point inside a basic grid, outside every building."""
    return basic_grids(session)[0]


def _events(session: Session | Connection) -> int:
    return int(session.execute(text("SELECT count(*) FROM events")).scalar_one())


def _post_raw(client: TestClient, body: str, **headers: str) -> Any:
    return client.post("/api/v1/events", content=body.encode("ascii"),
                       headers={"content-type": "application/json", **headers})


# -- (1a) NUL and lone surrogates in any text ---------------------------------------------
@pytest.mark.parametrize(("field", "value"), [
    ("description", r"broken \ud800 bin"),
    ("description", r"nul \u0000 byte"),
    ("address", r"\udfff"),
    ("category", r"01\ud83d"),
    ("building_code", r"B\u0000"),
    ("reporter.name", r"Li \ud800"),
    ("reporter.phone", r"138\u0000"),
    ("location.crs", r"EPSG:4326\ud800"),
    ("photos.0", r"https://example.cn/\ud800.jpg"),
])
def test_nul_or_lone_surrogate_in_report_text_is_422_naming_the_field(
        client: TestClient, session: Session, point: dict[str, Any], field: str,
        value: str) -> None:
    body: dict[str, Any] = {"category": "0101", "location": {"x": point["lon"],
                                                              "y": point["lat"]}}
    target, *rest = field.split(".")
    if target == "photos":
        body["photos"] = ["PLACEHOLDER"]
    elif rest:
        body.setdefault(target, {})[rest[0]] = "PLACEHOLDER"
    else:
        body[target] = "PLACEHOLDER"
    raw = json.dumps(body).replace("PLACEHOLDER", value)  # the JSON escape, as sent
    before = _events(session)
    r = _post_raw(client, raw)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_text"
    assert f"'{field}'" in r.json()["message"]
    assert _events(session) == before


def test_nul_in_a_lifecycle_note_is_422(client: TestClient, session: Session) -> None:
    event_id = session.execute(text("SELECT min(id) FROM events")).scalar_one()
    headers = bearer(token_for(session, "admin"))
    r = client.post(f"/api/v1/events/{event_id}/actions",
                    headers={**headers, "content-type": "application/json"},
                    content=b'{"action": "escalate", "note": "a\\u0000b"}')
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_text" and "'note'" in r.json()["message"]


@pytest.mark.parametrize(("url", "name"), [
    ("/api/v1/grids/%00", "code"),
    ("/api/v1/buildings/%00", "code"),
    ("/api/v1/track/%00", "token"),
    ("/api/v1/events?category=%00", "category"),
    ("/api/v1/events?status=open%00", "status"),
    ("/api/v1/events?grid=%00", "grid"),
    ("/api/v1/grids?layer=basic%00", "layer"),
    ("/open311/v2/requests.json?service_code=%00", "service_code"),
    ("/open311/v2/tokens/%00.json", "token"),
    ("/ogc/collections/%00", "collection_id"),
])
def test_nul_in_a_path_or_query_parameter_is_422(client: TestClient, url: str,
                                                 name: str) -> None:
    r = client.get(url)
    # Open311 and OGC API Features answer bad parameters 400, as their standards say
    standard = url.startswith(("/open311", "/ogc"))
    assert r.status_code == (400 if standard else 422), r.text
    if url.startswith("/open311"):
        (error,) = r.json()
        assert error["code"] == 400 and f"'{name}'" in error["description"]
    else:
        assert r.json()["code"] == "invalid_text"
        assert f"'{name}'" in r.json()["message"]


@pytest.fixture()
def api_key(session: Session) -> str:
    """An Open311 API key valid in the test's transaction."""
    _, key = create_key(session, "robustness partner")
    session.flush()
    return key


@pytest.mark.parametrize("field", ["description", "address_string", "first_name", "email",
                                   "service_code"])
def test_nul_in_an_open311_field_is_422_naming_it(client: TestClient, session: Session,
                                                  api_key: str, point: dict[str, Any],
                                                  field: str) -> None:
    form = {"service_code": "0101", "long": str(point["lon"]), "lat": str(point["lat"]),
            "api_key": api_key, "description": "bin"}
    form[field] = "a\x00b"
    before = _events(session)
    r = client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 422, r.text
    (error,) = r.json()
    assert error["code"] == 422 and f"'{field}'" in error["description"]
    assert _events(session) == before


# -- (1b) CRS strings are checked before PROJ sees them ---------------------------------
@pytest.mark.parametrize("crs", [
    "IAU_2015:30100",                               # the Moon: PROJ knows it
    "ESRI:104903",                                  # the Moon again, another authority
    "urn:ogc:def:crs:IAU:2015:30100",
    "+proj=longlat +datum=WGS84",                   # PROJ strings are not accepted
    "+proj=merc +a=1",
    'GEOGCS["WGS 84",DATUM["WGS_1984"]]',          # WKT neither
    "EPSG:4978",                                    # geocentric: not a place on a map
    "EPSG:5773",                                    # a vertical CRS
    "EPSG:4326+5773",
    "FOO:1234",
])
def test_a_crs_we_cannot_place_on_earth_is_422_naming_crs(
        client: TestClient, session: Session, point: dict[str, Any], crs: str) -> None:
    before = _events(session)
    r = client.post("/api/v1/events", json={
        "category": "0101", "location": {"x": point["lon"], "y": point["lat"], "crs": crs}})
    assert r.status_code == 422, r.text
    assert "crs" in r.json()["message"] and "EPSG:" in r.json()["message"]
    assert _events(session) == before


@pytest.mark.parametrize("crs", ["EPSG:4490", "epsg:4326", "CGCS2000", "WGS84",
                                 "urn:ogc:def:crs:EPSG::4326", "OGC:CRS84"])
def test_the_accepted_crs_forms_still_place_the_report(
        client: TestClient, point: dict[str, Any], crs: str) -> None:
    r = client.post("/api/v1/events", json={
        "category": "0101", "location": {"x": point["lon"], "y": point["lat"], "crs": crs}})
    assert r.status_code == 201, r.text
    assert r.json()["grids"]["basic"] == point["code"]


# -- (2) integers past bigint ----------------------------------------------------------
@pytest.mark.parametrize("url", [
    f"/api/v1/events/{BIG}",
    f"/api/v1/events/1/photos/{BIG}",
    f"/api/v1/events/{BIG}/photos/1",
    f"/api/v1/events?offset={BIG}",
    "/api/v1/events?offset=1e30",
    "/api/v1/events?limit=-1",
    f"/api/v1/grids?offset={BIG}",
    f"/api/v1/web/live-events?after_id={BIG}",
    f"/api/v1/web/event-actions/{BIG}",
    f"/tiles/buildings/14/{BIG}/1.mvt",
    f"/open311/v2/requests.json?service_request_id={BIG}",
    f"/open311/v2/requests/{BIG}.json",
    "/open311/v2/requests/%C2%B2.json",             # a digit, but not an ASCII one
    f"/ogc/collections/buildings/items/{BIG}",
    "/ogc/collections/buildings/items/%C2%B2",
    f"/ogc/collections/buildings/items?offset={BIG}",
    f"/ogc/collections/buildings/items?floors={BIG}",
])
def test_integers_past_bigint_are_4xx(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code in (400, 404, 422), r.text


def test_ids_past_bigint_in_actions_are_422(client: TestClient, session: Session) -> None:
    headers = bearer(token_for(session, "admin"))
    r = client.post(f"/api/v1/events/{BIG}/actions", headers=headers,
                    json={"action": "escalate"})
    assert r.status_code in (404, 422), r.text
    event_id = session.execute(text("SELECT min(id) FROM events WHERE status = 'registered' "
                                    "OR status = 'dispatched'")).scalar_one()
    r = client.post(f"/api/v1/events/{event_id}/actions", headers=headers,
                    json={"action": "mark_duplicate", "duplicate_of": int(BIG)})
    assert r.status_code in (404, 422), r.text


# -- (4) address matching is bounded; coordinates win -----------------------------------
def test_a_long_address_is_422_in_json_and_open311(client: TestClient, session: Session,
                                                   api_key: str) -> None:
    before = _events(session)
    r = client.post("/api/v1/events", json={"category": "0101", "address": "路" * 201})
    assert r.status_code == 422 and "'address'" in r.json()["message"]
    r = client.post("/open311/v2/requests.json", data={
        "service_code": "0101", "api_key": api_key, "address_string": "x" * 500_000})
    assert r.status_code == 422, r.text[:300]
    assert "address_string" in r.json()[0]["description"]
    assert _events(session) == before


def test_coordinates_take_precedence_over_an_address(client: TestClient, session: Session,
                                                     point: dict[str, Any]) -> None:
    given = "深圳市某区不存在的路 1 号"  # matches no building
    r = client.post("/api/v1/events", json={
        "category": "0101", "address": given,
        "location": {"x": point["lon"], "y": point["lat"]}})
    assert r.status_code == 201, r.text
    assert r.json()["grids"]["basic"] == point["code"]
    stored = session.execute(text("SELECT address, ST_X(geom), ST_Y(geom) FROM events "
                                  "WHERE id = :i"), {"i": r.json()["id"]}).one()
    assert stored[0] == given
    assert stored[1:] == pytest.approx((point["lon"], point["lat"]))


def test_address_suggestions_use_the_trigram_index(connection: Connection) -> None:
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(connection.execute(text(
        "EXPLAIN SELECT address FROM buildings WHERE address % :a "
        "ORDER BY address <-> :a LIMIT 5"), {"a": "某某路"}).scalars())
    assert "ix_buildings_address_trgm" in plan


# -- (6) Idempotency-Key reused with another body ---------------------------------------
def test_an_idempotency_key_reused_with_another_body_is_422(
        client: TestClient, session: Session, point: dict[str, Any]) -> None:
    body = {"category": "0103", "description": "first",
            "location": {"x": point["lon"], "y": point["lat"]}}
    key = {"Idempotency-Key": "robust-1"}
    first = client.post("/api/v1/events", json=body, headers=key)
    assert first.status_code == 201
    # the same body (keys in another order, other spacing) replays the first answer
    same = _post_raw(client, json.dumps(dict(reversed(list(body.items()))), indent=2), **key)
    assert same.status_code == 201 and same.json() == first.json()
    before = _events(session)
    other = client.post("/api/v1/events", json={**body, "description": "second"},
                        headers=key)
    assert other.status_code == 422, other.text
    assert other.json()["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in other.json()["message"]
    assert _events(session) == before


# -- (7) Open311 XML is always well-formed ------------------------------------------------
def test_open311_xml_with_control_characters_is_well_formed(client: TestClient,
                                                            connection: Connection) -> None:
    event_id = connection.execute(text(
        "UPDATE events SET description = :d, address = :a, reported_at = now() "
        "WHERE id = (SELECT max(id) FROM events) RETURNING id"),
        {"d": "bell\x07 tab\t vt\x0b ff\x0c esc\x1b end", "a": "路\x01"}).scalar_one()
    client.app.state.settings.open311.public_details = True  # type: ignore[attr-defined]  # descriptions are published
    r = client.get(f"/open311/v2/requests/{event_id}.xml")
    assert r.status_code == 200
    root = ElementTree.fromstring(r.content)  # raises when not well-formed
    description = root.findtext("./request/description") or ""
    assert description.startswith("bell") and description.endswith("end")
    assert "\t" in description  # allowed in XML: kept
    listed = client.get("/open311/v2/requests.xml", params={"service_request_id": event_id})
    ElementTree.fromstring(listed.content)


# -- (3) statement timeout ---------------------------------------------------------------
def _tile_of(p: dict[str, Any], z: int = 14) -> tuple[int, int, int]:
    return (z, *tile_of(p["lon"], p["lat"], z))


@pytest.fixture()
def timeout_client(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """An app of its own engine whose statements are cancelled after 300 ms."""
    settings = event_settings(database_url, tmp_path / "photos")
    settings.db.statement_timeout_ms = 300
    with TestClient(create_app(settings)) as c:
        yield c


def test_a_statement_cancelled_by_the_timeout_is_503(timeout_client: TestClient,
                                                     engine: Engine) -> None:
    with engine.connect() as conn:
        points = basic_grids(conn)
    with Session(engine) as own:  # the app has an engine of its own: a committed user
        staff = bearer(token_for(own, "admin", f"timeout-{uuid.uuid4().hex[:6]}"))
        own.commit()
    timeout_client.headers.update(staff)
    with engine.connect() as conn:
        trans = conn.begin()  # hold a lock the requests wait for, past their timeout
        conn.execute(text("LOCK TABLE event_categories, events IN ACCESS EXCLUSIVE MODE"))
        try:
            listed = timeout_client.get("/api/v1/events")
            posted = timeout_client.post("/api/v1/events", json={
                "category": "0101", "location": {"x": points[0]["lon"],
                                                 "y": points[0]["lat"]}})
            tile = timeout_client.get("/tiles/events/{}/{}/{}.mvt".format(*_tile_of(points[0])))
        finally:
            trans.rollback()
    for r in (listed, posted, tile):
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "query_timeout"
        assert "Retry-After" in r.headers
    again = timeout_client.get("/api/v1/events", params={"limit": 1})
    assert again.status_code == 200


# -- (1c) a poisoned report fails alone among 90 concurrent ones -------------------------
POISONS = [
    '{"category": "0101", "description": "\\ud800", "location": {"x": X, "y": Y}}',
    '{"category": "0101", "location": {"x": X, "y": Y, "crs": "IAU_2015:30100"}}',
    '{"category": "0101", "location": {"x": X, "y": Y, "crs": "+proj=longlat +a=1"}}',
    '{"category": "0101", "location": {"x": X, "y": Y, "crs": "EPSG:4978"}}',
    '{"category": "0101", "address": "路\\u0000", "location": {"x": X, "y": Y}}',
    '{"category": "0101", "reporter": {"name": "\\udfff"}, "location": {"x": X, "y": Y}}',
]
CATEGORIES = ("0101", "0102", "0103", "0104", "0105", "0106", "0401", "0402", "0403", "0404")


@pytest.fixture()
def served(server_url: str, sample_dir: Path, tmp_path: Path
           ) -> Iterator[tuple[str, Engine, str]]:
    """A real server on a new database with the small sample: URL, engine, base URL."""
    with sample_database(server_url, sample_dir, "gridgov_robust") as (url, engine):
        proc, base = start_server(url, tmp_path)
        try:
            yield url, engine, base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_poisoned_reports_fail_alone_among_ninety_concurrent_ones(
        served: tuple[str, Engine, str]) -> None:
    _, engine, base = served
    with engine.connect() as conn:
        points = basic_grids(conn)
        before = _events(conn)
    bodies = []
    for i in range(90):
        p = points[i % len(points)]
        body = POISONS[i // 15] if i % 15 == 7 else json.dumps(
            {"category": CATEGORIES[i % len(CATEGORIES)], "description": f"robust {i}",
             "location": {"x": "X", "y": "Y"}})
        bodies.append(body.replace('"X"', "X").replace('"Y"', "Y")
                      .replace("X", repr(p["lon"])).replace("Y", repr(p["lat"])))
    results: dict[int, httpx.Response] = {}
    barrier = threading.Barrier(len(bodies))

    def post(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            barrier.wait()
            results[i] = http.post("/api/v1/events", content=bodies[i].encode(),
                                   headers={"content-type": "application/json"})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    poisoned = {i for i in range(90) if i % 15 == 7}
    statuses = {i: r.status_code for i, r in results.items()}
    assert {i: s for i, s in statuses.items() if i in poisoned} == dict.fromkeys(poisoned, 422)
    assert {i: s for i, s in statuses.items() if i not in poisoned} == {
        i: 201 for i in range(90) if i not in poisoned}, {
        i: results[i].text for i in results if i not in poisoned and statuses[i] != 201}
    with engine.connect() as conn:
        assert _events(conn) == before + 90 - len(poisoned)


# -- (5) the database stops and comes back ---------------------------------------------------
@pytest.fixture()
def own_cluster(sample_dir: Path) -> Iterator[tuple[EmbeddedCluster, str]]:
    """A cluster of the test's own (it is stopped and started) with the small sample."""
    with throwaway_cluster("gridgov-restart-") as cluster:
        url = cluster.url()
        upgrade(url)
        engine = make_engine(url, pool_size=1)
        load_directory(engine, sample_dir)
        engine.dispose()
        yield cluster, url


def _unavailable(r: httpx.Response) -> bool:
    return (r.status_code == 503 and r.json()["code"] == "database_unavailable"
            and int(r.headers["Retry-After"]) > 0)


def test_database_down_is_503_and_the_server_recovers_on_its_own(
        own_cluster: tuple[EmbeddedCluster, str], tmp_path: Path) -> None:
    cluster, url = own_cluster
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        points = basic_grids(conn)
    with Session(engine) as own:
        staff = bearer(token_for(own, "admin", "restart-admin"))
        own.commit()
    engine.dispose()
    z, x, y = _tile_of(points[0])
    calls: dict[str, Any] = {
        "report": lambda http, i: http.post("/api/v1/events", json={
            "category": "0101", "location": {"x": points[i]["lon"], "y": points[i]["lat"]}}),
        "events": lambda http, i: http.get("/api/v1/events", params={"limit": 1},
                                           headers=staff),
        "tile": lambda http, i: http.get(f"/tiles/events/{z}/{x + i}/{y}.mvt"),
        "healthz": lambda http, i: http.get("/healthz"),
    }
    proc, base = start_server(url, tmp_path)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            warm = {name: call(http, 0).status_code for name, call in calls.items()}
            warm["tile"] = 200 if warm["tile"] == 204 else warm["tile"]
            assert warm == {"report": 201, "events": 200, "tile": 200, "healthz": 200}
            cluster.stop()
            down = {name: call(http, 1) for name, call in calls.items()}
            cluster.start()
            # the first request of each kind after the restart succeeds
            back = {name: call(http, 2).status_code for name, call in calls.items()}
            back["tile"] = 200 if back["tile"] == 204 else back["tile"]  # 204: an empty tile
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert {name: _unavailable(r) for name, r in down.items()} == dict.fromkeys(calls, True), {
        name: (r.status_code, r.text[:200]) for name, r in down.items()}
    assert back == {"report": 201, "events": 200, "tile": 200, "healthz": 200}

"""Open311 GeoReport v2 at /open311/v2 on the small sample town (PostGIS, rolled back)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.open311.keys import create_key
from api.open311.service import CLOSED_STATUSES
from tests.api.open311_schemas import (
    assert_valid,
    errors_validator,
    swagger_validator,
    validator,
)

BASE = "/open311/v2"
OFFSET = re.compile(r"[+-]\d\d:\d\d$")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _xml(response: Any) -> ElementTree.Element:
    assert response.headers["content-type"].startswith("application/xml")
    return ElementTree.fromstring(response.content)


def _json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _same_second(iso: str, stored: datetime) -> bool:
    """Whether the ISO 8601 text (seconds precision) names the stored instant."""
    return abs(datetime.fromisoformat(iso) - stored) < timedelta(seconds=1)


def _recent_event(connection: Connection, statuses: tuple[str, ...] | None = None) -> int:
    where = "AND status = ANY(:st)" if statuses else ""
    return int(connection.execute(text(
        f"SELECT id FROM events WHERE reported_at > now() - interval '80 days' {where} "
        "ORDER BY reported_at DESC LIMIT 1"), {"st": list(statuses or ())}).scalar_one())


def stored_description(connection: Connection, event_id: int) -> str | None:
    return connection.execute(text("SELECT description FROM events WHERE id = :i"),
                              {"i": event_id}).scalar_one()


@pytest.fixture(autouse=True)
def sample_ends_now(connection: Connection) -> None:
    """Move the sample's timeline (fixed dates) so that it ends now: the tests do not age."""
    shift = connection.execute(text("SELECT now() - max(reported_at) FROM events")).scalar_one()
    cols = ("reported_at", "registered_at", "dispatched_at", "handled_at", "closed_at",
            "evaluated_at", "due_at")
    connection.execute(text("UPDATE events SET " + ", ".join(f"{c} = {c} + :s" for c in cols)),
                       {"s": shift})
    connection.execute(text("UPDATE event_history SET at = at + :s"), {"s": shift})


# -- discovery and services ----------------------------------------------------------
def test_discovery_lists_this_endpoint_in_json_and_xml(client: TestClient) -> None:
    body = _json(client.get(f"{BASE}/discovery.json"))
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert {"application/json", "application/xml"} <= set(endpoint["formats"])
    root = _xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    formats = [f.text for f in root.findall("./endpoints/endpoint/formats/format")]
    assert "application/xml" in formats


def test_services_are_our_categories_grouped_by_major_category(
        client: TestClient, connection: Connection) -> None:
    cats = connection.execute(text(
        "SELECT code, name, major_name FROM event_categories")).all()
    body = _json(client.get(f"{BASE}/services.json"))
    assert_valid(validator("services.json"), body)
    assert {s["service_code"]: (s["service_name"], s["group"]) for s in body} == {
        c.code: (c.name, c.major_name) for c in cats}
    assert {(s["metadata"], s["type"]) for s in body} == {(False, "realtime")}
    assert all(s["keywords"] and s["description"] for s in body)
    for service in body:
        assert_valid(validator("service.json"), service)


def test_services_xml_has_one_service_element_per_category(client: TestClient) -> None:
    root = _xml(client.get(f"{BASE}/services.xml"))
    as_json = client.get(f"{BASE}/services.json").json()
    assert root.tag == "services"
    services = root.findall("service")
    assert [s.findtext("service_code") for s in services] == [
        s["service_code"] for s in as_json]
    assert {s.findtext("metadata") for s in services} == {"false"}
    assert all(s.findtext("group") for s in services)


def test_service_definition_validates_and_unknown_code_is_404(client: TestClient) -> None:
    code = client.get(f"{BASE}/services.json").json()[0]["service_code"]
    body = _json(client.get(f"{BASE}/services/{code}.json"))
    assert_valid(validator("service-definition.json"), body)
    assert body["service_code"] == code
    root = _xml(client.get(f"{BASE}/services/{code}.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == code
    assert root.find("attributes") is not None
    missing = client.get(f"{BASE}/services/9999.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404 and "9999" in missing.json()[0]["description"]


def test_unknown_format_and_foreign_jurisdiction_are_errors(client: TestClient) -> None:
    bad = client.get(f"{BASE}/services.csv")
    assert bad.status_code == 404 and bad.json()[0]["code"] == 404
    other = client.get(f"{BASE}/services.json", params={"jurisdiction_id": "elsewhere.gov"})
    assert other.status_code == 404 and "jurisdiction_id" in other.json()[0]["description"]
    ours = client.get(f"{BASE}/services.json", params={"jurisdiction_id": "gridgov"})
    assert ours.status_code == 200


# -- GET requests ------------------------------------------------------------------
def test_requests_default_to_the_last_90_days_most_recent_first(
        client: TestClient, connection: Connection) -> None:
    def ids_since(interval: str) -> set[str]:
        return {str(i) for i in connection.execute(text(
            f"SELECT id FROM events WHERE reported_at >= now() - interval '{interval}'")
        ).scalars()}

    outer, inner = ids_since("90 days"), ids_since("89 days 23 hours 59 minutes")
    assert 0 < len(outer) <= 1000  # the small sample; the cap has its own test
    body = _json(client.get(f"{BASE}/requests.json"))
    assert_valid(validator("requests.json"), body)
    got = {r["service_request_id"] for r in body}
    assert inner <= got <= outer and len(got) == len(body)
    assert ids_since("100 days") - outer  # older requests exist and are left out
    times = [datetime.fromisoformat(r["requested_datetime"]) for r in body]
    assert times == sorted(times, reverse=True)
    assert min(times) >= datetime.now(SHANGHAI) - timedelta(days=90, minutes=5)


def test_requests_are_capped_at_1000(client: TestClient, connection: Connection) -> None:
    connection.execute(text(
        "INSERT INTO events (public_token, category_id, status, channel, geom, reported_at) "
        "SELECT 'bulk' || i, (SELECT min(id) FROM event_categories), 'registered', 'app', "
        "(SELECT geom FROM events LIMIT 1), now() - i * interval '1 minute' "
        "FROM generate_series(1, 1100) AS i"))
    body = _json(client.get(f"{BASE}/requests.json"))
    assert len(body) == 1000
    newest = datetime.now(SHANGHAI) - timedelta(minutes=1, seconds=30)
    assert datetime.fromisoformat(body[0]["requested_datetime"]) >= newest


def test_one_request_in_json_and_xml_with_timezone_offsets(
        client: TestClient, connection: Connection) -> None:
    event_id = _recent_event(connection)
    body = _json(client.get(f"{BASE}/requests/{event_id}.json"))
    assert_valid(validator("requests.json"), body)
    (req,) = body
    assert_valid(validator("request.json"), req)
    row = connection.execute(text(
        "SELECT e.reported_at, e.due_at, d.name AS dept, c.code, ST_X(e.geom) AS lon, "
        "ST_Y(e.geom) AS lat FROM events e JOIN event_categories c ON c.id = e.category_id "
        "LEFT JOIN departments d ON d.id = e.department_id WHERE e.id = :id"),
        {"id": event_id}).one()
    assert req["service_request_id"] == str(event_id) and req["service_code"] == row.code
    assert req["agency_responsible"] == row.dept
    for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
        if req[key] is not None:
            assert req[key].endswith("+08:00"), req[key]
    assert _same_second(req["requested_datetime"], row.reported_at)
    if row.due_at is not None:
        assert _same_second(req["expected_datetime"], row.due_at)
    assert req["lat"] == pytest.approx(row.lat) and req["long"] == pytest.approx(row.lon)
    root = _xml(client.get(f"{BASE}/requests/{event_id}.xml"))
    assert root.tag == "service_requests"
    (item,) = root.findall("request")
    assert item.findtext("service_request_id") == str(event_id)
    assert OFFSET.search(item.findtext("requested_datetime") or "")
    assert float(item.findtext("lat") or "nan") == pytest.approx(row.lat)


def test_status_maps_our_lifecycle_to_open_and_closed_with_notes(
        client: TestClient, connection: Connection) -> None:
    rows = connection.execute(text(
        "SELECT DISTINCT ON (status) id, status FROM events "
        "WHERE reported_at > now() - interval '80 days' ORDER BY status, reported_at DESC")
    ).all()
    assert {r.status for r in rows} & CLOSED_STATUSES and {r.status for r in rows} - \
        CLOSED_STATUSES
    ids = ",".join(str(r.id) for r in rows)
    body = _json(client.get(f"{BASE}/requests.json", params={"service_request_id": ids}))
    got = {r["service_request_id"]: r for r in body}
    for r in rows:
        req = got[str(r.id)]
        assert req["status"] == ("closed" if r.status in CLOSED_STATUSES else "open")
        note = connection.execute(text(
            "SELECT note FROM event_history WHERE event_id = :id AND note <> '' "
            "ORDER BY at DESC, id DESC LIMIT 1"), {"id": r.id}).scalar()
        assert req["status_notes"] == note
        if req["status"] == "closed" and r.status != "duplicate":
            closed_at = connection.execute(text("SELECT closed_at FROM events WHERE id = :i"),
                                           {"i": r.id}).scalar()
            if closed_at is not None:
                assert _same_second(req["updated_datetime"], closed_at)


def test_service_request_id_overrides_the_other_filters(client: TestClient,
                                                        connection: Connection) -> None:
    old = connection.execute(text(
        "SELECT id FROM events WHERE reported_at < now() - interval '200 days' LIMIT 1")
    ).scalar_one()
    body = _json(client.get(f"{BASE}/requests.json", params={
        "service_request_id": str(old), "start_date": "2026-11-01", "status": "open,closed"}))
    assert [r["service_request_id"] for r in body] == [str(old)]


def test_status_filter_and_service_code_filter(client: TestClient,
                                               connection: Connection) -> None:
    closed = _json(client.get(f"{BASE}/requests.json", params={"status": "closed"}))
    opened = _json(client.get(f"{BASE}/requests.json", params={"status": "open"}))
    both = _json(client.get(f"{BASE}/requests.json", params={"status": "open,closed"}))
    assert {r["status"] for r in closed} == {"closed"}
    assert {r["status"] for r in opened} == {"open"}
    assert len(closed) + len(opened) == len(both)
    code = closed[0]["service_code"]
    some = _json(client.get(f"{BASE}/requests.json", params={"service_code": code}))
    assert some and {r["service_code"] for r in some} == {code}


def test_explicit_window_is_honoured_and_more_than_90_days_is_400(
        client: TestClient, connection: Connection) -> None:
    latest = connection.execute(text("SELECT max(reported_at) FROM events")).scalar_one()
    start = (latest - timedelta(days=40)).astimezone(SHANGHAI).replace(microsecond=0)
    end = start + timedelta(days=14)
    expected = {str(i) for i in connection.execute(text(
        "SELECT id FROM events WHERE reported_at BETWEEN :s AND :e"),
        {"s": start, "e": end}).scalars()}
    body = _json(client.get(f"{BASE}/requests.json", params={
        "start_date": start.isoformat(), "end_date": end.isoformat()}))
    assert expected and {r["service_request_id"] for r in body} == expected
    only_start = _json(client.get(f"{BASE}/requests.json",
                                  params={"start_date": start.isoformat()}))
    assert all(start <= datetime.fromisoformat(r["requested_datetime"])
               <= start + timedelta(days=90) for r in only_start)
    too_wide = client.get(f"{BASE}/requests.json", params={
        "start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"})
    assert too_wide.status_code == 400 and "90 days" in too_wide.json()[0]["description"]


@pytest.mark.parametrize(("params", "word"), [
    ({"status": "pending"}, "status"),
    ({"start_date": "yesterday"}, "start_date"),
    ({"start_date": "2026-06-02", "end_date": "2026-06-01"}, "start_date"),
    ({"service_request_id": "1,abc"}, "service_request_id"),
    ({"service_code": "nope"}, "service_code"),
])
def test_invalid_parameters_are_400_in_the_error_format(client: TestClient,
                                                        params: dict[str, str],
                                                        word: str) -> None:
    res = client.get(f"{BASE}/requests.json", params=params)
    assert res.status_code == 400
    assert_valid(errors_validator(), res.json())
    (error,) = res.json()
    assert error["code"] == 400 and word in error["description"]
    xml = client.get(f"{BASE}/requests.xml", params=params)
    root = _xml(xml)
    assert xml.status_code == 400 and root.tag == "errors"
    assert root.findtext("./error/code") == "400" and word in root.findtext(
        "./error/description", "")


def test_unknown_request_and_token_are_404(client: TestClient) -> None:
    for path in ("requests/987654321.json", "requests/abc.json", "tokens/no-such-token.json"):
        res = client.get(f"{BASE}/{path}")
        assert res.status_code == 404 and res.json()[0]["code"] == 404


def test_token_resolves_to_the_request_id(client: TestClient, connection: Connection) -> None:
    event_id = _recent_event(connection)
    token = connection.execute(text("SELECT public_token FROM events WHERE id = :i"),
                               {"i": event_id}).scalar_one()
    body = _json(client.get(f"{BASE}/tokens/{token}.json"))
    assert_valid(swagger_validator("TokenResponse"), body)
    assert body == [{"service_request_id": str(event_id), "token": token}]
    root = _xml(client.get(f"{BASE}/tokens/{token}.xml"))
    assert root.findtext("./request/service_request_id") == str(event_id)


def test_no_personal_data_in_any_get_response(client: TestClient,
                                              connection: Connection) -> None:
    rows = connection.execute(text(
        "SELECT id, reporter_name, reporter_phone FROM events WHERE reporter_phone IS NOT NULL "
        "AND reported_at > now() - interval '80 days' LIMIT 20")).all()
    assert rows
    personal = client.app.state.gridgov.personal  # type: ignore[attr-defined]
    clear = [(personal.decrypt(r.reporter_phone, "events.reporter_phone"),
              personal.decrypt(r.reporter_name, "events.reporter_name")) for r in rows]
    ids = ",".join(str(r.id) for r in rows)
    texts = [client.get(f"{BASE}/requests.{f}", params={"service_request_id": ids}).text
             for f in ("json", "xml")]
    texts += [client.get(f"{BASE}/requests.json").text,
              client.get(f"{BASE}/requests/{rows[0].id}.xml").text]
    for body in texts:
        for phone, name in clear:
            assert phone not in body
            assert not name or name not in body
        assert "reporter" not in body and "phone" not in body and "email" not in body


def test_timezone_is_configurable(client: TestClient, connection: Connection) -> None:
    client.app.state.settings.api.timezone = "UTC"  # type: ignore[attr-defined]
    try:
        req = client.get(f"{BASE}/requests/{_recent_event(connection)}.json").json()[0]
    finally:
        client.app.state.settings.api.timezone = "Asia/Shanghai"  # type: ignore[attr-defined]
    assert req["requested_datetime"].endswith("+00:00")


# -- API keys --------------------------------------------------------------------
def test_keys_are_stored_hashed_and_revocable(session: Session) -> None:
    from api.open311.keys import check_key, hash_key, revoke_key

    row, key = create_key(session, "hotline")
    assert row.key_hash == hash_key(key) and key not in (row.key_hash, row.key_prefix)
    assert check_key(session, key) is row
    revoke_key(session, str(row.id))
    assert check_key(session, key) is None and row.revoked_at is not None


# -- POST requests ---------------------------------------------------------------
@pytest.fixture()
def api_key(session: Session) -> str:
    _, key = create_key(session, "test hotline")
    session.flush()
    return key


@pytest.fixture()
def inside(connection: Connection) -> tuple[float, float]:
    row = connection.execute(text(
        "SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(g.geom) AS p "
        "FROM grids g JOIN grid_layers l ON l.id = g.layer_id WHERE l.exclusive "
        "ORDER BY g.code LIMIT 1) t")).one()
    return float(row.lon), float(row.lat)


def _count(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())


def _form(service_code: str, lonlat: tuple[float, float], **extra: str) -> dict[str, str]:
    return {"service_code": service_code, "long": str(lonlat[0]), "lat": str(lonlat[1]),
            "description": "垃圾桶满溢 overflowing bin", **extra}


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("", 401), ("not-a-key", 403)])
def test_post_without_or_with_a_bad_key_is_refused(client: TestClient, connection: Connection,
                                                   inside: tuple[float, float],
                                                   key: str | None, status: int) -> None:
    before = _count(connection)
    form = _form("0101", inside) | ({"api_key": key} if key is not None else {})
    res = client.post(f"{BASE}/requests.json", data=form)
    assert res.status_code == status
    assert_valid(errors_validator(), res.json())
    (error,) = res.json()
    assert error["code"] == status and "api_key" in error["description"]
    root = _xml(client.post(f"{BASE}/requests.xml", data=form))
    assert root.tag == "errors" and root.findtext("./error/code") == str(status)
    assert _count(connection) == before


def test_a_revoked_key_is_refused(client: TestClient, session: Session,
                                  inside: tuple[float, float]) -> None:
    from api.open311.keys import revoke_key

    row, key = create_key(session, "old partner")
    revoke_key(session, row.key_prefix)
    session.flush()
    res = client.post(f"{BASE}/requests.json", data=_form("0101", inside, api_key=key))
    assert res.status_code == 403


def test_post_stores_the_request_and_get_returns_it_without_personal_data(
        client: TestClient, connection: Connection, api_key: str,
        inside: tuple[float, float]) -> None:
    form = _form("0101", inside, api_key=api_key, email="li.lei@example.cn",
                 first_name="Lei", last_name="Li", phone="13800138000",
                 media_url="https://photos.example.cn/bin.jpg", **{"attribute[bin_id]": "B-17"})
    res = client.post(f"{BASE}/requests.json", data=form)
    body = _json(res)
    assert_valid(swagger_validator("RequestResponse"), body)
    (created,) = body
    stored = connection.execute(text(
        "SELECT e.id, e.channel, e.reporter_phone, e.reporter_email, e.due_at, e.grids, "
        "e.attributes, d.name AS dept FROM events e "
        "LEFT JOIN departments d ON d.id = e.department_id WHERE e.public_token = :t"),
        {"t": created["token"]}).one()
    assert str(stored.id) == created["service_request_id"]
    personal = client.app.state.gridgov.personal  # type: ignore[attr-defined]
    assert stored.channel == "open311" and stored.reporter_phone.startswith("v1:")
    assert personal.decrypt(stored.reporter_phone, "events.reporter_phone") == "13800138000"
    assert personal.decrypt(stored.reporter_email,
                            "events.reporter_email") == "li.lei@example.cn" and stored.grids
    assert stored.attributes["open311"]["attributes"] == {"bin_id": "B-17"}
    got = _json(client.get(f"{BASE}/requests/{stored.id}.json"))
    assert_valid(validator("requests.json"), got)
    (req,) = got
    assert req["status"] == "open" and req["service_code"] == "0101"
    assert req["agency_responsible"] == stored.dept
    assert _same_second(req["expected_datetime"], stored.due_at)
    assert req["expected_datetime"].endswith("+08:00")
    # residents' text and photos are not published unless the district says so
    assert req["media_url"] is None and req["description"] is None
    client.app.state.settings.open311.public_details = True  # type: ignore[attr-defined]
    (shown,) = _json(client.get(f"{BASE}/requests/{stored.id}.json"))
    assert shown["media_url"] == "https://photos.example.cn/bin.jpg"
    assert shown["description"] == stored_description(connection, stored.id)
    client.app.state.settings.open311.public_details = False  # type: ignore[attr-defined]
    assert (req["long"], req["lat"]) == pytest.approx(inside)
    for fmt in ("json", "xml"):
        text_ = client.get(f"{BASE}/requests/{stored.id}.{fmt}").text
        assert "13800138000" not in text_ and "li.lei" not in text_ and "Lei" not in text_
    token = _json(client.get(f"{BASE}/tokens/{created['token']}.json"))
    assert token[0]["service_request_id"] == created["service_request_id"]


def test_post_answers_xml_with_the_spec_elements(client: TestClient, connection: Connection,
                                                 api_key: str,
                                                 inside: tuple[float, float]) -> None:
    res = client.post(f"{BASE}/requests.xml", data=_form("0101", inside, api_key=api_key))
    assert res.status_code == 200
    root = _xml(res)
    assert root.tag == "service_requests"
    request_id = root.findtext("./request/service_request_id")
    assert request_id and root.findtext("./request/token")
    assert connection.execute(text("SELECT channel FROM events WHERE id = :i"),
                              {"i": int(request_id)}).scalar_one() == "open311"


def test_post_by_building_code_as_address_id(client: TestClient, connection: Connection,
                                             api_key: str) -> None:
    code, address = connection.execute(text(
        "SELECT code, address FROM buildings WHERE address IS NOT NULL ORDER BY code LIMIT 1")
    ).one()
    res = client.post(f"{BASE}/requests.json", data={
        "service_code": "0101", "address_id": code, "api_key": api_key})
    (created,) = _json(res)
    (req,) = client.get(f"{BASE}/requests/{created['service_request_id']}.json").json()
    assert req["address_id"] == code and req["address"] == address


def test_post_outside_the_jurisdiction_is_400_and_nothing_is_stored(
        client: TestClient, connection: Connection, api_key: str) -> None:
    before = _count(connection)
    res = client.post(f"{BASE}/requests.json",
                      data=_form("0101", (116.397, 39.909), api_key=api_key))
    assert res.status_code == 400
    (error,) = res.json()
    assert error["code"] == 400 and "outside" in error["description"].lower()
    assert _count(connection) == before


@pytest.mark.parametrize(("change", "word"), [
    ({"service_code": ""}, "service_code"),
    ({"service_code": "9999"}, "9999"),
    ({"lat": "", "long": ""}, "location"),
    ({"lat": "north"}, "lat"),
    ({"long": ""}, "lat and long"),
    ({"media_url": "ftp://x/y.jpg"}, "media_url"),
    ({"description": "x" * 4001}, "description"),
])
def test_post_invalid_fields_are_400_and_nothing_is_stored(
        client: TestClient, connection: Connection, api_key: str, inside: tuple[float, float],
        change: dict[str, str], word: str) -> None:
    before = _count(connection)
    res = client.post(f"{BASE}/requests.json",
                      data=_form("0101", inside, api_key=api_key) | change)
    assert res.status_code == 400
    assert_valid(errors_validator(), res.json())
    (error,) = res.json()
    assert error["code"] == 400 and word in error["description"]
    assert _count(connection) == before


def test_post_by_address_string_resolves_the_building(client: TestClient,
                                                      connection: Connection,
                                                      api_key: str) -> None:
    code, address = connection.execute(text(
        "SELECT code, address FROM buildings WHERE address IS NOT NULL "
        "ORDER BY code DESC LIMIT 1")).one()
    (created,) = _json(client.post(f"{BASE}/requests.json", data={
        "service_code": "0205", "address_string": address, "api_key": api_key}))
    (req,) = client.get(f"{BASE}/requests/{created['service_request_id']}.json").json()
    assert req["address"] == address and req["address_id"] == code
    unknown = client.post(f"{BASE}/requests.json", data={
        "service_code": "0205", "address_string": address + "不存在的楼", "api_key": api_key})
    assert unknown.status_code == 400 and "address" in unknown.json()[0]["description"]


def test_a_second_report_nearby_is_a_closed_duplicate_with_a_note(
        client: TestClient, api_key: str, inside: tuple[float, float]) -> None:
    first = _json(client.post(f"{BASE}/requests.json",
                              data=_form("0203", inside, api_key=api_key)))[0]
    second = _json(client.post(f"{BASE}/requests.json",
                               data=_form("0203", inside, api_key=api_key)))[0]
    assert second["service_request_id"] != first["service_request_id"]
    (req,) = client.get(f"{BASE}/requests/{second['service_request_id']}.json").json()
    assert req["status"] == "closed"
    assert first["service_request_id"] in (req["status_notes"] or "")


def test_credentials_are_not_looked_at_on_the_public_open311_reads(client: TestClient) -> None:
    # Open311 is public: the gate looks up no credentials there (it has its own api_key)
    resp = client.get(f"{BASE}/services.json", headers={"Authorization": "Bearer gg_nosuch"})
    assert resp.status_code == 200 and resp.json()
    xml = client.get(f"{BASE}/services.xml", headers={"Authorization": "Basic x"})
    assert xml.status_code == 200

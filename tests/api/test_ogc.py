"""OGC API - Features Part 1 at /ogc: documents, paging, filters, negotiation, errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, shape
from sqlalchemy import Connection, text

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"


def _rel(doc: dict[str, Any], rel: str) -> list[dict[str, str]]:
    return [lk for lk in doc["links"] if lk["rel"] == rel]


def test_landing_page_links_the_api_conformance_and_data(client: TestClient) -> None:
    doc = client.get("/ogc").json()
    for rel in ("self", "service-desc", "conformance", "data"):
        assert _rel(doc, rel), rel
    conformance = client.get(_rel(doc, "conformance")[0]["href"]).json()["conformsTo"]
    assert CORE in conformance
    assert {c.rsplit("/", 1)[1] for c in conformance} >= {"core", "oas30", "geojson", "html"}
    api = client.get(_rel(doc, "service-desc")[0]["href"])
    assert api.status_code == 200
    assert api.json()["servers"] == [{"url": "http://testserver/ogc"}]
    assert "/collections/{collection_id}/items" in api.json()["paths"]


def test_collections_are_the_registry_layers_without_personal_data(client: TestClient) -> None:
    doc = client.get("/ogc/collections").json()
    ids = [c["id"] for c in doc["collections"]]
    assert {"buildings", "roads", "cameras", "camera-views", "events", "grids-basic"} <= set(ids)
    for c in doc["collections"]:
        assert c["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
        minx, miny, maxx, maxy = c["extent"]["spatial"]["bbox"][0]
        assert minx < maxx and miny < maxy
        assert {lk["type"] for lk in _rel(c, "items")} == {"application/geo+json", "text/html"}
    events = client.get("/ogc/collections/events").json()
    start, end = events["extent"]["temporal"]["interval"][0]
    assert start < end
    page = client.get("/ogc/collections/events/items", params={"limit": 50}).json()
    keys = set().union(*(f["properties"] for f in page["features"]))
    assert not {k for k in keys if "reporter" in k or k in ("description", "phone", "email")}


def test_items_page_through_next_links_without_overlap(client: TestClient,
                                                       connection: Connection) -> None:
    n = connection.execute(text("SELECT count(*) FROM buildings")).scalar_one()
    first = client.get("/ogc/collections/buildings/items")
    assert first.headers["content-type"].startswith("application/geo+json")
    doc = first.json()
    assert doc["numberMatched"] == n and doc["numberReturned"] == 10  # default limit
    assert doc["timeStamp"].endswith("Z")
    seen: set[int] = set()
    pages = 0
    url: str | None = "/ogc/collections/buildings/items?limit=400"
    while url:
        doc = client.get(url).json()
        ids = {f["id"] for f in doc["features"]}
        assert not ids & seen
        seen |= ids
        pages += 1
        url = next((lk["href"] for lk in _rel(doc, "next")), None)
    assert len(seen) == n and pages == -(-n // 400)
    assert _rel(client.get("/ogc/collections/buildings/items?limit=5&offset=5").json(), "prev")


def test_limit_above_the_maximum_is_lowered_not_refused(client: TestClient) -> None:
    doc = client.get("/ogc/collections/roads/items", params={"limit": 50_000}).json()
    nxt = _rel(doc, "next")
    assert doc["numberReturned"] == min(doc["numberMatched"], 10_000)
    assert not nxt or "limit=10000" in nxt[0]["href"]


def test_bbox_returns_exactly_the_intersecting_features(client: TestClient,
                                                        connection: Connection) -> None:
    bbox = (114.245, 22.715, 114.250, 22.720)
    expected = connection.execute(text(
        "SELECT count(*) FROM buildings WHERE ST_Intersects(geom, "
        "ST_MakeEnvelope(:a, :b, :c, :d, 4326))"), dict(zip("abcd", bbox, strict=True))
    ).scalar_one()
    doc = client.get("/ogc/collections/buildings/items",
                     params={"bbox": ",".join(map(str, bbox)), "limit": 10_000}).json()
    assert 0 < doc["numberMatched"] == expected == doc["numberReturned"]
    assert all(shape(f["geometry"]).intersects(box(*bbox)) for f in doc["features"])


def test_datetime_intervals_with_open_ends(client: TestClient, connection: Connection) -> None:
    cut = connection.execute(text(
        "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY reported_at) FROM events")
    ).scalar_one()
    iso = cut.isoformat()
    total = connection.execute(text("SELECT count(*) FROM events")).scalar_one()
    before = connection.execute(text("SELECT count(*) FROM events WHERE reported_at <= :t"),
                                {"t": cut}).scalar_one()
    after = connection.execute(text("SELECT count(*) FROM events WHERE reported_at >= :t"),
                               {"t": cut}).scalar_one()

    def matched(dt: str) -> int:
        resp = client.get("/ogc/collections/events/items", params={"datetime": dt, "limit": 1})
        assert resp.status_code == 200, resp.text
        return int(resp.json()["numberMatched"])

    assert matched(f"../{iso}") == before
    assert matched(f"{iso}/..") == after
    assert matched(f"{iso}/{iso}") == matched(iso) >= 1
    assert matched("../..") == total


def test_property_and_declared_filters(client: TestClient, connection: Connection) -> None:
    community = connection.execute(text(
        "SELECT community_code FROM buildings GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    ).scalar_one()
    n = connection.execute(text("SELECT count(*) FROM buildings WHERE community_code = :c"),
                           {"c": community}).scalar_one()
    doc = client.get("/ogc/collections/buildings/items",
                     params={"community_code": community, "limit": 10_000}).json()
    assert doc["numberMatched"] == n
    assert {f["properties"]["community_code"] for f in doc["features"]} == {community}
    floors = client.get("/ogc/collections/buildings/items",
                        params={"floors": 8, "limit": 10_000}).json()
    assert floors["features"] and {f["properties"]["floors"] for f in floors["features"]} == {8}
    closed = connection.execute(text(
        "SELECT count(*) FROM events WHERE status IN ('closed', 'evaluated')")).scalar_one()
    doc = client.get("/ogc/collections/events/items",
                     params={"status": "closed,evaluated", "limit": 1}).json()
    assert doc["numberMatched"] == closed


@pytest.mark.parametrize("params", [
    {"colour": "red"},                 # unknown parameter
    {"limit": "0"}, {"limit": "ten"}, {"offset": "-1"},
    {"bbox": "1,2,3"}, {"bbox": "114,23,115,22"},
    {"datetime": "yesterday"}, {"datetime": "2026-02-01/2026-01-01"},
    {"floors": "many"}, {"f": "xml"}, {"bbox-crs": "EPSG:3857"},
])
def test_invalid_query_parameters_answer_400(client: TestClient, params: dict[str, str]) -> None:
    resp = client.get("/ogc/collections/buildings/items" if "datetime" not in params
                      else "/ogc/collections/events/items", params=params)
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "invalid_parameter"


def test_single_items_and_missing_ones(client: TestClient, connection: Connection) -> None:
    bid, code = connection.execute(text("SELECT id, code FROM buildings ORDER BY id LIMIT 1")
                                   ).one()
    doc = client.get(f"/ogc/collections/buildings/items/{bid}").json()
    assert doc["id"] == bid and doc["properties"]["code"] == code
    assert _rel(doc, "collection")
    assert client.get("/ogc/collections/buildings/items/999999999").status_code == 404
    assert client.get("/ogc/collections/buildings/items/abc").status_code == 404
    assert client.get("/ogc/collections/nope").status_code == 404
    assert client.get("/ogc/collections/nope/items").status_code == 404


def test_html_by_accept_header_or_f_parameter(client: TestClient) -> None:
    html = client.get("/ogc/collections", headers={"Accept": "text/html,*/*;q=0.8"})
    assert html.headers["content-type"].startswith("text/html")
    assert "buildings" in html.text and "<table>" in html.text
    assert client.get("/ogc/collections?f=json",
                      headers={"Accept": "text/html"}).headers["content-type"] == \
        "application/json"
    page = client.get("/ogc/collections/buildings/items?f=html&limit=3")
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count("/ogc/collections/buildings/items/") >= 3
    conformance = client.get("/ogc/conformance").json()["conformsTo"]
    assert client.get("/ogc/conformance?f=html").text.count("<li>") == len(conformance)
    json_default = client.get("/ogc", headers={"Accept": "application/json"})
    assert json_default.headers["content-type"] == "application/json"

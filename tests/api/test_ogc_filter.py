"""OGC API Features Part 3 at /ogc: queryables, CQL2 text and JSON filters run in SQL, sortby."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

ITEMS = "/ogc/collections/events/items"


def _matched(client: TestClient, url: str = ITEMS, **params: Any) -> int:
    resp = client.get(url, params={"limit": 1, **params})
    assert resp.status_code == 200, resp.text
    return int(resp.json()["numberMatched"])


def _count(connection: Connection, where: str, params: dict[str, Any] | None = None) -> int:
    return int(connection.execute(text(
        "SELECT count(*) FROM events e JOIN event_categories c ON c.id = e.category_id "
        f"WHERE {where}"), params or {}).scalar_one())


def test_queryables_are_a_json_schema_of_the_collection(client: TestClient) -> None:
    collection = client.get("/ogc/collections/events").json()
    (link,) = [lk for lk in collection["links"]
               if lk["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables"]
    resp = client.get(link["href"])
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/schema+json"
    doc = resp.json()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == link["href"] and doc["type"] == "object"
    assert doc["additionalProperties"] is False
    props = doc["properties"]
    assert props["geometry"] == {"title": "geometry", "x-ogc-role": "primary-geometry",
                                 "format": "geometry-point"}
    assert "in_progress" in props["status"]["enum"]
    assert props["reported_at"]["format"] == "date-time"
    assert props["building_id"]["type"] == "integer"
    assert not {k for k in props if "reporter" in k or k in ("description", "phone")}
    html = client.get(link["href"], params={"f": "html"})
    assert html.headers["content-type"].startswith("text/html") and "reported_at" in html.text
    assert client.get("/ogc/collections/nope/queryables").status_code == 404
    conformance = client.get("/ogc/conformance").json()["conformsTo"]
    for part in ("ogcapi-features-3/1.0/conf/queryables", "ogcapi-features-3/1.0/conf/filter",
                 "ogcapi-features-3/1.0/conf/features-filter", "cql2/1.0/conf/cql2-text",
                 "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2"):
        assert f"http://www.opengis.net/spec/{part}" in conformance


def test_cql2_text_filters_match_the_same_sql(client: TestClient,
                                              connection: Connection) -> None:
    in_progress = _count(connection, "e.status = 'in_progress'")
    assert in_progress > 0
    assert _matched(client, filter="status = 'in_progress'") == in_progress
    t = connection.execute(text("SELECT percentile_disc(0.5) WITHIN GROUP "
                                "(ORDER BY reported_at) FROM events")).scalar_one()
    later_closed = _count(connection, "e.status IN ('closed', 'evaluated') AND "
                                      "e.reported_at >= :t", {"t": t})
    assert 0 < later_closed
    stamp = t.isoformat().replace("+00:00", "Z")
    assert _matched(client, filter=f"status IN ('closed', 'evaluated') AND "
                                   f"reported_at >= TIMESTAMP('{stamp}')") == later_closed
    # AND binds tighter than OR, as CQL2 says
    mixed = _count(connection, "e.status = 'closed' OR (e.status = 'registered' "
                               "AND e.channel = 'hotline')")
    assert _matched(client, filter="status = 'closed' OR status = 'registered' AND "
                                   "channel = 'hotline'") == mixed
    assert _matched(client, filter="NOT (status = 'closed') AND building_id IS NOT NULL") == \
        _count(connection, "e.status <> 'closed' AND e.building_id IS NOT NULL")
    assert _matched(client, filter="category_code LIKE '01%'") == \
        _count(connection, "c.code LIKE '01%'")
    # a quote inside a string is doubled, and stays a value
    assert _matched(client, filter="status = 'x'' OR ''1''=''1'") == 0
    deep = "(" * 3000 + "status = 'closed'" + ")" * 3000
    assert _matched(client, filter=deep) == _count(connection, "e.status = 'closed'")
    assert _matched(client, filter="overdue = TRUE") == \
        _matched(client, overdue="true")


def test_cql2_json_filters_give_what_cql2_text_gives(client: TestClient) -> None:
    expr = {"op": "and", "args": [
        {"op": "in", "args": [{"property": "status"}, ["closed", "evaluated"]]},
        {"op": "s_intersects", "args": [{"property": "geometry"}, {
            "type": "Polygon", "coordinates": [[[114.0, 22.0], [115.0, 22.0], [115.0, 23.0],
                                                [114.0, 23.0], [114.0, 22.0]]]}]}]}
    as_json = _matched(client, filter=json.dumps(expr), **{"filter-lang": "cql2-json"})
    as_text = _matched(client, filter="status IN ('closed', 'evaluated') AND S_INTERSECTS("
                                      "geometry, POLYGON((114 22, 115 22, 115 23, 114 23, "
                                      "114 22)))", **{"filter-crs": "EPSG:4326"})
    assert as_json == as_text == _matched(client, status="closed,evaluated",
                                          bbox="114,22,115,23")
    assert as_json > 0


def test_spatial_filters_agree_with_bbox(client: TestClient) -> None:
    bbox = client.get("/ogc/collections/buildings").json()["extent"]["spatial"]["bbox"][0]
    minx, miny, maxx, maxy = bbox
    half = f"{minx},{miny},{(minx + maxx) / 2},{maxy}"
    url = "/ogc/collections/buildings/items"
    by_bbox = _matched(client, url, bbox=half)
    assert 0 < by_bbox < _matched(client, url)
    assert _matched(client, url, filter=f"BBOX(geometry, {half})") == by_bbox
    assert _matched(client, url, filter=f"NOT S_INTERSECTS(geometry, BBOX({half}))") == \
        _matched(client, url) - by_bbox


def test_filter_and_paging_links_keep_the_filter(client: TestClient,
                                                 connection: Connection) -> None:
    expected = set(connection.execute(text(
        "SELECT id FROM events WHERE status = 'closed'")).scalars())
    seen: list[int] = []
    url: str | None = ITEMS + "?filter=status%20%3D%20%27closed%27&limit=37"
    while url:
        doc = client.get(url).json()
        seen += [f["id"] for f in doc["features"]]
        url = next((lk["href"] for lk in doc["links"] if lk["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) and set(seen) == expected


def test_sortby_orders_features_and_pages_stay_stable(client: TestClient) -> None:
    doc = client.get(ITEMS, params={"sortby": "-reported_at", "limit": 200}).json()
    times = [f["properties"]["reported_at"] for f in doc["features"]]
    assert times == sorted(times, reverse=True) and len(times) == 200
    doc = client.get(ITEMS, params={"sortby": "status,-reported_at", "limit": 300}).json()
    keys = [(f["properties"]["status"], f["properties"]["reported_at"]) for f in doc["features"]]
    assert keys == sorted(keys, key=lambda k: (k[0], _neg(k[1])))
    # '+' written unencoded in a URL arrives as a space, and still means ascending
    plus = client.get(ITEMS + "?sortby=+reported_at&limit=50").json()
    times = [f["properties"]["reported_at"] for f in plus["features"]]
    assert times == sorted(times)


def _neg(stamp: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in stamp)


@pytest.mark.parametrize("params, parameter", [
    ({"filter": "status = "}, "filter"),
    ({"filter": "colour = 'red'"}, "filter"),              # not a queryable
    ({"filter": "reporter_phone = '1'"}, "filter"),        # personal data is not queryable
    ({"filter": "building_id = 'abc'"}, "filter"),         # wrong type
    ({"filter": "reported_at > 'yesterday'"}, "filter"),
    ({"filter": "S_INTERSECTS(status, POINT(1 2))"}, "filter"),
    ({"filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 0 1, 1 0, 0 0)))"}, "filter"),
    ({"filter": "building_id = 1 + 2"}, "filter"),
    ({"filter": "1 = 1"}, "filter"),
    ({"filter": "building_id = 99999999999999999999"}, "filter"),
    ({"filter": "category_code LIKE 'ab\\'"}, "filter"),    # SQL would refuse the pattern
    ({"filter": '{"op":"not","args":[' * 1200 + '{"op":"=","args":[{"property":"status"},'
      '"closed"]}' + "]}" * 1200, "filter-lang": "cql2-json"}, "filter"),    # too deep
    ({"filter": '{"op": "=", "args": [{"property": "status"}]}',
      "filter-lang": "cql2-json"}, "filter"),
    ({"filter": "{not json", "filter-lang": "cql2-json"}, "filter"),
    ({"filter": "status = 'closed'", "filter-lang": "sql"}, "filter-lang"),
    ({"filter": "status = 'closed'", "filter-crs": "EPSG:3857"}, "filter-crs"),
    ({"sortby": "colour"}, "sortby"),
])
def test_bad_filters_answer_400_naming_the_parameter(client: TestClient,
                                                     params: dict[str, str],
                                                     parameter: str) -> None:
    resp = client.get(ITEMS, params=params)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "invalid_parameter"
    assert body["message"].startswith(f"query parameter '{parameter}'")


def test_openapi_of_the_ogc_api_lists_each_collections_queryables(client: TestClient) -> None:
    doc = client.get("/ogc/api").json()
    assert doc["servers"] == [{"url": "http://testserver/ogc"}]
    assert not any(p.startswith("/api/v1") for p in doc["paths"])
    params = {p["name"]: p for p in doc["paths"]["/collections/events/items"]["get"]
              ["parameters"]}
    assert {"filter", "filter-lang", "sortby", "status", "reported_at"} <= set(params)
    assert "cql-text" in params["filter-lang"]["schema"]["enum"]

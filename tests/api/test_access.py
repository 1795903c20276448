"""Every route of the app, one by one: the public surface is an explicit list; every other
route answers 401 without credentials and 403 to a user outside its roles or scope; reads
that list events give each user only the events of their scope (checked against SQL)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.access import allowed_roles, is_public
from api.auth.principal import ScopeCache, expand_scope
from api.main import create_app
from tests.api.events_support import bearer, token_for

#: the public surface (README, "Sign-in, roles and scopes"): anything else needs sign-in
PUBLIC = {
    ("GET", "/healthz"), ("GET", "/api/v1/categories"),
    ("POST", "/api/v1/events"), ("GET", "/api/v1/track/{token}"),
    ("POST", "/api/v1/track/{token}/evaluation"), ("GET", "/b/{code}"),
    ("GET", "/t/{token}"), ("GET", "/api/v1/track/{token}/photos/{photo_id}"),
    ("GET", "/report"),
    ("GET", "/api/v1/buildings/{code}/qr.svg"), ("GET", "/api/v1/buildings/{code}/qr.png"),
    ("GET", "/open311/v2/discovery.{fmt}"), ("GET", "/open311/v2/services.{fmt}"),
    ("GET", "/open311/v2/services/{service_code}.{fmt}"),
    ("GET", "/open311/v2/requests.{fmt}"),
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"),
    ("GET", "/open311/v2/tokens/{token}.{fmt}"), ("POST", "/open311/v2/requests.{fmt}"),
    ("GET", "/tiles"), ("GET", "/tiles/{layers}.json"),
    ("GET", "/tiles/{layers}/{z}/{x}/{y}.mvt"), ("GET", "/tiles/raster/{name}.json"),
    ("GET", "/tiles/raster/{name}/{z}/{x}/{y}.png"),
    ("GET", "/ogc"), ("GET", "/ogc/api"), ("GET", "/ogc/api.html"), ("GET", "/ogc/conformance"),
    ("GET", "/ogc/collections"), ("GET", "/ogc/collections/{collection_id}"),
    ("GET", "/ogc/collections/{collection_id}/queryables"),
    ("GET", "/ogc/collections/{collection_id}/items"),
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"),
    ("GET", "/api/v1/grid-layers"), ("GET", "/api/v1/grids"), ("GET", "/api/v1/grids/{code}"),
    ("GET", "/api/v1/buildings"), ("GET", "/api/v1/cameras"),
    ("GET", "/"), ("GET", "/static/{path:path}"), ("GET", "/vendor/{package}/{path:path}"),
    ("GET", "/api/v1/web/config"), ("GET", "/docs"),
    ("GET", "/sign-in"), ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/cameras/{code}/heartbeat"),
    ("GET", "/field"),
    ("GET", "/desk"), ("GET", "/desk/cases/{event_id}"), ("GET", "/desk/inbox"),
    ("GET", "/screen"),
    ("POST", "/api/v1/people/declarations"),
    ("POST", "/api/v1/cameras/{code}/detections"),
    # a neighbouring gridgov's transfers, with the Open311 key we gave it (api/handover/peer)
    ("POST", "/open311/v2/gridgov/transfers.json"),
    ("GET", "/open311/v2/gridgov/transfers/{transfer_id}.json"),
}

#: staff routes on one event: a user outside the event's scope gets 403
EVENT_ROUTES = {
    ("GET", "/api/v1/events/{event_id}"), ("POST", "/api/v1/events/{event_id}/actions"),
    ("GET", "/api/v1/events/{event_id}/photos/{photo_id}"),
    ("GET", "/api/v1/web/event-actions/{event_id}"),
    ("GET", "/api/v1/events/{event_id}/reporter"),
    ("GET", "/api/v1/events/{event_id}/deadline-requests"),
    ("POST", "/api/v1/events/{event_id}/deadline-requests"),
    ("GET", "/api/v1/events/{event_id}/escalation"),
    ("GET", "/api/v1/events/{event_id}/subtasks"),
    ("GET", "/api/v1/workbench/cases/{event_id}"),
    ("POST", "/api/v1/workbench/cases/{event_id}/actions"),
    ("POST", "/api/v1/workbench/cases/{event_id}/supervise"),
    ("POST", "/api/v1/workbench/cases/{event_id}/route"),
    ("POST", "/api/v1/workbench/cases/{event_id}/category"),
}

#: staff routes that list or count events: filtered by scope (tests below)
FILTERED_ROUTES = {
    ("GET", "/api/v1/events"), ("GET", "/api/v1/stats/events"),
    ("GET", "/api/v1/web/dashboard"), ("GET", "/api/v1/web/live-events"),
    ("POST", "/api/v1/buildings/scan"), ("POST", "/api/v1/personal/lookup"),
    ("GET", "/api/v1/workbench/queue"), ("GET", "/api/v1/workbench/live"),
    ("GET", "/api/v1/screen/summary"),
}

#: staff routes holding no event or personal data: any signed-in staff role
STAFF_ROUTES = {
    ("POST", "/api/v1/assign"), ("GET", "/api/v1/grids/qa"),
    ("GET", "/api/v1/buildings/{code}"), ("GET", "/api/v1/grids/{code}/plates.pdf"),
    ("GET", "/api/v1/beidou/{code}"), ("GET", "/api/v1/beidou"), ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/routing/preview"),
    ("GET", "/api/v1/auth/me/channels"), ("PUT", "/api/v1/auth/me/channels"),
    ("GET", "/api/v1/calendars/deadline"), ("GET", "/api/v1/workbench/departments"),
    ("GET", "/api/v1/people/special-tags"),
}

#: staff routes of the people archive: roles and scope per route in tests/api/test_people.py
PEOPLE_ROUTES = {
    ("GET", "/api/v1/people/persons"), ("POST", "/api/v1/people/persons"),
    ("GET", "/api/v1/people/persons/{person_id}"),
    ("PATCH", "/api/v1/people/persons/{person_id}"),
    ("POST", "/api/v1/people/persons/{person_id}/unmask"),
    ("POST", "/api/v1/people/persons/{person_id}/moves"),
    ("POST", "/api/v1/people/persons/{person_id}/tags"),
    ("DELETE", "/api/v1/people/persons/{person_id}/tags/{tag}"),
    ("POST", "/api/v1/people/persons/{person_id}/visits"),
    ("POST", "/api/v1/people/visits/{visit_id}/case"), ("GET", "/api/v1/people/visits/due"),
    ("GET", "/api/v1/people/visits/kpi"), ("POST", "/api/v1/people/lookup"),
    ("GET", "/api/v1/people/buildings/{code}"), ("PATCH", "/api/v1/people/rooms/{code}"),
    ("POST", "/api/v1/people/organisations"), ("GET", "/api/v1/people/export.csv"),
    ("GET", "/api/v1/people/stats"), ("GET", "/api/v1/people/declarations"),
    ("POST", "/api/v1/people/declarations/{declaration_id}/verify"),
    ("POST", "/api/v1/people/declarations/{declaration_id}/reject"),
}

#: what a path parameter is filled with when a route is called without caring for the answer
FILL = {"fmt": "json", "layers": "events", "z": "0", "x": "0", "y": "0", "name": "density",
        "collection_id": "events", "feature_id": "1", "path": "x.js", "package": "leaflet",
        "photo_id": "1", "token": "nosuchtoken", "service_code": "0101",
        "service_request_id": "1", "code": "G0", "token_id": "1", "kind": "rules",
        "rule_id": "1", "version_id": "1", "notification_id": "1",
        "request_id": "1", "calendar_code": "default", "day": "2025-10-01",
        "department": "CGJ", "alert_id": "1",
        "shift_id": "00000000-0000-0000-0000-000000000000", "worker_id": "1",
        "person_id": "1", "visit_id": "1", "tag": "elderly_alone", "declaration_id": "1",
        "detection_id": "1", "transfer_id": "1", "language": "zh"}


def _routes() -> list[tuple[str, str, Any]]:
    app = create_app()
    out: list[Any] = []
    for route in iter_route_contexts(app.routes):
        if route.endpoint is None or not hasattr(route.original_route, "dependant"):
            continue  # FastAPI's own /openapi.json and /docs pages
        out.extend((method, route.path, route.endpoint) for method in sorted(route.methods or ())
                   if method != "HEAD")
    return out


ROUTES = _routes()


def _url(path: str, event_id: int) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        return str(event_id) if name == "event_id" else FILL[name]
    return re.sub(r"\{([^}]+)\}", value, path)


def test_every_route_is_classified_and_the_public_surface_is_the_documented_one() -> None:
    seen = {(m, p) for m, p, _ in ROUTES}
    marked_public = {(m, p) for m, p, endpoint in ROUTES if is_public(endpoint)}
    assert marked_public == PUBLIC
    staff = seen - PUBLIC
    classified = EVENT_ROUTES | FILTERED_ROUTES | STAFF_ROUTES | PEOPLE_ROUTES | role_routes()
    assert staff - classified == set(), "classify each new staff route in this test"
    assert classified - seen == set(), "these routes are gone: update the test"


def role_routes() -> set[tuple[str, str]]:
    return {(m, p) for m, p, endpoint in ROUTES if allowed_roles(endpoint) is not None}


@pytest.mark.parametrize(("method", "path"), sorted({(m, p) for m, p, _ in ROUTES} - PUBLIC))
def test_staff_routes_answer_401_without_credentials(client: TestClient, method: str,
                                                     path: str) -> None:
    resp = client.request(method, _url(path, 1))
    assert resp.status_code == 401, resp.text
    assert resp.json()["code"] == "unauthorized"
    assert resp.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_public_routes_need_no_credentials(client: TestClient, method: str,
                                           path: str) -> None:
    resp = client.request(method, _url(path, 1))  # empty bodies: 4xx of their own
    refused_by_the_gate = resp.status_code == 401 and "www-authenticate" in resp.headers
    assert not refused_by_the_gate, resp.text  # (Open311 asks for its own api_key)


@pytest.fixture()
def two_grids(session: Session) -> tuple[str, str, int]:
    """Two grids of the basic layer, and an event in the second one."""
    rows = session.execute(text(
        "SELECT e.grids ->> 'basic' AS grid, min(e.id) AS event_id FROM events e "
        "WHERE e.grids ? 'basic' GROUP BY 1 ORDER BY 1 LIMIT 2")).all()
    (mine, _), (other, event_id) = rows
    return str(mine), str(other), int(event_id)


@pytest.mark.parametrize(("method", "path"), sorted(EVENT_ROUTES))
def test_event_routes_answer_403_out_of_scope(client: TestClient, session: Session,
                                              two_grids: tuple[str, str, int], method: str,
                                              path: str) -> None:
    mine, _, other_event = two_grids
    worker = bearer(token_for(session, "grid_worker", "w-access", grids=[mine]))
    body = {"action": "handle"} if method == "POST" else None
    resp = client.request(method, _url(path, other_event), headers=worker, json=body)
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == "out_of_scope"


def test_role_routes_answer_403_to_other_roles(client: TestClient, session: Session,
                                               two_grids: tuple[str, str, int]) -> None:
    worker = bearer(token_for(session, "grid_worker", "w-roles", grids=[two_grids[0]]))
    analyst = bearer(token_for(session, "analyst", "an-roles"))  # for the field app's routes
    routes = sorted(role_routes())
    assert routes, "the analytics routes are limited to some roles"
    for method, path in routes:
        endpoint = next(e for m, p, e in ROUTES if (m, p) == (method, path))
        outsider = analyst if "grid_worker" in (allowed_roles(endpoint) or ()) else worker
        resp = client.request(method, _url(path, 1), headers=outsider)
        assert resp.status_code == 403, (path, resp.text)
        assert resp.json()["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path"), sorted(STAFF_ROUTES))
def test_staff_routes_let_any_staff_role_in(client: TestClient, session: Session,
                                            method: str, path: str) -> None:
    analyst = bearer(token_for(session, "analyst", "an-staff"))
    resp = client.request(method, _url(path, 1), headers=analyst)
    assert resp.status_code not in (401, 403), resp.text


# -- filtered reads: each user sees the events of their scope, counted in SQL ---------------
def _count(session: Session, where: str, **params: Any) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM events e WHERE {where}"),
                               params).scalar_one())


def test_a_grid_worker_lists_only_the_events_of_their_grids(
        client: TestClient, session: Session, two_grids: tuple[str, str, int]) -> None:
    mine = two_grids[0]
    worker = bearer(token_for(session, "grid_worker", "w-list", grids=[mine]))
    page = client.get("/api/v1/events", params={"limit": 1000}, headers=worker).json()
    assert page["numberMatched"] == _count(session, "e.grids ->> 'basic' = :g", g=mine) > 0
    assert {f["properties"]["grids"]["basic"] for f in page["features"]} == {mine}
    stats = client.get("/api/v1/stats/events", params={"group_by": "grid"},
                       headers=worker).json()
    assert stats["total"]["reported"] == page["numberMatched"]
    dash = client.get("/api/v1/web/dashboard", headers=worker).json()
    assert dash["total"] == page["numberMatched"]
    live = client.get("/api/v1/web/live-events", params={"limit": 1000}, headers=worker).json()
    assert live["features"] and all(f["properties"]["grids"]["basic"] == mine
                                    for f in live["features"])


def test_a_street_dispatcher_sees_only_their_street(client: TestClient,
                                                   session: Session) -> None:
    street, n_streets = session.execute(text(
        "SELECT min(code), count(*) FROM admin_areas WHERE level = 'street'")).one()
    assert n_streets >= 2, "the sample town has several streets"
    disp = bearer(token_for(session, "dispatcher", "d-street", areas=[street]))
    page = client.get("/api/v1/events", params={"limit": 10}, headers=disp).json()
    expected = _count(session, "e.street_code = :s", s=street)
    assert 0 < page["numberMatched"] == expected < _count(session, "TRUE")
    assert {f["properties"]["street_code"] for f in page["features"]} == {street}
    by_street = client.get("/api/v1/stats/events", params={"group_by": "street"},
                           headers=disp).json()
    assert [g["key"] for g in by_street["groups"]] == [street]
    # an event of another street: 403, and its actions too
    other = session.execute(text("SELECT min(id) FROM events WHERE street_code <> :s"),
                            {"s": street}).scalar_one()
    assert client.get(f"/api/v1/events/{other}", headers=disp).status_code == 403
    mine = session.execute(text("SELECT min(id) FROM events WHERE street_code = :s"),
                           {"s": street}).scalar_one()
    assert client.get(f"/api/v1/events/{mine}", headers=disp).status_code == 200


def test_a_community_scope_covers_only_that_community(client: TestClient,
                                                      session: Session) -> None:
    community = session.execute(text(
        "SELECT community_code FROM events WHERE community_code IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar_one()
    disp = bearer(token_for(session, "dispatcher", "d-comm", areas=[community]))
    page = client.get("/api/v1/events", params={"limit": 1}, headers=disp).json()
    assert page["numberMatched"] == _count(session, "e.community_code = :c", c=community)


def test_a_handler_sees_only_their_departments_events(client: TestClient,
                                                      session: Session) -> None:
    handler = bearer(token_for(session, "handler", "h-dep", department="CGJ"))
    page = client.get("/api/v1/events", params={"limit": 1}, headers=handler).json()
    expected = _count(session, "e.department_id = (SELECT id FROM departments "
                               "WHERE code = 'CGJ')")
    assert 0 < page["numberMatched"] == expected


def test_a_district_scope_covers_its_streets_and_communities(client: TestClient,
                                                            session: Session) -> None:
    district = session.execute(text(
        "SELECT code FROM admin_areas WHERE level = 'district' ORDER BY code LIMIT 1")
    ).scalar_one()
    disp = bearer(token_for(session, "dispatcher", "d-dist", areas=[district]))
    page = client.get("/api/v1/events", params={"limit": 1}, headers=disp).json()
    expected = _count(session, "e.street_code IN (SELECT code FROM admin_areas "
                               "WHERE parent_code = :d) OR e.community_code IN (SELECT c.code "
                               "FROM admin_areas c JOIN admin_areas s ON s.code = c.parent_code "
                               "WHERE s.parent_code = :d)", d=district)
    assert 0 < page["numberMatched"] == expected


def test_unknown_expired_and_malformed_credentials_are_401(client: TestClient,
                                                           session: Session) -> None:
    assert client.get("/api/v1/events", headers=bearer("gg_nope")).status_code == 401
    assert client.get("/api/v1/events",
                      headers={"Authorization": "Basic eDp5"}).status_code == 401
    token = token_for(session, "analyst", "an-exp")
    session.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 minute' "
                         "WHERE user_id = (SELECT id FROM users WHERE name = 'an-exp')"))
    assert client.get("/api/v1/events", headers=bearer(token)).status_code == 401
    # a bad token on a public route that reads its caller is refused, not ignored
    report = client.post("/api/v1/events", json={"category": "0101"}, headers=bearer("gg_x"))
    assert report.status_code == 401
    # public reads do not even look at credentials (tiles cost the same signed in)
    assert client.get("/api/v1/categories", headers=bearer("gg_nope")).status_code == 200


def test_a_reporter_lookup_finds_only_events_in_scope(client: TestClient,
                                                      session: Session) -> None:
    rows = session.execute(text(
        "SELECT e.grids ->> 'basic' AS grid, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat "
        "FROM events e WHERE e.grids ? 'basic' ORDER BY e.id LIMIT 200")).all()
    by_grid = {r.grid: r for r in rows}
    (g1, p1), (g2, p2) = list(by_grid.items())[:2]
    phone = "13700001111"
    ids = []
    for p in (p1, p2):  # the same resident reports in two grids
        made = client.post("/api/v1/events", json={
            "category": "0401", "location": {"x": p.lon, "y": p.lat},
            "reporter": {"phone": phone}})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    admin = bearer(token_for(session, "admin", "lk-admin"))
    street = session.execute(text("SELECT street_code FROM events WHERE id = :i"),
                             {"i": ids[0]}).scalar_one()
    other = session.execute(text("SELECT street_code FROM events WHERE id = :i"),
                            {"i": ids[1]}).scalar_one()
    everyone = client.post("/api/v1/personal/lookup", json={"phone": phone}, headers=admin)
    assert set(everyone.json()["events"]) == set(ids)
    disp = bearer(token_for(session, "dispatcher", "lk-disp", areas=[street]))
    mine = client.post("/api/v1/personal/lookup", json={"phone": phone}, headers=disp).json()
    expected = {i for i, s in zip(ids, (street, other), strict=True) if s == street}
    assert set(mine["events"]) == expected
    worker = bearer(token_for(session, "grid_worker", "lk-w", grids=[g1]))
    refused = client.post("/api/v1/personal/lookup", json={"phone": phone}, headers=worker)
    assert refused.status_code == 403  # grid workers do not read reporters' contacts


def test_a_changed_scope_or_a_revoked_token_counts_at_the_next_request(
        client: TestClient, session: Session) -> None:
    first, second = session.execute(text(
        "SELECT code FROM admin_areas WHERE level = 'street' ORDER BY code LIMIT 2")).scalars()
    token = token_for(session, "dispatcher", "d-moves", areas=[first])
    page = client.get("/api/v1/events", params={"limit": 1}, headers=bearer(token)).json()
    assert page["numberMatched"] == _count(session, "e.street_code = :s", s=first)
    session.execute(text("UPDATE users SET area_codes = ARRAY[:s] WHERE name = 'd-moves'"),
                    {"s": second})
    page = client.get("/api/v1/events", params={"limit": 1}, headers=bearer(token)).json()
    assert page["numberMatched"] == _count(session, "e.street_code = :s", s=second)
    session.execute(text("UPDATE api_tokens SET revoked_at = now() WHERE user_id = "
                         "(SELECT id FROM users WHERE name = 'd-moves')"))
    assert client.get("/api/v1/events", headers=bearer(token)).status_code == 401


def test_a_new_sub_area_joins_cached_scopes_when_they_expire(session: Session) -> None:
    now = [0.0]
    cache = ScopeCache(ttl=30.0, clock=lambda: now[0])
    street = session.execute(text(
        "SELECT code FROM admin_areas WHERE level = 'street' ORDER BY code LIMIT 1")).scalar()
    areas, _ = expand_scope(session, (street,), (), cache)  # type: ignore[arg-type]
    session.execute(text("INSERT INTO admin_areas (code, name, level, parent_code) "
                         "VALUES (:c, '新社区', 'community', :s)"),
                    {"c": f"{street}999", "s": street})
    assert expand_scope(session, (street,), (), cache)[0] == areas  # type: ignore[arg-type]  # still the cached one
    now[0] = 31.0
    assert set(expand_scope(session, (street,), (), cache)[0]) == {*areas, f"{street}999"}  # type: ignore[arg-type]

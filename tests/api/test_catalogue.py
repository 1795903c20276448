"""The catalogue through the app as an admin: departments, categories, routing rules and
users changed, refused, exported and imported (CSV, XLSX), every change audited; and the
routing preview, which must answer what intake assigns."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.settings import Settings
from tests.api.events_support import basic_grids, bearer, event_settings, signed_in


@pytest.fixture()
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    return event_settings(database_url, tmp_path / "photos")


@pytest.fixture()
def admin(client: TestClient, session: Session) -> TestClient:
    return signed_in(client, session)


def _audited(session: Session, action: str, object_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in session.execute(text(
        "SELECT actor, before, after FROM audit_log WHERE action = :a AND object_id = :o "
        "ORDER BY id"), {"a": action, "o": object_id}).mappings()]


def test_departments_are_created_changed_and_removed_with_audit(admin: TestClient,
                                                               session: Session) -> None:
    made = admin.put("/api/v1/departments/WJW", json={"name": "卫生健康局"})
    assert made.status_code == 200, made.text
    assert made.json() == {"code": "WJW", "name": "卫生健康局", "name_en": None}
    changed = admin.put("/api/v1/departments/WJW", json={"name_en": "Health Commission"})
    assert changed.json()["name"] == "卫生健康局"
    assert changed.json()["name_en"] == "Health Commission"
    assert "WJW" in {d["code"] for d in admin.get("/api/v1/departments").json()}
    assert admin.delete("/api/v1/departments/WJW").status_code == 204
    assert "WJW" not in {d["code"] for d in admin.get("/api/v1/departments").json()}
    rows = _audited(session, "department.save", "WJW")
    assert [r["actor"] for r in rows] == ["as-admin", "as-admin"]
    assert rows[0]["before"] is None and rows[1]["before"]["name_en"] is None
    assert rows[1]["after"]["name_en"] == "Health Commission"
    assert _audited(session, "department.remove", "WJW")[0]["after"] is None


def test_a_department_in_use_or_unnamed_is_refused(admin: TestClient) -> None:
    busy = admin.delete("/api/v1/departments/CGJ")
    assert busy.status_code == 409
    assert busy.json()["code"] == "department_in_use"
    assert "events" in busy.json()["message"]
    unnamed = admin.put("/api/v1/departments/NEW", json={})
    assert unnamed.status_code == 422
    assert "'name'" in unnamed.json()["message"]
    assert admin.delete("/api/v1/departments/NOPE").status_code == 404


def test_a_category_is_created_in_a_known_major_class_and_shown_publicly(
        admin: TestClient, session: Session) -> None:
    made = admin.put("/api/v1/categories/0199", json={
        "major_code": "01", "name": "共享单车乱停放", "department": "CGJ",
        "time_limit_hours": 2})
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["major_name"] == "市容环境"  # taken from the major class
    assert body["department"] == "CGJ" and body["time_limit_hours"] == 2
    public = admin.get("/api/v1/categories").json()
    minor = next(c for m in public if m["code"] == "01" for c in m["categories"]
                 if c["code"] == "0199")
    assert minor["department"]["code"] == "CGJ"
    report = admin.post("/api/v1/events", json={"category": "0199", "location": {
        "x": basic_grids(session)[0]["lon"], "y": basic_grids(session)[0]["lat"]}})
    assert report.status_code == 201, report.text
    assert admin.delete("/api/v1/categories/0199").json()["code"] == "category_in_use"
    assert _audited(session, "category.save", "0199")[0]["after"]["department"] == "CGJ"


@pytest.mark.parametrize(("body", "code"), [
    ({"major_code": "01", "name": "x"}, "invalid_field"),           # no time limit
    ({"major_code": "01", "name": "x", "time_limit_hours": 1, "department": "NOPE"},
     "unknown_department"),
    ({"time_limit_hours": -1}, "invalid_parameter"),
])
def test_bad_categories_are_422_and_nothing_is_stored(admin: TestClient, session: Session,
                                                      body: dict[str, Any], code: str) -> None:
    resp = admin.put("/api/v1/categories/0198", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == code
    assert session.execute(text("SELECT count(*) FROM event_categories WHERE code = '0198'")
                           ).scalar_one() == 0


def test_rules_are_checked_saved_once_per_area_and_removed(admin: TestClient,
                                                           session: Session) -> None:
    community = basic_grids(session)[0]["community_code"]
    rule = {"scope": "community", "scope_code": community, "category": "01",
            "department": "JDB"}
    first = admin.post("/api/v1/routing-rules", json=rule)
    assert first.status_code == 200, first.text
    again = admin.post("/api/v1/routing-rules", json={**rule, "department": "SWJ"})
    assert again.json()["id"] == first.json()["id"]  # the same rule, changed
    listed = [r for r in admin.get("/api/v1/routing-rules").json() if r["scope_code"] == community]
    assert [r["department"] for r in listed] == ["SWJ"]
    for bad, code in (({**rule, "scope_code": "999999999999"}, "unknown_area"),
                      ({**rule, "category": "77"}, "unknown_category"),
                      ({**rule, "department": "NOPE"}, "unknown_department")):
        resp = admin.post("/api/v1/routing-rules", json=bad)
        assert resp.status_code == 422 and resp.json()["code"] == code, resp.text
    street = admin.post("/api/v1/routing-rules", json={**rule, "scope": "street"})
    assert street.json()["code"] == "unknown_area"  # a community code is not a street
    rule_id = first.json()["id"]
    assert admin.delete(f"/api/v1/routing-rules/{rule_id}").status_code == 204
    assert admin.delete(f"/api/v1/routing-rules/{rule_id}").status_code == 404
    actions = [r[0] for r in session.execute(text(
        "SELECT action FROM audit_log WHERE object_type = 'routing_rule' AND object_id = :i "
        "ORDER BY id"), {"i": str(rule_id)})]
    assert actions == ["rule.save", "rule.save", "rule.remove"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_catalogue_round_trips_through_csv_and_xlsx(admin: TestClient, session: Session,
                                                       fmt: str) -> None:
    exported = admin.get(f"/api/v1/catalogue/categories.{fmt}")
    assert exported.status_code == 200
    frame = (pd.read_csv(io.BytesIO(exported.content), dtype=str) if fmt == "csv"
             else pd.read_excel(io.BytesIO(exported.content), dtype=str))
    n = session.execute(text("SELECT count(*) FROM event_categories")).scalar_one()
    assert len(frame) == n
    assert frame.set_index("code").loc["0101", "department_code"] == "CGJ"
    frame.loc[frame["code"] == "0101", "time_limit_hours"] = "6"
    frame.loc[frame["code"] == "0101", "department_code"] = "JDB"
    buf = io.BytesIO()
    if fmt == "csv":
        frame.to_csv(buf, index=False)
    else:
        frame.to_excel(buf, index=False)
    imported = admin.post("/api/v1/catalogue/categories",
                          files={"file": (f"mine.{fmt}", buf.getvalue())})
    assert imported.status_code == 200, imported.text
    assert imported.json()["rows"] == n
    row = session.execute(text(
        "SELECT c.time_limit_hours, d.code FROM event_categories c JOIN departments d "
        "ON d.id = c.department_id WHERE c.code = '0101'")).one()
    assert tuple(row) == (6.0, "JDB")


def test_a_bad_row_refuses_the_whole_file(admin: TestClient, session: Session) -> None:
    csv = "code,name,name_en\nWJW,卫生健康局,Health\nXXX,,\n"
    resp = admin.post("/api/v1/catalogue/departments", files={"file": ("d.csv", csv.encode())})
    assert resp.status_code == 422
    assert resp.json()["message"].startswith("row 3: field 'name'")
    assert session.execute(text("SELECT count(*) FROM departments WHERE code = 'WJW'")
                           ).scalar_one() == 0
    wrong = admin.post("/api/v1/catalogue/rules", files={"file": ("r.csv", b"scope\ngrid\n")})
    assert wrong.json()["code"] == "missing_columns"
    other = admin.post("/api/v1/catalogue/rules", files={"file": ("r.txt", b"x")})
    assert other.json()["code"] == "invalid_file"


def test_users_are_imported_with_scopes_and_new_ones_get_a_token(admin: TestClient,
                                                                 session: Session) -> None:
    grid = basic_grids(session)[0]
    csv = (f"name,role,department_code,areas,grids,active\n"
           f"wang,grid_worker,,,{grid['code']},true\n"
           f"li,handler,CGJ,,,true\n").encode()
    resp = admin.post("/api/v1/catalogue/users", files={"file": ("u.csv", csv)})
    assert resp.status_code == 200, resp.text
    tokens = resp.json()["tokens"]
    assert set(tokens) == {"wang", "li"}
    me = admin.get("/api/v1/auth/me", headers=bearer(tokens["wang"])).json()
    assert me["grids"] == [grid["code"]] and me["role"] == "grid_worker"
    moved = (f"name,role,department_code,areas,grids,active\n"
             f"li,dispatcher,,{grid['community_code']},,false\n").encode()
    again = admin.post("/api/v1/catalogue/users", files={"file": ("u.csv", moved)})
    assert again.json()["tokens"] == {}
    out = pd.read_csv(io.BytesIO(admin.get("/api/v1/catalogue/users.csv").content), dtype=str)
    li = out.set_index("name").loc["li"]
    assert (li["role"], li["areas"], li["active"]) == ("dispatcher", grid["community_code"],
                                                       "False")
    assert admin.get("/api/v1/auth/me", headers=bearer(tokens["li"])).status_code == 401


# -- routing preview -----------------------------------------------------------------------
def _preview(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/routing/preview", json=body)


def _point(g: dict[str, Any]) -> dict[str, Any]:
    return {"x": g["lon"], "y": g["lat"]}


@pytest.fixture()
def rules(session: Session) -> dict[str, Any]:
    """One rule of every kind around the sample's grids; where each applies."""
    grids = basic_grids(session)
    by_community: dict[str, list[dict[str, Any]]] = {}
    for g in grids:
        by_community.setdefault(g["community_code"], []).append(g)
    community, inside = next((c, gs) for c, gs in sorted(by_community.items()) if len(gs) >= 3)
    street = community[:9]
    sibling = next(g for c, gs in sorted(by_community.items()) for g in gs
                   if c != community and c[:9] == street)
    elsewhere = next(g for g in grids if g["community_code"][:9] != street)
    functional = session.execute(text(
        "SELECT g.code, ST_X(ST_PointOnSurface(g.geom)) AS lon, "
        "ST_Y(ST_PointOnSurface(g.geom)) AS lat FROM grids g JOIN grid_layers l "
        "ON l.id = g.layer_id WHERE l.name = 'functional' AND g.valid_to IS NULL "
        "ORDER BY g.code LIMIT 1")).mappings().one()
    deps = {str(r[0]): int(r[1]) for r in session.execute(text(
        "SELECT code, id FROM departments"))}
    ids: dict[Any, Any] = dict(session.execute(text(
        "INSERT INTO routing_rules (scope, scope_code, category_code, department_id) VALUES "
        "('street', :street, '01', :a), ('community', :community, '0101', :b), "
        "('grid', :grid, '01', :c), ('grid', :fgrid, '04', :d) "
        "RETURNING scope || ':' || category_code, id"),
        {"street": street, "community": community, "grid": inside[0]["code"],
         "fgrid": functional["code"], "a": deps["JDB"], "b": deps["SWJ"], "c": deps["STHJ"],
         "d": deps["GAJ"]}).all())
    return {"ids": ids, "inside": inside, "sibling": sibling, "elsewhere": elsewhere,
            "functional": dict(functional)}


CASES = [  # (where, category, department, rule kind)
    ("inside0", "0101", "STHJ", "grid"),        # grid rule beats the community rule
    ("inside1", "0101", "SWJ", "community"),    # community rule, minor category
    ("inside1", "0103", "JDB", "street"),       # only the street rule (major 01) fits
    ("sibling", "0102", "JDB", "street"),       # street rule in another community
    ("elsewhere", "0101", "CGJ", None),         # no rule: the category's default
    ("functional", "0401", "GAJ", "grid"),      # a grid of a non-exclusive layer
]


def _where(rules: dict[str, Any], where: str) -> dict[str, Any]:
    if where.startswith("inside"):
        return dict(rules["inside"][int(where[-1])])
    return dict(rules[where])


@pytest.mark.parametrize(("where", "category", "department", "kind"), CASES)
def test_the_preview_answers_what_intake_assigns(client: TestClient, session: Session,
                                                 rules: dict[str, Any], where: str,
                                                 category: str, department: str,
                                                 kind: str | None) -> None:
    signed_in(client, session, "dispatcher")
    g = _where(rules, where)
    seen = _preview(client, {"category": category, "location": _point(g)})
    assert seen.status_code == 200, seen.text
    answer = seen.json()
    client.headers.pop("Authorization")
    made = client.post("/api/v1/events", json={"category": category, "location": _point(g)})
    assert made.status_code == 201, made.text
    event = made.json()
    assert answer["department"]["code"] == event["department"]["code"] == department
    assert answer["grids"] == event["grids"]
    assert answer["community"]["code"] == event["community_code"]
    assert answer["street"]["code"] == event["street_code"]
    if kind is None:
        assert answer["rule"] is None and answer["matched_by"] == "category_default"
    else:
        assert answer["rule"]["kind"] == kind and answer["matched_by"] == "rule"
        assert answer["rule"]["id"] == rules["ids"][f"{kind}:{answer['rule']['category']}"]
    assert [s["step"] for s in answer["steps"]] == ["dispatch", "handling", "verification"]
    handling = answer["steps"][1]  # intake dispatches at once: handling runs from the report
    assert not handling["working"]  # the sample's limits run in natural time
    limit = timedelta(hours=handling["time_limit_hours"])
    assert (datetime.fromisoformat(event["due_at"]) - datetime.fromisoformat(
        event["reported_at"])) == limit
    assert datetime.fromisoformat(handling["due_at"]) - datetime.fromisoformat(
        answer["at"]) == limit


def test_the_preview_locates_by_building_and_address_and_stores_nothing(
        admin: TestClient, session: Session) -> None:
    b = session.execute(text(
        "SELECT code, address FROM buildings WHERE address IS NOT NULL ORDER BY code LIMIT 1")
    ).one()
    before = session.execute(text("SELECT count(*) FROM events")).scalar_one()
    by_code = _preview(admin, {"category": "0101", "building_code": b.code}).json()
    by_address = _preview(admin, {"category": "0101", "address": b.address}).json()
    assert by_code["building_code"] == by_address["building_code"] == b.code
    assert by_code["grids"] == by_address["grids"] and by_code["grids"]["basic"]
    assert by_code["community"]["name"]
    at = "2026-10-01T09:00:00+08:00"
    timed = _preview(admin, {"category": "0101", "building_code": b.code, "at": at}).json()
    dispatch, handling, _ = timed["steps"]
    assert dispatch["due_at"] is None  # the sample's categories set no dispatch limit
    assert datetime.fromisoformat(handling["due_at"]) == datetime.fromisoformat(
        "2026-10-01T05:00:00+00:00")  # 4 h after 01:00Z
    assert session.execute(text("SELECT count(*) FROM events")).scalar_one() == before


@pytest.mark.parametrize(("body", "code"), [
    ({"category": "0101", "location": {"x": 0.5, "y": 0.5}}, "outside_jurisdiction"),
    ({"category": "9999", "building_code": "__none__"}, "building_not_found"),
    ({"category": "0101"}, "location_required"),
    ({"category": "0101", "location": {"x": 1, "y": 2, "crs": "EPSG:99999"}}, "unknown_crs"),
    ({"category": "0101", "address": "x", "at": "2026-10-01T09:00:00"}, "invalid_field"),
])
def test_bad_previews_are_422(admin: TestClient, body: dict[str, Any], code: str) -> None:
    resp = _preview(admin, body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == code


def test_an_unknown_category_is_named(admin: TestClient, session: Session) -> None:
    g = basic_grids(session)[0]
    resp = _preview(admin, {"category": "9999", "location": _point(g)})
    assert resp.status_code == 422
    assert resp.json()["code"] == "unknown_category"


def test_a_batch_import_routes_as_the_preview_does(client: TestClient, session: Session,
                                                   rules: dict[str, Any]) -> None:
    from api.events.bulk_import import import_event_frame
    from api.io.importer import ImportOptions

    signed_in(client, session, "dispatcher")
    places = [_where(rules, where) for where, *_ in CASES]
    frame = gpd.GeoDataFrame({"category": [category for _, category, *_ in CASES]},
                             geometry=[shapely.Point(g["lon"], g["lat"]) for g in places],
                             crs=4326)
    first = session.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar_one()
    options = ImportOptions(category_map={c: c for c in frame["category"]})
    assert import_event_frame(session.connection(), frame, options) == len(CASES)
    imported = [r[0] for r in session.execute(text(
        "SELECT d.code FROM events e LEFT JOIN departments d ON d.id = e.department_id "
        "WHERE e.id > :first ORDER BY e.id"), {"first": first})]
    previewed = [_preview(client, {"category": category, "location": _point(g)}).json()
                 ["department"]["code"] for (_, category, *_), g in zip(CASES, places,
                                                                      strict=True)]
    assert imported == previewed == [department for _, _, department, _ in CASES]


def test_a_categorys_step_limits_and_clocks_are_administered_and_used(
        admin: TestClient, session: Session) -> None:
    made = admin.put("/api/v1/categories/0197", json={
        "major_code": "01", "name": "井盖缺失", "department": "CGJ", "time_limit_hours": 4,
        "handling_working": True, "dispatch_limit_hours": 0.5})
    assert made.status_code == 200, made.text
    assert made.json()["handling_working"] is True
    assert made.json()["dispatch_limit_hours"] == 0.5
    g = basic_grids(session)[0]
    friday = "2025-11-14T16:00:00+08:00"  # 1.5 working hours left that day
    answer = _preview(admin, {"category": "0197", "location": _point(g), "at": friday}).json()
    dispatch, handling, _ = answer["steps"]
    assert (dispatch["working"], dispatch["time_limit_hours"]) == (False, 0.5)
    assert datetime.fromisoformat(dispatch["due_at"]) == datetime.fromisoformat(
        "2025-11-14T16:30:00+08:00")  # natural time
    assert handling["working"] is True
    assert datetime.fromisoformat(handling["due_at"]) == datetime.fromisoformat(
        "2025-11-17T11:00:00+08:00")  # 1.5 h on Friday, 2.5 h from Monday 08:30
    cleared = admin.put("/api/v1/categories/0197", json={"dispatch_limit_hours": 0})
    assert cleared.json()["dispatch_limit_hours"] is None
    table = admin.get("/api/v1/catalogue/categories.csv").text
    header, *rows = table.splitlines()
    assert "handling_working" in header
    assert any(r.startswith("0197,") and "True" in r for r in rows)
    public = admin.get("/api/v1/categories").json()
    minor = next(c for m in public for c in m["categories"] if c["code"] == "0197")
    assert minor["working_time"] == {"dispatch": False, "handling": True,
                                     "verification": False}

"""``gridgov department|category|rule ...``, ``gridgov user set|import|export`` and
``gridgov grids version ...`` on a database of the test's own with the sample town: what the
commands store is what the app then answers (the routing preview, intake on the grids a
published version redrew)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app as cli
from api.main import create_app
from testkit.databases import sample_database
from tests.api.events_support import bearer, event_settings


@pytest.fixture(scope="module")
def own(server_url: str, sample_dir: Path) -> Iterator[tuple[str, Engine]]:
    """A database of the module's own with the sample town (the commands commit)."""
    with sample_database(server_url, sample_dir, "gridgov_rules") as made:
        yield made


@pytest.fixture(scope="module")
def run(own: tuple[str, Engine]) -> Any:
    """Run ``gridgov ARGS`` against the module's database."""
    runner = CliRunner()
    env = {"DATABASE_URL": own[0]}

    def invoke(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(cli, list(args), env=env)
        assert (result.exit_code == 0) == ok, (result.stdout, result.stderr)
        return result

    return invoke


@pytest.fixture()
def api(own: tuple[str, Engine], tmp_path: Path) -> Iterator[TestClient]:
    """The app on the module's database."""
    with TestClient(create_app(event_settings(own[0], tmp_path / "photos"))) as client:
        yield client


def _lines(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_departments_categories_and_rules_from_the_command_line(
        run: Any, own: tuple[str, Engine], api: TestClient, tmp_path: Path) -> None:
    run("department", "save", "WJW", "--name", "卫生健康局", "--name-en", "Health")
    run("category", "save", "0199", "--major-code", "01", "--name", "共享单车乱停放",
        "--department", "WJW", "--time-limit-hours", "2")
    cats = {c["code"]: c for c in _lines(run("category", "list", "--json"))}
    assert cats["0199"]["department"] == "WJW" and cats["0199"]["major_name"] == "市容环境"
    with own[1].connect() as conn:
        grid, community, lon, lat = conn.execute(text(
            "SELECT g.code, g.community_code, ST_X(ST_PointOnSurface(g.geom)), "
            "ST_Y(ST_PointOnSurface(g.geom)) FROM grids g JOIN grid_layers l "
            "ON l.id = g.layer_id WHERE l.name = 'basic' AND g.valid_to IS NULL "
            "ORDER BY g.code LIMIT 1")).one()
    rule_id = run("rule", "add", "--scope", "community", "--code", community,
                  "--category", "0199", "--department", "CGJ").stdout.strip()
    shown = json.loads(run("rule", "preview", "--category", "0199", "--x", str(lon),
                           "--y", str(lat)).stdout)
    assert shown["department"]["code"] == "CGJ"
    assert shown["rule"] == {"id": int(rule_id), "kind": "community", "scope_code": community,
                             "category": "0199"}
    assert shown["grids"]["basic"] == grid
    # the tables: export, change, import back
    out = tmp_path / "rules.xlsx"
    run("rule", "export", str(out))
    rules = pd.read_excel(out, dtype=str)
    rules.loc[rules["category"] == "0199", "department_code"] = "WJW"
    rules.to_excel(out, index=False)
    run("rule", "import", str(out))
    report = api.post("/api/v1/events", json={"category": "0199",
                                              "location": {"x": lon, "y": lat}})
    assert report.json()["department"]["code"] == "WJW"
    bad = run("department", "remove", "WJW", ok=False)
    assert "in use" in bad.stderr
    run("rule", "remove", rule_id)
    assert [r for r in _lines(run("rule", "list", "--json")) if r["category"] == "0199"] == []
    with own[1].connect() as conn:
        actors = {r[0] for r in conn.execute(text(
            "SELECT actor FROM audit_log WHERE action LIKE 'rule.%' OR action LIKE "
            "'department.%' OR action LIKE 'category.%'"))}
    assert actors and all(a.startswith("cli:") for a in actors)


def test_user_scopes_are_set_imported_and_exported(run: Any, api: TestClient,
                                                   tmp_path: Path) -> None:
    token = run("user", "create", "--name", "zhao", "--role", "dispatcher").stdout.strip()
    run("user", "set", "zhao", "--role", "handler", "--department", "CGJ")
    me = api.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert (me["role"], me["department"]) == ("handler", "CGJ")
    assert "grid worker needs" in run("user", "set", "zhao", "--role", "grid_worker",
                                      ok=False).stderr
    table = tmp_path / "users.csv"
    table.write_text("name,role,department_code,areas,grids,active\n"
                     "qian,analyst,,,,true\n", encoding="utf-8")
    made = run("user", "import", str(table))
    name, new_token = made.stdout.strip().split("\t")
    assert name == "qian"
    assert api.get("/api/v1/auth/me", headers=bearer(new_token)).json()["role"] == "analyst"
    run("user", "export", str(tmp_path / "all.csv"))
    exported = pd.read_csv(tmp_path / "all.csv", dtype=str).set_index("name")
    assert exported.loc["zhao", "department_code"] == "CGJ"


def test_a_version_published_from_the_command_line_is_used_by_intake(
        run: Any, own: tuple[str, Engine], api: TestClient, tmp_path: Path) -> None:
    with own[1].connect() as conn:
        rows = conn.execute(text(
            "SELECT g.code, ST_AsBinary(g.geom) AS wkb FROM grids g JOIN grid_layers l "
            "ON l.id = g.layer_id WHERE l.name = 'basic' AND g.valid_to IS NULL "
            "ORDER BY g.code")).all()
        a, b = conn.execute(text(
            "SELECT a.code, b.code FROM grids a JOIN grids b ON a.layer_id = b.layer_id "
            "AND a.code < b.code AND a.valid_to IS NULL AND b.valid_to IS NULL "
            "AND a.community_code = b.community_code AND "
            "ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 0 "
            "JOIN grid_layers l ON l.id = a.layer_id WHERE l.name = 'basic' "
            "ORDER BY 1, 2 LIMIT 1")).one()
    grids = gpd.GeoDataFrame({"code": [r.code for r in rows]},
                             geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]), crs=4326)
    by_code = grids.set_index("code").geometry
    inside_b = by_code[b].buffer(-0.0002).representative_point()
    merged = grids[grids["code"] != b].copy()
    merged.loc[merged["code"] == a, "geometry"] = shapely.union(by_code[a], by_code[b])
    path = tmp_path / "basic.gpkg"
    merged.to_file(path, layer="grids", driver="GPKG")
    version = run("grids", "version", "upload", str(path), "--layer", "basic").stdout.strip()
    assert "1 removed" in run("grids", "version", "show", version).stderr
    assert "QA after: ok" in run("grids", "version", "repair", version).stderr
    before = api.post("/api/v1/events", json={"category": "0101", "location": {
        "x": inside_b.x, "y": inside_b.y}}).json()
    assert before["grids"]["basic"] == b
    run("grids", "version", "publish", version, "--effective",
        "2026-11-30T00:00:00+08:00")
    listed = run("grids", "version", "list", "--layer", "basic").stdout
    assert f"{version}\tbasic\tpublished" in listed
    after = api.post("/api/v1/events", json={"category": "0102", "location": {
        "x": inside_b.x, "y": inside_b.y}})
    assert after.json()["grids"]["basic"] == a  # the running app's grid index followed
    with own[1].connect() as conn:
        kept = conn.execute(text("SELECT grids ->> 'basic' FROM events WHERE id = :i"),
                            {"i": before["id"]}).scalar_one()
    assert kept == a  # reported after the effective date: assigned again
    assert "not a draft" in run("grids", "version", "discard", version, ok=False).stderr

"""Grid topology QA over the stored layers: HTTP report, CLI, refusal on import."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app as cli
from api.db.session import make_engine
from api.io.importer import ImportOptions, import_file
from tests.api.events_support import signed_in


@pytest.fixture()
def client(client: TestClient, session: Session) -> TestClient:
    """These routes are for staff: the tests call them signed in as an admin."""
    return signed_in(client, session)


def test_sample_layers_are_clean(client: TestClient) -> None:
    for layer in ("basic", "functional"):
        resp = client.get("/api/v1/grids/qa", params={"layer": layer})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["ok"] is True, body["findings"]["features"][:3]
        assert body["errors"] == 0
        assert body["summary"]["grids"] >= 5
    assert client.get("/api/v1/grids/qa", params={"layer": "functional"}).json()[
        "exclusive"] is False


def test_a_shrunk_grid_leaves_a_gap_named_by_its_neighbours(client: TestClient,
                                                             session: Session) -> None:
    code = session.execute(text(
        "SELECT g.code FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
        "WHERE l.name = 'basic' ORDER BY g.code LIMIT 1 OFFSET 3")).scalar_one()
    session.execute(text("UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, -0.0003)) "
                         "WHERE code = :c"), {"c": code})
    body = client.get("/api/v1/grids/qa", params={"layer": "basic"}).json()
    assert body["ok"] is False
    gaps = [f for f in body["findings"]["features"] if f["properties"]["kind"] == "gap"]
    assert gaps and any(code in f["properties"]["codes"] for f in gaps)
    assert sum(f["properties"]["area_m2"] for f in gaps) > 1000
    ring = session.execute(text(
        "SELECT ST_AsText(ST_Difference(o.geom, ST_Buffer(o.geom, -0.0003))) FROM grids o "
        "WHERE o.code = :c"), {"c": code}).scalar_one()
    assert ring is not None
    assert all(shape(f["geometry"]).is_valid for f in gaps)


def test_an_overlap_is_an_error_in_an_exclusive_layer(client: TestClient,
                                                      session: Session) -> None:
    a, b = session.execute(text(
        "SELECT g.code FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
        "WHERE l.name = 'basic' ORDER BY g.code LIMIT 2")).scalars().all()
    session.execute(text("UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, 0.0003)) "
                         "WHERE code = :c"), {"c": a})
    body = client.get("/api/v1/grids/qa", params={"layer": "basic"}).json()
    overlaps = [f["properties"]["codes"] for f in body["findings"]["features"]
                if f["properties"]["kind"] == "overlap"]
    assert overlaps and all(a in codes for codes in overlaps)
    assert b is not None


def test_unknown_layer_is_404(client: TestClient) -> None:
    resp = client.get("/api/v1/grids/qa", params={"layer": "nope"})
    assert resp.status_code == 404
    assert "basic" in resp.json()["message"]
    assert client.get("/api/v1/grids/qa").status_code == 422


def test_cli_reports_a_real_layer_with_an_overlap(empty_database_url: str, shared_data: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_url = empty_database_url
    engine: Engine = make_engine(fresh_url, pool_size=1)
    path = shared_data / "us_buildings" / "philadelphia_police_service_areas.geojson"
    runner = CliRunner()
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    refused = runner.invoke(cli, ["import", "grids", str(path), "--layer", "psa",
                                  "--code-field", "psa_id"])
    assert refused.exit_code == 1
    assert "--allow-invalid" in refused.output and "overlap" in refused.output
    import_file(engine, "grids", path, ImportOptions(layer="psa", code_field="psa_id",
                                                     allow_invalid=True))
    engine.dispose()
    result = runner.invoke(cli, ["grids", "check", "--layer", "psa"])
    assert result.exit_code == 1, result.output
    assert "overlap" in result.output and "77A" in result.output and "gap" in result.output

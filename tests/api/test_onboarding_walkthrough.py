"""docs/onboarding.md, run command for command on a fresh database, then checked as a user would.

Every line ``$ gridgov ...`` of the page's ``console`` blocks runs through the
CLI (``$DATA`` is ``../shared/data``), ``$ python -m data_samples.onboarding``
writes the district's files; then a report, the KPIs per street and the plates
are checked through the HTTP API.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app as cli
from api.db.session import make_engine
from api.main import create_app
from api.settings import Settings
from coding.building_codes import is_valid
from data_samples import onboarding
from testkit.databases import migrated_database

PAGE = Path(__file__).resolve().parents[2] / "docs" / "onboarding.md"


def steps() -> list[str]:
    """The ``$ ...`` lines of the page's console blocks, in order."""
    blocks = re.findall(r"```console\n(.*?)```", PAGE.read_text(), flags=re.S)
    return [line[2:] for block in blocks for line in block.splitlines()
            if line.startswith("$ ")]


def _run(step: str, data: Path, runner: CliRunner, env: dict[str, str]) -> str:
    words = shlex.split(step.replace("$DATA", str(data)))
    if words[:3] == ["python", "-m", "data_samples.onboarding"]:
        onboarding.write(words[3], data)
        return ""
    assert words[0] == "gridgov", step
    result = runner.invoke(cli, words[1:], env=env)
    assert result.exit_code == 0, f"{step}\n{result.output}"
    return result.stdout


@pytest.fixture(scope="module")
def district(server_url: str, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[dict[str, Any]]:
    """The walk-through run on a database of its own: its URL and every step's output."""
    work = tmp_path_factory.mktemp("onboarding")
    with migrated_database(server_url, "gridgov_onboard") as url, \
            pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        env = {"DATABASE_URL": url, "GRIDGOV_TIMEZONE": "UTC"}
        runner = CliRunner()
        outputs = {}
        for step in steps():
            if step.startswith("export "):
                continue
            outputs[step] = _run(step, shared_data, runner, env)
        yield {"url": url, "outputs": outputs, "work": work}


@pytest.fixture(scope="module")
def engine(district: dict[str, Any]) -> Iterator[Engine]:
    eng = make_engine(district["url"], pool_size=2)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def client(district: dict[str, Any]) -> Iterator[TestClient]:
    settings = Settings()
    settings.db.database_url = district["url"]
    settings.events.escalation_interval_seconds = 0
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_page_has_the_steps_of_an_onboarding() -> None:
    kinds = [s.split()[2] for s in steps() if s.startswith("gridgov import")]
    assert kinds == ["admin", "admin", "admin", "grids", "buildings", "catalogue", "events"]


def test_everything_is_linked_to_its_community_street_and_district(engine: Engine) -> None:
    with engine.connect() as conn:
        areas: dict[Any, Any] = dict(conn.execute(text(
            "SELECT code, parent_code FROM admin_areas ORDER BY code")).all())
        unlinked = conn.execute(text(
            "SELECT (SELECT count(*) FROM grids WHERE community_code IS NULL), "
            "(SELECT count(*) FROM buildings WHERE community_code IS NULL), "
            "(SELECT count(*) FROM events WHERE community_code IS NULL "
            "OR street_code IS NULL)")).one()
        buildings = conn.execute(text("SELECT code, external_code FROM buildings")).all()
    assert areas["440305"] is None and areas["440305005"] == "440305"
    assert areas["440305005002"] == "440305005"
    assert tuple(unlinked) == (0, 0, 0)
    assert len(buildings) == 5438
    assert all(is_valid(code) for code, _ in buildings)
    assert all(external.startswith("fid-") for _, external in buildings)


def test_naive_beijing_times_are_stored_in_utc(engine: Engine, district: dict[str, Any]
                                               ) -> None:
    hotline = (district["work"] / "nanshan" / "hotline.csv").read_text(encoding="utf-8-sig")
    first = hotline.splitlines()[1].split(",")
    with engine.connect() as conn:
        stored, channel = conn.execute(text(
            "SELECT to_char(reported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), channel "
            "FROM events WHERE attributes->>'external_id' = :id"), {"id": first[0]}).one()
    local = first[2]
    assert local.startswith("2024-10-08 ")
    hour = int(local[11:13])
    assert stored == f"2024-10-08 {hour - 8:02d}:{local[14:16]}"  # Beijing is UTC+8
    assert channel == onboarding.CHANNELS[first[3]]


def test_a_new_report_gets_its_community_and_street(client: TestClient) -> None:
    resp = client.post("/api/v1/events", json={
        "category": "0101", "description": "垃圾", "location": {"x": 113.915, "y": 22.51}})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["community_code"] == "440305005002"
    assert body["street_code"] == "440305005"
    assert body["grids"]["basic"].startswith("440305005002")


def test_kpis_per_street(client: TestClient, district: dict[str, Any]) -> None:
    token = district["outputs"]["gridgov user create --name district-admin --role admin"]
    resp = client.get("/api/v1/stats/events", params={"group_by": "street"},
                      headers={"Authorization": f"Bearer {token.splitlines()[0].strip()}"})
    assert resp.status_code == 200, resp.text
    streets = {g["key"] for g in resp.json()["groups"]}
    assert streets <= {"440305002", "440305005", "440305006", "440305007"}
    assert len(streets) >= 3


def test_every_building_has_a_plate(client: TestClient, engine: Engine) -> None:
    with engine.connect() as conn:
        codes = conn.execute(text(
            "SELECT code FROM buildings ORDER BY code")).scalars().all()
    for code in codes[::100]:
        resp = client.get(f"/api/v1/buildings/{code.replace('*', '%2A')}/qr.svg")
        assert resp.status_code == 200, (code, resp.text)
        assert resp.text.startswith("<?xml") or "<svg" in resp.text


def test_the_export_reads_back(district: dict[str, Any]) -> None:
    import geopandas as gpd

    back = gpd.read_file(district["work"] / "nanshan-buildings.gpkg")
    assert len(back) == 5438 and set(back["community_code"].str[:9]) <= {
        "440305002", "440305005", "440305006", "440305007"}

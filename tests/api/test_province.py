"""A province sample loads district by district and runs through the batch analytics on a
LocalCluster with the results of one process.

Three districts of the small size: their borders run through the tiles of the
partitioned runs, so an event or an H3 cell near a district border is where a
wrong halo or a district-by-district load would show.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.analytics.hotspots import hotspot_report
from api.batch import runner
from api.cli import app as cli
from api.db.session import make_engine
from api.settings import libpq_url
from testkit.databases import migrated_database
from tests.api.batch_support import (
    restore_grids,
    single_process_grids,
    stored_grids,
    stored_hotspots,
)

END = "2026-11-01"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("province")
    result = CliRunner().invoke(cli, ["sample", "--scale", "province", "--districts", "3",
                                      "--part-scale", "small", "--seed", "5", "--end", END,
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def province_db(server_url: str, province: Path) -> Iterator[tuple[str, Engine]]:
    with migrated_database(server_url, "gridgov_province") as url:
        result = CliRunner().invoke(cli, ["load", str(province)], env={"DATABASE_URL": url})
        assert result.exit_code == 0, result.output
        engine = make_engine(url, pool_size=2)
        try:
            yield url, engine
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    with runner.cluster(n_workers=2) as client:
        yield client


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_the_load_holds_every_district_of_the_manifest(
        province: Path, province_db: tuple[str, Engine]) -> None:
    _, engine = province_db
    counts = json.loads((province / "manifest.json").read_text(encoding="utf-8"))["counts"]
    for table in ("buildings", "cameras", "rooms", "events", "event_history", "roads"):
        assert _count(engine, f"SELECT count(*) FROM {table}") == counts[table], table  # noqa: S608 - test tables
    assert _count(engine, "SELECT count(*) FROM grids") == counts["grids"]
    assert _count(engine, "SELECT count(*) FROM admin_areas") == \
        counts["admin_areas"] + counts["cities"]
    with engine.connect() as conn:
        districts = conn.execute(text(
            "SELECT code, parent_code FROM admin_areas WHERE level = 'district' "
            "ORDER BY code")).all()
        nowhere = conn.execute(text(
            "SELECT count(*) FROM events WHERE NOT grids ? 'basic'")).scalar_one()
        foreign = conn.execute(text(
            "SELECT count(*) FROM events e JOIN grids g ON g.code = e.grids->>'basic' "
            "JOIN admin_areas a ON a.code = g.community_code "
            "WHERE NOT ST_Covers(a.geom, e.geom)")).scalar_one()
    assert [tuple(r) for r in districts] == [("440303", "440300"), ("440304", "440300"),
                                             ("440305", "440300")]
    assert nowhere == 0, "every event lies in a basic grid"
    assert foreign == 0, "each event's grid is of the community it lies in"
    assert _count(engine, "SELECT max(id) FROM events") == counts["events"]


def test_bulk_assignment_of_the_province_equals_one_process(
        province_db: tuple[str, Engine], dask_client: Client) -> None:
    url, engine = province_db
    expected = single_process_grids(engine)
    wiped = list(expected.index[::5])
    with engine.begin() as conn:
        conn.execute(text("UPDATE events SET grids = '{}' WHERE id = ANY(:i)"), {"i": wiped})
    try:
        summary = runner.run_assign(dask_client, libpq_url(url), tiles=3)
        assert summary == {"events": len(expected), "changed": len(wiped), "partitions": 9}
        assert stored_grids(engine).to_dict() == expected.to_dict()
        districts = {g["basic"][:6] for g in expected}
        assert districts == {"440303", "440304", "440305"}
    finally:
        restore_grids(engine, expected, wiped)


def test_hotspots_of_the_province_equal_one_process(
        province_db: tuple[str, Engine], dask_client: Client) -> None:
    url, engine = province_db
    summary = runner.run_hotspots(dask_client, libpq_url(url), resolution=10, parent=8,
                                  tiles=3)
    stored = stored_hotspots(engine)
    with engine.connect() as conn:
        report = hotspot_report(conn, "h3:10", None, None, None, 0.05)
    cells = pd.DataFrame([f["properties"] for f in report["cells"]["features"]]
                         ).sort_values("cell").reset_index(drop=True)
    assert summary["partitions"] >= 3
    assert summary["classes"] == report["classes"]
    assert stored["cell"].tolist() == cells["cell"].tolist()
    np.testing.assert_allclose(stored["z"], cells["z"], rtol=1e-12)
    assert stored["hot_class"].tolist() == cells["class"].tolist()
    assert any(c != 0 for c in cells["class"])


def test_a_province_missing_a_district_is_refused_and_nothing_is_stored(
        province: Path, empty_database_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(province, broken)
    shutil.rmtree(broken / "parts" / "440304")
    result = CliRunner().invoke(cli, ["load", str(broken)],
                                env={"DATABASE_URL": empty_database_url})
    assert result.exit_code != 0
    assert "parts/440304" in result.output
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        assert _count(engine, "SELECT count(*) FROM departments") == 0
    finally:
        engine.dispose()


def test_one_district_of_a_province_loads_alone(province: Path,
                                                empty_database_url: str) -> None:
    result = CliRunner().invoke(cli, ["load", str(province / "parts" / "440305")],
                                env={"DATABASE_URL": empty_database_url})
    assert result.exit_code == 0, result.output
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        assert _count(engine, "SELECT min(id) FROM events") == 4001
        assert _count(engine, "SELECT count(*) FROM grids WHERE code NOT LIKE '440305%' "
                              "AND code NOT LIKE '__0100440305%'") == 0
    finally:
        engine.dispose()

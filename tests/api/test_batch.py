"""Batch analytics on a 2-process LocalCluster equal the single-process ones on the sample town.

The partitions are chosen so that many grids and H3 cells lie across their
edges: a wrong halo changes a grid code or a z-score there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import Client
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from api.analytics.hotspots import emerging_report, hotspot_report
from api.batch import runner
from api.cli import app as cli
from api.events.bulk_import import assign_grids, grids_json
from api.settings import libpq_url
from gis_core import batch
from gis_core.errors import NotFound

TILES = 3


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    with runner.cluster(n_workers=2) as client:
        yield client


@pytest.fixture()
def url(database_url: str) -> str:
    return libpq_url(database_url)


def _single_process_grids(engine: Engine) -> pd.Series:
    """events.grids of every event as one process assigns them (event_import)."""
    with engine.connect() as conn:
        ev = pd.read_sql(text("SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat, reported_at "
                              "FROM events WHERE geom IS NOT NULL ORDER BY id"), conn)
        reported = pd.to_datetime(ev["reported_at"], utc=True)
        found, layers, _ = assign_grids(conn, ev["lon"].to_numpy(), ev["lat"].to_numpy(),
                                        reported)
    return pd.Series(grids_json(found, layers).map(json.loads).to_numpy(), index=ev["id"])


def _stored_grids(engine: Engine) -> pd.Series:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, grids FROM events WHERE geom IS NOT NULL "
                                 "ORDER BY id")).all()
    return pd.Series([r[1] for r in rows], index=[r[0] for r in rows])


def _grids_across_tile_edges(engine: Engine, url: str) -> set[str]:
    """Codes of current basic grids that an inner tile edge cuts."""
    bounds = runner.territory(url)
    assert bounds is not None
    boxes = [shapely.box(*b).boundary for b in batch.tile_boxes(bounds, TILES, TILES)]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT g.code, ST_AsBinary(g.geom) FROM grids g JOIN "
                                 "grid_layers l ON l.id = g.layer_id WHERE l.name = 'basic' "
                                 "AND g.valid_to IS NULL")).all()
    return {code for code, wkb in rows
            if sum(shapely.from_wkb(bytes(wkb)).intersects(b) for b in boxes) >= 2}


def test_bulk_assignment_equals_one_process_at_tile_edges(
        engine: Engine, url: str, dask_client: Client) -> None:
    expected = _single_process_grids(engine)
    across = _grids_across_tile_edges(engine, url)
    at_edges = [i for i, g in expected.items() if g.get("basic") in across]
    assert len(at_edges) > 20, "the tiles must cut grids that hold events"
    wiped = at_edges[::2] + [i for i in expected.index if i not in set(at_edges)][::7]
    with engine.begin() as conn:
        conn.execute(text("UPDATE events SET grids = '{}' WHERE id = ANY(:i)"), {"i": wiped})
    try:
        summary = runner.run_assign(dask_client, url, tiles=TILES)
        assert summary == {"events": len(expected), "changed": len(wiped),
                           "partitions": TILES * TILES}
        stored = _stored_grids(engine)
        assert stored.to_dict() == expected.to_dict()
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE events e SET grids = CAST(t.g AS jsonb) FROM unnest("
                              "CAST(:i AS bigint[]), CAST(:g AS text[])) AS t(i, g) "
                              "WHERE e.id = t.i"),
                         {"i": wiped, "g": [json.dumps(expected[i]) for i in wiped]})


def _stored_hotspots(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text("SELECT method, cell, value, z, p, hot_class FROM hotspot_cells "
                                "WHERE method LIKE 'gi_star:%' ORDER BY cell"), conn)


def test_hotspots_equal_one_process_at_partition_edges(
        engine: Engine, url: str, dask_client: Client, connection: Connection) -> None:
    summary = runner.run_hotspots(dask_client, url, resolution=10, parent=8, tiles=TILES)
    batch_rows = _stored_hotspots(engine)
    report = hotspot_report(connection, "h3:10", None, None, None, 0.05)
    cells = pd.DataFrame([f["properties"] for f in report["cells"]["features"]]
                         ).sort_values("cell").reset_index(drop=True)
    assert summary["partitions"] >= 3
    assert summary["classes"] == report["classes"]
    assert (batch_rows["method"] == "gi_star:h3:10").all()
    assert batch_rows["cell"].tolist() == cells["cell"].tolist()
    assert batch_rows["value"].tolist() == cells["count"].astype(float).tolist()
    np.testing.assert_allclose(batch_rows["z"], cells["z"], rtol=1e-12)
    assert batch_rows["hot_class"].tolist() == cells["class"].tolist()
    assert any(c != 0 for c in cells["class"]), "the sample has hot or cold spots"
    parent = {c: h3.cell_to_parent(c, 8) for c in cells["cell"]}
    occupied = set(parent)
    at_edges = [c for c in occupied
                if any(n in occupied and parent[n] != parent[c] for n in h3.grid_ring(c, 1))]
    assert len(at_edges) > 20, "the partitions must split neighbouring occupied cells"


def test_cli_runs_on_a_scheduler_given_by_address(engine: Engine, database_url: str,
                                                  dask_client: Client) -> None:
    address = str(dask_client.scheduler_info()["address"])
    result = CliRunner().invoke(cli, ["analytics", "run", "assign", "--scheduler", address,
                                      "--tiles", "2"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM events WHERE geom IS NOT NULL")).scalar()
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert summary == {"events": stored, "changed": 0, "partitions": 4}
    result = CliRunner().invoke(cli, ["analytics", "run", "emerging", "--scheduler", address,
                                      "--resolution", "9", "--parent", "8", "--step", "14D"],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert sum(summary["patterns"].values()) == summary["cells"] > 0


def test_emerging_patterns_equal_one_process_at_partition_edges(
        url: str, dask_client: Client, connection: Connection) -> None:
    batched = runner.run_emerging(dask_client, url, resolution=9, step="14D", parent=8,
                                  tiles=TILES)
    report = emerging_report(connection, 9, "14D", None, None, None)
    cells = pd.DataFrame([f["properties"] for f in report["cells"]["features"]]
                         ).set_index("cell").sort_index()
    assert batched.attrs["time_steps"] == list(pd.to_datetime(report["time_steps"]))
    assert batched.index.tolist() == cells.index.tolist()
    assert batched["pattern"].tolist() == cells["pattern"].tolist()
    assert batched["events"].tolist() == cells["events"].tolist()
    np.testing.assert_allclose(batched["final_z"], cells["final_z"], rtol=1e-9, atol=1e-12)
    assert batched[["n_hot", "n_cold"]].to_numpy().tolist() == \
        cells[["n_hot", "n_cold"]].to_numpy().tolist()
    assert (cells["final_z"].abs() > 1.0).any(), "the z-scores differ from cell to cell"
    parents = batch.h3_partitions(batched.index, 8)
    assert parents.nunique() >= 3


def test_hotspots_of_an_empty_window_are_refused_and_keep_the_stored_ones(
        engine: Engine, url: str, dask_client: Client) -> None:
    before = _stored_hotspots(engine)
    with pytest.raises(NotFound, match="no events"):
        runner.run_hotspots(dask_client, url, resolution=10, parent=8, start="2001-01-01",
                            end="2001-02-01")
    assert _stored_hotspots(engine).equals(before)


def test_cli_names_a_scheduler_that_does_not_answer(database_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "CONNECT_SECONDS", 1)
    result = CliRunner().invoke(cli, ["analytics", "run", "hotspots", "--scheduler",
                                      "tcp://127.0.0.1:9"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "no Dask scheduler answers" in result.output

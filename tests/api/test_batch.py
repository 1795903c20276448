"""Batch analytics on a 2-process LocalCluster equal the single-process ones on the sample town.

The partitions are chosen so that many grids and H3 cells lie across their
edges: a wrong halo changes a grid code or a z-score there. Camera coverage
is tested with cameras placed on the tile edges and corners.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import Client
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from api.analytics.hotspots import emerging_report, hotspot_report
from api.analytics.reading import read_cameras, read_grids
from api.analytics.service import coverage_report
from api.batch import io, runner
from api.cli import app as cli
from api.settings import libpq_url
from gis_core import batch, coverage
from gis_core.errors import NotFound
from tests.api.batch_support import (
    restore_grids,
    single_process_grids,
    stored_grids,
    stored_hotspots,
)

TILES = 3


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    with runner.cluster(n_workers=2) as client:
        yield client


@pytest.fixture()
def url(database_url: str) -> str:
    return libpq_url(database_url)


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
    expected = single_process_grids(engine)
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
        stored = stored_grids(engine)
        assert stored.to_dict() == expected.to_dict()
    finally:
        restore_grids(engine, expected, wiped)


def test_hotspots_equal_one_process_at_partition_edges(
        engine: Engine, url: str, dask_client: Client, connection: Connection) -> None:
    summary = runner.run_hotspots(dask_client, url, resolution=10, parent=8, tiles=TILES)
    batch_rows = stored_hotspots(engine)
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
    before = stored_hotspots(engine)
    with pytest.raises(NotFound, match="no events"):
        runner.run_hotspots(dask_client, url, resolution=10, parent=8, start="2001-01-01",
                            end="2001-02-01")
    assert stored_hotspots(engine).equals(before)


def test_cli_names_a_scheduler_that_does_not_answer(database_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "CONNECT_SECONDS", 1)
    result = CliRunner().invoke(cli, ["analytics", "run", "hotspots", "--scheduler",
                                      "tcp://127.0.0.1:9"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "no Dask scheduler answers" in result.output


# --------------------------------------------------------------------------- coverage

#: Cameras on the inner tile edges and corners: (dx, dy) in tiles from the lower left
#: corner of the territory, kind, heading, hfov, range (m).
EDGE_CAMERAS = [
    (1.0, 0.5, "dome", 0.0, 360.0, 120.0),
    (2.0, 1.5, "fixed", 90.0, 70.0, 150.0),
    (1.0, 1.0, "dome", 0.0, 360.0, 90.0),
    (2.0, 2.0, "ptz", 180.0, 60.0, 110.0),
    (1.5, 1.0, "fixed", 0.0, 90.0, 140.0),
    (0.5, 2.0, "long_range", 200.0, 30.0, 260.0),
]


@pytest.fixture()
def edge_cameras(engine: Engine, url: str) -> Iterator[list[tuple[str, float, float]]]:
    """Cameras placed on the inner edges of the TILES x TILES tiles (committed, then removed).

    The stored blind spots are put back as they were afterwards.
    """
    extent, _ = io.layer_extent(url, "basic")
    assert extent is not None
    x0, y0, x1, y1 = extent[0] - 1e-9, extent[1] - 1e-9, extent[2] + 1e-9, extent[3] + 1e-9
    w, h = (x1 - x0) / TILES, (y1 - y0) / TILES
    placed = [(f"EDGE{i}", x0 + dx * w, y0 + dy * h)
              for i, (dx, dy, *_rest) in enumerate(EDGE_CAMERAS)]
    with engine.begin() as conn:
        kept = conn.execute(text("SELECT grid_code, area_m2, ST_AsEWKB(geom) FROM blind_spots")
                            ).all()
        conn.execute(text(
            "INSERT INTO cameras (code, geom, mount_height, heading, hfov, range_m, kind, status) "
            "SELECT c, ST_SetSRID(ST_MakePoint(x, y), 4326), 8.0, hd, fov, r, k, 'online' "
            "FROM unnest(CAST(:c AS text[]), CAST(:x AS float8[]), CAST(:y AS float8[]), "
            "CAST(:hd AS float8[]), CAST(:fov AS float8[]), CAST(:r AS float8[]), "
            "CAST(:k AS text[])) AS t(c, x, y, hd, fov, r, k)"),
            {"c": [p[0] for p in placed], "x": [p[1] for p in placed],
             "y": [p[2] for p in placed], "hd": [c[3] for c in EDGE_CAMERAS],
             "fov": [c[4] for c in EDGE_CAMERAS], "r": [c[5] for c in EDGE_CAMERAS],
             "k": [c[2] for c in EDGE_CAMERAS]})
    try:
        yield placed
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM cameras WHERE code = ANY(:c)"),
                         {"c": [p[0] for p in placed]})
            conn.execute(text("DELETE FROM blind_spots"))
            if kept:
                conn.execute(text(
                    "INSERT INTO blind_spots (grid_code, area_m2, geom) SELECT c, a, "
                    "ST_GeomFromEWKB(w) FROM unnest(CAST(:c AS text[]), CAST(:a AS float8[]), "
                    "CAST(:w AS bytea[])) AS t(c, a, w)"),
                    {"c": [k[0] for k in kept], "a": [k[1] for k in kept],
                     "w": [bytes(k[2]) for k in kept]})


def _stored_blind_spots(engine: Engine, codes: list[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text("SELECT grid_code AS code, area_m2 FROM blind_spots WHERE "
                                "grid_code = ANY(:c)"), conn, params={"c": codes})


def test_coverage_equals_one_process_with_cameras_on_tile_edges(
        engine: Engine, url: str, dask_client: Client,
        edge_cameras: list[tuple[str, float, float]]) -> None:
    figures = runner.run_coverage(dask_client, url, layer="basic", min_area_m2=100.0,
                                  tiles=TILES)
    stored = _stored_blind_spots(engine, figures.index.tolist())
    # one process, in a transaction rolled back before the fixture removes the cameras
    with engine.connect() as connection:
        report = coverage_report(connection, "basic", None, 100.0)
        grids = read_grids(connection, "basic")
        cameras = read_cameras(connection)
        connection.rollback()
    expected = pd.DataFrame(report["grids"]).set_index("code").sort_index()
    # the sample's grids lie in several tiles, and each edge camera sees into grids of two
    extent, _ = io.layer_extent(url, "basic")
    assert extent is not None
    bounds = (extent[0] - 1e-9, extent[1] - 1e-9, extent[2] + 1e-9, extent[3] + 1e-9)
    owner = pd.Series(-1, index=grids["code"])
    for t in range(TILES * TILES):
        owner[batch.grids_owned(grids, bounds, TILES, TILES, t)["code"]] = t
    assert (owner >= 0).all() and owner.nunique() >= 4
    views = coverage.view_polygons(cameras.set_index("code").loc[
        [c for c, _, _ in edge_cameras]].reset_index())
    crossing = 0
    for view in views:
        reached = grids.loc[grids.intersects(view), "code"]
        seen = expected.loc[reached, "covered_m2"] > 0
        crossing += owner[reached[seen.to_numpy()]].nunique() >= 2
    assert crossing >= 3, "edge cameras must cover grids of two tiles"
    # the same figures, grid by grid, and the same blind spots
    assert figures.attrs["cameras"] == report["cameras"]
    assert figures.attrs["partitions"] == owner.nunique()
    assert figures.index.tolist() == expected.index.tolist()
    assert figures.columns.tolist() == expected.columns.tolist()
    for column in ("cameras", "buildings", "buildings_seen"):
        assert figures[column].tolist() == expected[column].tolist(), column
    for column in ("area_m2", "covered_m2", "covered_share", "road_m", "covered_road_m",
                   "road_share"):
        np.testing.assert_allclose(figures[column].astype(float),
                                   expected[column].astype(float), rtol=1e-9, atol=1e-6,
                                   err_msg=column)
    holes = pd.DataFrame([f["properties"] for f in report["blind_spots"]["features"]])
    assert len(stored) == len(holes) == figures.attrs["blind_spots"] > 0
    assert stored.groupby("code").size().to_dict() == holes.groupby("code").size().to_dict()
    np.testing.assert_allclose(stored.groupby("code")["area_m2"].sum(),
                               holes.groupby("code")["area_m2"].sum(), rtol=1e-9, atol=1e-6)


def test_cli_coverage_writes_the_figures_per_grid(tmp_path: Path, engine: Engine,
                                                  database_url: str, dask_client: Client,
                                                  edge_cameras: list[tuple[str, float, float]]
                                                  ) -> None:
    address = str(dask_client.scheduler_info()["address"])
    out = tmp_path / "coverage.csv"
    result = CliRunner().invoke(cli, ["analytics", "run", "coverage", "--scheduler", address,
                                      "--tiles", "2", "--out", str(out)],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    with engine.connect() as conn:
        grids = conn.execute(text("SELECT count(*) FROM grids g JOIN grid_layers l ON "
                                  "l.id = g.layer_id WHERE l.name = 'basic' AND "
                                  "g.valid_to IS NULL")).scalar()
        holes = conn.execute(text("SELECT count(*) FROM blind_spots")).scalar()
    assert summary["grids"] == grids == len(pd.read_csv(out))
    assert summary["blind_spots"] == holes
    assert 0 < summary["covered_share"] < 1


def test_coverage_of_an_unknown_layer_is_refused(url: str, dask_client: Client) -> None:
    with pytest.raises(NotFound, match="no grid layer 'nope'"):
        runner.run_coverage(dask_client, url, layer="nope")

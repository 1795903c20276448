"""GDAL's OAPIF driver reads every collection of /ogc from a real server, unchanged."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from api.db.session import make_engine
from tests.web.live_server import fresh_sample_database, live_server


@pytest.fixture(scope="module")
def ogc_server(server_url: str, sample_dir: Path) -> Iterator[tuple[str, str]]:
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base:
        yield base, url


def _ogrinfo(*args: str) -> str:
    done = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "GDAL_HTTP_TIMEOUT": "60",
                                            "NO_PROXY": "127.0.0.1,localhost"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_ogrinfo_lists_every_collection(ogc_server: tuple[str, str]) -> None:
    base, _ = ogc_server
    with urllib.request.urlopen(f"{base}/ogc/collections?f=json") as resp:
        ids = [c["id"] for c in json.load(resp)["collections"]]
    assert {"buildings", "roads", "cameras", "events", "grids-basic"} <= set(ids)
    out = _ogrinfo("-so", f"OAPIF:{base}/ogc")
    listed = re.findall(r"^\d+: (\S+)", out, flags=re.M)
    assert listed == ids


@pytest.mark.parametrize("collection, table_sql", [
    ("buildings", "SELECT count(*) FROM buildings"),
    ("roads", "SELECT count(*) FROM roads"),
    ("cameras", "SELECT count(*) FROM cameras"),
    ("events", "SELECT count(*) FROM events"),
    ("grids-basic", "SELECT count(*) FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
                    "WHERE l.name = 'basic' AND g.valid_to IS NULL"),
])
def test_ogrinfo_reads_feature_counts(ogc_server: tuple[str, str], collection: str,
                                      table_sql: str) -> None:
    base, url = ogc_server
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            expected = conn.execute(text(table_sql)).scalar_one()
    finally:
        engine.dispose()
    out = _ogrinfo(f"OAPIF:{base}/ogc", collection, "-al", "-so")
    count = int(re.search(r"^Feature Count: (\d+)", out, flags=re.M).group(1))  # type: ignore[union-attr]
    assert expected > 0
    assert count == expected


def test_ogrinfo_reads_features_through_next_links(ogc_server: tuple[str, str]) -> None:
    base, url = ogc_server
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            codes = set(conn.execute(text("SELECT code FROM cameras")).scalars())
    finally:
        engine.dispose()
    # a page size smaller than the layer forces GDAL to follow the next links
    out = _ogrinfo("-oo", "PAGE_SIZE=7", f"OAPIF:{base}/ogc", "cameras", "-al",
                   "-fields=YES", "-geom=NO")
    read = set(re.findall(r"^\s+code \(String\) = (\S+)", out, flags=re.M))
    assert read == codes

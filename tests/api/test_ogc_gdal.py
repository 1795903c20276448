"""GDAL's OAPIF driver reads every collection of /ogc from a real server, unchanged,
and sends its ``-where`` to the server as a CQL2 ``filter`` instead of paging through
everything (checked in the server's access log)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from sqlalchemy import text

from api.db.session import make_engine
from testkit.databases import fresh_sample_database
from testkit.servers import live_server


@pytest.fixture(scope="module")
def access_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ogc") / "access.log"


@pytest.fixture(scope="module")
def ogc_server(server_url: str, sample_dir: Path, access_log: Path
               ) -> Iterator[tuple[str, str]]:
    with fresh_sample_database(server_url, sample_dir) as url, \
            live_server(url, access_log=access_log) as base:
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


def _count(url: str, sql: str) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


#: GDAL's page size in the filter test: the matches take more than one page
PAGE = 3


def _requests_since(log: Path, offset: int) -> list[str]:
    """The request targets (path and query, decoded) the server logged after ``offset``."""
    lines = log.read_bytes()[offset:].decode(errors="replace").splitlines()
    return [unquote_plus(m.group(1)) for line in lines
            if (m := re.search(r'"GET (\S+) HTTP/1\.1" \d{3}', line))]


def test_ogrinfo_where_is_sent_to_the_server_as_a_filter(ogc_server: tuple[str, str],
                                                         access_log: Path) -> None:
    base, url = ogc_server
    expected = _count(url, "SELECT count(*) FROM events WHERE status = 'in_progress'")
    total = _count(url, "SELECT count(*) FROM events")
    assert 0 < expected < total
    offset = access_log.stat().st_size
    out = _ogrinfo("-oo", f"PAGE_SIZE={PAGE}", f"OAPIF:{base}/ogc", "events",
                   "-where", "status = 'in_progress'", "-al", "-geom=NO", "-fields=YES")
    statuses = re.findall(r"^\s+status \(String\) = (\S+)", out, flags=re.M)
    assert len(statuses) == expected and set(statuses) == {"in_progress"}
    items = [r for r in _requests_since(access_log, offset)
             if r.startswith("/ogc/collections/events/items")]
    filtered = [r for r in items if "filter=status = 'in_progress'" in r]
    # every page GDAL read carried the filter (the one other request is the first page
    # it reads to learn the fields): it read the pages of matches (once to count them,
    # once to list them), never all events
    assert filtered and len(items) - len(filtered) <= 1, items
    assert len(filtered) <= 2 * -(-expected // PAGE) < -(-total // PAGE)

"""Dense event tiles are clustered: no events tile exceeds 500 KB at any zoom, counts add up.

The small sample's events are copied 40 times with small shifts (about 80,000
events on 1.8 km², far denser than the district sample's 200,000 on 260 km²) inside
a transaction that is rolled back; the densest tiles of every zoom are built and
decoded.
"""

from __future__ import annotations

from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from sqlalchemy import Connection, text

from api.db.session import make_engine
from layers import get_layer
from layers.model import Layer
from layers.vocabulary import EVENT_STATUSES

LIMIT = 500 * 1024
COPIES = 40


@pytest.fixture(scope="module")
def dense(tiles_db: str) -> Iterator[Connection]:
    """A connection seeing the sample's events 100 times over (rolled back at the end)."""
    engine = make_engine(tiles_db, pool_size=1)
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(text(
            "INSERT INTO events (public_token, category_id, status, channel, geom, reported_at, "
            "due_at, closed_at, community_code, street_code) "
            "SELECT md5(e.id || '-' || i), e.category_id, e.status, e.channel, "
            "ST_Translate(e.geom, 0.00004 * sin(e.id * i), 0.00004 * cos(e.id + i)), "
            "e.reported_at, e.due_at, e.closed_at, e.community_code, e.street_code "
            "FROM events AS e, generate_series(1, :copies - 1) AS i"), {"copies": COPIES})
        yield conn
        tx.rollback()
    engine.dispose()


def _tile(layer: Layer, conn: Connection, z: int, x: int, y: int,
          filters: dict[str, str] | None = None) -> bytes:
    """The layer's tile as the tile service builds it (its statement, its parameters)."""
    layer.check_tile(z, x, y)
    mvt = conn.execute(layer.tile_sql, {**layer.bind(filters), "z": z, "x": x, "y": y}).first()
    return bytes(mvt[0] or b"") if mvt else b""


def _densest_tiles(conn: Connection, z: int, n: int = 1) -> list[tuple[int, int]]:
    rows = conn.execute(text(
        "SELECT floor((ST_X(geom) + 180) / 360 * 2 ^ :z)::int AS x, floor((1 - ln(tan(radians("
        "ST_Y(geom))) + 1 / cos(radians(ST_Y(geom)))) / pi()) / 2 * 2 ^ :z)::int AS y "
        "FROM events GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT :n"), {"z": z, "n": n}).all()
    return [(int(r.x), int(r.y)) for r in rows]


def _events_in(conn: Connection, z: int, x: int, y: int, where: str = "TRUE") -> int:
    # the oracle: ``where`` is written in the tests
    return int(conn.execute(text(
        "SELECT count(*) FROM events AS t WHERE ST_Intersects(ST_Transform(t.geom, 3857), "  # noqa: S608
        f"ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096)) AND {where}"),
        {"z": z, "x": x, "y": y}).scalar_one())


@pytest.mark.parametrize("z", range(10, 23))
def test_no_events_tile_exceeds_500_kb_and_clusters_count_every_event(
        dense: Connection, z: int) -> None:
    layer = get_layer("events")
    for x, y in _densest_tiles(dense, z):
        data = _tile(layer, dense, z, x, y)
        assert len(data) <= LIMIT, f"z{z} tile {x}/{y} weighs {len(data)} bytes"
        features = mapbox_vector_tile.decode(data)["events"]["features"]
        counted = sum(int(f["properties"].get("point_count", 1)) for f in features)
        assert counted == _events_in(dense, z, x, y)
        assert len(features) <= max(layer.cluster.max_points, 33 * 33)  # type: ignore[union-attr]
        for f in features:
            props = f["properties"]
            assert props["status"] in EVENT_STATUSES
            if "point_count" in props:
                assert props["point_count"] > 1
                assert "category_code" not in props
            else:
                assert props["category_code"]
                assert "reported_at" in props


def test_a_clustered_tile_keeps_the_filters(dense: Connection) -> None:
    layer = get_layer("events")
    x, y = _densest_tiles(dense, 14, 1)[0]
    data = _tile(layer, dense, 14, x, y, {"status": "closed"})
    features = mapbox_vector_tile.decode(data)["events"]["features"]
    assert {f["properties"]["status"] for f in features} == {"closed"}
    counted = sum(int(f["properties"].get("point_count", 1)) for f in features)
    assert counted == _events_in(dense, 14, x, y, "t.status = 'closed'")
    assert counted > layer.cluster.max_points  # type: ignore[union-attr]


def test_open_filter_keeps_only_events_still_in_work(dense: Connection) -> None:
    layer = get_layer("events")
    x, y = _densest_tiles(dense, 16, 1)[0]
    data = _tile(layer, dense, 16, x, y, {"open": "true"})
    features = mapbox_vector_tile.decode(data)["events"]["features"]
    finished = {"closed", "evaluated", "cancelled", "duplicate", "rejected"}
    assert features
    assert not {f["properties"]["status"] for f in features} & finished

"""The population layer: residents, households and organisations per grid in public tiles,
small counts suppressed, no personal field, and tiles that follow every change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient

from testkit.tiles import tile_of

DECLARED = {"code", "name", "community_code", "residents", "households", "organisations",
            "special", "suppressed"}


def _rooms_of_grid(pg: psycopg.Connection, grid: str, n: int) -> list[int]:
    rows = pg.execute(
        "SELECT ro.id FROM grids g JOIN grid_layers l ON l.id = g.layer_id AND l.name = 'basic' "
        "JOIN buildings b ON b.geom && g.geom AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom)) "
        "JOIN rooms ro ON ro.building_id = b.id WHERE g.code = %s ORDER BY ro.id LIMIT %s",
        (grid, n)).fetchall()
    assert len(rows) == n, f"grid {grid} has fewer than {n} rooms"
    return [r[0] for r in rows]


def _residents(pg: psycopg.Connection, tag: str, rooms: list[int], households: int) -> None:
    """Synthetic residents (placeholders where the archive keeps ciphertext) in ``rooms``."""
    ids = []
    for h in range(households):
        ids.append(pg.execute("INSERT INTO households (code, room_id) VALUES (%s, %s) "
                              "RETURNING id", (f"{tag}-h{h}", rooms[h % len(rooms)])
                              ).fetchone()[0])  # type: ignore[index]
    for i, room in enumerate(rooms):
        person = pg.execute(
            "INSERT INTO persons (name, id_number, id_number_hash, birth_date, gender, "
            "registration_place, household_id) VALUES ('enc:test', 'enc:test', %s, "
            "'1980-01-01', 'female', '440307', %s) RETURNING id",
            (uuid.uuid4().hex, ids[i % len(ids)])).fetchone()[0]  # type: ignore[index]
        pg.execute("INSERT INTO residences (person_id, room_id, kind, from_date) "
                   "VALUES (%s, %s, 'resident', CURRENT_DATE - 10)", (person, room))


@pytest.fixture
def town(pg: psycopg.Connection) -> Iterator[dict[str, Any]]:
    """Two neighbouring basic grids in one z14 tile; 7 residents in 5 households in the
    first, 2 residents in the second; removed afterwards."""
    grids = pg.execute(
        "SELECT g.code, ST_X(ST_Centroid(g.geom)), ST_Y(ST_Centroid(g.geom)) FROM grids g "
        "JOIN grid_layers l ON l.id = g.layer_id AND l.name = 'basic' WHERE g.valid_to IS NULL "
        "AND (SELECT count(*) FROM buildings b JOIN rooms ro ON ro.building_id = b.id "
        "     WHERE b.geom && g.geom AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))) >= 12 "
        "ORDER BY g.code").fetchall()
    first = grids[0]
    x, y = tile_of(first[1], first[2], 14)
    second = next(g for g in grids[1:] if tile_of(g[1], g[2], 14) == (x, y))
    tag = f"pop-{uuid.uuid4().hex[:6]}"
    _residents(pg, f"{tag}-a", _rooms_of_grid(pg, first[0], 7), households=5)
    _residents(pg, f"{tag}-b", _rooms_of_grid(pg, second[0], 2), households=1)
    try:
        yield {"first": first[0], "second": second[0], "tag": tag,
               "path": f"/tiles/population/14/{x}/{y}.mvt"}
    finally:
        pg.execute("DELETE FROM residences WHERE person_id IN (SELECT p.id FROM persons p "
                   "JOIN households h ON h.id = p.household_id WHERE h.code LIKE %s)",
                   (f"{tag}-%",))
        pg.execute("DELETE FROM persons WHERE household_id IN (SELECT id FROM households "
                   "WHERE code LIKE %s)", (f"{tag}-%",))
        pg.execute("DELETE FROM households WHERE code LIKE %s", (f"{tag}-%",))


def _grids(client: TestClient, path: str) -> dict[str, dict[str, Any]]:
    resp = client.get(path)
    assert resp.status_code == 200, resp.text
    layer = mapbox_vector_tile.decode(resp.content)["population"]
    return {f["properties"]["code"]: f["properties"] for f in layer["features"]}


def test_counts_per_grid_with_small_ones_hidden_and_nothing_personal(
        tiles_client: TestClient, town: dict[str, Any]) -> None:
    grids = _grids(tiles_client, town["path"])
    first, second = grids[town["first"]], grids[town["second"]]
    assert first["residents"] == 7
    assert first["households"] == 5
    assert first["organisations"] == 0  # none: zero is shown, only 1 to 4 are hidden
    assert first["suppressed"] is False
    assert "residents" not in second  # 2 residents: shown as "<5", never as a number
    assert second["suppressed"] is True
    assert all(set(props) <= DECLARED for props in grids.values())
    others = [p for code, p in grids.items() if code not in (town["first"], town["second"])]
    assert others
    assert all(p["residents"] == 0 for p in others)


def test_a_new_resident_moves_the_tile_at_once(tiles_client: TestClient,
                                               pg: psycopg.Connection,
                                               town: dict[str, Any]) -> None:
    assert "residents" not in _grids(tiles_client, town["path"])[town["second"]]
    rooms = _rooms_of_grid(pg, town["second"], 5)[2:]
    _residents(pg, town["tag"] + "-more", rooms, households=1)
    try:
        assert _grids(tiles_client, town["path"])[town["second"]]["residents"] == 5
    finally:
        pg.execute("DELETE FROM residences WHERE room_id = ANY(%s) AND from_date = "
                   "CURRENT_DATE - 10 AND person_id IN (SELECT p.id FROM persons p JOIN "
                   "households h ON h.id = p.household_id WHERE h.code LIKE %s)",
                   (rooms, f"{town['tag']}-more%"))
        pg.execute("DELETE FROM persons WHERE household_id IN (SELECT id FROM households "
                   "WHERE code LIKE %s)", (f"{town['tag']}-more%",))
        pg.execute("DELETE FROM households WHERE code LIKE %s", (f"{town['tag']}-more%",))

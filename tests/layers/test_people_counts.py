"""The kept per-grid counts (``people_counts``, migration 0029) equal a brute-force count
of the archive after every kind of write, and an expired row is counted live."""

from __future__ import annotations

import uuid
from collections import defaultdict

import psycopg
import pytest

from layers.population import grid_counts_sql

Counts = dict[int, tuple[int, int, int, int]]
CURRENT = ("{a}.from_date <= CURRENT_DATE AND ({a}.to_date IS NULL OR "
           "{a}.to_date > CURRENT_DATE)")


def _oracle(pg: psycopg.Connection) -> Counts:
    """Residents, households, special, organisations per grid, counted in Python."""
    grid_buildings = pg.execute(
        "SELECT g.id, l.kind = 'registration', b.id FROM grids g "
        "JOIN grid_layers l ON l.id = g.layer_id JOIN buildings b ON b.geom && g.geom "
        "AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))").fetchall()
    living: dict[int, set[int]] = defaultdict(set)
    for person, building in pg.execute(
            "SELECT r.person_id, ro.building_id FROM residences r JOIN rooms ro "  # noqa: S608
            f"ON ro.id = r.room_id WHERE {CURRENT.format(a='r')}"):
        living[building].add(person)
    registered: dict[int, set[int]] = defaultdict(set)
    household: dict[int, int | None] = {}
    for person, hh, building in pg.execute(
            "SELECT id, household_id, registered_building_id FROM persons"):
        household[person] = hh
        if building is not None:
            registered[building].add(person)
    tagged = {r[0] for r in pg.execute(
        "SELECT person_id FROM person_tags WHERE since <= CURRENT_DATE "
        "AND (until IS NULL OR until > CURRENT_DATE)")}
    orgs: dict[int, int] = defaultdict(int)
    for (building,) in pg.execute("SELECT building_id FROM organisations"):
        orgs[building] += 1
    members: dict[int, set[int]] = defaultdict(set)
    org_counts: dict[int, int] = defaultdict(int)
    for grid, registration, building in grid_buildings:
        members[grid] |= (registered if registration else living)[building]
        org_counts[grid] += orgs[building]
    out: Counts = {}
    for (grid,) in pg.execute("SELECT id FROM grids"):
        people = members[grid]
        out[grid] = (len(people), len({household[p] for p in people} - {None}),
                     len(people & tagged), org_counts[grid])
    return out


def _kept(pg: psycopg.Connection) -> Counts:
    return {r[0]: tuple(r[1:]) for r in pg.execute(
        "SELECT grid_id, residents, households, special, organisations FROM people_counts")}


def _read(pg: psycopg.Connection) -> Counts:
    """What the tiles and the stats read: the kept row, or a live count when expired."""
    return {r[0]: tuple(r[1:]) for r in pg.execute(
        f"SELECT g.id, n.* FROM grids g CROSS JOIN LATERAL {grid_counts_sql('g')} AS n")}  # noqa: S608


def _grid_rooms(pg: psycopg.Connection) -> list[tuple[int, int, int]]:
    """(grid id, building id, room id) of two rooms in two different basic grids."""
    rows = pg.execute(
        "SELECT DISTINCT ON (g.id) g.id, b.id, ro.id FROM grids g JOIN grid_layers l "
        "ON l.id = g.layer_id AND l.kind = 'basic' JOIN buildings b ON b.geom && g.geom "
        "AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom)) JOIN rooms ro "
        "ON ro.building_id = b.id WHERE g.valid_to IS NULL ORDER BY g.id, b.id, ro.id "
        "LIMIT 2").fetchall()
    assert len(rows) == 2
    return [tuple(r) for r in rows]


@pytest.fixture
def tag() -> str:
    return f"cnt-{uuid.uuid4().hex[:8]}"


def _cleanup(pg: psycopg.Connection, tag: str) -> None:
    pg.execute("DELETE FROM organisations WHERE name LIKE %s", (f"{tag}%",))
    pg.execute("DELETE FROM persons WHERE id_number_hash LIKE %s", (f"{tag}%",))
    pg.execute("DELETE FROM households WHERE code LIKE %s", (f"{tag}%",))


def test_kept_counts_follow_insert_move_tag_and_delete(pg: psycopg.Connection,
                                                       tag: str) -> None:
    assert _kept(pg) == _oracle(pg)
    (grid_a, building_a, room_a), (grid_b, _, room_b) = _grid_rooms(pg)
    before = _kept(pg)
    try:
        hh = pg.execute("INSERT INTO households (code, room_id) VALUES (%s, %s) RETURNING id",
                        (f"{tag}-h", room_a)).fetchone()[0]  # type: ignore[index]
        person = pg.execute(
            "INSERT INTO persons (name, id_number, id_number_hash, birth_date, gender, "
            "registration_place, household_id, registered_building_id) VALUES "
            "('enc:t', 'enc:t', %s, '1980-01-01', 'male', '440307', %s, %s) RETURNING id",
            (f"{tag}-p", hh, building_a)).fetchone()[0]  # type: ignore[index]
        residence = pg.execute(
            "INSERT INTO residences (person_id, room_id, kind, from_date) VALUES "
            "(%s, %s, 'resident', CURRENT_DATE - 5) RETURNING id",
            (person, room_a)).fetchone()[0]  # type: ignore[index]
        kept = _kept(pg)
        assert kept == _oracle(pg)
        assert kept[grid_a][0] == before[grid_a][0] + 1
        # a move: the residence ends, a new one opens in the other grid
        pg.execute("UPDATE residences SET to_date = CURRENT_DATE WHERE id = %s", (residence,))
        pg.execute("INSERT INTO residences (person_id, room_id, kind, from_date) VALUES "
                   "(%s, %s, 'tenant', CURRENT_DATE)", (person, room_b))
        kept = _kept(pg)
        assert kept == _oracle(pg)
        assert kept[grid_a][0] == before[grid_a][0]
        assert kept[grid_b][0] == before[grid_b][0] + 1
        # a residence moved to another room by an update
        pg.execute("UPDATE residences SET room_id = %s WHERE person_id = %s AND to_date IS NULL",
                   (room_a, person))
        assert _kept(pg) == _oracle(pg)
        tag_id = pg.execute("SELECT id FROM special_tags ORDER BY id LIMIT 1").fetchone()
        if tag_id is not None:
            pg.execute("INSERT INTO person_tags (person_id, tag_id, level, since) VALUES "
                       "(%s, %s, 1, CURRENT_DATE - 1)", (person, tag_id[0]))
            assert _kept(pg)[grid_a][2] == before[grid_a][2] + 1
        pg.execute("INSERT INTO organisations (name, credit_code, building_id) VALUES "
                   "(%s, %s, %s)", (f"{tag}-o", tag[:18], building_a))
        pg.execute("UPDATE persons SET household_id = NULL WHERE id = %s", (person,))
        assert _kept(pg) == _oracle(pg)
        pg.execute("DELETE FROM residences WHERE person_id = %s", (person,))
        assert _kept(pg) == _oracle(pg)
        pg.execute("DELETE FROM persons WHERE id = %s", (person,))
        pg.execute("DELETE FROM organisations WHERE name LIKE %s", (f"{tag}%",))
        assert _kept(pg) == _oracle(pg) == before
    finally:
        _cleanup(pg, tag)
    assert _kept(pg) == before


def test_a_future_residence_expires_the_row_and_an_expired_row_is_counted_live(
        pg: psycopg.Connection, tag: str) -> None:
    (grid_a, _, room_a), _ = _grid_rooms(pg)
    try:
        person = pg.execute(
            "INSERT INTO persons (name, id_number, id_number_hash, birth_date, gender, "
            "registration_place) VALUES ('enc:t', 'enc:t', %s, '1980-01-01', 'male', "
            "'440307') RETURNING id", (f"{tag}-p",)).fetchone()[0]  # type: ignore[index]
        pg.execute("INSERT INTO residences (person_id, room_id, kind, from_date) VALUES "
                   "(%s, %s, 'resident', CURRENT_DATE + 3)", (person, room_a))
        until = pg.execute("SELECT valid_until - CURRENT_DATE FROM people_counts "
                           "WHERE grid_id = %s", (grid_a,)).fetchone()
        assert until == (3,)
        assert _kept(pg) == _oracle(pg)  # not counted before it starts
        # the day the residence starts: the row has expired, readers count the grid live
        pg.execute("UPDATE people_counts SET residents = residents + 1000, "
                   "valid_until = CURRENT_DATE WHERE grid_id = %s", (grid_a,))
        assert _read(pg) == _oracle(pg)
    finally:
        _cleanup(pg, tag)
    assert _kept(pg) == _oracle(pg)

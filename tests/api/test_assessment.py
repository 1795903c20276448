"""The assessment score ranks what the test writes: better figures, better rank."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.assessment.score import area_score, rankings
from api.auth.principal import Principal, expand_scope
from api.auth.service import create_user
from api.db.models import Event
from api.events.kpi import event_kpis
from gis_core.errors import InvalidInput
from tests.api.events_support import basic_grids

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # before the sample's events: only ours in the window
END = T0 + timedelta(days=1)
NOW = T0 + timedelta(days=2)


def _h(hours: float | None) -> datetime | None:
    return None if hours is None else T0 + timedelta(hours=hours)


def _places(session: Session) -> list[dict[str, Any]]:
    """Three communities with a grid and a point inside each; the first two in two streets."""
    parents = {r.code: r.parent_code for r in session.execute(text(
        "SELECT code, parent_code FROM admin_areas WHERE level = 'community'"))}
    by_community: dict[str, dict[str, Any]] = {}
    for grid in basic_grids(session):
        if grid["community_code"] in parents:
            by_community.setdefault(grid["community_code"],
                                    {**grid, "street_code": parents[grid["community_code"]]})
    places = list(by_community.values())
    second = next(p for p in places if p["street_code"] != places[0]["street_code"])
    third = next(p for p in places if p not in (places[0], second))
    return [places[0], second, third]


def _events(session: Session, place: dict[str, Any], spec: list[tuple[Any, ...]],
            department: int | None = None, channel: str = "app") -> list[int]:
    """Events at ``place``: (status, dispatched h, closed h, due h, satisfaction) each."""
    cat, dep = session.execute(text(
        "SELECT id, department_id FROM event_categories WHERE code = '0101'")).one()
    made = []
    for status, disp, closed, due, score in spec:
        event = Event(
            public_token=f"as-{uuid.uuid4().hex[:16]}",
            category_id=cat, status=status, channel=channel,
            geom=WKTElement(f"POINT({place['lon']} {place['lat']})", srid=4326),
            grids={"basic": place["code"]}, community_code=place["community_code"],
            street_code=place["street_code"], department_id=department or dep,
            reported_at=T0, registered_at=T0, dispatched_at=_h(disp), closed_at=_h(closed),
            due_at=_h(due), satisfaction=score)
        session.add(event)
        session.flush()
        made.append(event.id)
    return made


GOOD = [("evaluated", 0.1, 2.0, 4.0, 5), ("closed", 0.1, 3.0, 4.0, None)]
POOR = [("closed", 2.0, 10.0, 4.0, None), ("in_progress", 3.0, None, 4.0, None),
        ("evaluated", 0.1, 3.0, 4.0, 2)]


@pytest.fixture()
def places(session: Session) -> list[dict[str, Any]]:
    """Three communities, the first two of two streets: the first does well, the second poorly."""
    good, poor, third = _places(session)
    _events(session, good, GOOD)
    _events(session, poor, POOR)
    return [good, poor, third]


def test_streets_rank_by_their_figures(session: Session, places: list[dict[str, Any]]) -> None:
    rows = rankings(session, level="street", start=T0, end=END, now=NOW)
    assert [r["key"] for r in rows] == [places[0]["street_code"], places[1]["street_code"]]
    assert [r["rank"] for r in rows] == [1, 2]
    assert rows[0]["score"] > rows[1]["score"]
    name = session.execute(text("SELECT name FROM admin_areas WHERE code = :c"),
                           {"c": places[0]["street_code"]}).scalar_one()
    assert rows[0]["name"] == name
    kpis = event_kpis(session, group_by="street", now=NOW, start=T0, end=END)
    poor = next(g for g in kpis["groups"] if g["key"] == places[1]["street_code"])
    assert rows[1]["closure_rate"] == poor["closure_rate"] == pytest.approx(2 / 3)
    assert rows[1]["overdue"] == 1
    assert rows[1]["score"] == area_score(poor)


def test_a_perfect_street_scores_100(session: Session, places: list[dict[str, Any]]) -> None:
    best = rankings(session, level="community", start=T0, end=END, now=NOW)[0]
    assert best["key"] == places[0]["community_code"]
    assert best["score"] == 100.0


def test_equal_figures_share_a_rank(session: Session, places: list[dict[str, Any]]) -> None:
    _events(session, places[2], GOOD)
    rows = rankings(session, level="community", start=T0, end=END, now=NOW)
    assert [r["rank"] for r in rows] == [1, 1, 3]
    assert rows[2]["key"] == places[1]["community_code"]


def test_departments_rank_by_their_figures(session: Session,
                                           places: list[dict[str, Any]]) -> None:
    deps = session.execute(text(
        "SELECT id, code FROM departments WHERE id <> (SELECT department_id FROM "
        "event_categories WHERE code = '0101') ORDER BY code LIMIT 2")).all()
    _events(session, places[2], GOOD * 2, department=deps[1].id)
    _events(session, places[2], POOR, department=deps[0].id)
    rows = rankings(session, level="department", start=T0, end=END, now=NOW)
    ranks = {r["key"]: r["rank"] for r in rows}
    assert ranks[deps[1].code] < ranks[deps[0].code]


def test_scope_keeps_to_the_callers_areas(session: Session,
                                          places: list[dict[str, Any]]) -> None:
    areas, docs = expand_scope(session, (places[1]["street_code"],), ())
    dispatcher = Principal(1, "street dispatcher", "dispatcher", areas=areas, grid_docs=docs)
    rows = rankings(session, level="street", start=T0, end=END, now=NOW, scope=dispatcher)
    assert [(r["key"], r["rank"]) for r in rows] == [(places[1]["street_code"], 1)]


def _worker(session: Session, name: str, grid: str) -> int:
    user, _ = create_user(session, name=name, role="grid_worker", grids=[grid])
    session.flush()
    return user.id


def test_grid_workers_rank_by_their_points(session: Session,
                                           places: list[dict[str, Any]]) -> None:
    first, second = places[0], places[1]
    _worker(session, "as-finder", first["code"])
    visitor = _worker(session, "as-visitor", second["code"])
    for event_id in _events(session, first, GOOD, channel="patrol"):
        session.execute(text("INSERT INTO event_history (event_id, action, to_status, actor, at) "
                             "VALUES (:e, 'register', 'registered', 'as-finder', :at)"),
                        {"e": event_id, "at": T0})
    building = session.execute(text("SELECT id FROM buildings ORDER BY id LIMIT 1")).scalar_one()
    for i, flagged in enumerate([False, False, False, True]):
        session.execute(text(
            "INSERT INTO field_checkins (worker_id, building_id, at, flagged, client_key) "
            "VALUES (:w, :b, :at, :f, :k)"),
            {"w": visitor, "b": building, "at": T0, "f": flagged, "k": f"as-{i}"})
    person = session.execute(text(
        "INSERT INTO persons (name, id_number, id_number_hash, birth_date, gender, "
        "registration_place) VALUES ('x', 'x', 'as-hash', '1960-01-01', 'female', '440307') "
        "RETURNING id")).scalar_one()
    session.execute(text("INSERT INTO visits (person_id, visited_at, worker_id, worker_name) "
                         "VALUES (:p, :at, :w, 'as-visitor')"),
                    {"p": person, "at": T0, "w": visitor})
    rows = [r for r in rankings(session, level="grid_worker", start=T0, end=END, now=NOW)
            if r["name"].startswith("as-")]
    assert [(r["name"], r["score"]) for r in rows] == [("as-finder", 6), ("as-visitor", 5)]
    assert rows[1]["checkins"] == 3 and rows[1]["visits"] == 1
    areas, docs = expand_scope(session, (), (second["code"],))
    mine = Principal(1, "d", "dispatcher", grids=(second["code"],), grid_docs=docs)
    scoped = rankings(session, level="grid_worker", start=T0, end=END, now=NOW, scope=mine)
    assert "as-finder" not in [r["name"] for r in scoped]
    assert [r["rank"] for r in scoped if r["name"] == "as-visitor"] == [1]


def test_an_unknown_level_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="parameter 'level'"):
        rankings(session, level="district", start=T0, end=END, now=NOW)

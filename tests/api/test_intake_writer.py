"""The group-commit intake writer on its own connection: batches, order, isolation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from api.events.intake import Intake, Report
from api.events.writer import IntakeWriter
from api.grids.lookup import IndexedGridLookup
from api.settings import EventSettings
from gis_core.errors import GisError
from testkit.aio import run_coroutine
from tests.api.events_support import basic_grids

MARK = "writer-test"


@pytest.fixture()
def writer(engine: Engine) -> Iterator[IntakeWriter]:
    """A writer committing for real; its events are deleted afterwards."""
    lookup = IndexedGridLookup(engine)
    w = IntakeWriter(engine, lookup, EventSettings())
    yield w
    w.close()
    lookup.close()
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS writer_test_reject ON events"))
        conn.execute(text("DELETE FROM events WHERE description LIKE :m"), {"m": MARK + "%"})


@pytest.fixture()
def points(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return basic_grids(conn)


def _report(p: dict[str, Any], category: str = "0106", tag: str = "", **kw: Any) -> Report:
    return Report(category_code=category, lon=p["lon"], lat=p["lat"],
                  description=f"{MARK} {tag}", **kw)


async def _submit_all(writer: IntakeWriter, reports: list[Report]) -> list[Any]:
    return await asyncio.gather(*(writer.submit(r) for r in reports), return_exceptions=True)


def test_concurrent_reports_share_one_commit_and_keep_their_order(
        writer: IntakeWriter, engine: Engine, points: list[dict[str, Any]]) -> None:
    same = [_report(points[0], tag=f"same {i}") for i in range(10)]
    apart = [_report(p, category="0101", tag="apart") for p in points[1:11]]
    keyed = [_report(points[12], category="0102", tag="keyed", idempotency_key=f"{MARK}-k")
             for _ in range(5)]
    outcomes = run_coroutine(_submit_all(writer, same + apart + keyed))
    assert all(isinstance(o, Intake) for o in outcomes), outcomes
    assert writer.batches == 1                  # 25 reports, one transaction
    first = outcomes[0]
    assert not first.replayed
    # in order: the first report opens the case, the nine after it are its duplicates
    for o in outcomes[1:10]:
        assert f'"duplicate_of": {first.event_id}' in o.body
    assert len({o.event_id for o in outcomes[10:20]}) == 10
    # one key, five submissions: one event, the same body five times
    assert len({o.event_id for o in outcomes[20:]}) == 1
    assert len({o.body for o in outcomes[20:]}) == 1
    assert [o.replayed for o in outcomes[20:]] == [False, True, True, True, True]
    with engine.connect() as conn:
        stored = conn.execute(text(
            "SELECT count(*), count(DISTINCT e.id) FILTER (WHERE h.action = 'register') "
            "FROM events e JOIN event_history h ON h.event_id = e.id "
            "WHERE e.description LIKE :m"), {"m": MARK + "%"}).one()
    assert stored[1] == 21                      # 10 + 10 + 1 events, each registered


def test_a_report_the_database_rejects_fails_alone(
        writer: IntakeWriter, engine: Engine, points: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:  # a real constraint of the database, met by one report
        conn.execute(text("""
            CREATE OR REPLACE FUNCTION writer_test_reject() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.description LIKE '%reject me%' THEN RAISE EXCEPTION 'rejected'; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER writer_test_reject BEFORE INSERT ON events
            FOR EACH ROW EXECUTE FUNCTION writer_test_reject();"""))
    reports = [_report(p, category="0103", tag="ok") for p in points[:6]]
    reports.insert(3, _report(points[7], category="0103", tag="reject me"))
    reports.append(_report(points[8], category="9999", tag="unknown category"))
    outcomes = run_coroutine(_submit_all(writer, reports))
    assert isinstance(outcomes[3], Exception) and "rejected" in str(outcomes[3])
    assert isinstance(outcomes[-1], GisError) and outcomes[-1].code == "unknown_category"
    ok = [o for i, o in enumerate(outcomes) if i not in (3, len(outcomes) - 1)]
    assert all(isinstance(o, Intake) for o in ok)
    with engine.connect() as conn:
        ids = set(conn.execute(text("SELECT id FROM events WHERE description LIKE :m"),
                               {"m": MARK + "%"}).scalars())
    assert ids == {o.event_id for o in ok}      # the rejected and the refused left nothing


def test_a_connection_lost_while_idle_is_replaced_and_the_report_written(
        writer: IntakeWriter, engine: Engine, points: list[dict[str, Any]]) -> None:
    async def scenario() -> tuple[Any, Any, Any]:
        first = await writer.submit(_report(points[0], category="0104", tag="before"))
        assert writer._conn is not None
        pid = writer._conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        writer._conn.rollback()
        with engine.begin() as conn:  # as a restart of the database does
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        lost = (await _submit_all(writer, [_report(points[1], category="0104", tag="lost")]))[0]
        after = await writer.submit(_report(points[2], category="0104", tag="after"))
        return first, lost, after

    first, lost, after = run_coroutine(scenario())
    assert isinstance(lost, Intake) and lost.event_id > first.event_id
    assert isinstance(after, Intake) and after.event_id > lost.event_id
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM events WHERE description LIKE :m"),
                              {"m": MARK + "%"}).scalar_one()
    assert stored == 3


def test_a_report_that_breaks_before_or_in_the_statement_fails_alone(
        writer: IntakeWriter, engine: Engine, points: list[dict[str, Any]]) -> None:
    # Text the driver cannot encode, given to the writer directly (the routers refuse it):
    # in the address, it breaks the address lookup before the intake statement; in the
    # description, the intake statement itself; an unknown CRS, the CRS check.
    poisoned = {
        3: Report(category_code="0105", address="路\ud800", description=f"{MARK} bad"),
        7: _report(points[9], category="0105", tag="bad \udfff"),
        11: Report(category_code="0105", x=1.0, y=2.0, crs="IAU_2015:30100",
                   description=f"{MARK} moon"),
    }
    reports = [_report(p, category="0105", tag="ok") for p in points[:12]]
    for i, report in poisoned.items():
        reports.insert(i, report)
    outcomes = run_coroutine(_submit_all(writer, reports))
    for i in poisoned:
        assert isinstance(outcomes[i], GisError), outcomes[i]
        assert outcomes[i].code in ("invalid_text", "unknown_crs")
    ok = [o for i, o in enumerate(outcomes) if i not in poisoned]
    assert all(isinstance(o, Intake) for o in ok), ok
    with engine.connect() as conn:
        ids = set(conn.execute(text("SELECT id FROM events WHERE description LIKE :m"),
                               {"m": MARK + "%"}).scalars())
    assert ids == {o.event_id for o in ok}


def _slow_first_batch(engine: Engine) -> None:
    """Events described 'slow' take half a second to insert: their batch stays in the database."""
    with engine.begin() as conn:
        conn.execute(text("""
            CREATE OR REPLACE FUNCTION writer_test_reject() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.description LIKE '%slow%' THEN PERFORM pg_sleep(0.5); END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER writer_test_reject BEFORE INSERT ON events
            FOR EACH ROW EXECUTE FUNCTION writer_test_reject();"""))


def _two_waves(writer: IntakeWriter, first: Report, second: list[Report]
               ) -> tuple[Any, list[Any]]:
    async def scenario() -> tuple[Any, list[Any]]:
        one = asyncio.ensure_future(writer.submit(first))
        while writer._writing is None:  # the first batch is on its way to the database
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert not writer._writing.done()
        two = await _submit_all(writer, second)
        return await one, two

    return run_coroutine(scenario())


def test_a_batch_prepared_while_the_one_before_is_written_sees_all_of_it(
        writer: IntakeWriter, engine: Engine, points: list[dict[str, Any]]) -> None:
    _slow_first_batch(engine)
    key = f"{MARK}-ahead"
    first = _report(points[0], category="0107", tag="slow first", idempotency_key=key)
    second = [_report(points[0], category="0107", tag="same place"),
              _report(points[3], category="0107", tag="same key", idempotency_key=key),
              Report(category_code="0107", building_code="NO-SUCH-BUILDING",
                     description=f"{MARK} no building"),
              _report(points[5], category="0107", tag="elsewhere")]
    made, outcomes = _two_waves(writer, first, second)
    assert writer.prepared_ahead == 1           # the second wave was made ready meanwhile
    assert writer.batches == 2
    assert isinstance(made, Intake) and not made.replayed
    # and written after the first committed, in order: it sees the first's case and key
    same_place, same_key, no_building, elsewhere = outcomes
    assert isinstance(same_place, Intake)
    assert f'"duplicate_of": {made.event_id}' in same_place.body
    assert isinstance(same_key, Intake) and same_key.replayed
    assert same_key.event_id == made.event_id and same_key.body == made.body
    assert isinstance(no_building, GisError) and no_building.code == "building_not_found"
    assert isinstance(elsewhere, Intake) and '"duplicate": false' in elsewhere.body
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT id, reported_at FROM events WHERE description LIKE :m "
                                   "ORDER BY id"), {"m": MARK + "%"}).all()
    assert [r.id for r in stored] == [made.event_id, same_place.event_id, elsewhere.event_id]
    assert stored[0].reported_at < stored[1].reported_at


def test_a_batch_that_cannot_be_prepared_ahead_is_prepared_by_its_write(
        writer: IntakeWriter, engine: Engine, points: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.orm import Session

    from api.events import writer as writer_module

    real = writer_module.prepare_reports

    def fails_off_the_writer(conn: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(conn, Session):  # the pool's session of a batch prepared ahead
            raise RuntimeError("the pool is gone")
        return real(conn, *args, **kwargs)

    monkeypatch.setattr(writer_module, "prepare_reports", fails_off_the_writer)
    _slow_first_batch(engine)
    made, outcomes = _two_waves(writer, _report(points[0], category="0108", tag="slow first"),
                                [_report(points[0], category="0108", tag="same place")])
    assert writer.prepared_ahead == 0
    assert isinstance(made, Intake)
    [same_place] = outcomes
    assert isinstance(same_place, Intake)
    assert f'"duplicate_of": {made.event_id}' in same_place.body

"""Working calendars on real dates: weekends, the 2025 National Day holiday and its make-up
working days, district calendars, and their administration (API, CLI, audit)."""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.audit.service import Actor
from api.calendar import service as svc
from api.calendar.deadlines import deadline, elapsed
from tests.api.events_support import bearer, token_for

CN = ZoneInfo("Asia/Shanghai")
ADMIN = Actor("root", role="admin")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A local time in China."""
    return datetime(y, m, d, hh, mm, tzinfo=CN)


def t(hour: int, minute: int = 0) -> time:
    """A time of day."""
    return time(hour, minute)


def working(session: Session, start: datetime, hours: float, area: str | None = None
            ) -> datetime:
    return deadline(session, start, hours * 3600, True, area).astimezone(CN)


def test_a_friday_afternoon_limit_crosses_the_weekend(session: Session) -> None:
    # Fri 14 Nov 2025 16:00: 1.5 h left that day (to 17:30), 2.5 h on Monday from 08:30
    assert working(session, at(2025, 11, 14, 16), 4) == at(2025, 11, 17, 11)
    # natural time runs through the night and the weekend
    assert deadline(session, at(2025, 11, 14, 16), 4 * 3600, False) == at(2025, 11, 14, 20)
    # a limit that ends with the morning period ends at 12:00, not at 14:00
    assert working(session, at(2025, 11, 17, 8, 30), 3.5) == at(2025, 11, 17, 12)
    # reported on Saturday: the clock starts on Monday morning
    assert working(session, at(2025, 11, 15, 10), 1) == at(2025, 11, 17, 9, 30)
    # 2 working days (14 h) from Friday noon: Fri afternoon, Monday, Tuesday morning
    assert working(session, at(2025, 11, 14, 12), 14) == at(2025, 11, 18, 12)


def test_a_limit_crosses_national_day_2025_and_its_make_up_working_days(
        session: Session) -> None:
    # Fri 26 Sep 16:30, 8 working hours: 1 h on Friday, none on Saturday 27, then
    # Sunday 28 Sep is a make-up working day (7 h, Monday's hours)
    assert working(session, at(2025, 9, 26, 16, 30), 8) == at(2025, 9, 28, 17, 30)
    # Tue 30 Sep 16:00, 7 h: 1.5 h that day, 1-8 October are holidays, Thu 9 Oct
    assert working(session, at(2025, 9, 30, 16), 7) == at(2025, 10, 9, 16)
    # 21 h: ... Thu 9 (7 h), Fri 10 (7 h), and Saturday 11 Oct, a make-up working day
    assert working(session, at(2025, 9, 30, 16), 21) == at(2025, 10, 11, 16)
    # the clock stands still through the holiday: 1 Oct to 8 Oct holds no working time
    assert elapsed(session, at(2025, 10, 1, 9), at(2025, 10, 8, 17), True) == 0
    assert elapsed(session, at(2025, 9, 30, 17), at(2025, 10, 9, 9), True) == 3600


def test_the_days_of_2025_come_from_chinese_calendar(session: Session) -> None:
    days = {d["day"]: d for d in svc.list_days(session, "default", 2025)}
    assert days["2025-09-28"]["kind"] == days["2025-10-11"]["kind"] == "workday"
    assert all(days[f"2025-10-0{n}"]["kind"] == "holiday" for n in (1, 2, 3, 6, 7, 8))
    assert "2025-10-04" not in days  # a Saturday inside the holiday: no work anyway
    assert days["2025-10-01"]["source"] == "chinese-calendar"


def test_a_district_has_its_own_hours_and_others_take_the_default(session: Session) -> None:
    svc.create_calendar(session, code="summer-340111", name="包河区夏令时", actor=ADMIN,
                        district_code="340111", hours={d: [(t(9), t(12)), (t(14, 30), t(18))]
                                                       for d in range(1, 6)})
    community = "340111001001"  # a community of the district: its first 6 digits
    assert working(session, at(2025, 11, 14, 17), 1, community) == at(2025, 11, 14, 18)
    assert working(session, at(2025, 11, 14, 17), 1, "340104001001") == \
        at(2025, 11, 17, 9)  # another district: the default (17:30, then Monday 08:30)
    # the district calendar got the national days: National Day is a holiday there too
    assert working(session, at(2025, 9, 30, 17), 2, community) == at(2025, 10, 9, 10)


def test_a_deadline_outside_the_calendar_years_is_refused(session: Session) -> None:
    with pytest.raises(DBAPIError, match="beyond the working periods of calendar default"):
        with session.begin_nested():
            working(session, at(2041, 1, 2, 9), 1)
    svc.set_years(session, "default", 2000, 2045, ADMIN)
    assert working(session, at(2041, 1, 2, 9), 1) == at(2041, 1, 2, 10)


def test_admins_edit_the_hours_and_days_through_the_api(client: TestClient,
                                                       session: Session) -> None:
    admin = bearer(token_for(session, "admin", "cal-admin"))
    r = client.get("/api/v1/calendars", headers=admin)
    assert r.status_code == 200
    default = r.json()[0]
    assert (default["code"], default["is_default"]) == ("default", True)
    assert default["hours"]["1"] == [["08:30", "12:00"], ["14:00", "17:30"]]
    assert "6" not in default["hours"]
    preview = {"start": "2025-11-14T16:00:00+08:00", "hours": 4}
    assert client.get("/api/v1/calendars/deadline", params=preview, headers=admin
                      ).json()["due_at"] == "2025-11-17T03:00:00+00:00"  # Mon 11:00
    # Monday 17 Nov becomes a holiday by hand: the deadline moves to Tuesday
    r = client.put("/api/v1/calendars/default/days/2025-11-17", headers=admin,
                   json={"kind": "holiday", "name": "台风停工"})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/calendars/deadline", params=preview, headers=admin
                      ).json()["due_at"] == "2025-11-18T03:00:00+00:00"
    # a load of the year again keeps the day entered by hand
    assert client.post("/api/v1/calendars/load", json={"year": 2025}, headers=admin
                       ).json() == {"default": len(svc.china_days(2025))}
    days = client.get("/api/v1/calendars/default/days", params={"year": 2025},
                      headers=admin).json()
    assert {"day": "2025-11-17", "kind": "holiday", "name": "台风停工",
            "source": "manual"} in days
    assert client.delete("/api/v1/calendars/default/days/2025-11-17",
                         headers=admin).status_code == 204
    # Saturdays become working mornings
    hours = {**default["hours"], "6": [["09:00", "12:00"]]}
    r = client.put("/api/v1/calendars/default/hours", json={"hours": hours}, headers=admin)
    assert r.json()["hours"]["6"] == [["09:00", "12:00"]]
    assert client.get("/api/v1/calendars/deadline", params=preview, headers=admin
                      ).json()["due_at"] == "2025-11-15T03:30:00+00:00"  # Sat 11:30
    actions = session.execute(text(
        "SELECT action FROM audit_log WHERE object_type = 'calendar' ORDER BY id")).scalars()
    assert list(actions) == ["calendar.day", "calendar.load", "calendar.day.delete",
                             "calendar.hours"]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("put", "/api/v1/calendars/default/hours", {"hours": {"1": [["12:00", "08:30"]]}}, 422,
     "invalid_hours"),
    ("put", "/api/v1/calendars/default/hours",
     {"hours": {"1": [["08:00", "12:00"], ["11:00", "13:00"]]}}, 422, "invalid_hours"),
    ("put", "/api/v1/calendars/default/hours", {"hours": {"8": []}}, 422, "invalid_parameter"),
    ("put", "/api/v1/calendars/nosuch/hours", {"hours": {}}, 404, "calendar_not_found"),
    ("post", "/api/v1/calendars/load", {"year": 1999}, 422, "year_not_available"),
    ("post", "/api/v1/calendars", {"code": "x", "name": "x", "timezone": "Mars/Base"}, 422,
     "invalid_timezone"),
    ("post", "/api/v1/calendars", {"code": "dup", "name": "x"}, 409, "calendar_exists"),
    ("delete", "/api/v1/calendars/default/days/2025-11-18", None, 404, "day_not_found"),
])
def test_bad_calendar_input_gets_a_clear_4xx(client: TestClient, session: Session,
                                             method: str, path: str, body: object,
                                             status: int, code: str) -> None:
    admin = bearer(token_for(session, "admin", "cal-admin"))
    if code == "calendar_exists":
        client.post("/api/v1/calendars", json={"code": "dup", "name": "first"}, headers=admin)
    r = client.request(method, path, json=body, headers=admin)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text


def test_the_deadline_preview_refuses_a_time_outside_the_calendar(client: TestClient,
                                                                 session: Session) -> None:
    staff = bearer(token_for(session, "analyst", "cal-analyst"))
    r = client.get("/api/v1/calendars/deadline", headers=staff,
                   params={"start": "1990-01-02T09:00:00+08:00", "hours": 2})
    assert (r.status_code, r.json()["code"]) == (422, "outside_calendar")
    assert "default" in r.json()["message"]


def test_the_cli_loads_a_year_and_sets_a_districts_hours(empty_database_url: str) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    def run(*args: str, ok: bool = True) -> Any:
        result = CliRunner().invoke(app, list(args), env={"DATABASE_URL": empty_database_url})
        assert (result.exit_code == 0) == ok, (result.stdout, result.stderr)
        return json.loads(result.stdout) if ok else result

    assert run("calendar", "load", "--year", "2026") == {"default": len(svc.china_days(2026))}
    assert "chinese-calendar knows" in run("calendar", "load", "--year", "1999",
                                           ok=False).stderr
    run("calendar", "create", "--code", "baohe", "--name", "包河区", "--district", "340111")
    cal = run("calendar", "hours", "baohe", "--weekdays", "1-5", "--period", "09:00-12:00",
              "--period", "14:30-18:00")
    assert cal["district_code"] == "340111"
    assert cal["hours"]["5"] == [["09:00", "12:00"], ["14:30", "18:00"]]
    days = run("calendar", "days", "baohe", "--year", "2026")
    assert {"day": "2026-10-01", "kind": "holiday"}.items() <= days[
        [d["day"] for d in days].index("2026-10-01")].items()
    assert [c["code"] for c in run("calendar", "list")] == ["default", "baohe"]


def test_make_up_days_work_mondays_hours(session: Session) -> None:
    svc.set_hours(session, "default", {1: [(t(9), t(11))], 2: [(t(8), t(17))]}, ADMIN)
    assert working(session, at(2025, 9, 28, 8), 1) == at(2025, 9, 28, 10)
    assert working(session, at(2025, 9, 28, 10, 30), 1) == at(2025, 9, 29, 9, 30)

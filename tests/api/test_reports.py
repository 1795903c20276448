"""Leaders' reports on the sample town: the XLSX and the PDF hold the KPIs of ``event_kpis``
for the period and the previous one, the command line writes the file, a street's
dispatcher gets only their street's report, a bad period or area is refused, and the
scheduled job writes the previous month's report once."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.assessment.score import rankings
from api.cli import app as cli
from api.events.kpi import event_kpis
from api.reports.scheduled import write_due_reports
from api.settings import Settings
from tests.api.events_support import bearer, token_for

STREET = "440307003"  # 平湖街道 of the sample town (its events end on 2026-11-01)
OTHER_STREET = "440307006"
SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = (datetime(2026, 10, 1, tzinfo=SHANGHAI), datetime(2026, 11, 1, tzinfo=SHANGHAI))
SEPTEMBER = (datetime(2026, 9, 1, tzinfo=SHANGHAI), OCTOBER[0])
KPI_KEYS = ("reported", "registered", "closed", "closure_rate", "on_time_closure_rate",
            "overdue", "median_hours_to_close", "mean_satisfaction")


@pytest.fixture()
def app_settings(app_settings: Settings, tmp_path: Path) -> Settings:
    """The app's home (where the archive of scheduled reports is) in a temporary folder."""
    app_settings.db.home = tmp_path / "home"
    return app_settings


@pytest.fixture()
def admin(session: Session) -> dict[str, str]:
    return bearer(token_for(session, "admin", "report-admin"))


def _street_kpis(session: Session, period: tuple[datetime, datetime],
                 now: datetime | None = None) -> dict[str, Any]:
    """The street's KPIs by ``event_kpis`` grouped by street (not the reports' own scope)."""
    kpis = event_kpis(session, group_by="street", now=now or datetime.now(UTC),
                      start=period[0], end=period[1])
    return next(g for g in kpis["groups"] if g["key"] == STREET)


def _summary(data: bytes) -> dict[str, tuple[Any, Any]]:
    """The XLSX summary sheet's KPIs: key -> (this period, previous period)."""
    sheet = openpyxl.load_workbook(io.BytesIO(data))["概要"]
    return {row[1]: (row[2], row[3]) for row in sheet.iter_rows(values_only=True)
            if row[1] is not None and row[0] != "区域"}


def _assert_kpis(summary: dict[str, tuple[Any, Any]], now: dict[str, Any],
                 before: dict[str, Any]) -> None:
    for key in KPI_KEYS:
        assert summary[key] == (pytest.approx(now[key]), pytest.approx(before[key])), key


def test_xlsx_holds_the_kpis_of_the_month_and_the_month_before(
        client: TestClient, session: Session, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/reports", params={"street": STREET, "month": "2026-10",
                                              "format": "xlsx"}, headers=admin)
    assert r.status_code == 200, r.text
    assert "report-440307003-2026-10.xlsx" in r.headers["content-disposition"]
    october, september = _street_kpis(session, OCTOBER), _street_kpis(session, SEPTEMBER)
    assert october["reported"] > 0 and september["reported"] > 0
    _assert_kpis(_summary(r.content), october, september)
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert {"趋势", "类别", "超期案件"} <= set(book.sheetnames)
    trend = list(book["趋势"].iter_rows(min_row=2, values_only=True))
    assert len(trend) == 31 and sum(row[1] for row in trend) == october["reported"]
    overdue = list(book["超期案件"].iter_rows(min_row=2, values_only=True))
    assert len(overdue) == october["overdue"]
    grids = list(book["网格分布"].iter_rows(min_row=2, values_only=True))
    assert sum(row[1] for row in grids) == october["reported"]  # the basic layer is exclusive


def test_rankings_are_the_assessment_scores_of_the_street_s_communities(
        client: TestClient, session: Session, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/reports", params={"street": STREET, "month": "2026-10",
                                              "format": "xlsx"}, headers=admin)
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert {"社区排名", "部门排名", "网格员排名"} <= set(book.sheetnames)
    sheet = [(row[1], row[3]) for row in book["社区排名"].iter_rows(min_row=2, values_only=True)]
    ours = set(session.execute(text("SELECT code FROM admin_areas WHERE parent_code = :s"),
                               {"s": STREET}).scalars())
    everywhere = rankings(session, level="community", start=OCTOBER[0], end=OCTOBER[1],
                          now=datetime.now(UTC))
    assert len(ours) == 2 and len(everywhere) > 2  # the district's other street is left out
    assert sheet == [(row["key"], row["score"]) for row in everywhere if row["key"] in ours]


def test_the_download_is_audited(client: TestClient, session: Session,
                                 admin: dict[str, str]) -> None:
    r = client.get("/api/v1/reports", params={"street": STREET, "week": "2026-W43"},
                   headers=admin)
    assert r.status_code == 200, r.text
    row = session.execute(text("SELECT actor, object_id, details FROM audit_log "
                               "WHERE action = 'report.export' ORDER BY id DESC LIMIT 1")).one()
    assert row.actor == "report-admin" and row.object_id == f"{STREET}/2026-W43"
    assert row.details["format"] == "pdf"


def test_pdf_holds_the_street_name_and_the_kpi_figures(
        client: TestClient, session: Session, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/reports", params={"street": STREET, "month": "2026-10",
                                              "format": "pdf"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    pdf = PdfReader(io.BytesIO(r.content))
    words = "\n".join(page.extract_text() for page in pdf.pages)
    assert "平湖街道 月报 2026-10" in words
    assert all(title in words for title in ("主要指标", "社区排名", "部门排名", "网格员排名"))
    october, september = _street_kpis(session, OCTOBER), _street_kpis(session, SEPTEMBER)
    kpi_lines = {line.strip() for line in words.splitlines()}
    for figures in (october, september):
        assert str(figures["reported"]) in kpi_lines
        assert f"{100 * figures['closure_rate']:.1f}%" in kpi_lines
        assert f"{100 * figures['on_time_closure_rate']:.1f}%" in kpi_lines


def test_a_period_without_events_is_a_report_of_zeros(client: TestClient,
                                                      admin: dict[str, str]) -> None:
    files = {}
    for fmt in ("xlsx", "pdf"):
        r = client.get("/api/v1/reports", params={"district": "440307", "month": "2020-02",
                                                  "format": fmt}, headers=admin)
        assert r.status_code == 200, r.text
        files[fmt] = r.content
    summary = _summary(files["xlsx"])
    assert summary["reported"] == (0, 0) and summary["closure_rate"] == (None, None)
    assert "龙岗区 月报 2020-02" in PdfReader(io.BytesIO(files["pdf"])).pages[0].extract_text()


def test_the_command_line_writes_the_file(database_url: str, engine: Any,
                                          tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    out = tmp_path / "pinghu.xlsx"
    result = runner.invoke(cli, ["report", "--street", STREET, "--month", "2026-10",
                                 "--out", str(out)], env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    with engine.connect() as conn, Session(bind=conn) as session:
        _assert_kpis(_summary(out.read_bytes()), _street_kpis(session, OCTOBER),
                     _street_kpis(session, SEPTEMBER))
    pdf = tmp_path / "pinghu.pdf"
    result = runner.invoke(cli, ["report", "--street", STREET, "--week", "2026-W43",
                                 "--out", str(pdf)], env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "平湖街道 周报 2026-W43" in PdfReader(pdf).pages[0].extract_text()
    bad = runner.invoke(cli, ["report", "--street", STREET, "--week", "2026-43",
                              "--out", str(tmp_path / "x.pdf")], env=env)
    assert bad.exit_code == 1 and "'week'" in bad.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_a_street_dispatcher_reads_only_their_street(client: TestClient,
                                                     session: Session) -> None:
    mine = bearer(token_for(session, "dispatcher", "d-report", areas=[STREET]))
    community = session.execute(text("SELECT min(code) FROM admin_areas WHERE parent_code = "
                                     ":s"), {"s": STREET}).scalar_one()
    for area, status in ((("street", STREET), 200), (("community", community), 200),
                         (("street", OTHER_STREET), 403), (("district", "440307"), 403)):
        r = client.get("/api/v1/reports", params={area[0]: area[1], "month": "2026-10",
                                                  "format": "xlsx"}, headers=mine)
        assert r.status_code == status, (area, r.text)
        if status == 403:
            assert r.json()["code"] == "out_of_scope" and area[1] in r.json()["message"]
    grid = session.execute(text("SELECT min(code) FROM grids WHERE community_code = :c"),
                           {"c": community}).scalar_one()
    worker = bearer(token_for(session, "grid_worker", "w-report", grids=[grid]))
    r = client.get("/api/v1/reports", params={"street": STREET, "month": "2026-10"},
                   headers=worker)
    assert r.status_code == 403


@pytest.mark.parametrize(("params", "named"), [
    ({"street": STREET, "month": "2026-13"}, "'month'"),
    ({"street": STREET, "month": "november"}, "'month'"),
    ({"street": STREET, "week": "2026-W54"}, "'week'"),
    ({"street": STREET, "month": "2026-10", "week": "2026-W43"}, "exactly one"),
    ({"street": STREET}, "exactly one"),
])
def test_a_bad_period_is_422_naming_it(client: TestClient, admin: dict[str, str],
                                       params: dict[str, str], named: str) -> None:
    r = client.get("/api/v1/reports", params=params, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_period" and named in r.json()["message"]


def test_an_unknown_area_is_refused_naming_it(client: TestClient,
                                              admin: dict[str, str]) -> None:
    r = client.get("/api/v1/reports", params={"street": "440307999", "month": "2026-10"},
                   headers=admin)
    assert r.status_code == 404
    assert r.json()["code"] == "area_not_found" and "440307999" in r.json()["message"]
    r = client.get("/api/v1/reports", params={"street": "440307", "month": "2026-10"},
                   headers=admin)  # the district's code given as a street
    assert r.status_code == 404 and "'street'" in r.json()["message"]
    r = client.get("/api/v1/reports", params={"month": "2026-10"}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "invalid_area"


def test_the_scheduled_job_writes_the_previous_month_once(
        client: TestClient, session: Session, app_settings: Settings,
        admin: dict[str, str]) -> None:
    app_settings.reports.areas = STREET
    app_settings.reports.formats = "xlsx"
    now = datetime(2026, 11, 1, 0, 30, tzinfo=SHANGHAI)  # the first of the month
    written = write_due_reports(session, app_settings, now)
    archive = app_settings.db.home / "reports"
    month = archive / "report-440307003-2026-10.xlsx"
    assert sorted(written) == sorted([month, archive / "report-440307003-2026-W43.xlsx"])
    _assert_kpis(_summary(month.read_bytes()), _street_kpis(session, OCTOBER, now),
                 _street_kpis(session, SEPTEMBER, now))
    first = month.read_bytes()
    assert write_due_reports(session, app_settings, now) == []
    assert month.read_bytes() == first

    listed = client.get("/api/v1/reports/archive", headers=admin)
    assert listed.status_code == 200
    assert [(f["name"], f["period"]) for f in listed.json()] == [  # newest period first
        ("report-440307003-2026-10.xlsx", "2026-10"),
        ("report-440307003-2026-W43.xlsx", "2026-W43")]
    got = client.get(listed.json()[0]["url"], headers=admin)
    assert got.status_code == 200 and got.content == first
    other = bearer(token_for(session, "dispatcher", "d-other", areas=[OTHER_STREET]))
    assert client.get("/api/v1/reports/archive", headers=other).json() == []
    assert client.get(listed.json()[0]["url"], headers=other).status_code == 403
    assert client.get("/api/v1/reports/archive/..%2Fsecret.pdf",
                      headers=admin).status_code == 404

"""Bulk import of a real 311 export (Los Angeles, 2020) against its real districts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.db.bulk import copy_frame
from api.db.session import make_engine
from api.io.importer import ImportOptions, import_file
from data_samples.catalogue import load_categories, load_departments
from gis_core.errors import InvalidInput
from testkit.databases import migrated_database

LA_MAP = {
    "Bulky Items": "0113", "Metal/Household Appliances": "0113", "Electronic Waste": "0113",
    "Graffiti Removal": "0105", "Illegal Dumping Pickup": "0101",
    "Dead Animal Removal": "0110", "Single Streetlight Issue": "0201",
    "Multiple Streetlight Issue": "0201", "*": "0103",
}


LA_CHANNELS = {"Call": "hotline", "Mobile App": "app", "Self Service": "app",
               "Driver Self Report": "patrol", "*": "hotline"}


@pytest.fixture(scope="module")
def fresh(server_url: str) -> Iterator[Engine]:
    """A fresh database with only the category catalogue loaded."""
    with migrated_database(server_url, "gridgov_import") as url:
        engine = make_engine(url, pool_size=2)
        with engine.begin() as conn:
            copy_frame(conn, "departments", load_departments())
            ids = {str(r[0]): int(r[1]) for r in conn.execute(text(
                "SELECT code, id FROM departments"))}
            cats = load_categories()
            cats["department_id"] = cats["department_code"].map(ids)
            copy_frame(conn, "event_categories", cats.drop(columns=["department_code"]))
        yield engine
        engine.dispose()


@pytest.fixture(scope="module")
def la(fresh: Engine, shared_data: Path) -> pd.DataFrame:
    """The LA neighbourhood councils as a non-exclusive layer, then the 311 requests."""
    base = shared_data / "us_311"
    import_file(fresh, "grids", base / "la_neighborhood_councils_2019.geojson",
                ImportOptions(layer="la_nc", code_field="nc_id", name_field="name",
                              exclusive=False, layer_kind="functional"))
    counts = import_file(fresh, "events", base / "la311_requests_2020_sample.csv",
                         ImportOptions(category_map=LA_MAP, timezone="America/Los_Angeles",
                                       fields={"external_id": "srnumber",
                                               "channel": "requestsource"},
                                       channel_map=LA_CHANNELS))
    rows = pd.read_csv(base / "la311_requests_2020_sample.csv", dtype=str)
    lon = pd.to_numeric(rows["longitude"], errors="coerce")
    lat = pd.to_numeric(rows["latitude"], errors="coerce")
    rows = rows[np.isfinite(lon) & np.isfinite(lat)]
    assert counts == {"events": len(rows)}
    return rows


def test_counts_categories_and_status(fresh: Engine, la: pd.DataFrame) -> None:
    with fresh.connect() as conn:
        by_cat = {str(r[0]): int(r[1]) for r in conn.execute(text(
            "SELECT c.code, count(*) FROM events e JOIN event_categories c "
            "ON c.id = e.category_id GROUP BY c.code"))}
        closed = conn.execute(text(
            "SELECT count(*) FROM events WHERE status = 'closed' AND closed_at IS NOT NULL"
        )).scalar_one()
        incomplete = conn.execute(text(
            "SELECT count(*) FROM events e WHERE e.due_at IS NULL OR e.department_id IS NULL "
            "OR NOT EXISTS (SELECT 1 FROM event_history h WHERE h.event_id = e.id "
            "AND h.action = 'register')")).scalar_one()
        close_rows = conn.execute(text(
            "SELECT count(*) FROM event_history WHERE action = 'close'")).scalar_one()
        audited = conn.execute(text(
            "SELECT details FROM audit_log WHERE action = 'event.import'")).scalars().all()
    assert by_cat["0105"] == int((la["requesttype"] == "Graffiti Removal").sum())
    assert by_cat["0113"] == int(la["requesttype"].isin(
        ["Bulky Items", "Metal/Household Appliances", "Electronic Waste"]).sum())
    assert sum(by_cat.values()) == len(la)
    assert closed == close_rows == int(la["closeddate"].notna().sum())
    assert incomplete == 0
    assert [d["count"] for d in audited] == [len(la)]  # one audit row for the import


def test_local_times_of_the_la_export_are_stored_in_utc(fresh: Engine, la: pd.DataFrame
                                                        ) -> None:
    with fresh.connect() as conn:
        first = conn.execute(text(
            "SELECT to_char(reported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "
            "to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), channel "
            "FROM events WHERE attributes->>'external_id' = '1-1523590121'")).one()
        channels: dict[Any, Any] = dict(conn.execute(text(
            "SELECT channel, count(*) FROM events GROUP BY channel")).all())
    row = la[la["srnumber"] == "1-1523590121"].iloc[0]
    assert (row["createddate"], row["closeddate"], row["requestsource"]) == (
        "1/1/20 0:05", "1/2/20 8:43", "Call")
    # Pacific standard time is UTC-8
    assert first == ("2020-01-01 08:05", "2020-01-02 16:43", "hotline")
    assert channels["app"] == int(la["requestsource"].isin(["Mobile App", "Self Service"]).sum())
    assert sum(channels.values()) == len(la)


def test_a_time_zone_that_does_not_exist_is_refused(fresh: Engine, shared_data: Path) -> None:
    before = _count(fresh)
    with pytest.raises(InvalidInput, match="America/Los_Angeles"):
        import_file(fresh, "events", shared_data / "us_311" / "la311_requests_2020_sample.csv",
                    ImportOptions(category_map=LA_MAP, timezone="Pacific/Nowhere"))
    assert _count(fresh) == before


def test_events_fall_in_the_council_the_file_names(fresh: Engine, la: pd.DataFrame) -> None:
    with fresh.connect() as conn:
        ours = pd.DataFrame(conn.execute(text(
            "SELECT attributes->>'external_id' AS srnumber, grids->'la_nc' AS nc FROM events"
        )).mappings().all())
    merged = la[la["nc"].notna()].merge(ours, on="srnumber", how="inner")
    assert len(merged) == int(la["nc"].notna().sum())
    agree = [str(int(float(theirs))) in (mine or [])
             for theirs, mine in zip(merged["nc_x"], merged["nc_y"], strict=True)]
    assert np.mean(agree) >= 0.97  # boundaries of 2019 against requests of 2020


def test_unmapped_categories_are_refused(fresh: Engine, shared_data: Path) -> None:
    before = _count(fresh)
    with pytest.raises(InvalidInput, match="no mapping"):
        import_file(fresh, "events", shared_data / "us_311" / "la311_requests_2020_sample.csv",
                    ImportOptions(category_map={"Bulky Items": "0113"}))
    assert _count(fresh) == before


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


def test_cli_user_create_and_escalate(fresh: Engine, la: pd.DataFrame) -> None:
    from typer.testing import CliRunner

    from api.auth.principal import resolve
    from api.auth.service import hash_secret
    from api.cli import app

    env = {"DATABASE_URL": fresh.url.render_as_string(hide_password=False)}
    runner = CliRunner()
    made = runner.invoke(app, ["user", "create", "--name", "cgj-handler", "--role", "handler",
                               "--department", "CGJ"], env=env)
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[0]
    with Session(fresh) as session:
        found = resolve(session, hash_secret(token), "token")
        assert found is not None
        user = found.principal
        assert user.role == "handler" and user.department_id is not None
    refused = runner.invoke(app, ["user", "create", "--name", "w", "--role", "grid_worker"],
                            env=env)
    assert refused.exit_code != 0
    with fresh.connect() as conn:
        open_overdue = conn.execute(text(
            "SELECT count(*) FROM events WHERE status IN ('registered', 'dispatched') "
            "AND due_at < now() - interval '24 hours'")).scalar_one()
    assert open_overdue > 0
    ran = runner.invoke(app, ["events", "escalate"], env=env)
    assert ran.exit_code == 0, ran.output
    assert f"escalated {open_overdue} events" in ran.stdout
    again = runner.invoke(app, ["events", "escalate"], env=env)
    assert "escalated 0 events" in again.stdout

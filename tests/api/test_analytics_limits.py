"""Expensive analyses are bounded: parameters the territory cannot make sense of are 422,
one computation runs at a time per kind, and a repeat is served from the cache."""

from __future__ import annotations

import threading
from typing import Any

import h3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.analytics.hotspots import MAX_H3_CELLS, max_h3_resolution
from api.analytics.service import AnalysisBusy, ResultCache
from tests.api.events_support import signed_in


@pytest.fixture()
def client(client: TestClient, session: Session) -> TestClient:
    """Analyses are for analysts: the tests call them signed in as one."""
    return signed_in(client, session, "analyst")


def test_the_finest_h3_resolution_follows_the_territorys_size(session: Session) -> None:
    finest = max_h3_resolution(session.connection())
    area = session.execute(text(
        "SELECT ST_Area(ST_Envelope(ST_Extent(geom))::geography) / 1e6 FROM admin_areas")
    ).scalar_one()
    assert area / h3.average_hexagon_area(finest, unit="km^2") <= MAX_H3_CELLS
    assert area / h3.average_hexagon_area(finest + 1, unit="km^2") > MAX_H3_CELLS
    assert 8 <= finest < 15  # a town: street-block cells, not square metres


def test_too_fine_resolutions_are_refused_before_any_work(client: TestClient,
                                                          session: Session) -> None:
    finest = max_h3_resolution(session.connection())
    hot = client.get("/api/v1/analytics/hotspots", params={"cell": "h3:15"})
    assert hot.status_code == 422
    body = hot.json()
    assert body["code"] == "resolution_too_fine" and body["details"]["maximum"] == finest
    assert f"use {finest} or coarser" in body["message"]
    emerging = client.get("/api/v1/analytics/emerging-hotspots",
                          params={"resolution": 15, "step": "D"})
    assert emerging.status_code == 422 and emerging.json()["code"] == "resolution_too_fine"


def test_too_many_time_steps_are_refused(client: TestClient) -> None:
    daily = client.get("/api/v1/analytics/emerging-hotspots",
                       params={"resolution": 7, "step": "D"})  # a year of days
    assert daily.status_code == 422, daily.text
    assert daily.json()["code"] == "too_many_steps"


def test_placement_k_is_bounded(client: TestClient) -> None:
    resp = client.post("/api/v1/analytics/camera-placement", json={"k": 71})
    assert resp.status_code == 422
    assert "k" in resp.json()["message"]
    far = client.post("/api/v1/analytics/camera-placement", json={"k": 1, "range_m": 500})
    assert far.status_code == 422 and "range_m" in far.json()["message"]


def test_one_computation_per_kind_and_repeats_from_the_cache(engine: Engine) -> None:
    cache = ResultCache()
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []
    results: dict[str, Any] = {}

    def slow() -> str:
        calls.append("slow")
        started.set()
        assert release.wait(30)
        return "first"

    def run(name: str, params: dict[str, Any], key: str) -> None:
        results[key] = cache.get_or_compute(engine, name, params, slow)

    first = threading.Thread(target=run, args=("hotspots", {"cell": "h3:9"}, "a"))
    first.start()
    assert started.wait(30)
    same = threading.Thread(target=run, args=("hotspots", {"cell": "h3:9"}, "b"))
    same.start()
    with pytest.raises(AnalysisBusy):  # another hot spot analysis while one runs
        cache.get_or_compute(engine, "hotspots", {"cell": "h3:8"}, lambda: "other")
    # another kind is not held up
    assert cache.get_or_compute(engine, "coverage", {}, lambda: "coverage") == "coverage"
    release.set()
    first.join(30)
    same.join(30)
    assert results == {"a": "first", "b": "first"} and calls == ["slow"]
    assert cache.get_or_compute(engine, "hotspots", {"cell": "h3:9"}, slow) == "first"
    assert calls == ["slow"]


def test_a_busy_kind_is_429_with_retry_after(client: TestClient) -> None:
    cache: ResultCache = client.app.state.gridgov.analytics_cache  # type: ignore[attr-defined]
    cache._running["hotspots"] = (("held",), threading.Event())  # a computation in flight
    try:
        resp = client.get("/api/v1/analytics/hotspots", params={"cell": "h3:8"})
    finally:
        del cache._running["hotspots"]
    assert resp.status_code == 429
    assert resp.json()["code"] == "analysis_busy" and resp.headers["retry-after"] == "5"


@pytest.mark.parametrize("start", ["2000-01-01T00:00:00Z", "2000-01-01T08:00:00+08:00",
                                   "2000-01-01T00:00:00"])
def test_emerging_hot_spots_take_a_window_in_any_time_zone(client: TestClient,
                                                           start: str) -> None:
    resp = client.get("/api/v1/analytics/emerging-hotspots",
                      params={"resolution": 7, "step": "3MS", "from": start})
    assert resp.status_code == 200, resp.text  # was 500: UTC != UTC in pandas
    assert resp.json()["time_steps"][0].startswith("2000-01-01")


@pytest.mark.parametrize("step", ["s", "min", "-1D", "0D", "nonsense"])
def test_steps_too_short_or_not_steps_are_422_without_building_them(client: TestClient,
                                                                     step: str) -> None:
    resp = client.get("/api/v1/analytics/emerging-hotspots",
                      params={"resolution": 7, "step": step, "from": "1900-01-01T00:00:00Z"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["details"]["parameter"] == "step"

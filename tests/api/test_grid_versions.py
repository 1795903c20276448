"""The grid-version workflow through the app as an admin: a redrawn basic layer uploaded
(two grids merged, one of them drawn too wide), its QA findings, the repair preview and its
application, publication from a date, and what publication keeps and changes: history,
events at their report time, buildings, cameras, change counters, audit."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.api.events_support import signed_in

#: events whose basic grid is not the grid that covered them at their report time
#: (the engine's rule: ST_Covers, smallest code on a shared edge, validity at report time)
STALE_EVENTS = """
SELECT count(*) FROM events e
WHERE e.grids ->> 'basic' IS DISTINCT FROM (
    SELECT min(g.code COLLATE "C") FROM grids g JOIN grid_layers l ON l.id = g.layer_id
    WHERE l.name = 'basic' AND ST_Covers(g.geom, e.geom)
      AND (g.valid_from IS NULL OR g.valid_from <= e.reported_at)
      AND (g.valid_to IS NULL OR g.valid_to > e.reported_at))
  AND EXISTS (SELECT 1 FROM grids g JOIN grid_layers l ON l.id = g.layer_id
              WHERE l.name = 'basic' AND ST_Covers(g.geom, e.geom))
"""


@pytest.fixture()
def admin(client: TestClient, session: Session) -> TestClient:
    return signed_in(client, session)


def _current(session: Session) -> gpd.GeoDataFrame:
    rows = session.execute(text(
        "SELECT g.code, g.name, g.alias_code, ST_AsBinary(g.geom) AS wkb FROM grids g "
        "JOIN grid_layers l ON l.id = g.layer_id WHERE l.name = 'basic' AND g.valid_to IS NULL "
        "ORDER BY g.code")).all()
    return gpd.GeoDataFrame({"code": [r.code for r in rows], "name": [r.name for r in rows],
                             "alias_code": [r.alias_code for r in rows]},
                            geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]), crs=4326)


@pytest.fixture()
def merge(session: Session) -> dict[str, Any]:
    """Two neighbouring basic grids A < B of one community with events in B on both sides
    of the effective time; the effective time."""
    pair = session.execute(text("""
        SELECT a.code AS a, b.code AS b FROM grids a JOIN grids b ON a.layer_id = b.layer_id
        JOIN grid_layers l ON l.id = a.layer_id
        WHERE l.name = 'basic' AND a.valid_to IS NULL AND b.valid_to IS NULL
          AND a.code < b.code AND a.community_code = b.community_code
          AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 0
          AND (SELECT count(*) FROM events e WHERE e.grids ->> 'basic' = b.code) >= 10
        ORDER BY a.code, b.code LIMIT 1""")).one()
    latest = session.execute(text("SELECT max(valid_from) FROM grids")).scalar_one()
    median = session.execute(text(
        "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY reported_at) FROM events "
        "WHERE grids ->> 'basic' = :b"), {"b": pair.b}).scalar_one()
    effective = max(latest + timedelta(days=1), median)
    return {"a": pair.a, "b": pair.b, "effective": effective}


def _tiles(session: Session) -> dict[str, int]:
    return {str(t): int(v) for t, v in session.execute(text(
        "SELECT table_name, version FROM table_versions"))}


def _upload(client: TestClient, frame: gpd.GeoDataFrame, name: str = "basic.geojson",
            **form: str) -> Any:
    data = frame.to_json(drop_id=True).encode()
    return client.post("/api/v1/grid-versions", data={"layer": "basic", **form},
                       files={"file": (name, data, "application/geo+json")})


def test_a_redrawn_layer_is_checked_repaired_and_published_from_a_date(
        admin: TestClient, session: Session, merge: dict[str, Any]) -> None:
    a, b, effective = merge["a"], merge["b"], merge["effective"]
    grids = _current(session)
    old_b = grids.set_index("code").geometry[b]
    merged = shapely.union(grids.set_index("code").geometry[a], old_b)
    wide = merged.buffer(0.0003)  # ~30 m into every neighbour: overlaps
    drawn = grids[grids["code"] != b].copy()
    drawn.loc[drawn["code"] == a, "geometry"] = wide
    assert session.execute(text(STALE_EVENTS)).scalar_one() == 0
    tiles_before = _tiles(session)

    made = _upload(admin, drawn, note="A and B merged")
    assert made.status_code == 201, made.text
    version = made.json()
    vid = version["id"]
    assert version["status"] == "draft" and version["grids"] == len(grids) - 1
    assert version["changes"]["removed"] == [b] and a in version["changes"]["changed"]
    assert version["qa"]["ok"] is False
    kinds = {f["properties"]["kind"] for f in version["qa"]["findings"]["features"]}
    assert "overlap" in kinds

    refused = admin.post(f"/api/v1/grid-versions/{vid}/publish",
                         json={"effective_from": effective.isoformat()})
    assert refused.status_code == 422 and refused.json()["code"] == "grid_topology"

    preview = admin.get(f"/api/v1/grid-versions/{vid}/repair").json()
    assert preview["qa"]["ok"] is True
    changed = {c["code"] for c in preview["changed"]}
    assert a in changed or len(changed) > 1
    assert {f["properties"]["code"] for f in preview["grids"]["features"]} == changed
    assert admin.get(f"/api/v1/grid-versions/{vid}").json()["qa"]["ok"] is False  # unchanged
    applied = admin.post(f"/api/v1/grid-versions/{vid}/repair")
    assert applied.status_code == 200, applied.text
    assert admin.get(f"/api/v1/grid-versions/{vid}").json()["qa"]["ok"] is True

    early = admin.post(f"/api/v1/grid-versions/{vid}/publish",
                       json={"effective_from": "2020-01-01T00:00:00+08:00"})
    assert early.status_code == 422 and early.json()["code"] == "effective_too_early"
    done = admin.post(f"/api/v1/grid-versions/{vid}/publish",
                      json={"effective_from": effective.isoformat()})
    assert done.status_code == 200, done.text
    summary = done.json()["summary"]
    assert done.json()["status"] == "published"
    assert summary["removed"] == [b] and summary["events_reassigned"] > 0
    assert summary["buildings_linked"] > 0

    # history: B ends at the effective time, A has a new row from it, the rest kept theirs
    rows = session.execute(text(
        "SELECT g.code, g.valid_from, g.valid_to, g.community_code FROM grids g "
        "JOIN grid_layers l ON l.id = g.layer_id WHERE l.name = 'basic' AND g.code IN (:a, :b) "
        "ORDER BY g.code, g.valid_from NULLS FIRST"), {"a": a, "b": b}).all()
    b_rows = [r for r in rows if r.code == b]
    assert b_rows[-1].valid_to == effective
    a_rows = [r for r in rows if r.code == a]
    assert a_rows[-1].valid_from == effective and a_rows[-1].valid_to is None
    assert a_rows[-2].valid_to == effective
    assert a_rows[-1].community_code == a_rows[-2].community_code

    # every event keeps the grid valid at its report time: B before, A after
    assert session.execute(text(STALE_EVENTS)).scalar_one() == 0
    in_b = session.execute(text(
        "SELECT e.reported_at >= :t AS after, e.grids ->> 'basic' AS grid FROM events e "
        "WHERE ST_Covers(ST_GeomFromWKB(:g, 4326), e.geom)"),
        {"t": effective, "g": shapely.to_wkb(old_b.buffer(-0.0001))}).all()
    assert {r.grid for r in in_b if not r.after} == {b}
    assert {r.grid for r in in_b if r.after} == {a}
    # buildings and cameras follow the published grids
    assert session.execute(text(
        "SELECT count(*) FROM buildings b WHERE b.attributes -> 'grids' ->> 'basic' = :b"),
        {"b": b}).scalar_one() == 0
    assert session.execute(text(
        "SELECT count(*) FROM cameras c WHERE c.attributes -> 'grids' ->> 'basic' = :b"),
        {"b": b}).scalar_one() == 0
    tiles_after = _tiles(session)
    assert tiles_after["grids"] > tiles_before["grids"]
    assert tiles_after["buildings"] > tiles_before["buildings"]

    listed = admin.get("/api/v1/grid-versions", params={"layer": "basic"}).json()
    assert [v["id"] for v in listed][:1] == [vid]
    again = admin.post(f"/api/v1/grid-versions/{vid}/publish",
                       json={"effective_from": (effective + timedelta(days=1)).isoformat()})
    assert again.status_code == 409 and again.json()["code"] == "grid_version_not_draft"
    actions = [r[0] for r in session.execute(text(
        "SELECT action FROM audit_log WHERE object_type = 'grid_version' AND object_id = :v "
        "ORDER BY id"), {"v": str(vid)})]
    assert actions == ["grid_version.upload", "grid_version.repair", "grid_version.publish"]


def test_a_version_cannot_be_published_for_a_later_date(
        admin: TestClient, session: Session, merge: dict[str, Any]) -> None:
    grids = _current(session)
    drawn = grids[grids["code"] != merge["b"]].copy()
    drawn.loc[drawn["code"] == merge["a"], "geometry"] = shapely.union(
        grids.set_index("code").geometry[merge["a"]], grids.set_index("code").geometry[merge["b"]])
    vid = _upload(admin, drawn).json()["id"]
    future = datetime.now().astimezone() + timedelta(days=30)
    refused = admin.post(f"/api/v1/grid-versions/{vid}/publish",
                         json={"effective_from": future.isoformat()})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "effective_in_future"
    today = admin.get("/api/v1/grids", params={"layer": "basic", "limit": 1000}).json()
    assert merge["b"] in {f["properties"]["code"] for f in today["features"]}
    assert admin.get(f"/api/v1/grid-versions/{vid}").json()["status"] == "draft"


@pytest.mark.parametrize(("name", "body", "code"), [
    ("g.txt", b"x", "invalid_grids"),
    ("g.geojson", b"{not json", "invalid_grids"),
    ("g.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "X"},
         "geometry": {"type": "Point", "coordinates": [114, 22]}}]}).encode(), "invalid_grids"),
    ("g.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "X"}, "geometry": {
            "type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}] * 2
    }).encode(), "invalid_grids"),  # duplicate codes
])
def test_bad_files_are_422_and_store_nothing(admin: TestClient, session: Session, name: str,
                                            body: bytes, code: str) -> None:
    resp = admin.post("/api/v1/grid-versions", data={"layer": "basic"},
                      files={"file": (name, body)})
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == code
    assert session.execute(text("SELECT count(*) FROM grid_versions")).scalar_one() == 0


def test_unknown_layers_and_versions_are_404_and_a_discarded_draft_stays_out(
        admin: TestClient, session: Session) -> None:
    grids = _current(session)
    resp = admin.post("/api/v1/grid-versions", data={"layer": "nope"},
                      files={"file": ("g.geojson", grids.to_json().encode())})
    assert resp.status_code == 404 and resp.json()["code"] == "grid_layer_not_found"
    assert admin.get("/api/v1/grid-versions/999999").status_code == 404
    vid = _upload(admin, grids).json()["id"]
    shown = admin.get(f"/api/v1/grid-versions/{vid}").json()
    assert shown["changes"]["unchanged"] == len(grids) and shown["qa"]["ok"] is True
    drawn = admin.get(f"/api/v1/grid-versions/{vid}/grids").json()
    assert sorted(f["properties"]["code"] for f in drawn["features"]) == sorted(grids["code"])
    assert admin.get("/api/v1/grid-versions/999999/grids").status_code == 404
    gone = admin.delete(f"/api/v1/grid-versions/{vid}")
    assert gone.json()["status"] == "discarded"
    assert admin.get(f"/api/v1/grid-versions/{vid}/repair").status_code == 409
    functional = grids.head(2)
    fid = admin.post("/api/v1/grid-versions", data={"layer": "functional"}, files={
        "file": ("g.geojson", functional.to_json().encode())}).json()["id"]
    assert admin.get(f"/api/v1/grid-versions/{fid}/repair").json()["code"] == "not_exclusive"


def test_a_gpkg_with_its_own_code_column_and_crs_is_read(admin: TestClient,
                                                         session: Session) -> None:
    grids = _current(session).rename(columns={"code": "WGBM"}).to_crs(4547)
    buf = io.BytesIO()
    grids.to_file(buf, driver="GPKG", layer="grids")
    resp = admin.post("/api/v1/grid-versions", data={"layer": "basic", "code_field": "WGBM"},
                      files={"file": ("wg.gpkg", buf.getvalue())})
    assert resp.status_code == 201, resp.text
    changes = resp.json()["changes"]
    assert changes["added"] == [] and changes["removed"] == []  # same codes, reprojected


def test_a_zipped_shapefile_is_read_and_a_date_without_offset_is_refused(
        admin: TestClient, session: Session, tmp_path: Any) -> None:
    import zipfile

    grids = _current(session)
    grids.to_file(tmp_path / "wg.shp", driver="ESRI Shapefile", encoding="utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in tmp_path.glob("wg.*"):
            z.write(part, part.name)
    made = admin.post("/api/v1/grid-versions", data={"layer": "basic"},
                      files={"file": ("wg.zip", buf.getvalue())})
    assert made.status_code == 201, made.text
    assert made.json()["grids"] == len(grids)
    assert made.json()["changes"]["added"] == []
    naive = admin.post(f"/api/v1/grid-versions/{made.json()['id']}/publish",
                       json={"effective_from": "2027-01-01T00:00:00"})
    assert naive.status_code == 422 and naive.json()["code"] == "invalid_field"

"""Building QR plates, scan to record, the plate page, BeiDou endpoints, code allocation."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app as cli
from api.codes.service import allocate_building_codes
from coding import beidou, building_codes, qr
from coding.plates import plate_png
from tests.api.events_support import signed_in


@pytest.fixture()
def client(client: TestClient, session: Session) -> TestClient:
    """These routes are for staff: the tests call them signed in as an admin."""
    return signed_in(client, session)


def _building(session: Session) -> tuple[str, float, float]:
    row = session.execute(text(
        "SELECT b.code, ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom)) "
        "FROM buildings b WHERE EXISTS (SELECT 1 FROM cameras c WHERE ST_DWithin("
        "c.geom::geography, b.geom::geography, 100)) ORDER BY b.code LIMIT 1")).one()
    return row[0], float(row[1]), float(row[2])


def _photo(png: bytes, size: tuple[int, int] = (1600, 1200), angle: float = 12.0) -> bytes:
    """The plate pasted, rotated, into a larger noisy photo, as JPEG."""
    plate = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    rng = np.random.default_rng(5)
    photo = rng.integers(90, 170, (size[1], size[0], 3), dtype=np.uint8)
    h, w = plate.shape[:2]  # type: ignore[union-attr]
    y, x = (size[1] - h) // 2, (size[0] - w) // 2
    photo[y:y + h, x:x + w] = plate  # type: ignore[assignment]
    turn = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), angle, 1.0)
    photo = cv2.warpAffine(photo, turn, size, borderValue=(128, 128, 128))  # type: ignore[assignment]
    # perspective tilt: the top edge of the photo seen 25% narrower than the bottom
    src = np.float32([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]])  # type: ignore[arg-type]
    dst = np.float32([[size[0] * 0.125, 0], [size[0] * 0.875, 0], [size[0], size[1]],  # type: ignore[arg-type]
                      [0, size[1]]])
    photo = cv2.warpPerspective(photo, cv2.getPerspectiveTransform(src, dst), size,  # type: ignore[assignment,call-overload]
                                borderValue=(128, 128, 128))
    noisy = np.clip(photo + rng.normal(0, 6, photo.shape), 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return jpeg.tobytes()


def test_qr_svg_and_png_encode_the_plate_url(client: TestClient, session: Session) -> None:
    code, _, _ = _building(session)
    svg = client.get(f"/api/v1/buildings/{code}/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.content.lstrip().startswith(b"<?xml") or b"<svg" in svg.content[:200]
    png = client.get(f"/api/v1/buildings/{code}/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert qr.read(png.content) == f"http://testserver/b/{code}"
    assert client.get("/api/v1/buildings/44030700300199999X/qr.svg").status_code == 404


def test_plate_urls_use_the_public_base_url_or_the_address_asked(client: TestClient,
                                                                session: Session) -> None:
    code, _, _ = _building(session)
    # unset: the address the request came in on (make demo PORT=8311)
    png = client.get(f"/api/v1/buildings/{code}/qr.png", headers={"host": "127.0.0.1:8311"})
    assert qr.read(png.content) == f"http://127.0.0.1:8311/b/{code}"
    discovery = client.get("/open311/v2/discovery.json", headers={"host": "127.0.0.1:8311"})
    assert discovery.json()["endpoints"][0]["url"] == "http://127.0.0.1:8311/open311/v2"
    client.app.state.settings.api.public_base_url = "https://grid.example.cn/"  # type: ignore[attr-defined]
    png = client.get(f"/api/v1/buildings/{code}/qr.png", headers={"host": "127.0.0.1:8311"})
    assert qr.read(png.content) == f"https://grid.example.cn/b/{code}"
    discovery = client.get("/open311/v2/discovery.json")
    assert discovery.json()["endpoints"][0]["url"] == "https://grid.example.cn/open311/v2"


def test_grid_plates_pdf_has_a_plate_per_building(client: TestClient, session: Session,
                                                  tmp_path: Path) -> None:
    grid, n = session.execute(text(
        "SELECT attributes->'grids'->>'basic', count(*) FROM buildings "
        "GROUP BY 1 ORDER BY 2 DESC LIMIT 1")).one()
    resp = client.get(f"/api/v1/grids/{grid}/plates.pdf")
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")
    path = tmp_path / "plates.pdf"
    path.write_bytes(resp.content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(next(line.split()[-1] for line in info.stdout.splitlines()
                     if line.startswith("Pages:")))
    assert pages == -(-n // 10)  # 10 plates per A4 page
    words = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                           check=True).stdout
    first = session.execute(text("SELECT code FROM buildings WHERE attributes->'grids'->>"
                                 "'basic' = :g ORDER BY code LIMIT 1"), {"g": grid}).scalar()
    assert first in words  # type: ignore[operator]
    # Chinese text comes back from the embedded CJK font (title, name and address)
    first_address = session.execute(text("SELECT coalesce(address, '') FROM buildings "
                                         "WHERE code = :c"), {"c": first}).scalar_one()
    assert "楼栋二维码门牌" in words and first_address in words.replace("\n", "")
    assert client.get("/api/v1/grids/nope/plates.pdf").status_code == 404


def test_scan_a_plate_photo_returns_the_record(client: TestClient, session: Session) -> None:
    code, _, _ = _building(session)
    base = "http://testserver"  # no GRIDGOV_PUBLIC_BASE_URL: the address asked
    photo = _photo(plate_png({"code": code, "address": "测试地址"}, base_url=base))
    resp = client.post("/api/v1/buildings/scan",
                       files={"image": ("plate.jpg", photo, "image/jpeg")})
    assert resp.status_code == 200, resp.text
    props = resp.json()["properties"]
    assert props["code"] == code
    assert props["grids"]["basic"]
    assert props["cameras"] and all(c["distance_m"] <= 100 for c in props["cameras"])
    assert isinstance(props["open_events"], list)
    assert props["beidou_code"] and beidou.level_of(props["beidou_code"]) == 8


def test_scan_errors(client: TestClient, session: Session) -> None:
    code, _, _ = _building(session)
    blank = cv2.imencode(".png", np.full((400, 400), 200, np.uint8))[1].tobytes()
    resp = client.post("/api/v1/buildings/scan", files={"image": ("a.png", blank, "image/png")})
    assert resp.status_code == 422 and resp.json()["code"] == "no_qr_found"
    other = _photo(qr.make_png("https://example.com/menu", scale=8))
    resp = client.post("/api/v1/buildings/scan", files={"image": ("b.jpg", other, "image/jpeg")})
    assert resp.status_code == 422 and resp.json()["code"] == "not_a_building_plate"
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")  # a wrong check character
    resp = client.post("/api/v1/buildings/scan", files={"image": (
        "c.jpg", _photo(qr.make_png(f"http://x.cn/b/{wrong}", scale=8)), "image/jpeg")})
    assert resp.status_code == 422 and resp.json()["code"] == "not_a_building_plate"
    base = "http://testserver"  # no GRIDGOV_PUBLIC_BASE_URL: the address asked
    elsewhere = f"https://other-city.example.cn/b/{code}"  # a plate of another server
    resp = client.post("/api/v1/buildings/scan", files={"image": (
        "h.jpg", _photo(qr.make_png(elsewhere, scale=8)), "image/jpeg")})
    assert resp.status_code == 422 and resp.json()["code"] == "not_a_building_plate"
    unknown = building_codes.make_building_code(code[:12], 99_998)
    resp = client.post("/api/v1/buildings/scan", files={"image": (
        "d.jpg", _photo(qr.make_png(f"{base}/b/{unknown}", scale=8)), "image/jpeg")})
    assert resp.status_code == 404
    resp = client.post("/api/v1/buildings/scan", files={"image": ("e.txt", b"hello",
                                                                  "text/plain")})
    assert resp.status_code == 415
    resp = client.post("/api/v1/buildings/scan", files={"image": ("f.jpg", b"not a jpeg",
                                                                  "image/jpeg")})
    assert resp.status_code == 415
    big = b"\xff\xd8" + b"0" * 10_000_001
    resp = client.post("/api/v1/buildings/scan", files={"image": ("g.jpg", big, "image/jpeg")})
    assert resp.status_code == 413


def test_plate_page_shows_the_record_and_its_form_reports(client: TestClient,
                                                         session: Session) -> None:
    code, _, _ = _building(session)
    page = client.get(f"/b/{code}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    assert code in html and "我要上报" in html and 'data-building="' + code + '"' in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    category = session.execute(text("SELECT code FROM event_categories ORDER BY code LIMIT 1"
                                    )).scalar_one()
    assert '/static/js/report/form.js' in html and 'id="category-search"' in html
    # what the form's script sends
    resp = client.post("/api/v1/events", json={"category": category, "description": "路灯不亮",
                                               "building_code": code, "channel": "qr"},
                       headers={"Idempotency-Key": uuid.uuid4().hex})
    assert resp.status_code == 201, resp.text
    event = session.execute(text("SELECT b.code FROM events e JOIN buildings b ON "
                                 "b.id = e.building_id WHERE e.id = :i"),
                            {"i": resp.json()["id"]}).scalar_one()
    assert event == code
    assert client.get("/b/44030700300199999X").status_code == 404


def test_beidou_endpoints(client: TestClient) -> None:
    resp = client.get("/api/v1/beidou", params={"lon": 114.25, "lat": 22.72, "level": 8})
    assert resp.status_code == 200
    cell = resp.json()
    assert cell["properties"]["code"] == beidou.encode(114.25, 22.72, 8)
    assert shape(cell["geometry"]).covers(Point(114.25, 22.72))
    back = client.get(f"/api/v1/beidou/{cell['properties']['code']}").json()
    assert back["geometry"] == cell["geometry"]
    assert client.get("/api/v1/beidou/NOPE").status_code == 422
    for params, name in (({"lon": 114.25, "lat": 22.72, "level": 11}, "level"),
                         ({"lon": 200, "lat": 22.72}, "lon"), ({"lon": 114.25, "lat": 89.5},
                                                               "lat"),
                         ({"lon": "x", "lat": 1}, "lon")):
        resp = client.get("/api/v1/beidou", params=params)
        assert resp.status_code == 422 and name in resp.json()["message"], resp.text


def test_buildings_store_their_level_8_beidou_code(session: Session) -> None:
    rows = session.execute(text(
        "SELECT beidou_code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        "FROM buildings ORDER BY id LIMIT 200")).all()
    assert all(r[0] == beidou.encode(r[1], r[2], 8) for r in rows)


def test_allocated_codes_are_never_reused(session: Session) -> None:
    conn = session.connection()
    community = session.execute(text("SELECT community_code FROM buildings "
                                     "WHERE community_code IS NOT NULL LIMIT 1")).scalar_one()
    highest = session.execute(text("SELECT max(code) FROM buildings WHERE left(code, 12) = :c"),
                              {"c": community}).scalar_one()
    first, second = allocate_building_codes(conn, community, 2)
    assert building_codes.is_valid(first) and first > highest and second > first
    session.execute(text(
        "INSERT INTO buildings (code, geom) VALUES (:c, ST_Multi(ST_Buffer("
        "ST_SetSRID(ST_MakePoint(114.25, 22.72), 4326), 0.0001)))"), {"c": second})
    session.execute(text("DELETE FROM buildings WHERE code = :c"), {"c": second})  # demolished
    (third,) = allocate_building_codes(conn, community, 1)
    assert third > second


def test_cli_plates(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with engine.connect() as conn:
        grid = conn.execute(text("SELECT attributes->'grids'->>'basic' FROM buildings "
                                 "WHERE attributes ? 'grids' LIMIT 1")).scalar_one()
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("GRIDGOV_PUBLIC_BASE_URL", raising=False)
    out = tmp_path / "p.pdf"
    unknown = CliRunner().invoke(cli, ["plates", "--grid", grid, "--out", str(out)])
    assert unknown.exit_code == 1 and "GRIDGOV_PUBLIC_BASE_URL" in unknown.output
    assert not out.exists()
    result = CliRunner().invoke(cli, ["plates", "--grid", grid, "--out", str(out),
                                      "--base-url", "https://grid.example.cn"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    monkeypatch.setenv("GRIDGOV_PUBLIC_BASE_URL", "https://grid.example.cn")
    bad = CliRunner().invoke(cli, ["plates", "--grid", "nope", "--out", str(out)])
    assert bad.exit_code == 1 and "nope" in bad.output

"""The HTTP edge on the real app: security headers, body limits, photos, rate limits."""

from __future__ import annotations

import io
import json
import resource
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.auth.access import public
from api.deps import get_session
from api.events.models import EventPhoto
from api.main import create_app
from api.settings import Settings
from coding import qr
from gis_core.errors import NotAnImage
from testkit.aio import run_coroutine
from tests.api.events_support import basic_grids, bearer, event_settings, token_for

# -- helpers ----------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def pixel_bomb(side: int = 32000) -> bytes:
    """A valid grey PNG of ``side`` x ``side`` black pixels, about 1 MB for 32000.

    The zlib stream repeats one fully flushed deflate block of 1000 rows (what a
    compressor writes for them), so it is built without compressing a gigabyte.
    """
    rows = 1000
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(b"\0" * ((side + 1) * rows)) + deflate.flush(zlib.Z_FULL_FLUSH)
    raw = (side + 1) * side  # one filter byte and ``side`` zero bytes per row
    adler = ((raw % 65521) << 16) | 1  # the Adler-32 of zero bytes
    idat = b"\x78\xda" + block * (side // rows) + b"\x03\x00" + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (8, 6)) -> bytes:
    """A real small image."""
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


SVG = (b"<svg xmlns='http://www.w3.org/2000/svg'><script>fetch('/x?'+localStorage.token)"
       b"</script></svg>")


@pytest.fixture()
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings with photos under the test's temporary directory."""
    return event_settings(database_url, tmp_path / "photos")


@pytest.fixture()
def photo_dir(app_settings: Settings) -> Path:
    """Where the app stores photos."""
    assert app_settings.events.photo_dir is not None
    return app_settings.events.photo_dir


@pytest.fixture()
def point(session: Session) -> dict[str, Any]:
    """A point inside a basic grid."""
    return basic_grids(session)[0]


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock(client: TestClient) -> FrozenClock:
    """Freeze the app's rate limiters' clock."""
    frozen = FrozenClock()
    app: Any = client.app
    for limiter in app.state.rate_limiters.values():
        limiter.clock = frozen
    return frozen


def _report(x: float, y: float, **extra: Any) -> dict[str, Any]:
    return {"category": "0101", "location": {"x": x, "y": y}, **extra}


def _files_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*")) if folder.exists() else []


# -- security headers -------------------------------------------------------------------
def _assert_secure(headers: Any) -> None:
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "worker-src 'self' blob:" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_every_kind_of_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/healthz", "/", "/api/v1/categories", "/no/such/route", "/docs",
                 "/api/v1/buildings?bbox=1,2"):
        resp = client.get(path)
        _assert_secure(resp.headers)
    tile = client.get("/tiles/buildings/14/13358/7118.mvt")
    assert tile.status_code in (200, 204)
    _assert_secure(tile.headers)
    assert tile.headers["etag"] and tile.headers["cache-control"]  # its own headers stay
    too_big = client.post("/api/v1/events", content=b"{" + b" " * 2_000_000 + b"}",
                          headers={"content-type": "application/json"})
    assert too_big.status_code == 413
    _assert_secure(too_big.headers)


@pytest.fixture()
def staff(session: Session) -> dict[str, str]:
    """An admin's bearer header, for the staff routes (reports stay anonymous)."""
    return bearer(token_for(session, "admin", "edge-admin"))


def test_an_unexpected_500_carries_the_headers_too(app_settings: Settings,
                                                   engine: Engine) -> None:
    app = create_app(app_settings, engine=engine)

    @app.get("/boom")
    @public
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.get("/boom")
    assert resp.status_code == 500 and resp.json()["code"] == "internal_error"
    _assert_secure(resp.headers)


def test_the_basemap_origin_is_allowed_for_images_and_fetches(app_settings: Settings,
                                                              engine: Engine) -> None:
    app_settings.web.basemap_url = "https://t{0-7}.tianditu.gov.cn/img_w/wmts?x={x}&y={y}"
    with TestClient(create_app(app_settings, engine=engine)) as c:
        csp = c.get("/healthz").headers["content-security-policy"]
    assert "img-src 'self' data: blob: https://*.tianditu.gov.cn" in csp
    assert "connect-src 'self' https://*.tianditu.gov.cn" in csp
    assert "script-src 'self';" in csp


def test_docs_use_local_assets_and_redoc_is_not_served(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "/vendor/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "/static/docs.js" in page
    assert "<script>" not in page and "http" not in page  # no inline script, no CDN
    assert client.get("/vendor/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
    assert client.get("/vendor/swagger-ui-dist/swagger-ui.css").status_code == 200
    assert client.get("/redoc").status_code == 404


@pytest.mark.parametrize("page", ["/b/{code}", "/ogc?f=html", "/", "/report"])
def test_html_pages_have_no_inline_script_or_style(client: TestClient, session: Session,
                                                   page: str) -> None:
    code = session.execute(text("SELECT code FROM buildings ORDER BY code LIMIT 1")).scalar()
    html = client.get(page.format(code=code)).text
    assert "<script>" not in html and "<style" not in html and "style=" not in html
    for asset in ("/static/plate.css", "/static/report.css", "/static/js/report/form.js",
                  "/static/ogc.css"):
        assert client.get(asset).status_code == 200


# -- body limits ------------------------------------------------------------------------
def test_a_json_body_over_the_limit_is_413_from_its_content_length(client: TestClient) -> None:
    body = json.dumps(_report(114.0, 22.7, description="x" * 1_100_000)).encode()
    resp = client.post("/api/v1/events", content=body,
                       headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["code"] == "too_large" and "1,000,000" in resp.json()["message"]


MULTIPART_HEAD = (b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.png"'
                  b"\r\nContent-Type: image/png\r\n\r\n")


async def _stream_to(app: FastAPI, path: str, total: int, chunk: int = 1 << 20,
                     ctype: bytes = b"application/json", head: bytes = b"["
                     ) -> tuple[int, int]:
    """POST ``total`` bytes in chunks without a length; (status, bytes pulled)."""
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= total:
            return {"type": "http.disconnect"}
        body = (head if pulled == 0 else b"") + b" " * chunk
        pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": pulled < total}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("192.0.2.1", 1),
             "server": ("testserver", 80), "state": {},
             "headers": [(b"content-type", ctype), (b"transfer-encoding", b"chunked")]}
    await app(scope, receive, send)  # type: ignore[arg-type]
    return status, pulled


def test_a_200_mb_streamed_body_is_refused_before_it_is_read(client: TestClient) -> None:
    app: Any = client.app
    status, pulled = run_coroutine(_stream_to(app, "/api/v1/events", 200 << 20))
    assert status == 413
    assert pulled <= 2 << 20  # stopped after the first megabyte or two, not 200


def test_a_streamed_multipart_body_is_cut_at_its_route_limit(client: TestClient) -> None:
    app: Any = client.app
    status, pulled = run_coroutine(_stream_to(
        app, "/api/v1/buildings/scan", 200 << 20, ctype=b"multipart/form-data; boundary=xyz",
        head=MULTIPART_HEAD))
    assert status == 413
    assert pulled <= 12 << 20  # one photo (10 MB) and 1 MB of form fields, then refused


def test_assign_takes_bodies_larger_than_the_json_limit(client: TestClient, staff: dict[str, str],
                                                        point: dict[str, Any]) -> None:
    points = [[point["lon"] + i * 1e-9, point["lat"]] for i in range(40_000)]
    body = json.dumps({"points": points}).encode()
    assert len(body) > 1_000_000
    resp = client.post("/api/v1/assign", content=body,
                       headers={"content-type": "application/json", **staff})
    assert resp.status_code == 200, resp.text[:200]
    assert len(resp.json()["results"]) == 40_000


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(("path", "ctype"), [
    ("/api/v1/events", "application/json"),
    ("/api/v1/assign", "text/plain"),  # parsed as JSON whatever the declared type
    ("/api/v1/events/1/actions", "application/json"),  # a pydantic body
    ("/api/v1/track/x/evaluation", "application/geo+json"),
])
def test_json_nested_100k_deep_is_422_naming_the_depth(client: TestClient, path: str,
                                                       ctype: str) -> None:
    resp = client.post(path, content=DEEP, headers={"content-type": ctype})
    assert resp.status_code == 422, resp.text[:200]
    assert resp.json()["code"] == "invalid_json"
    assert "100000 deep" in resp.json()["message"] and "32" in resp.json()["message"]


def test_deep_json_inside_a_multipart_report_is_422(client: TestClient) -> None:
    resp = client.post("/api/v1/events", files={"event": (None, DEEP)})  # a multipart field
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_json" and "'event'" in resp.json()["message"]


def test_brackets_inside_strings_do_not_count(client: TestClient,
                                              point: dict[str, Any]) -> None:
    body = _report(point["lon"], point["lat"], description="[" * 500 + "{" * 500)
    resp = client.post("/api/v1/events", json=body)
    assert resp.status_code == 201, resp.text


# -- photos -----------------------------------------------------------------------------
def _multipart(client: TestClient, point: dict[str, Any], files: list[Any],
               **fields: str) -> Any:
    data = {"category": "0101", "x": str(point["lon"]), "y": str(point["lat"]), **fields}
    return client.post("/api/v1/events", data=data, files=files)


def test_an_svg_photo_is_refused_whatever_it_claims_and_nothing_is_left(
        client: TestClient, point: dict[str, Any], photo_dir: Path) -> None:
    for name, ctype in (("a.svg", "image/svg+xml"), ("a.jpg", "image/jpeg"),
                        ("a.gif", "image/gif")):
        content = SVG if name != "a.gif" else b"GIF89a" + b"\0" * 20
        resp = _multipart(client, point, [("photos", ("ok.png", image_bytes("PNG"),
                                                      "image/png")),
                                          ("photos", (name, content, ctype))])
        assert resp.status_code == 415, resp.text
        assert resp.json()["code"] == "unsupported_media_type"
    assert _files_in(photo_dir) == []


def test_a_photo_is_stored_and_served_with_its_sniffed_type(
        client: TestClient, staff: dict[str, str], point: dict[str, Any]) -> None:
    png = image_bytes("PNG")
    resp = _multipart(client, point, [("photos", ("x.svg", png, "image/svg+xml")),
                                      ("photos", ("y.webp", image_bytes("WEBP"),
                                                  "application/octet-stream"))])
    assert resp.status_code == 201, resp.text
    detail = client.get(f"/api/v1/events/{resp.json()['id']}", headers=staff).json()
    first, second = (client.get(p["url"], headers=staff) for p in detail["photos"])
    assert first.status_code == 200 and first.content == png
    assert first.headers["content-type"] == "image/png"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["content-disposition"].startswith("inline; filename=")
    assert first.headers["content-disposition"].endswith('.png"')
    assert "sandbox" in first.headers["content-security-policy"]
    assert second.headers["content-type"] == "image/webp"


def test_a_stored_file_that_is_not_an_image_is_sent_as_an_attachment(
        client: TestClient, staff: dict[str, str], session: Session, point: dict[str, Any],
        tmp_path: Path) -> None:
    event_id = client.post("/api/v1/events", json=_report(point["lon"], point["lat"])
                           ).json()["id"]
    legacy = tmp_path / "legacy.svg"  # what an older version stored as declared
    legacy.write_bytes(SVG)
    photo = EventPhoto(event_id=event_id, path=str(legacy), content_type="image/svg+xml",
                       size=len(SVG))
    session.add(photo)
    session.flush()
    resp = client.get(f"/api/v1/events/{event_id}/photos/{photo.id}", headers=staff)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/octet-stream"
    assert resp.headers["content-disposition"].startswith("attachment;")
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_a_pixel_bomb_report_photo_is_refused_from_its_header(
        client: TestClient, point: dict[str, Any], photo_dir: Path) -> None:
    for side in (32000, 7000):  # past Pillow's own bomb limit, and past only ours
        resp = _multipart(client, point, [("photos", ("b.png", pixel_bomb(side),
                                                      "image/png"))])
        assert resp.status_code == 413
        assert resp.json()["code"] == "image_too_large"
    assert "7000 x 7000 pixels" in resp.json()["message"]
    assert _files_in(photo_dir) == []


def test_at_most_six_photos_per_report(client: TestClient, point: dict[str, Any],
                                       photo_dir: Path) -> None:
    jpeg = image_bytes()
    seven = [("photos", (f"{i}.jpg", jpeg, "image/jpeg")) for i in range(7)]
    resp = _multipart(client, point, seven)
    assert resp.status_code == 422 and resp.json()["code"] == "too_many_photos"
    four_files = seven[:4]
    urls = json.dumps(_report(point["lon"], point["lat"],
                              photos=[f"https://p.example.cn/{i}.jpg" for i in range(3)]))
    resp = client.post("/api/v1/events", data={"event": urls}, files=four_files)
    assert resp.status_code == 422 and resp.json()["code"] == "too_many_photos"
    assert _files_in(photo_dir) == []
    six = client.post("/api/v1/events", files=seven[:6], data={
        "category": "0101", "x": str(point["lon"]), "y": str(point["lat"])})
    assert six.status_code == 201, six.text
    assert len(_files_in(photo_dir)) == 6


def test_photos_of_a_refused_report_are_removed(client: TestClient, photo_dir: Path) -> None:
    outside = {"lon": 116.39, "lat": 39.9}
    resp = _multipart(client, outside, [("photos", ("a.jpg", image_bytes(), "image/jpeg"))])
    assert resp.status_code == 422 and resp.json()["code"] == "outside_jurisdiction"
    assert _files_in(photo_dir) == []


def test_the_photos_of_a_retried_report_are_kept_once(client: TestClient,
                                                      point: dict[str, Any],
                                                      photo_dir: Path) -> None:
    files = [("photos", ("a.jpg", image_bytes(), "image/jpeg"))]
    data = {"category": "0101", "x": str(point["lon"]), "y": str(point["lat"])}
    first, again = (client.post("/api/v1/events", data=data, files=files,
                                headers={"Idempotency-Key": "photo-retry"}) for _ in range(2))
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert len(_files_in(photo_dir)) == 1


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "data:text/html,<b>",
                                 "file:///etc/passwd", "//evil.example/x.jpg", "https://"])
def test_photo_urls_must_be_http(client: TestClient, point: dict[str, Any], url: str) -> None:
    resp = client.post("/api/v1/events",
                       json=_report(point["lon"], point["lat"], photos=[url]))
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_photo_url"


def test_a_url_photo_is_a_link_in_the_event_never_a_redirect(
        client: TestClient, staff: dict[str, str], session: Session, point: dict[str, Any]) -> None:
    url = "https://photos.example.cn/bin.jpg"
    event_id = client.post("/api/v1/events", json=_report(
        point["lon"], point["lat"], photos=[url])).json()["id"]
    detail = client.get(f"/api/v1/events/{event_id}", headers=staff).json()
    assert [p["url"] for p in detail["photos"]] == [url]
    photo_id = session.execute(text("SELECT id FROM event_photos WHERE event_id = :e"),
                               {"e": event_id}).scalar_one()
    resp = client.get(f"/api/v1/events/{event_id}/photos/{photo_id}", headers=staff,
                      follow_redirects=False)
    assert resp.status_code == 404 and "location" not in resp.headers
    assert resp.json()["code"] == "photo_is_link"
    assert resp.json()["details"]["url"] == url
    # a javascript: URL stored by an older version is listed as the file route, not as itself
    session.execute(text("UPDATE event_photos SET url = 'javascript:alert(1)' WHERE id = :p"),
                    {"p": photo_id})
    listed = client.get(f"/api/v1/events/{event_id}", headers=staff).json()["photos"][0]["url"]
    assert listed == f"/api/v1/events/{event_id}/photos/{photo_id}"
    resp = client.get(listed, headers=staff, follow_redirects=False)
    assert resp.status_code == 404 and "details" not in resp.json()


@pytest.fixture()
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any call of the image decoders of the QR reader."""
    calls: list[str] = []
    real_decode = qr.cv2.imdecode  # type: ignore[attr-defined]

    def spy(*args: Any) -> Any:
        calls.append("cv2.imdecode")
        return real_decode(*args)

    monkeypatch.setattr(qr.cv2, "imdecode", spy)  # type: ignore[attr-defined]
    return calls


def test_a_pixel_bomb_scan_is_refused_before_any_decoding(client: TestClient, staff: dict[str, str],
                                                          no_decoding: list[str]) -> None:
    bomb = pixel_bomb()
    assert len(bomb) < 1_100_000
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    resp = client.post("/api/v1/buildings/scan", headers=staff,
                       files={"image": ("p.png", bomb, "image/png")})
    assert resp.status_code == 413
    assert resp.json()["code"] == "image_too_large"
    assert no_decoding == []
    # decoding would have taken a gigabyte; the peak of the process barely moved (KiB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200_000
    # a real plate still decodes
    small = client.post("/api/v1/buildings/scan", headers=staff, files={"image": (
        "q.png", qr.make_png("https://x.cn/b/nothing", scale=4), "image/png")})
    assert small.status_code == 422 and no_decoding == ["cv2.imdecode"]


def test_the_qr_reader_refuses_a_pixel_bomb_from_its_header(no_decoding: list[str]) -> None:
    with pytest.raises(NotAnImage, match="not decoded"):
        qr.load_gray(pixel_bomb())
    assert no_decoding == []


def test_a_scan_must_be_an_image_by_its_bytes(client: TestClient, staff: dict[str, str]) -> None:
    resp = client.post("/api/v1/buildings/scan", headers=staff,
                       files={"image": ("p.png", SVG, "image/png")})
    assert resp.status_code == 415 and resp.json()["code"] == "unsupported_media_type"


# -- rate limits ------------------------------------------------------------------------
def test_the_31st_report_of_an_address_in_a_minute_is_429(
        client: TestClient, clock: FrozenClock, point: dict[str, Any]) -> None:
    body = _report(point["lon"], point["lat"])
    for _ in range(30):
        assert client.post("/api/v1/events", json=body).status_code == 201
    refused = client.post("/api/v1/events", json=body)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "2"  # 30/minute: one more every 2 s
    other = TestClient(client.app, client=("203.0.113.9", 4000))
    assert other.post("/api/v1/events", json=body).status_code == 201
    clock.now += 2
    assert client.post("/api/v1/events", json=body).status_code == 201
    assert client.post("/api/v1/events", json=body).status_code == 429


def test_staff_tokens_are_not_limited_but_made_up_tokens_are(
        client: TestClient, clock: FrozenClock, session: Session,
        point: dict[str, Any]) -> None:
    from tests.api.events_support import token_for

    staff = bearer(token_for(session, "dispatcher", "d-rate"))
    body = _report(point["lon"], point["lat"], channel="hotline")
    for _ in range(35):
        assert client.post("/api/v1/events", json=body, headers=staff).status_code == 201
    for i in range(30):
        resp = client.post("/api/v1/events", json=body, headers=bearer(f"gg_fake{i}"))
        assert resp.status_code == 401
    resp = client.post("/api/v1/events", json=body, headers=bearer("gg_fake_more"))
    assert resp.status_code == 429 and resp.headers["retry-after"]


def test_open311_posts_and_sign_in_are_limited(client: TestClient,
                                               clock: FrozenClock) -> None:
    for _ in range(30):
        assert client.post("/open311/v2/requests.json",
                           data={"service_code": "0101"}).status_code != 429
    assert client.post("/open311/v2/requests.xml", data={}).status_code == 429
    for _ in range(10):  # the sign-in route may not exist yet: it is limited all the same
        assert client.post("/api/v1/auth/login", json={}).status_code != 429
    assert client.post("/api/v1/auth/login", json={}).status_code == 429
    assert client.get("/open311/v2/requests.json").status_code == 200  # reads are not


def test_limits_come_from_the_settings(app_settings: Settings, engine: Engine,
                                       session: Session) -> None:
    app_settings.api.rate_limit_intake = "2/hour"
    app_settings.api.rate_limit_login = "off"
    app = create_app(app_settings, engine=engine, intake_connection=session.connection())
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app) as c:
        codes = [c.post("/open311/v2/requests.json", data={}).status_code for _ in range(3)]
        assert codes[2] == 429 and 429 not in codes[:2]
        assert int(c.post("/open311/v2/requests.json").headers["retry-after"]) > 1000
        assert all(c.post("/api/v1/auth/login").status_code != 429 for _ in range(20))


def test_the_limiter_forgets_the_oldest_keys() -> None:
    from api.security.ratelimit import Rate, RateLimiter

    limiter = RateLimiter(Rate(1, 60.0), max_keys=100, clock=lambda: 0.0)
    assert limiter.hit("first") is None and limiter.hit("first") == 60
    for i in range(200):
        limiter.hit(f"k{i}")
    assert len(limiter) == 100
    assert limiter.hit("first") is None  # forgotten: a full bucket again


def test_the_limiter_counts_exactly_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from api.security.ratelimit import Rate, RateLimiter

    limiter = RateLimiter(Rate(500, 60.0), clock=lambda: 0.0)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: limiter.hit("shared"), range(2000)))
    assert results.count(None) == 500



def test_the_openapi_document_lists_the_edge_responses(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    intake = paths["/api/v1/events"]["post"]["responses"]
    assert {"201", "413", "415", "422", "429"} <= set(intake)
    assert "Retry-After" in intake["429"]["headers"]
    assert "429" in paths["/open311/v2/requests.{fmt}"]["post"]["responses"]
    assert "413" in paths["/api/v1/assign"]["post"]["responses"]
    assert "415" in paths["/api/v1/buildings/scan"]["post"]["responses"]
    assert "429" not in paths["/api/v1/events"]["get"]["responses"]

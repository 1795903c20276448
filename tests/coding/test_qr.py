import io
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from coding import building_codes, qr
from coding.plates import plate_png
from gis_core.errors import InvalidCode, InvalidInput, NotAnImage

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from testkit.photos import make_photo

BASE = "https://grid.example.cn"
CODE = building_codes.make_building_code("440307003001", 12)
URL = f"{BASE}/b/{CODE}"


def test_plate_url_and_parse_roundtrip():
    assert qr.plate_url(BASE + "/", CODE.lower()) == URL
    assert qr.parse_plate_url(URL) == CODE
    assert qr.parse_plate_url(URL, base_url=BASE) == CODE
    assert qr.parse_plate_url(URL.replace("https://grid", "HTTPS://GRID"), base_url=BASE) == CODE
    assert qr.parse_plate_url(f"  {URL}/ ") == CODE
    room = building_codes.make_room_code(CODE, 1, 2, 3)
    assert qr.parse_plate_url(qr.plate_url(BASE, room)) == room
    assert qr.parse_plate_url(CODE) == CODE  # a bare code printed as QR text
    # query strings some scanner apps append do not matter
    assert qr.parse_plate_url(f"{URL}?from=singlemessage", base_url=BASE) == CODE


def test_plate_url_under_a_path_prefix():
    base = "https://city.example.cn/gridgov"
    url = qr.plate_url(base, CODE)
    assert url == f"{base}/b/{CODE}"
    assert qr.parse_plate_url(url, base_url=base) == CODE
    assert qr.parse_plate_url(url, base_url="https://city.example.cn/other") is None


@pytest.mark.parametrize(
    "text",
    [
        "https://other.example.com/b/" + CODE,  # another server
        URL[:-1] + ("0" if CODE[-1] != "0" else "1"),  # wrong check character
        f"{BASE}/x/{CODE}",
        f"{BASE}/b/{CODE}/extra",
        "WIFI:S:home;T:WPA;P:secret;;",
        "",
        f"ftp://grid.example.cn/b/{CODE}",
    ],
)
def test_parse_rejects_foreign_payloads(text):
    assert qr.parse_plate_url(text, base_url=BASE) is None


def test_plate_url_checks_inputs():
    with pytest.raises(InvalidInput, match="base_url"):
        qr.plate_url("grid.example.cn", CODE)
    with pytest.raises(InvalidCode):
        qr.plate_url(BASE, CODE[:-1] + "X" if CODE[-1] != "X" else CODE[:-1] + "Y")


def test_svg_and_png_encode_the_payload():
    svg = qr.make_svg(URL)
    assert svg.startswith(b"<?xml")
    assert b"<svg" in svg
    png = qr.make_png(URL, scale=6, error="Q")
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    n = qr.qr_matrix(URL, "Q").shape[0]
    assert img.size == ((n + 8) * 6, (n + 8) * 6)
    assert qr.read(png) == URL
    with pytest.raises(InvalidInput):
        qr.make_png(URL, error="H")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        qr.make_png(URL, scale=0)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_read_accepts_jpeg_webp_png(fmt):
    plate = Image.open(io.BytesIO(plate_png({"code": CODE}, width=500, base_url=BASE)))
    buf = io.BytesIO()
    plate.convert("RGB").save(buf, format=fmt, quality=70)
    assert qr.read(buf.getvalue()) == URL


def test_read_returns_none_without_a_qr():
    rng = np.random.default_rng(0)
    noise = (rng.random((300, 400)) * 255).astype(np.uint8)
    _ok, jpg = cv2.imencode(".jpg", noise)
    assert qr.read(jpg.tobytes()) is None


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n garbage"])
def test_read_rejects_non_images(data):
    with pytest.raises(NotAnImage) as exc:
        qr.read(data)
    assert exc.value.code == "not_an_image"


def test_read_tilted_blurred_jpeg_photo():
    """A plate photographed at tilt 0.3 with blur sigma 1.2, saved as JPEG 60."""
    plate = cv2.imdecode(
        np.frombuffer(plate_png({"code": CODE}, width=500, base_url=BASE), np.uint8),
        cv2.IMREAD_GRAYSCALE,
    )
    h, w = plate.shape  # type: ignore[union-attr]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])  # type: ignore[arg-type]
    # right edge far from the camera: 30 % shorter, plate foreshortened
    dst = np.float32(
        [[120, 80], [120 + 0.85 * w, 80 + 0.15 * h], [120 + 0.85 * w, 80 + 0.85 * h], [120, 80 + h]]  # type: ignore[arg-type]
    )
    m = cv2.getPerspectiveTransform(src, dst)  # type: ignore[call-overload]
    photo = cv2.warpPerspective(plate, m, (800, 700), borderValue=110)  # type: ignore[arg-type]
    photo = cv2.GaussianBlur(photo, (0, 0), 1.2)
    photo = np.clip(photo + np.random.default_rng(1).normal(0, 4, photo.shape), 0, 255)
    _ok, jpg = cv2.imencode(".jpg", photo.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert qr.read(jpg.tobytes()) == URL
    assert qr.read_building_code(jpg.tobytes(), base_url=BASE) == CODE


def test_read_benchmark_style_photos():
    """A few photos from the benchmark's generator (tilt up to 0.35, blur, noise, JPEG 60)."""
    rng = np.random.default_rng(3)
    decoded = 0
    for i in range(6):
        code = building_codes.make_building_code("440307003001", 100 + i)
        data, _params = make_photo(rng, code)
        decoded += qr.read(data) == qr.plate_url(BASE, code)
    assert decoded >= 5


def test_read_building_code_rejects_foreign_qr():
    png = qr.make_png("https://example.com/not-a-plate")
    with pytest.raises(InvalidCode) as exc:
        qr.read_building_code(png, base_url=BASE)
    assert exc.value.code == "not_a_building_plate"


def test_read_small_plate_in_a_large_phone_photo():
    """A 12-megapixel-class photo where the plate is small: read at more than 1000 px."""
    photo = np.full((2400, 3200), 120, np.uint8)
    plate = cv2.imdecode(
        np.frombuffer(plate_png({"code": CODE}, width=240, base_url=BASE), np.uint8),
        cv2.IMREAD_GRAYSCALE,
    )
    photo[1500 : 1500 + plate.shape[0], 2500 : 2500 + plate.shape[1]] = plate  # type: ignore[assignment,union-attr]
    photo = cv2.GaussianBlur(photo, (0, 0), 1.0)  # type: ignore[assignment]
    _ok, jpg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert qr.read(jpg.tobytes()) == URL

"""Plate sheets: parse the PDF we produce with a small reader of our own.

No PDF renderer is assumed on the machine, so the tests read the PDF
structure directly: objects and page tree, the (ASCII85 + Flate) content
streams, the text shown on each page, and the QR drawn as vector rectangles,
which is rasterised here and decoded with ``coding.qr.read``.
"""

import base64
import io
import re
import subprocess
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image
from reportlab.pdfbase import pdfmetrics

from coding import building_codes, qr
from coding.plates import CJK_FONT, DEFAULT_LABEL, PlateRecord, plate_png, plates_pdf
from gis_core.errors import InvalidCode, InvalidInput, MissingDependency

BASE = "https://grid.example.cn"
COMMUNITY = "440307003001"


def _records(n):
    return [
        {
            "code": building_codes.make_building_code(COMMUNITY, i),
            "address": f"广东省深圳市龙岗区平湖街道守珍街{i}号",
            "name": f"{i}栋",
        }
        for i in range(1, n + 1)
    ]


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {
        int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", pdf, re.S)
    }


def _stream(obj: bytes) -> bytes:
    head, _, rest = obj.partition(b"stream")
    data = rest.split(b"endstream")[0].strip(b"\r\n")
    if b"ASCII85Decode" in head:
        data = base64.a85decode(data.strip(), adobe=True)
    if b"FlateDecode" in head:
        data = zlib.decompress(data)
    return data


def _pages(pdf: bytes) -> list[bytes]:
    """Content stream of every page, in page-tree order."""
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    objs = _objects(pdf)
    pages_obj = next(o for o in objs.values() if re.search(rb"/Type /Pages\b", o))
    count = int(re.search(rb"/Count (\d+)", pages_obj).group(1))  # type: ignore[union-attr]
    kids = [int(k) for k in re.findall(rb"(\d+) 0 R", pages_obj.split(b"/Kids")[1].split(b"]")[0])]
    assert len(kids) == count
    out = []
    for kid in kids:
        page = objs[kid]
        assert re.search(rb"/Type /Page\b", page)
        contents = int(re.search(rb"/Contents (\d+) 0 R", page).group(1))  # type: ignore[union-attr]
        out.append(_stream(objs[contents]))
    return out


def _unescape(literal: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(literal):
        c = literal[i]
        if c == 0x5C:  # backslash
            nxt = literal[i + 1 : i + 4]
            m = re.match(rb"[0-7]{1,3}", nxt)
            if m:
                out.append(int(m.group(0), 8) & 0xFF)
                i += 1 + len(m.group(0))
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(
                literal[i + 1 : i + 2], literal[i + 1 : i + 2]
            )
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _shown_strings(content: bytes) -> list[bytes]:
    return [_unescape(m.group(1)) for m in re.finditer(rb"\(((?:\\.|[^\\)])*)\) Tj", content)]


def _rasterise_rects(content: bytes, scale: float = 4.0) -> np.ndarray:
    """Paint every `x y w h re` rectangle of a page black on white at `scale` px/pt."""
    page = np.full((int(842 * scale), int(596 * scale)), 255, np.uint8)
    num = rb"(-?[\d.]+)"
    for m in re.finditer(num + rb" " + num + rb" " + num + rb" " + num + rb" re\b", content):
        x, y, w, h = (float(v) for v in m.groups())
        x0, x1 = round(x * scale), round((x + w) * scale)
        y0, y1 = round((842 - y - h) * scale), round((842 - y) * scale)
        page[y0:y1, x0:x1] = 0
    return page


def test_pdf_has_one_page_per_ten_plates_and_shows_every_code():
    records = _records(23)
    pdf = plates_pdf(records, title="平湖社区 门牌", base_url=BASE)
    pages = _pages(pdf)
    assert len(pages) == 3  # 2 x 5 plates per page
    shown = [s for page in pages for s in _shown_strings(page)]
    codes = [s.decode("latin-1") for s in shown if re.fullmatch(rb"[0-9A-Z*]{18}", s)]
    assert codes == [r["code"] for r in records]


def _run(*cmd: str) -> str:
    # poppler's tools on a file the test wrote
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,  # noqa: S603
                          check=True).stdout


def test_pdf_embeds_a_cjk_subset_font_that_gives_back_name_and_address(tmp_path):
    records = _records(3)
    path = tmp_path / "plates.pdf"
    path.write_bytes(plates_pdf(records, title="平湖社区 门牌", base_url=BASE))
    # pdffonts: name, type, encoding, emb, sub, uni, object ID; the standard 14 fonts
    # (Helvetica, Courier) are in every viewer, every other font is an embedded subset
    fonts = [line.split() for line in _run("pdffonts", str(path)).splitlines()[2:]]
    others = [f for f in fonts if f[0] not in ("Helvetica", "Courier-Bold")]
    assert len(others) == 1, fonts
    name, *_, emb, sub, uni, _obj, _gen = others[0]
    assert re.fullmatch(r"[A-Z]{6}\+\S+", name)
    assert (emb, sub, uni) == ("yes", "yes", "yes")
    text = _run("pdftotext", str(path), "-")
    assert "平湖社区 门牌" in text
    assert text.count(DEFAULT_LABEL) == 3
    joined = text.replace("\n", "")
    for r in records:
        assert r["name"] in joined
        assert r["address"] in joined


def test_a_missing_cjk_font_is_named_with_its_fix(monkeypatch):
    monkeypatch.setenv("GRIDGOV_CJK_FONT", "/nonexistent/font.ttf")
    monkeypatch.setattr(pdfmetrics, "_fonts", {k: v for k, v in pdfmetrics._fonts.items()
                                               if k != CJK_FONT})
    with pytest.raises(MissingDependency, match=r"fonts-wqy-microhei.*GRIDGOV_CJK_FONT"):
        plates_pdf(_records(1), base_url=BASE)


def test_layout_options_change_plates_per_page():
    pdf = plates_pdf(_records(7), base_url=BASE, columns=1, rows=3)
    assert len(_pages(pdf)) == 3
    assert len(_pages(plates_pdf([], base_url=BASE))) == 1


def test_qr_printed_on_the_plate_decodes_to_the_building_url():
    record = PlateRecord(
        code=building_codes.make_building_code(COMMUNITY, 42),
        address="平湖街道守珍街42号",
        name="42栋",
        url=qr.plate_url(BASE, building_codes.make_building_code(COMMUNITY, 42)),
    )
    (page,) = _pages(plates_pdf([record]))
    raster = _rasterise_rects(page)
    assert (raster == 0).mean() > 0.005  # the QR is drawn as vector rectangles
    _ok, png = cv2.imencode(".png", raster)
    assert qr.read(png.tobytes()) == record.url


def test_records_are_checked():
    with pytest.raises(InvalidCode):
        plates_pdf([{"code": "44030700300100012C", "url": "https://x.cn/b/1"}])
    with pytest.raises(InvalidInput, match="url"):
        plates_pdf([{"code": building_codes.make_building_code(COMMUNITY, 1)}])
    with pytest.raises(InvalidInput, match="keys"):
        plates_pdf(
            [{"code": building_codes.make_building_code(COMMUNITY, 1), "colour": "red"}],
            base_url=BASE,
        )
    with pytest.raises(InvalidInput, match="columns"):
        plates_pdf(_records(1), base_url=BASE, columns=0)


def test_plate_png_is_a_readable_plate():
    code = building_codes.make_building_code(COMMUNITY, 7)
    png = plate_png({"code": code, "address": "守珍街7号"}, width=400, base_url=BASE)
    img = Image.open(io.BytesIO(png))
    assert img.width == 400
    assert img.height > 400
    assert qr.read(png) == f"{BASE}/b/{code}"

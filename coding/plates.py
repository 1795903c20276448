"""Printable building plates: A4 PDF sheets (reportlab) and single plate PNGs.

Each plate carries the QR code of the building's URL (drawn as vector
rectangles, so it prints sharp at any size), the building code, the name and
address, and a Chinese label ("一楼一码 扫码查看/上报"). Chinese text is set in
a TrueType CJK font found on the machine (:data:`CJK_FONT_FILES`, e.g. Debian's
``fonts-wqy-microhei``), embedded as a subset, so every viewer and print shop
shows the name and address.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from coding import building_codes
from coding.qr import plate_url, qr_matrix
from gis_core.errors import InvalidInput, MissingDependency

CJK_FONT = "gridgov-cjk"
#: TrueType CJK fonts tried in order (reportlab embeds TrueType outlines only, so the
#: CFF-based Noto Sans CJK cannot be used); ``GRIDGOV_CJK_FONT`` names another file
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
CODE_FONT = "Courier-Bold"
DEFAULT_LABEL = "一楼一码 扫码查看/上报"


@dataclass(frozen=True, slots=True)
class PlateRecord:
    """What one plate shows.

    Attributes
    ----------
    code
        The building (or room) code.
    address
        Postal address (Chinese allowed).
    name
        Building name, e.g. "3栋" (may be empty).
    url
        QR payload; usually :func:`coding.qr.plate_url` of the code.
    """

    code: str
    address: str = ""
    name: str = ""
    url: str = ""


def cjk_font_file() -> Path:
    """The CJK TrueType font embedded in plate PDFs: ``GRIDGOV_CJK_FONT`` or the first found.

    Raises
    ------
    MissingDependency
        When ``GRIDGOV_CJK_FONT`` names no file, or none of :data:`CJK_FONT_FILES` exists.
    """
    chosen = os.environ.get("GRIDGOV_CJK_FONT")
    candidates = (chosen,) if chosen else CJK_FONT_FILES
    for candidate in candidates:
        if Path(candidate).is_file():
            return Path(candidate)
    raise MissingDependency(
        f"no CJK font for the plate PDF: {', '.join(candidates)} not found; install one "
        "(Debian/Ubuntu: apt-get install fonts-wqy-microhei, see scripts/setup-system.sh) "
        "or set GRIDGOV_CJK_FONT to a TrueType (.ttf/.ttc) font with Chinese glyphs")


def _register_fonts() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(CJK_FONT, str(cjk_font_file()), subfontIndex=0))


def _as_record(item: PlateRecord | Mapping[str, str], base_url: str | None) -> PlateRecord:
    if isinstance(item, PlateRecord):
        rec = item
    elif isinstance(item, Mapping):
        unknown = set(item) - {"code", "address", "name", "url"}
        if unknown or "code" not in item:
            raise InvalidInput(
                f"a plate record has keys code (required), address, name, url; got {sorted(item)}"
            )
        rec = PlateRecord(**{k: str(v) for k, v in item.items() if v is not None})
    else:
        raise InvalidInput(f"records must be PlateRecord or dict items, got {type(item).__name__}")
    code = building_codes.validate(rec.code)
    url = rec.url or (plate_url(base_url, code) if base_url else "")
    if not url:
        raise InvalidInput(f"plate {code}: give its url, or base_url to build one")
    return PlateRecord(code=code, address=rec.address, name=rec.name, url=url)


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Wrap ``text`` character by character (works for Chinese without spaces)."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if pdfmetrics.stringWidth(line + ch, font, size) > width and line:
            lines.append(line)
            line = ch.lstrip()
        else:
            line += ch
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…"
    return lines


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The font size, at most ``size``, at which ``text`` fits in ``width``."""
    needed = pdfmetrics.stringWidth(text, font, size)
    return size if needed <= width else size * width / needed


def _draw_qr(c: canvas.Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as vector rectangles (horizontal runs) with its quiet zone inside."""
    matrix = qr_matrix(data)
    n = matrix.shape[0] + 8  # 4-module quiet zone each side
    module = size / n
    path = c.beginPath()
    for r, row in enumerate(matrix):
        padded = np.concatenate(([False], row, [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        for start, stop in edges.reshape(-1, 2):
            left = x + (4 + start) * module
            path.rect(left, y + size - (4 + r + 1) * module, (stop - start) * module, module)
    c.setFillColorRGB(0, 0, 0)
    c.drawPath(path, stroke=0, fill=1)


def _draw_plate(
    c: canvas.Canvas, rec: PlateRecord, x: float, y: float, w: float, h: float, label: str
) -> None:
    c.setStrokeColorRGB(0.1, 0.3, 0.6)
    c.setLineWidth(1.2)
    c.roundRect(x, y, w, h, 4 * mm, stroke=1, fill=0)
    qr_size = min(h - 8 * mm, w * 0.48)
    _draw_qr(c, rec.url, x + 3 * mm, y + (h - qr_size) / 2, qr_size)
    tx = x + 3 * mm + qr_size + 2 * mm
    tw = x + w - 3 * mm - tx
    top = y + h - 8 * mm
    c.setFillColorRGB(0.1, 0.3, 0.6)
    c.setFont(CJK_FONT, _fit(label, CJK_FONT, 11, tw))
    c.drawString(tx, top, label)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(CODE_FONT, _fit(rec.code, CODE_FONT, 10, tw))
    c.drawString(tx, top - 7 * mm, rec.code)
    line_y = top - 13 * mm
    if rec.name:
        c.setFont(CJK_FONT, 10)
        c.drawString(tx, line_y, _wrap(rec.name, CJK_FONT, 10, tw, 1)[0])
        line_y -= 5 * mm
    c.setFont(CJK_FONT, 8)
    for line in _wrap(rec.address, CJK_FONT, 8, tw, 4):
        c.drawString(tx, line_y, line)
        line_y -= 4 * mm


def plates_pdf(
    records: Iterable[PlateRecord | Mapping[str, str]],
    title: str = "楼栋二维码门牌",
    *,
    base_url: str | None = None,
    columns: int = 2,
    rows: int = 5,
    label: str = DEFAULT_LABEL,
) -> bytes:
    """Lay out building plates on A4 pages and return the PDF.

    Parameters
    ----------
    records
        :class:`PlateRecord` items or dicts with ``code`` and optionally
        ``address``, ``name``, ``url``.
    title
        Printed at the top of every page (Chinese allowed).
    base_url
        Used to build ``url`` for records without one (:func:`coding.qr.plate_url`).
    columns, rows
        Plates per page across and down (1-4 and 1-8).
    label
        The call to action printed on each plate.

    Returns
    -------
    bytes
        A PDF with ``ceil(len(records) / (columns * rows))`` pages (one empty
        page when there are no records).

    Raises
    ------
    InvalidCode
        If a record's code is not a valid building or room code.
    InvalidInput
        For bad layout parameters or records.
    MissingDependency
        When no CJK font file is installed (:func:`cjk_font_file`).

    Examples
    --------
    >>> pdf = plates_pdf([{"code": "44030700300100012B", "address": "深圳市龙岗区平湖街道"}],
    ...                  base_url="https://grid.example.cn")
    >>> pdf[:5]
    b'%PDF-'
    """
    if isinstance(columns, bool) or not isinstance(columns, int) or not 1 <= columns <= 4:
        raise InvalidInput(f"columns must be an integer in 1-4, got {columns!r}")
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= 8:
        raise InvalidInput(f"rows must be an integer in 1-8, got {rows!r}")
    plates = [_as_record(r, base_url) for r in records]
    _register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(title)
    c.setCreator("gridgov")
    page_w, page_h = A4
    margin, header = 12 * mm, 14 * mm
    cell_w = (page_w - 2 * margin) / columns
    cell_h = (page_h - 2 * margin - header) / rows
    per_page = columns * rows
    pages = max(1, -(-len(plates) // per_page))
    for page in range(pages):
        c.setFont(CJK_FONT, 12)
        c.drawString(margin, page_h - margin - 6 * mm, title)
        c.setFont("Helvetica", 8)
        c.drawRightString(page_w - margin, page_h - margin - 6 * mm, f"{page + 1} / {pages}")
        for k, rec in enumerate(plates[page * per_page : (page + 1) * per_page]):
            col, row = k % columns, k // columns
            x = margin + col * cell_w + 2 * mm
            y = page_h - margin - header - (row + 1) * cell_h + 2 * mm
            _draw_plate(c, rec, x, y, cell_w - 4 * mm, cell_h - 4 * mm, label)
        c.showPage()
    c.save()
    return buf.getvalue()


def plate_png(
    record: PlateRecord | Mapping[str, str], width: int = 600, *, base_url: str | None = None
) -> bytes:
    """Render one plate as a PNG: QR code on a white plate with the code printed under it.

    Only ASCII text is drawn (Pillow has no built-in Chinese font); this is
    the plate as a camera sees it, used for previews, tests and benchmarks.

    Parameters
    ----------
    record
        As for :func:`plates_pdf`.
    width
        Plate width in pixels, 200-4000.
    base_url
        Used when the record has no ``url``.

    Examples
    --------
    >>> png = plate_png({"code": "44030700300100012B"}, base_url="https://grid.example.cn")
    >>> png[1:4]
    b'PNG'
    """
    if isinstance(width, bool) or not isinstance(width, int) or not 200 <= width <= 4000:
        raise InvalidInput(f"width must be an integer in 200-4000, got {width!r}")
    rec = _as_record(record, base_url)
    matrix = qr_matrix(rec.url)
    n = matrix.shape[0] + 8
    module = max(1, int(width * 0.8) // n)
    qr = np.ones((n, n), dtype=np.uint8) * 255
    qr[4:-4, 4:-4] = np.where(matrix, 0, 255)
    qr_img = Image.fromarray(qr, mode="L").resize(
        (n * module, n * module), Image.Resampling.NEAREST
    )
    height = int(width * 1.1)
    plate = Image.new("L", (width, height), 255)
    plate.paste(qr_img, ((width - qr_img.width) // 2, int(width * 0.03)))
    draw = ImageDraw.Draw(plate)
    font = ImageFont.load_default(size=max(10, width // 18))
    text_y = int(width * 0.03) + qr_img.height + width // 60
    draw.text((width // 2, text_y), rec.code, fill=0, font=font, anchor="ma")
    draw.rectangle((1, 1, width - 2, height - 2), outline=0, width=max(2, width // 150))
    out = io.BytesIO()
    plate.save(out, format="PNG")
    return out.getvalue()

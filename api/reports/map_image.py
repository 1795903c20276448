"""The report's map as a PNG picture (for the XLSX workbook), drawn with Pillow.

The same map as the PDF's (:func:`api.reports.drawings.map_drawing`): the same frame,
projection and colours, drawn in the same order (grids, the outlines of the areas below,
the area's outline, the events), on a white ground at twice the PDF's size. The legend
is not drawn into the picture: the workbook writes it as text beside it.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from reportlab.lib.colors import Color
from shapely.geometry.base import BaseGeometry

from api.reports.drawings import (
    EVENT_STATES,
    GRID_FILL,
    GRID_STROKE,
    PART_STROKE,
    Frame,
    map_frame,
)
from api.reports.figures import ReportMap

WIDTH, HEIGHT = 960, 680
#: pixels per point of the PDF's drawing (line widths and event dots)
SCALE = WIDTH / 480


def rgb(color: Color) -> tuple[int, int, int]:
    """A reportlab colour as 8-bit RGB.

    Examples
    --------
    >>> rgb(GRID_STROKE)
    (76, 110, 245)
    """
    red, green, blue = (round(v * 255) for v in color.rgb())
    return red, green, blue


def _rings(frame: Frame, geom: BaseGeometry) -> list[list[float]]:
    """The rings of ``geom`` in picture pixels (y down)."""
    return [[v if i % 2 == 0 else HEIGHT - v for i, v in enumerate(ring)]
            for ring in frame.rings(geom)]


def map_png(data: ReportMap) -> bytes | None:
    """The PNG of the area's grids, outline and the period's events; None when it has none."""
    frame = map_frame(data, WIDTH, HEIGHT)
    if frame is None:
        return None
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    for grid in data.grids:
        for ring in _rings(frame, grid):
            draw.polygon(ring, fill=rgb(GRID_FILL), outline=rgb(GRID_STROKE), width=1)
    for part in data.parts:
        for ring in _rings(frame, part):
            draw.line([*ring, ring[0], ring[1]], fill=rgb(PART_STROKE), width=round(SCALE))
    if data.outline is not None:
        for ring in _rings(frame, data.outline):
            draw.line([*ring, ring[0], ring[1]], fill=(0, 0, 0), width=round(1.2 * SCALE))
    radius = 1.6 * SCALE
    for lon, lat, state in data.events:
        x, y = frame.point(lon, lat)
        draw.ellipse((x - radius, HEIGHT - y - radius, x + radius, HEIGHT - y + radius),
                     fill=rgb(EVENT_STATES[state][0]))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()

"""The report's pictures as reportlab drawings: the map of the area and the daily trend.

The map is drawn from the PostGIS geometries alone (no tiles): the area's grids, the
outlines of the areas below it (dashed) and its own, and the period's events coloured by
state, in an equirectangular projection scaled by the cosine of the middle latitude (true
shape at the scale of a district).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import shapely
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Circle, Drawing, Polygon, String
from reportlab.lib import colors
from shapely.geometry.base import BaseGeometry

from api.reports.figures import ReportMap

FONT = "STSong-Light"
#: an event's colour and legend word, by its state on the map
EVENT_STATES = {"open": (colors.HexColor("#f08c00"), "在办"),
                "overdue": (colors.HexColor("#e03131"), "超期"),
                "closed": (colors.HexColor("#2f9e44"), "已结案"),
                "void": (colors.HexColor("#868e96"), "不予受理/重复/撤销")}
GRID_STROKE = colors.HexColor("#4c6ef5")
GRID_FILL = colors.HexColor("#edf2ff")
PART_STROKE = colors.HexColor("#495057")
#: what the map says when the area has no geometry and the period no event
NO_DATA = "无空间数据"


class Frame:
    """Lon/lat to drawing points: fit ``bounds`` into ``width`` x ``height`` with a margin."""

    def __init__(self, bounds: tuple[float, float, float, float], width: float,
                 height: float, margin: float = 8.0) -> None:
        west, south, east, north = bounds
        self.kx = math.cos(math.radians((south + north) / 2))
        span_x = max((east - west) * self.kx, 1e-9)
        span_y = max(north - south, 1e-9)
        self.scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
        self.x0 = (margin + (width - 2 * margin - span_x * self.scale) / 2
                   - west * self.kx * self.scale)
        self.y0 = margin + (height - 2 * margin - span_y * self.scale) / 2 - south * self.scale

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        """Drawing coordinates (y up) of a longitude and latitude."""
        return self.x0 + lon * self.kx * self.scale, self.y0 + lat * self.scale

    def rings(self, geom: BaseGeometry) -> list[list[float]]:
        """The exterior rings of every polygon of ``geom`` as flat point lists."""
        out = []
        for part in shapely.get_parts(geom):
            if isinstance(part, shapely.Polygon) and not part.is_empty:
                out.append([v for x, y in part.exterior.coords for v in self.point(x, y)])
        return out


def map_frame(data: ReportMap, width: float, height: float) -> Frame | None:
    """The frame that fits the map's grids, outline and events; None when it has none."""
    shapes = [g for g in (*data.grids, data.outline) if g is not None]
    if not shapes and not data.events:
        return None
    points = shapely.points([(x, y) for x, y, _ in data.events]) if data.events else []
    west, south, east, north = (float(v) for v in shapely.total_bounds([*shapes, *points]))
    return Frame((west, south, east, north), width, height)


def map_drawing(data: ReportMap, width: float = 480, height: float = 340) -> Drawing:
    """The area's grids, outline and the period's events, with a legend of the states."""
    drawing = Drawing(width, height + 24)
    frame = map_frame(data, width, height)
    if frame is None:
        drawing.add(String(width / 2, height / 2, NO_DATA, fontName=FONT,
                           fontSize=12, textAnchor="middle"))
        return drawing
    for grid in data.grids:
        for ring in frame.rings(grid):
            drawing.add(Polygon(ring, fillColor=GRID_FILL, strokeColor=GRID_STROKE,
                                strokeWidth=0.4))
    for part in data.parts:
        for ring in frame.rings(part):
            drawing.add(Polygon(ring, fillColor=None, strokeColor=PART_STROKE,
                                strokeWidth=0.8, strokeDashArray=[3, 2]))
    if data.outline is not None:
        for ring in frame.rings(data.outline):
            drawing.add(Polygon(ring, fillColor=None, strokeColor=colors.black,
                                strokeWidth=1.2))
    for lon, lat, state in data.events:
        x, y = frame.point(lon, lat)
        drawing.add(Circle(x, y, 1.6, fillColor=EVENT_STATES[state][0], strokeColor=None))
    legend = Legend()
    legend.x, legend.y, legend.fontName, legend.fontSize = 8, height + 18, FONT, 8
    legend.alignment, legend.columnMaximum, legend.deltax = "right", 1, 90
    legend.colorNamePairs = list(EVENT_STATES.values())
    drawing.add(legend)
    return drawing


def trend_drawing(trend: Sequence[tuple[date, int, int]], width: float = 480,
                  height: float = 180) -> Drawing:
    """Events reported and closed per day, as two lines with a legend."""
    drawing = Drawing(width, height)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 36, 30, width - 50, height - 60
    chart.data = [[r for _, r, _ in trend], [c for _, _, c in trend]]
    step = max(1, len(trend) // 10)
    chart.categoryAxis.categoryNames = [
        f"{day:%m-%d}" if i % step == 0 else "" for i, (day, _, _) in enumerate(trend)]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.lines[0].strokeColor = colors.HexColor("#1971c2")
    chart.lines[1].strokeColor = colors.HexColor("#2f9e44")
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y, legend.fontName, legend.fontSize = 40, height - 8, FONT, 8
    legend.alignment, legend.columnMaximum, legend.deltax = "right", 1, 70
    legend.colorNamePairs = [(chart.lines[0].strokeColor, "上报数"),
                             (chart.lines[1].strokeColor, "结案数")]
    drawing.add(legend)
    return drawing

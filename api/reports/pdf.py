"""A report as a PDF (reportlab, A4), in Chinese with reportlab's built-in CID font.

Sections in order: the title (area and period), the KPIs with the previous period and
the change, the map (:func:`api.reports.drawings.map_drawing`), the daily trend, the
top categories, the overdue cases and the rankings. ``STSong-Light`` is one of the
CID fonts every PDF reader has, so no font file is needed or embedded.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from api.reports.drawings import FONT, map_drawing, trend_drawing
from api.reports.figures import KPIS, RANKING_TITLES, Report, change, ranking_figures

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, spaceAfter=4)
HEADING = ParagraphStyle("heading", fontName=FONT, fontSize=13, leading=18, spaceBefore=10,
                         spaceAfter=4)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13)
_TABLE = TableStyle([
    ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 8),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
    ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#adb5bd")),
    ("ALIGN", (1, 1), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
])


def number(value: float | None, is_rate: bool = False) -> str:
    """A KPI as a reader sees it: a percentage for a rate, two decimals for a float.

    Examples
    --------
    >>> number(0.9326923, True), number(12.64), number(110), number(None)
    ('93.3%', '12.64', '110', '-')
    """
    if value is None:
        return "-"
    if is_rate:
        return f"{100 * value:.1f}%"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def signed(value: float | None, is_rate: bool = False) -> str:
    """A change with its sign; a rate's change in percentage points.

    Examples
    --------
    >>> signed(0.051, True), signed(-3), signed(0), signed(None)
    ('+5.1个百分点', '-3', '0', '-')
    """
    if value is None:
        return "-"
    sign = "+" if value > 0 else ""
    if is_rate:
        return f"{sign}{100 * value:.1f}个百分点"
    return sign + number(value)


def render_pdf(report: Report) -> bytes:
    """The PDF of ``report`` as bytes."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm, title=report.title,
                            author="gridgov", subject=f"{report.area.code} {report.period.label}")
    doc.build(_story(report))
    return out.getvalue()


def _local(value: datetime, report: Report) -> str:
    return f"{value.astimezone(ZoneInfo(report.period.timezone)):%Y-%m-%d %H:%M}"


def _story(report: Report) -> list[Flowable]:
    previous = report.period.previous()
    last_day = report.period.days()[-1]
    story: list[Flowable] = [
        Paragraph(report.title, TITLE),
        Paragraph(f"区域编码 {report.area.code}; 统计期 {report.period.first_day} 至 {last_day}"
                  f" (上期 {previous.label}); 统计时间 {_local(report.now, report)}", BODY),
        Paragraph("一、主要指标", HEADING), _table(_kpi_rows(report), [150, 90, 90, 110]),
        Paragraph("二、案件分布图", HEADING), map_drawing(report.map),
        Paragraph("三、每日趋势", HEADING), trend_drawing(report.trend),
        Paragraph("四、高发类别", HEADING), _table(_category_rows(report), [60, 150, 60, 60, 60]),
        Paragraph(f"五、超期案件 (共 {report.kpis['overdue']} 件)", HEADING),
        _table(_overdue_rows(report), [50, 110, 70, 70, 90, 60]),
    ]
    for i, (level, rows) in enumerate(report.rankings.items()):
        story += [Paragraph(f"{'六七八九'[i]}、{RANKING_TITLES[level]}", HEADING),
                  _table(_ranking_rows(level, rows), None)]
    return story


def _table(rows: list[list[str]], widths: list[float] | None) -> Flowable:
    if len(rows) == 1:
        return Paragraph("无", BODY)
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(_TABLE)
    return table


def _kpi_rows(report: Report) -> list[list[str]]:
    rows = [["指标", "本期", "上期", "变化"]]
    for key, label, is_rate in KPIS:
        now, before = report.kpis.get(key), report.previous_kpis.get(key)
        rows.append([label, number(now, is_rate), number(before, is_rate),
                     signed(change(now, before), is_rate)])
    return rows


def _category_rows(report: Report) -> list[list[str]]:
    rows = [["编码", "类别", "上报数", "结案数", "结案率"]]
    rows += [[c["code"], c["name"], str(c["reported"]), str(c["closed"]),
              number(c["closure_rate"], True)] for c in report.categories]
    return rows


def _overdue_rows(report: Report) -> list[list[str]]:
    rows = [["编号", "类别", "状态", "社区", "应办结时间", "超期小时"]]
    rows += [[str(c["id"]), c["category"], c["status_label"], c["community"] or "-",
              _local(c["due_at"], report), f"{c['hours_overdue']:.1f}"] for c in report.overdue]
    return rows


def _ranking_rows(level: str, rows: list[dict[str, Any]]) -> list[list[str]]:
    figures = ranking_figures(level)
    out = [["名次", "名称", "得分", *(label for _, label, _ in figures)]]
    out += [[number(r["rank"]), str(r["name"] or r["key"]), number(r["score"]),
             *(number(r.get(key), is_rate) for key, _, is_rate in figures)] for r in rows]
    return out

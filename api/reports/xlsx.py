"""A report as an XLSX workbook: one sheet per section, numbers stored as numbers.

Sheets: ``概要`` (the title, then each KPI with this period, the previous period and the
change), ``分布图`` (the map as a picture, :func:`api.reports.map_image.map_png`, with
its legend as text), ``趋势`` (per day: reported, closed), ``类别`` (top categories), ``超期案件``
(overdue cases), ``网格分布`` (the map as a table: the KPIs per grid) and one sheet per
ranking (``社区排名``, ``部门排名``, ``网格员排名``, ...). Rates are fractions shown as
percentages; times are local (the period's time zone) without an offset, as Excel keeps
them.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from api.reports.drawings import EVENT_STATES, NO_DATA
from api.reports.figures import KPIS, RANKING_TITLES, Report, change, ranking_figures
from api.reports.map_image import HEIGHT, WIDTH, map_png

PERCENT = "0.0%"
DECIMAL = "0.00"


def render_xlsx(report: Report) -> bytes:
    """The workbook of ``report`` as bytes."""
    book = Workbook()
    _summary(book.active, report)
    _map(book.create_sheet("分布图"), report)
    _trend(book.create_sheet("趋势"), report)
    _categories(book.create_sheet("类别"), report)
    _overdue(book.create_sheet("超期案件"), report)
    _grids(book.create_sheet("网格分布"), report)
    for level, rows in report.rankings.items():
        _ranking(book.create_sheet(RANKING_TITLES[level]), level, rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header(sheet: Worksheet, *names: str) -> None:
    sheet.append(list(names))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _local(value: datetime, report: Report) -> datetime:
    return value.astimezone(ZoneInfo(report.period.timezone)).replace(tzinfo=None)


def _summary(sheet: Worksheet, report: Report) -> None:
    sheet.title = "概要"
    previous = report.period.previous()
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["区域", report.area.name, report.area.code])
    sheet.append(["本期", report.period.label, _local(report.period.start, report),
                  _local(report.period.end, report)])
    sheet.append(["上期", previous.label, _local(previous.start, report),
                  _local(previous.end, report)])
    sheet.append(["统计时间", _local(report.now, report)])
    sheet.append([])
    _header(sheet, "指标", "key", "本期", "上期", "变化")
    for key, label, is_rate in KPIS:
        now, before = report.kpis.get(key), report.previous_kpis.get(key)
        sheet.append([label, key, now, before, change(now, before)])
        for cell in sheet[sheet.max_row][2:]:
            cell.number_format = PERCENT if is_rate else (
                DECIMAL if isinstance(cell.value, float) else "0")
    sheet.column_dimensions["A"].width = 24


def _map(sheet: Worksheet, report: Report) -> None:
    _header(sheet, "图例", "案件状态")
    for color, word in EVENT_STATES.values():
        sheet.append(["", word])
        sheet.cell(sheet.max_row, 1).fill = PatternFill("solid", fgColor=color.hexval()[2:])
    png = map_png(report.map)
    if png is None:
        sheet.append([NO_DATA])
        return
    picture = Image(io.BytesIO(png))
    picture.width, picture.height = WIDTH * 3 // 4, HEIGHT * 3 // 4  # shown at 720 x 510
    sheet.add_image(picture, "D1")
    sheet.column_dimensions["B"].width = 20


def _trend(sheet: Worksheet, report: Report) -> None:
    _header(sheet, "日期", "上报数", "结案数")
    for day, reported, closed in report.trend:
        sheet.append([day, reported, closed])
        sheet.cell(sheet.max_row, 1).number_format = "yyyy-mm-dd"


def _categories(sheet: Worksheet, report: Report) -> None:
    _header(sheet, "类别编码", "类别", "上报数", "立案数", "结案数", "超期数", "结案率")
    for c in report.categories:
        sheet.append([c["code"], c["name"], c["reported"], c["registered"], c["closed"],
                      c["overdue"], c["closure_rate"]])
        sheet.cell(sheet.max_row, 7).number_format = PERCENT


def _overdue(sheet: Worksheet, report: Report) -> None:
    _header(sheet, "案件编号", "类别", "状态", "社区", "上报时间", "应办结时间", "超期小时")
    for case in report.overdue:
        sheet.append([case["id"], case["category"], case["status_label"], case["community"],
                      _local(case["reported_at"], report), _local(case["due_at"], report),
                      round(case["hours_overdue"], 1)])


def _grids(sheet: Worksheet, report: Report) -> None:
    _header(sheet, "网格编码", "上报数", "立案数", "结案数", "超期数", "结案率")
    for g in report.by_grid:
        sheet.append([g["key"], g["reported"], g["registered"], g["closed"], g["overdue"],
                      g["closure_rate"]])
        sheet.cell(sheet.max_row, 6).number_format = PERCENT


def _ranking(sheet: Worksheet, level: str, rows: list[dict[str, Any]]) -> None:
    figures = ranking_figures(level)
    _header(sheet, "名次", "编码", "名称", "得分", *(label for _, label, _ in figures))
    for row in rows:
        sheet.append([row["rank"], row["key"], row["name"], row["score"],
                      *(row.get(key) for key, _, _ in figures)])
        for cell, (_, _, is_rate) in zip(sheet[sheet.max_row][4:], figures, strict=True):
            cell.number_format = PERCENT if is_rate else "General"

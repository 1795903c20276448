"""A report as an XLSX workbook: one sheet per section, numbers stored as numbers.

Sheets: ``概要`` (the title, then each KPI with this period, the previous period and the
change), ``趋势`` (per day: reported, closed), ``类别`` (top categories), ``超期案件``
(overdue cases) and one ``排名-…`` sheet per ranking. Rates are fractions shown as
percentages; times are local (the period's time zone) without an offset, as Excel
keeps them.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from api.reports.figures import KPIS, RANKING_TITLES, Report, change

PERCENT = "0.0%"
DECIMAL = "0.00"
#: the columns of a ranking sheet: key of the row, header
RANKING_COLUMNS = (("rank", "名次"), ("key", "编码"), ("name", "名称"), ("score", "得分"),
                   ("registered", "立案数"), ("closure_rate", "结案率"),
                   ("on_time_closure_rate", "按期结案率"), ("overdue", "超期数"))


def render_xlsx(report: Report) -> bytes:
    """The workbook of ``report`` as bytes."""
    book = Workbook()
    _summary(book.active, report)
    _trend(book.create_sheet("趋势"), report)
    _categories(book.create_sheet("类别"), report)
    _overdue(book.create_sheet("超期案件"), report)
    for level, rows in report.rankings.items():
        _ranking(book.create_sheet(f"排名-{RANKING_TITLES[level][:2]}"), rows)
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


def _ranking(sheet: Worksheet, rows: list[dict[str, Any]]) -> None:
    _header(sheet, *(title for _, title in RANKING_COLUMNS))
    for row in rows:
        sheet.append([row.get(key) for key, _ in RANKING_COLUMNS])
        for cell in sheet[sheet.max_row][5:7]:
            cell.number_format = PERCENT

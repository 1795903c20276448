"""The HTML of the tracking page, server-rendered (Chinese first, English after).

Its only script and style are ``/static/track.js`` and ``/static/track.css``: the page
works offline in a command centre and under the Content-Security-Policy.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

#: a status as a resident reads it
STATUS_LABELS = {
    "registered": ("已受理", "Received"), "dispatched": ("已派遣", "Sent to a department"),
    "returned": ("重新派遣中", "Being re-assigned"), "in_progress": ("处置中", "In progress"),
    "handled": ("已处置，待核查", "Handled, being checked"),
    "verified": ("已核查，待结案", "Checked, closing"), "closed": ("已结案", "Closed"),
    "evaluated": ("已评价", "Closed and evaluated"), "rejected": ("不予受理", "Not accepted"),
    "duplicate": ("重复上报，已合并", "Merged as a duplicate"),
    "cancelled": ("已撤销", "Cancelled"),
}

#: a step of the timeline, by the history's action
ACTION_LABELS = {
    "register": ("登记受理", "Received"), "dispatch": ("派遣至处置部门", "Sent to a department"),
    "accept": ("部门接单", "Accepted by the department"),
    "return": ("退回重新派遣", "Returned for re-assignment"),
    "handle": ("处置完成", "Handled"), "verify": ("现场核查", "Checked on site"),
    "reopen": ("核查未通过，重新处置", "Reopened"), "close": ("结案", "Closed"),
    "evaluate": ("市民评价", "Evaluated"), "reject": ("不予受理", "Not accepted"),
    "cancel": ("撤销", "Cancelled"), "mark_duplicate": ("合并为重复上报", "Merged as a duplicate"),
    "escalate": ("升级督办", "Escalated"),
}

_HEAD = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/track.css">
</head><body>
"""


def _label(pair: tuple[str, str]) -> str:
    return f"{escape(pair[0])} <span class='en'>{escape(pair[1])}</span>"


def _when(value: str | None, tz: ZoneInfo) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _timeline(view: dict[str, Any], tz: ZoneInfo) -> str:
    items = []
    for step in view["history"]:
        pair = ACTION_LABELS.get(step["action"]) or STATUS_LABELS.get(
            step["to_status"], (step["action"], step["action"]))
        items.append(f"<li><time>{_when(step['at'], tz)}</time> {_label(pair)}</li>")
    return "<ol id='timeline'>" + "".join(items) + "</ol>"


def _photos(view: dict[str, Any]) -> str:
    if not view["photos"]:
        return "<p>暂无照片 <span class='en'>No photos</span></p>"
    out = []
    for p in view["photos"]:
        url = escape(p["url"])
        out.append(f"<a href='{url}'><img src='{url}' alt='照片 {p['id']}'></a>" if p["stored"]
                   else f"<a href='{url}' rel='noopener noreferrer'>外部照片 External photo</a>")
    return "<div id='photos'>" + "".join(out) + "</div>"


def _evaluation(view: dict[str, Any], token: str) -> str:
    if view["satisfaction"] is not None:
        return (f"<p id='evaluated'>您的评价：{int(view['satisfaction'])} 分 "
                f"<span class='en'>Your score: {int(view['satisfaction'])}/5</span></p>")
    if not view["can_evaluate"]:
        return ("<p>结案后可评价 <span class='en'>You can evaluate once the case is "
                "closed</span></p>")
    stars = "".join(f"<label><input type='radio' name='satisfaction' value='{n}' required>"
                    f" {n}</label>" for n in (5, 4, 3, 2, 1))
    return (f"<form id='evaluation' data-token='{escape(token)}'>"
            "<fieldset><legend>满意度 Satisfaction (1–5)</legend>" + stars + "</fieldset>"  # noqa: RUF001
            "<label for='comment'>意见（选填） Comment (optional)</label>"
            "<textarea id='comment' name='comment' rows='3' maxlength='2000'></textarea>"
            "<button type='submit'>提交评价 Submit</button>"
            "<div id='evaluation-result' role='status'></div></form>")


def _duplicate(view: dict[str, Any]) -> str:
    if view["status"] != "duplicate":
        return ""
    link = (f"<a id='original' href='/t/{escape(view['original_token'])}'>查看该事件的办理进度 "
            "Follow that case</a>" if view["original_token"] else "")
    return ("<section id='duplicate'><p>您的上报与已受理的事件重复，已合并办理。"
            "<span class='en'>Your report was merged into a case already being handled."
            f"</span></p>{link}</section>")


def _facts(view: dict[str, Any], tz: ZoneInfo) -> str:
    rows = (("类别 Category", view["category_name"]),
            ("处置部门 Department", (view["department"] or {}).get("name")),
            ("地址 Address", view["address"] or view["building_code"]),
            ("上报时间 Reported", _when(view["reported_at"], tz)),
            ("办理时限 Due", _when(view["due_at"], tz)),
            ("描述 Description", view["description"]))
    return "<dl>" + "".join(f"<dt>{name}</dt><dd>{escape(str(value or '—'))}</dd>"
                            for name, value in rows) + "</dl>"


def render_page(view: dict[str, Any], token: str, tz: ZoneInfo) -> str:
    """The tracking page of one report."""
    status = STATUS_LABELS.get(view["status"], (view["status"], view["status"]))
    return _HEAD.format(title=escape(f"{status[0]} · 事件进度查询")) + (
        f"<header><h1>事件进度 <span class='en'>Report status</span></h1>"
        f"<p id='status' data-status='{escape(view['status'])}'>{_label(status)}</p></header>"
        "<main>" + _duplicate(view) +
        f"<section><h2>事件 Report</h2>{_facts(view, tz)}</section>"
        f"<section><h2>办理进度 Timeline</h2>{_timeline(view, tz)}</section>"
        f"<section><h2>照片 Photos</h2>{_photos(view)}</section>"
        f"<section><h2>评价 Evaluation</h2>{_evaluation(view, token)}</section>"
        "</main><script src='/static/track.js'></script></body></html>")


def not_found_page(token: str) -> str:
    """The page of an unknown tracking code."""
    return _HEAD.format(title="未找到 · 事件进度查询") + (
        "<header><h1>未找到该事件 <span class='en'>Report not found</span></h1></header>"
        f"<main><section><p>查询码 <code>{escape(token)}</code> 没有对应的事件，请核对后重试。"
        "</p><p class='en'>No report has this tracking code; please check it.</p>"
        "</section></main></body></html>")

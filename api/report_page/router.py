"""``/report``: the page a resident reports a problem on from a phone."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from api.auth.access import public
from api.deps import SettingsDep
from api.report_page.form import FORM_ASSETS, report_form
from api.routing import Router

router = Router(tags=["residents"])

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>我要上报 Report a problem</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/plate.css">
{style}
</head>
<body><header class="bar"><h1 data-w="title">我要上报</h1>
<button type="button" id="lang-switch" class="lang">English</button></header>
<main><section>{form}</section></main>
{script}</body></html>
"""


@router.get("/report", response_class=HTMLResponse)
@public
def report_page(settings: SettingsDep) -> HTMLResponse:
    """The phone page a resident reports a problem on: photos, position, category."""
    style, script = FORM_ASSETS
    page = _PAGE.format(style=style, script=script,
                        form=report_form(settings.events.max_photos))
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

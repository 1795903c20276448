"""``/b/{code}``: the page a phone opens when it scans a building's QR plate.

Server-rendered, its script and style served from ``/static`` (works in a command
centre without internet, in any phone browser and under the Content-Security-Policy):
the building's record (address, code, grids, open problems) and the residents' report
form (:mod:`api.report_page.form`) posting to the event intake with channel ``qr`` and
the building code, so the report lands on this building, its grids and its community;
and a link to the self-declaration of residence (入住申报, ``/static/declare.html?b=CODE``),
which waits for the building's grid worker (the field app lists it to verify).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from fastapi.responses import HTMLResponse

from api.auth.access import public
from api.codes.router import scan_record
from api.deps import SessionDep, SettingsDep
from api.errors import APIError
from api.report_page.form import FORM_ASSETS, report_form
from api.routing import Router

router = Router(tags=["codes"])

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/plate.css">
{style}
</head>
<body><header><h1>{name}</h1><p>{address}</p></header><main>
<section><h2>楼栋信息 Building</h2><dl>
<dt>楼栋编码</dt><dd class="code" id="building-code">{code}</dd>
<dt>北斗网格码</dt><dd class="code">{beidou}</dd>
<dt>用途 / 层数</dt><dd>{use} / {floors}</dd>
{grids}
</dl></section>
<section><h2>未办结事件 Open problems ({n_open})</h2>{open_events}</section>
<section><h2>入住申报 Declare your residence</h2>
<p>住在这栋楼的居民可申报入住，由本楼栋网格员核实。Do you live here? The building's grid worker
verifies your declaration.</p>
<p><a id="declare-link" class="button" href="/static/declare.html?b={code_q}">我要申报 Declare</a></p>
</section>
<section><h2 data-w="title">我要上报 Report a problem</h2>
<button type="button" id="lang-switch" class="lang">English</button>
{form}</section></main>
{script}</body></html>
"""


@router.get("/b/{code}", response_class=HTMLResponse, include_in_schema=True, responses={
    404: {"description": "no such building (a page for the phone)",
          "content": {"text/html": {"schema": {"type": "string"}}}}})
@public
def plate_page(code: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The mobile page of a building plate: its record and a report form (Chinese first)."""
    try:
        record = scan_record(session, code)
    except APIError as exc:
        if exc.status != 404:
            raise
        return HTMLResponse(f"<!doctype html><meta charset='utf-8'><title>未找到</title>"
                            f"<p>没有编码为 {escape(code)} 的楼栋。No building with this code.</p>",
                            status_code=404)
    p = record["properties"]
    grids = "".join(f"<dt>网格 {escape(str(layer))}</dt><dd class='code'>"
                    f"{escape(', '.join(v) if isinstance(v, list) else str(v))}</dd>"
                    for layer, v in (p.get("grids") or {}).items())
    events = p["open_events"]
    open_html = ("<ul>" + "".join(
        f"<li>{escape(str(e['category_name']))}（{escape(str(e['status']))}）"
        f"{escape(str(e['reported_at'])[:16])}</li>" for e in events) + "</ul>"
                 if events else "<p>暂无 None</p>")
    page = _PAGE.format(
        title=escape(f"{p.get('name') or p['code']} · 楼栋二维码"),
        name=escape(p.get("name") or "楼栋"), address=escape(p.get("address") or ""),
        code=escape(p["code"]), code_q=escape(quote(p["code"], safe="")), beidou=escape(p.get("beidou_code") or "—"),
        use=escape(str(p.get("use") or "—")), floors=escape(str(p.get("floors") or "—")),
        grids=grids, n_open=len(events), open_events=open_html, style=FORM_ASSETS[0],
        script=FORM_ASSETS[1], form=report_form(settings.events.max_photos, p["code"]))
    return HTMLResponse(page)

"""``/docs``: Swagger UI from this server's own copy (npm ``swagger-ui-dist``), no CDN.

The page loads ``/vendor/swagger-ui-dist/swagger-ui-bundle.js`` and ``.css`` and
starts it from ``/static/docs.js`` rather than an inline script, so it works
offline and under the Content-Security-Policy of every page. ReDoc, which
FastAPI would load from a CDN, is not served.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from api.auth.access import public

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/vendor/swagger-ui-dist/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/vendor/swagger-ui-dist/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>
"""


def add_local_docs(app: FastAPI) -> None:
    """Serve ``/docs`` from the local Swagger UI assets (create the app with ``docs_url=None``)."""
    page = _PAGE.format(title=escape(app.title), openapi_url=escape(app.openapi_url or ""))

    @app.get("/docs", include_in_schema=False)
    @public
    def swagger_ui() -> HTMLResponse:
        """The interactive API documentation."""
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

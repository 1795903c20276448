"""``GET /api/v1/audit``: the audit log for admins, filtered, paged, as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response

from api.audit.service import COLUMNS, AuditFilter, list_rows
from api.auth.access import Staff, roles
from api.deps import SessionDep
from api.routing import Router

router = Router(prefix="/api/v1", tags=["audit"])

MAX_LIMIT = 10_000
#: text a filter may hold (PostgreSQL text cannot hold NUL)
NO_NUL = r"^[^\x00]*$"
#: a CSV cell starting with one of these is a formula to a spreadsheet: it gets a quote
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["at"] = row["at"].isoformat()
    for key in ("before", "after", "details"):
        out[key] = json.loads(row[key]) if isinstance(row[key], str) else row[key]
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    elif isinstance(value, datetime):
        value = value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return buf.getvalue()


def _wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "")


@router.get("/audit", responses={200: {"content": {"text/csv": {}}, "description":
                                       "audit rows as JSON, or CSV"}})
@roles("admin")
def audit_log(
    request: Request,
    session: SessionDep,
    principal: Staff,
    actor: Annotated[str | None, Query(max_length=200, pattern=NO_NUL,
                                       description="user name")] = None,
    action: Annotated[str | None, Query(max_length=100, pattern=NO_NUL, description=(
        "action, e.g. personal.unmask; a trailing * matches a prefix (event.action.*)"))] = None,
    object_type: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    object_id: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    start: Annotated[datetime | None, Query(alias="from", description="at or after")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="before")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    order: Literal["desc", "asc"] = "desc",
    fmt: Annotated[Literal["json", "csv"] | None, Query(alias="format", description=(
        "json or csv (default: csv when Accept asks for text/csv)"))] = None,
) -> Response:
    """Read the audit log (admins): who did or read what, filtered and paged, JSON or CSV."""
    where = AuditFilter(actor=actor, action=action, object_type=object_type,
                        object_id=object_id, start=start, end=end)
    rows, total = list_rows(session, where, limit=limit, offset=offset,
                            newest_first=order == "desc")
    if _wants_csv(request, fmt):
        return Response(_csv(rows), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="audit.csv"',
            "X-Total-Count": str(total)})
    body = {"items": [_jsonable(r) for r in rows], "total": total, "limit": limit,
            "offset": offset}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")

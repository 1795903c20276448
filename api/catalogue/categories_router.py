"""The event category catalogue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from api.auth.access import public
from api.db.models import Department, EventCategory
from api.deps import SessionDep
from api.routing import Router

router = Router(prefix="/api/v1", tags=["categories"])


@router.get("/categories")
@public
def list_categories(session: SessionDep) -> list[dict[str, Any]]:
    """List event categories grouped by major category, with department and time limit."""
    rows = session.execute(
        select(EventCategory, Department.code, Department.name)
        .outerjoin(Department, EventCategory.department_id == Department.id)
        .order_by(EventCategory.major_code, EventCategory.code)
    ).all()
    majors: dict[str, dict[str, Any]] = {}
    for cat, dep_code, dep_name in rows:
        major = majors.setdefault(cat.major_code, {
            "code": cat.major_code, "name": cat.major_name, "name_en": cat.major_name_en,
            "categories": []})
        major["categories"].append({
            "code": cat.code, "name": cat.name, "name_en": cat.name_en,
            "department": {"code": dep_code, "name": dep_name} if dep_code else None,
            "time_limit_hours": cat.time_limit_hours,
            "closing_standard": cat.closing_standard,
            "dispatch_limit_hours": cat.dispatch_limit_hours,
            "verification_limit_hours": cat.verification_limit_hours,
            "working_time": {"dispatch": cat.dispatch_working,
                             "handling": cat.handling_working,
                             "verification": cat.verification_working}})
    return list(majors.values())

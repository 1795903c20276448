"""Departments, event categories and routing rules: list, save, remove (the caller commits).

Every change writes one audit row by ``by`` (``department.save``,
``department.remove``, ``category.save``, ``category.remove``, ``rule.save``,
``rule.remove``) with the object before and after. ``save_*`` creates the object
or changes the fields given (``None``: keep). Errors: 422 naming the field
(``invalid_field``, ``unknown_department``, ``unknown_category``,
``unknown_area``), 404 ``*_not_found``, 409 ``*_in_use`` when events or other
objects still refer to what is removed.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.service import SYSTEM, Actor, record
from api.auth.models import User
from api.db.models import AdminArea, Department, Event, EventCategory, Grid
from api.events.models import ROUTING_SCOPES, RoutingRule
from gis_core.errors import Conflict, InvalidInput, NotFound

#: the admin level of the area a rule's scope names (grids are looked up in ``grids``)
SCOPE_LEVELS = {"community": "community", "street": "street"}


def _text(value: str | None, field: str, limit: int, required: bool = True) -> str | None:
    """``value`` stripped; 422 ``invalid_field`` when empty (and required) or too long."""
    value = value.strip() if value is not None else None
    if not value:
        if required:
            raise InvalidInput(f"field '{field}': required", code="invalid_field", field=field)
        return None
    if len(value) > limit:
        raise InvalidInput(f"field '{field}': at most {limit} characters", code="invalid_field",
                           field=field)
    return value


def _audit(session: Session, by: Actor | None, action: str, kind: str, key: object,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    record(session, actor=by or SYSTEM, action=action, object_type=kind, object_id=key,
           before=before, after=after)


# -- departments ---------------------------------------------------------------------------
def department_json(dep: Department) -> dict[str, Any]:
    """A department as the API shows it."""
    return {"code": dep.code, "name": dep.name, "name_en": dep.name_en}


def list_departments(session: Session) -> list[Department]:
    """Every department by code."""
    return list(session.execute(select(Department).order_by(Department.code)).scalars())


def department(session: Session, code: str) -> Department:
    """The department with ``code``; 404 ``department_not_found``."""
    dep = session.execute(select(Department).where(Department.code == code)
                          ).scalar_one_or_none()
    if dep is None:
        raise NotFound(f"no department with code {code!r}", code="department_not_found")
    return dep


def department_id(session: Session, code: str | None, field: str = "department") -> int | None:
    """The id of the department ``code`` (None for none); 422 ``unknown_department``."""
    if not code:
        return None
    found = session.execute(select(Department.id).where(Department.code == code.strip())
                            ).scalar_one_or_none()
    if found is None:
        raise InvalidInput(f"field '{field}': no department with code {code!r}",
                           code="unknown_department", field=field)
    return int(found)


def save_department(session: Session, code: str, *, name: str | None = None,
                    name_en: str | None = None, by: Actor | None = None) -> Department:
    """Create the department ``code`` or change its names."""
    code = str(_text(code, "code", 32))
    dep = session.execute(select(Department).where(Department.code == code)
                          ).scalar_one_or_none()
    before = department_json(dep) if dep else None
    if dep is None:
        dep = Department(code=code, name=_text(name, "name", 200))
        session.add(dep)
    elif name is not None:
        dep.name = str(_text(name, "name", 200))
    if name_en is not None:
        dep.name_en = _text(name_en, "name_en", 200, required=False)
    session.flush()
    _audit(session, by, "department.save", "department", code, before, department_json(dep))
    return dep


def remove_department(session: Session, code: str, by: Actor | None = None) -> None:
    """Remove a department no event, category, rule or user refers to (else 409)."""
    dep = department(session, code)
    uses = {name: session.execute(select(func.count()).where(col == dep.id)).scalar_one()
            for name, col in (("events", Event.department_id),
                              ("categories", EventCategory.department_id),
                              ("routing rules", RoutingRule.department_id),
                              ("users", User.department_id))}
    used = {k: v for k, v in uses.items() if v}
    if used:
        raise Conflict(f"department {code!r} is in use: "
                       + ", ".join(f"{v} {k}" for k, v in used.items()),
                       code="department_in_use", uses=used)
    before = department_json(dep)
    session.delete(dep)
    session.flush()
    _audit(session, by, "department.remove", "department", code, before, None)


# -- categories ----------------------------------------------------------------------------
#: the limits of the steps other than handling (``time_limit_hours``); 0 clears one
STEP_LIMITS = ("dispatch_limit_hours", "verification_limit_hours")
#: whether each step's limit runs in working time (``api.calendar``) or natural time
STEP_WORKING = ("dispatch_working", "handling_working", "verification_working")
CATEGORY_FIELDS = ("major_code", "major_name", "major_name_en", "name", "name_en",
                   "time_limit_hours", "closing_standard", *STEP_LIMITS, *STEP_WORKING)


def category_json(cat: EventCategory, department_code: str | None) -> dict[str, Any]:
    """A category as the API shows it."""
    return {"code": cat.code, "major_code": cat.major_code, "major_name": cat.major_name,
            "major_name_en": cat.major_name_en, "name": cat.name, "name_en": cat.name_en,
            "department": department_code, "time_limit_hours": cat.time_limit_hours,
            "closing_standard": cat.closing_standard,
            **{f: getattr(cat, f) for f in (*STEP_LIMITS, *STEP_WORKING)}}


def list_categories(session: Session) -> list[tuple[EventCategory, str | None]]:
    """Every category by code, with its department's code."""
    rows = session.execute(select(EventCategory, Department.code).outerjoin(
        Department, Department.id == EventCategory.department_id).order_by(EventCategory.code))
    return [(cat, code) for cat, code in rows]


def category(session: Session, code: str) -> EventCategory:
    """The category with ``code``; 404 ``category_not_found``."""
    cat = session.execute(select(EventCategory).where(EventCategory.code == code)
                          ).scalar_one_or_none()
    if cat is None:
        raise NotFound(f"no category with code {code!r}", code="category_not_found")
    return cat


def _hours(value: Any, field: str = "time_limit_hours") -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        hours = math.nan
    if not (math.isfinite(hours) and 0 < hours <= 24 * 366):
        raise InvalidInput(f"field '{field}': a number of hours above 0 and at most "
                           f"{24 * 366}, got {value!r}", code="invalid_field", field=field)
    return hours


#: words a CSV/XLSX cell may use for yes and no (a step's clock also says 工作日 / 自然日)
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是", "工作日"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否", "自然日"})


def flag(value: Any, field: str, meaning: str = "true or false") -> bool:
    """A yes/no cell (CSV and XLSX cells give text) as a bool; 422 naming ``field`` otherwise.

    Examples
    --------
    >>> flag("是", "active"), flag("自然日", "handling_working"), flag(True, "active")
    (True, False, True)
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS or text in FALSE_WORDS:
        return text in TRUE_WORDS
    raise InvalidInput(f"field '{field}': {meaning}, got {value!r}", code="invalid_field",
                       field=field)


def _apply_steps(cat: EventCategory, values: dict[str, Any]) -> None:
    for field in STEP_LIMITS:
        if values.get(field) is not None:
            given = values[field]
            cleared = str(given).strip() in ("0", "0.0")
            setattr(cat, field, None if cleared else _hours(given, field))
    for field in STEP_WORKING:
        if values.get(field) is not None:
            setattr(cat, field, flag(values[field], field,
                                      "true (working time) or false (natural time)"))


def _major_names(session: Session, major: str) -> tuple[str | None, str | None]:
    row = session.execute(select(EventCategory.major_name, EventCategory.major_name_en)
                          .where(EventCategory.major_code == major).limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


def _apply_category(session: Session, cat: EventCategory, values: dict[str, Any]) -> None:
    limits = {"major_code": 8, "major_name": 200, "major_name_en": 200, "name": 200,
              "name_en": 200, "closing_standard": 2000}
    for field, limit in limits.items():
        if values.get(field) is not None:
            setattr(cat, field, _text(values[field], field, limit,
                                      required=field != "closing_standard"))
    if values.get("time_limit_hours") is not None:
        cat.time_limit_hours = _hours(values["time_limit_hours"])
    _apply_steps(cat, values)
    if cat.major_code and not cat.major_name:  # a new minor of a known major class
        known, known_en = _major_names(session, cat.major_code)
        if known is not None:
            cat.major_name = known
            cat.major_name_en = cat.major_name_en or known_en or known
    for field in ("major_code", "major_name", "name", "time_limit_hours"):
        if getattr(cat, field) is None:
            raise InvalidInput(f"field '{field}': required for a new category",
                               code="invalid_field", field=field)
    cat.name_en = cat.name_en or cat.name
    cat.major_name_en = cat.major_name_en or cat.major_name


def save_category(session: Session, code: str, *, department: str | None = None,
                  by: Actor | None = None, **values: Any) -> EventCategory:
    """Create the category ``code`` or change the fields given (:data:`CATEGORY_FIELDS`).

    ``department``: the default department's code (``""``: none).
    """
    unknown = set(values) - set(CATEGORY_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown category fields {sorted(unknown)}", code="invalid_field")
    code = str(_text(code, "code", 16))
    cat = session.execute(select(EventCategory).where(EventCategory.code == code)
                          ).scalar_one_or_none()
    before = category_json(cat, department_code_of(session, cat.department_id)) if cat else None
    if cat is None:
        cat = EventCategory(code=code)
    _apply_category(session, cat, values)
    if department is not None:
        cat.department_id = department_id(session, department)
    session.add(cat)
    session.flush()
    _audit(session, by, "category.save", "category", code, before,
           category_json(cat, department_code_of(session, cat.department_id)))
    return cat


def department_code_of(session: Session, dep_id: int | None) -> str | None:
    """The code of the department ``dep_id`` (None for none)."""
    if dep_id is None:
        return None
    return session.execute(select(Department.code).where(Department.id == dep_id)).scalar()


def remove_category(session: Session, code: str, by: Actor | None = None) -> None:
    """Remove a category no event refers to (else 409 ``category_in_use``)."""
    cat = category(session, code)
    n = session.execute(select(func.count()).where(Event.category_id == cat.id)).scalar_one()
    if n:
        raise Conflict(f"category {code!r} is in use by {n} events", code="category_in_use",
                       uses={"events": n})
    before = category_json(cat, department_code_of(session, cat.department_id))
    session.delete(cat)
    session.flush()
    _audit(session, by, "category.remove", "category", code, before, None)


# -- routing rules -------------------------------------------------------------------------
def rule_json(rule: RoutingRule, department_code: str | None) -> dict[str, Any]:
    """A routing rule as the API shows it."""
    return {"id": rule.id, "scope": rule.scope, "scope_code": rule.scope_code,
            "category": rule.category_code, "department": department_code, "note": rule.note}


def list_rules(session: Session) -> list[tuple[RoutingRule, str]]:
    """Every routing rule by scope, area and category, with its department's code."""
    order = {"grid": 0, "community": 1, "street": 2}
    rows = session.execute(select(RoutingRule, Department.code).join(
        Department, Department.id == RoutingRule.department_id).order_by(RoutingRule.id))
    return sorted(((r, str(c)) for r, c in rows),
                  key=lambda rc: (order[rc[0].scope], rc[0].scope_code, rc[0].category_code))


def rule(session: Session, rule_id: int) -> RoutingRule:
    """The routing rule ``rule_id``; 404 ``rule_not_found``."""
    found = session.get(RoutingRule, rule_id)
    if found is None:
        raise NotFound(f"no routing rule with id {rule_id}", code="rule_not_found")
    return found


def _check_area(session: Session, scope: str, code: str) -> None:
    if scope not in ROUTING_SCOPES:
        raise InvalidInput(f"field 'scope': one of {', '.join(ROUTING_SCOPES)}, got {scope!r}",
                           code="invalid_field", field="scope")
    if scope == "grid":
        found = session.execute(select(Grid.id).where(Grid.code == code).limit(1)).first()
    else:
        found = session.execute(select(AdminArea.id).where(
            AdminArea.code == code, AdminArea.level == SCOPE_LEVELS[scope])).first()
    if found is None:
        raise InvalidInput(f"field 'scope_code': no {scope} with code {code!r}",
                           code="unknown_area", field="scope_code")


def _check_category_code(session: Session, code: str) -> None:
    found = session.execute(select(EventCategory.id).where(
        (EventCategory.code == code) | (EventCategory.major_code == code)).limit(1)).first()
    if found is None:
        raise InvalidInput(f"field 'category': {code!r} is neither a category nor a major "
                           "category code", code="unknown_category", field="category")


def save_rule(session: Session, *, scope: str, scope_code: str, category: str,
              department: str, note: str | None = None, by: Actor | None = None
              ) -> RoutingRule:
    """Route ``category`` (minor or major code) in the area to ``department``.

    A rule for the same scope, area and category is changed rather than doubled.
    """
    scope_code = str(_text(scope_code, "scope_code", 32))
    category = str(_text(category, "category", 16))
    _check_area(session, scope, scope_code)
    _check_category_code(session, category)
    dep = department_id(session, str(_text(department, "department", 32)))
    found = session.execute(select(RoutingRule).where(
        RoutingRule.scope == scope, RoutingRule.scope_code == scope_code,
        RoutingRule.category_code == category)).scalar_one_or_none()
    before = rule_json(found, department_code_of(session, found.department_id)) if found else None
    found = found or RoutingRule(scope=scope, scope_code=scope_code, category_code=category)
    assert dep is not None  # noqa: S101 - a code was given: found, or 422 above
    found.department_id = dep
    found.note = _text(note, "note", 500, required=False) if note is not None else found.note
    session.add(found)
    session.flush()
    _audit(session, by, "rule.save", "routing_rule", found.id, before,
           rule_json(found, department))
    return found


def remove_rule(session: Session, rule_id: int, by: Actor | None = None) -> None:
    """Remove a routing rule."""
    found = rule(session, rule_id)
    before = rule_json(found, department_code_of(session, found.department_id))
    session.delete(found)
    session.flush()
    _audit(session, by, "rule.remove", "routing_rule", rule_id, before, None)

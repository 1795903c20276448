"""Special-population tags: configured with levels and their visit cycles; given to persons.

Tags are configurable (``PUT /api/v1/people/special-tags/{code}``, admins;
audited ``special_tag.save``); migration 0021 seeds the usual ones. A
person holds a tag at one level from a date; a new level ends the old row, so
the history stays (audited ``people.tag`` and ``people.untag``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.errors import APIError


def list_tags(session: Session) -> list[dict[str, Any]]:
    """Every tag with its levels and their cycles in days."""
    rows = session.execute(text(
        "SELECT t.code, t.name, COALESCE(jsonb_object_agg(l.level, l.cycle_days) FILTER "
        "(WHERE l.level IS NOT NULL), '{}') AS levels FROM special_tags t "
        "LEFT JOIN special_tag_levels l ON l.tag_id = t.id GROUP BY t.id ORDER BY t.code"))
    return [{"code": c, "name": n, "levels": {int(k): int(v) for k, v in lv.items()}}
            for c, n, lv in rows]


def save_tag(session: Session, actor: Actor, code: str, name: str,
             levels: Mapping[int, int]) -> dict[str, Any]:
    """Create or change a tag and its levels (a level left out is removed unless in use)."""
    if not levels or any(d <= 0 for d in levels.values()):
        raise APIError(422, "invalid_levels", "field 'levels': at least one level, each with "
                       "a cycle of 1 day or more", field="levels")
    tag_id = int(session.execute(text(
        "INSERT INTO special_tags (code, name) VALUES (:c, :n) ON CONFLICT (code) "
        "DO UPDATE SET name = EXCLUDED.name RETURNING id"), {"c": code, "n": name}).scalar_one())
    used = session.execute(text(
        "SELECT DISTINCT level FROM person_tags WHERE tag_id = :t AND until IS NULL "
        "AND NOT level = ANY(CAST(:keep AS int[]))"),
        {"t": tag_id, "keep": list(levels)}).scalars().all()
    if used:
        raise APIError(409, "level_in_use", f"levels {sorted(used)} of tag {code} are held by "
                       "persons: keep them or move the persons to another level first")
    session.execute(text("DELETE FROM special_tag_levels WHERE tag_id = :t"), {"t": tag_id})
    session.execute(text("INSERT INTO special_tag_levels (tag_id, level, cycle_days) "
                         "VALUES (:t, :l, :d)"),
                    [{"t": tag_id, "l": lv, "d": d} for lv, d in sorted(levels.items())])
    record(session, actor=actor, action="special_tag.save", object_type="special_tag",
           object_id=code, after={"name": name, "levels": {str(k): v for k, v in
                                                            levels.items()}})
    return {"code": code, "name": name, "levels": dict(levels)}


def tag_person(session: Session, actor: Actor, person_id: int, code: str, level: int,
               since: date) -> None:
    """Give a person ``code`` at ``level`` from ``since`` (ending a current other level)."""
    found = session.execute(text(
        "SELECT t.id, l.level FROM special_tags t LEFT JOIN special_tag_levels l ON "
        "l.tag_id = t.id AND l.level = :l WHERE t.code = :c"), {"c": code, "l": level}).first()
    if found is None:
        raise APIError(422, "unknown_tag", f"no special-population tag {code!r}", field="tag")
    if found[1] is None:
        raise APIError(422, "unknown_level", f"tag {code} has no level {level}", field="level")
    session.execute(text(
        "UPDATE person_tags SET until = GREATEST(:s, since) WHERE person_id = :p AND "
        "tag_id = :t AND until IS NULL"), {"p": person_id, "t": found[0], "s": since})
    session.execute(text("INSERT INTO person_tags (person_id, tag_id, level, since) VALUES "
                         "(:p, :t, :l, :s)"),
                    {"p": person_id, "t": found[0], "l": level, "s": since})
    record(session, actor=actor, action="people.tag", object_type="person",
           object_id=person_id, details={"tag": code, "level": level,
                                         "since": since.isoformat()})


def untag_person(session: Session, actor: Actor, person_id: int, code: str,
                 until: date) -> None:
    """End a person's current ``code`` tag on ``until``; 404 when they hold none."""
    ended = session.execute(text(
        "UPDATE person_tags pt SET until = GREATEST(:u, pt.since) FROM special_tags t "
        "WHERE t.id = pt.tag_id AND t.code = :c AND pt.person_id = :p AND pt.until IS NULL "
        "RETURNING pt.id"), {"p": person_id, "c": code, "u": until}).scalar()
    if ended is None:
        raise APIError(404, "tag_not_held", f"person {person_id} holds no tag {code!r}")
    record(session, actor=actor, action="people.untag", object_type="person",
           object_id=person_id, details={"tag": code, "until": until.isoformat()})


def person_tags(session: Session, person_id: int) -> list[dict[str, Any]]:
    """A person's tags, current and past, the newest first."""
    rows = session.execute(text(
        "SELECT t.code AS tag, t.name, pt.level, l.cycle_days, pt.since, pt.until "
        "FROM person_tags pt JOIN special_tags t ON t.id = pt.tag_id LEFT JOIN "
        "special_tag_levels l ON l.tag_id = pt.tag_id AND l.level = pt.level "
        "WHERE pt.person_id = :p ORDER BY pt.since DESC, pt.id DESC"), {"p": person_id})
    return [{**r, "since": r["since"].isoformat(),
             "until": r["until"].isoformat() if r["until"] else None}
            for r in rows.mappings()]

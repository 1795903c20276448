"""The people archive: persons and their residences, read within scope and audited.

Every read filters by :func:`api.people.scope.person_sql` in SQL and writes one
audit row in the reader's transaction (``people.read``, ``people.list``,
``people.lookup``, ``personal.unmask`` with the reason); writes are audited as
``people.create``, ``people.update``, ``people.move``. Functions never commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.audit.service import Actor, audited_select, record
from api.auth.principal import Principal
from api.errors import APIError
from api.imports.admin_codes import DivisionTable
from api.people.archive import check_phone, id_number_hash, person_row, shown
from api.people.scope import CURRENT_GRID, CURRENT_RESIDENCE, person_sql
from api.personal.cipher import PersonalCipher
from api.personal.service import seal

_PERSON_COLUMNS = f"""
p.id, p.name, p.id_number, p.phone, p.birth_date, p.gender, p.registration_place,
p.ethnicity, p.relation, p.attributes, h.code AS household,
rb.code AS registered_building,
(SELECT ro.code FROM residences r JOIN rooms ro ON ro.id = r.room_id
 WHERE r.person_id = p.id AND {CURRENT_RESIDENCE}
 ORDER BY r.from_date DESC, r.id DESC LIMIT 1) AS room
"""  # noqa: S608

_FROM = """
FROM persons p LEFT JOIN households h ON h.id = p.household_id
LEFT JOIN buildings rb ON rb.id = p.registered_building_id
"""


def room_id(session: Session, code: str) -> int:
    """The id of room ``code``; 422 ``unknown_room``."""
    found = session.execute(text("SELECT id FROM rooms WHERE code = :c"),
                            {"c": code.strip()}).scalar()
    if found is None:
        raise APIError(422, "unknown_room", f"no room with code {code!r}", field="room_code")
    return int(found)


def building_id(session: Session, code: str, field: str = "building_code") -> int:
    """The id of building ``code``; 422 ``unknown_building``."""
    found = session.execute(text("SELECT id FROM buildings WHERE code = :c"),
                            {"c": code.strip()}).scalar()
    if found is None:
        raise APIError(422, "unknown_building", f"no building with code {code!r}", field=field)
    return int(found)


def household_id(session: Session, code: str | None, room: int | None) -> int | None:
    """The id of household ``code``, made (at ``room``) when new."""
    if not code:
        return None
    return int(session.execute(text(
        "INSERT INTO households (code, room_id) VALUES (:c, :r) ON CONFLICT (code) "
        "DO UPDATE SET code = EXCLUDED.code RETURNING id"), {"c": code, "r": room}).scalar_one())


def _summary(cipher: PersonalCipher, row: Mapping[Any, Any], clear: bool = False
             ) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "gender", "registration_place", "ethnicity", "relation",
                               "household", "registered_building", "room", "attributes")}
    out["birth_date"] = row["birth_date"].isoformat()
    return {**out, **shown(cipher, row, clear=clear)}


def check_person(session: Session, principal: Principal, person_id: int) -> None:
    """404 when there is no such person, 403 ``out_of_scope`` outside the user's scope."""
    cond, params = person_sql(principal)
    found = session.execute(text(f"SELECT {cond} FROM persons p WHERE p.id = :id"),  # noqa: S608
                            {**params, "id": person_id}).scalar()
    if found is None:
        raise APIError(404, "person_not_found", f"no person with id {person_id}")
    if not found:
        raise APIError(403, "out_of_scope", f"person {person_id} is not in your scope")


def create_person(session: Session, cipher: PersonalCipher, divisions: DivisionTable,
                  principal: Principal, actor: Actor, values: Mapping[str, Any]) -> int:
    """Add a person (with a residence when ``room_code`` is given); 403 if outside scope."""
    row = person_row(cipher, divisions, values)
    room = room_id(session, values["room_code"]) if values.get("room_code") else None
    reg = values.get("registered_building_code")
    row["registered_building_id"] = building_id(session, reg, "registered_building_code") \
        if reg else None
    row["household_id"] = household_id(session, values.get("household_code"), room)
    with session.begin_nested() as nested:
        new_id = insert_person(session, row)
        if room is not None:
            add_residence(session, new_id, room, values.get("residence_kind") or "resident",
                          values.get("from_date") or date.today())
        cond, params = person_sql(principal)
        if not session.execute(text(f"SELECT {cond} FROM persons p WHERE p.id = :id"),  # noqa: S608
                               {**params, "id": new_id}).scalar():
            nested.rollback()
            raise APIError(403, "out_of_scope", "the person's room and registered address "
                           "are outside your scope")
    record(session, actor=actor, action="people.create", object_type="person",
           object_id=new_id, fields=[k for k in ("name", "id_number", "phone") if row.get(k)])
    return new_id


def insert_person(session: Session, row: Mapping[str, Any]) -> int:
    """Insert a person row (from :func:`person_row`); 409 ``duplicate_person``."""
    cols = ("name", "id_number", "id_number_hash", "phone", "phone_hash", "birth_date",
            "gender", "registration_place", "registered_building_id", "ethnicity",
            "household_id", "relation", "attributes")
    found = session.execute(text(
        f"INSERT INTO persons ({', '.join(cols)}) VALUES "  # noqa: S608
        f"({', '.join(':' + c for c in cols[:-1])}, CAST(:attributes AS jsonb)) "
        "ON CONFLICT (id_number_hash) DO NOTHING RETURNING id"),
        {**{c: row.get(c) for c in cols[:-1]}, "attributes": _json(row.get("attributes"))}
    ).scalar()
    if found is None:
        raise APIError(409, "duplicate_person", "a person with this ID number is already in "
                       "the archive", field="id_number")
    return int(found)


def _json(value: Any) -> str:
    return json.dumps(value or {}, ensure_ascii=False)


def add_residence(session: Session, person_id: int, room: int, kind: str, since: date) -> None:
    """A residence of a person at a room from ``since`` (never ends earlier ones)."""
    session.execute(text(
        "INSERT INTO residences (person_id, room_id, kind, from_date) "
        "VALUES (:p, :r, :k, :f)"), {"p": person_id, "r": room, "k": kind, "f": since})


def move_person(session: Session, principal: Principal, actor: Actor, person_id: int,
                room_code: str, kind: str, since: date) -> None:
    """End the person's current residences the day they move; open one at ``room_code``."""
    check_person(session, principal, person_id)
    room = room_id(session, room_code)
    with session.begin_nested():
        ended = session.execute(text(
            f"UPDATE residences r SET to_date = GREATEST(:f, r.from_date) WHERE r.person_id = "  # noqa: S608
            f":p AND r.kind <> 'owner' AND {CURRENT_RESIDENCE} RETURNING r.room_id"),
            {"p": person_id, "f": since}).scalars().all()
        add_residence(session, person_id, room, kind, since)
    record(session, actor=actor, action="people.move", object_type="person",
           object_id=person_id, details={"to_room": room_code, "kind": kind,
                                         "from": since.isoformat(), "ended": len(ended)})


def update_person(session: Session, cipher: PersonalCipher, principal: Principal,
                  actor: Actor, person_id: int, changes: Mapping[str, Any]) -> None:
    """Change a person's phone, ethnicity, relation or free attributes (audited)."""
    check_person(session, principal, person_id)
    sets: dict[str, Any] = {}
    if "phone" in changes:
        sets.update(seal(cipher, "persons", {"phone": check_phone(changes["phone"])}))
        sets.pop("name", None), sets.pop("id_number", None), sets.pop("id_number_hash", None)
    for key in ("ethnicity", "relation"):
        if key in changes:
            sets[key] = changes[key]
    assign = [f"{k} = :{k}" for k in sets]
    if "attributes" in changes:
        assign.append("attributes = attributes || CAST(:attributes AS jsonb)")
        sets["attributes"] = _json(changes["attributes"])
    if not assign:
        raise APIError(422, "nothing_to_change", "give phone, ethnicity, relation or "
                       "attributes")
    session.execute(text(f"UPDATE persons SET {', '.join(assign)}, updated_at = now() "  # noqa: S608
                         "WHERE id = :id"), {**sets, "id": person_id})
    record(session, actor=actor, action="people.update", object_type="person",
           object_id=person_id, fields=sorted(k for k in changes if k == "phone"),
           details={"changed": sorted(changes)})


def read_person(session: Session, cipher: PersonalCipher, principal: Principal, actor: Actor,
                person_id: int, *, reason: str | None = None) -> dict[str, Any]:
    """A person's record (masked; clear with a ``reason``), residences and grids, audited."""
    check_person(session, principal, person_id)
    row = session.execute(text(f"SELECT {_PERSON_COLUMNS} {_FROM} WHERE p.id = :id"),
                          {"id": person_id}).mappings().one()
    clear = reason is not None
    out = _summary(cipher, row, clear=clear)
    out["residences"] = residences(session, person_id)
    out["grids"] = person_grids(session, person_id)
    fields = [k for k in ("name", "id_number", "phone") if out.get(k)]
    record(session, actor=actor, action="personal.unmask" if clear else "people.read",
           object_type="person", object_id=person_id, fields=fields,
           details={"masked": not clear, **({"reason": reason} if clear else {})})
    return out


def residences(session: Session, person_id: int) -> list[dict[str, Any]]:
    """The residences of a person, the newest first (history included)."""
    rows = session.execute(text(
        "SELECT ro.code AS room, b.code AS building, r.kind, r.from_date, r.to_date "
        "FROM residences r JOIN rooms ro ON ro.id = r.room_id "
        "JOIN buildings b ON b.id = ro.building_id WHERE r.person_id = :p "
        "ORDER BY r.from_date DESC, r.id DESC"), {"p": person_id}).mappings().all()
    return [{**r, "from_date": r["from_date"].isoformat(),
             "to_date": r["to_date"].isoformat() if r["to_date"] else None} for r in rows]


_PERSON_GRIDS = text(f"""
SELECT 'residence' AS via, l.name AS layer, g.code
FROM residences r JOIN rooms ro ON ro.id = r.room_id JOIN buildings b ON b.id = ro.building_id
JOIN grids g ON g.geom && b.geom AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))
JOIN grid_layers l ON l.id = g.layer_id
WHERE r.person_id = :p AND {CURRENT_RESIDENCE} AND {CURRENT_GRID}
UNION
SELECT 'registration', l.name, g.code
FROM persons p JOIN buildings b ON b.id = p.registered_building_id
JOIN grids g ON g.geom && b.geom AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))
JOIN grid_layers l ON l.id = g.layer_id
WHERE p.id = :p AND {CURRENT_GRID}
ORDER BY 1, 2, 3
""")  # noqa: S608


def person_grids(session: Session, person_id: int) -> dict[str, dict[str, list[str]]]:
    """The grids of a person in every layer, by residence and by registered address."""
    out: dict[str, dict[str, list[str]]] = {"residence": {}, "registration": {}}
    for via, layer, code in session.execute(_PERSON_GRIDS, {"p": person_id}):
        out[via].setdefault(layer, []).append(code)
    return out


def list_persons(session: Session, cipher: PersonalCipher, principal: Principal, actor: Actor,
                 *, grid: str | None = None, building: str | None = None, limit: int = 100,
                 offset: int = 0) -> dict[str, Any]:
    """A page of the persons of the user's scope (masked), audited as ``people.list``.

    ``grid``: the persons of one grid (by the rule of its layer); ``building``:
    those living in one building now.
    """
    cond, params = person_sql(principal)
    where = [cond]
    if grid:
        gcond, gparams = person_sql(Principal(0, "grid", "grid_worker", grids=(grid,)),
                                    prefix="pg")
        where.append(gcond)
        params.update(gparams)
    if building:
        where.append("EXISTS (SELECT 1 FROM residences r JOIN rooms ro ON ro.id = r.room_id "  # noqa: S608
                     f"JOIN buildings b ON b.id = ro.building_id WHERE r.person_id = p.id "
                     f"AND {CURRENT_RESIDENCE} AND b.code = :building)")
        params["building"] = building
    sql = " AND ".join(where)
    total = session.execute(text(f"SELECT count(*) FROM persons p WHERE {sql}"),  # noqa: S608
                            params).scalar_one()
    rows = session.execute(text(f"SELECT {_PERSON_COLUMNS} {_FROM} WHERE {sql} ORDER BY p.id "
                                "LIMIT :n OFFSET :o"),
                           {**params, "n": limit, "o": offset}).mappings().all()
    items = [_summary(cipher, r) for r in rows]
    record(session, actor=actor, action="people.list", object_type="person",
           fields=["name", "id_number", "phone"] if items else [],
           details={"count": len(items), "ids": [i["id"] for i in items],
                    "grid": grid, "building": building})
    return {"total": int(total), "limit": limit, "offset": offset, "items": items}


def lookup(session: Session, cipher: PersonalCipher, principal: Principal, actor: Actor, *,
           id_number: str | None = None, phone: str | None = None) -> list[dict[str, Any]]:
    """The persons of the user's scope with this ID number or phone (by keyed hash), audited."""
    cond, params = person_sql(principal)
    if id_number:
        params["h"], key = id_number_hash(cipher, id_number), "id_number_hash"
    elif phone:
        params["h"], key = cipher.lookup_hash(check_phone(phone) or "", "phone"), "phone_hash"
    else:
        raise APIError(422, "invalid_parameter", "give 'id_number' or 'phone' to look up")
    rows = audited_select(
        session, f"SELECT {_PERSON_COLUMNS} {_FROM} WHERE p.{key} = :h AND {cond} "
                 "ORDER BY p.id LIMIT 100", params, actor=actor, action="people.lookup",
        object_type="person", fields=["id_number" if id_number else "phone"])
    return [_summary(cipher, r) for r in rows]


EXPORT_HEADERS = ("id", "姓名", "公民身份号码", "联系电话", "性别", "出生日期", "户籍地", "民族",
                  "户号", "与户主关系", "房屋编码")


def export_rows(session: Session, cipher: PersonalCipher, principal: Principal,
                actor: Actor) -> list[list[Any]]:
    """Every person of the user's scope as export rows (masked), audited ``people.export``."""
    cond, params = person_sql(principal)
    rows = session.execute(text(f"SELECT {_PERSON_COLUMNS} {_FROM} WHERE {cond} ORDER BY p.id"),
                           params).mappings().all()
    out = []
    for r in rows:
        s = _summary(cipher, r)
        out.append([s["id"], s["name"], s["id_number"], s["phone"], s["gender"],
                    s["birth_date"], s["registration_place"], s["ethnicity"], s["household"],
                    s["relation"], s["room"]])
    record(session, actor=actor, action="people.export", object_type="person",
           fields=["name", "id_number", "phone"] if out else [],
           details={"count": len(out), "masked": True})
    return out

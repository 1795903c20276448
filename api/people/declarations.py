"""Self-declaration of residence (入住申报), verified by the grid worker of the building.

A resident declares from a building's plate; the grid worker of that building
verifies it (the person is added or moved) or rejects it.
The declaration is stored sealed like a person (encrypted name, ID number and phone)
and waits as ``pending``. Verifying adds the person to the archive (or, when the ID
number is known, gives them the declared residence) in the verifier's transaction.
Audited: ``declaration.create`` (by ``anonymous``), ``declaration.verify``,
``declaration.reject``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.principal import Principal
from api.errors import APIError
from api.imports.admin_codes import DivisionTable
from api.people.archive import opened, person_row, shown
from api.people.places import check_building
from api.people.scope import building_sql
from api.people.service import add_residence, insert_person
from api.personal.cipher import PersonalCipher
from api.personal.service import seal


def declare(session: Session, cipher: PersonalCipher, divisions: DivisionTable, actor: Actor,
            values: Mapping[str, Any]) -> int:
    """Store a resident's declaration (validated like a new person); its id."""
    row = session.execute(text(
        "SELECT b.id AS building, r.id AS room FROM buildings b LEFT JOIN rooms r ON "
        "r.building_id = b.id AND r.code = :room WHERE b.code = :b"),
        {"b": values["building_code"], "room": values["room_code"]}).mappings().first()
    if row is None:
        raise APIError(422, "unknown_building", f"no building {values['building_code']!r}",
                       field="building_code")
    if row["room"] is None:
        raise APIError(422, "unknown_room", f"building {values['building_code']} has no room "
                       f"{values['room_code']!r}", field="room_code")
    person_row(cipher, divisions, values)  # the checks of a new person
    sealed = seal(cipher, "residence_declarations", values)
    new_id = int(session.execute(text(
        "INSERT INTO residence_declarations (building_id, room_id, name, id_number, "
        "id_number_hash, phone, phone_hash, kind, from_date) VALUES (:b, :r, :name, "
        ":id_number, :id_number_hash, :phone, :phone_hash, :kind, :f) RETURNING id"),
        {"b": row["building"], "r": row["room"], "kind": values["kind"],
         "f": values.get("from_date") or date.today(), **sealed}).scalar_one())
    record(session, actor=actor, action="declaration.create", object_type="declaration",
           object_id=new_id, fields=[k for k in ("name", "id_number", "phone") if values.get(k)])
    return new_id


def pending(session: Session, cipher: PersonalCipher, principal: Principal, actor: Actor
            ) -> list[dict[str, Any]]:
    """The pending declarations at the buildings of the user's scope (masked), audited."""
    cond, params = building_sql(principal)
    rows = session.execute(text(
        f"SELECT d.id, b.code AS building, r.code AS room, d.kind, d.from_date, d.declared_at, "  # noqa: S608
        f"d.name, d.id_number, d.phone FROM residence_declarations d JOIN buildings b ON "
        f"b.id = d.building_id JOIN rooms r ON r.id = d.room_id WHERE d.status = 'pending' "
        f"AND {cond} ORDER BY d.declared_at"), params).mappings().all()
    items = [{"id": r["id"], "building": r["building"], "room": r["room"], "kind": r["kind"],
              "from_date": r["from_date"].isoformat(),
              "declared_at": r["declared_at"].isoformat(),
              **shown(cipher, r, table="residence_declarations")} for r in rows]
    record(session, actor=actor, action="people.declarations", object_type="declaration",
           fields=["name", "id_number", "phone"] if items else [],
           details={"count": len(items)})
    return items


def decide(session: Session, cipher: PersonalCipher, divisions: DivisionTable,
           principal: Principal, actor: Actor, declaration_id: int, verify: bool) -> dict[str, Any]:
    """Verify (add or move the person) or reject a pending declaration."""
    row = session.execute(text(
        "SELECT d.*, b.code AS building_code FROM residence_declarations d JOIN buildings b "
        "ON b.id = d.building_id WHERE d.id = :id FOR UPDATE OF d"),
        {"id": declaration_id}).mappings().first()
    if row is None:
        raise APIError(404, "declaration_not_found", f"no declaration {declaration_id}")
    check_building(session, principal, row["building_code"])
    if row["status"] != "pending":
        raise APIError(409, "declaration_decided", f"declaration {declaration_id} is "
                       f"{row['status']} already")
    person = _person_of(session, cipher, divisions, row) if verify else None
    session.execute(text(
        "UPDATE residence_declarations SET status = :s, decided_by = :by, decided_at = now(), "
        "person_id = :p WHERE id = :id"),
        {"s": "verified" if verify else "rejected", "by": principal.name, "p": person,
         "id": declaration_id})
    record(session, actor=actor, action="declaration.verify" if verify else
           "declaration.reject", object_type="declaration", object_id=declaration_id,
           details={"person": person})
    return {"id": declaration_id, "status": "verified" if verify else "rejected",
            "person_id": person}


def _person_of(session: Session, cipher: PersonalCipher, divisions: DivisionTable,
               row: Mapping[Any, Any]) -> int:
    known = session.execute(text("SELECT id FROM persons WHERE id_number_hash = :h"),
                            {"h": row["id_number_hash"]}).scalar()
    person = int(known) if known is not None else insert_person(
        session, person_row(cipher, divisions, opened(cipher, row, "residence_declarations")))
    add_residence(session, person, int(row["room_id"]), str(row["kind"]), row["from_date"])
    return person

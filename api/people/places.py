"""Houses and organisations: the house record of rooms, organisations, a building's record.

A building's record (households, current residents, organisations) is shown to
staff whose scope holds the building; residents are listed masked and only those
in the reader's person scope; the read is audited as ``people.building``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.principal import Principal
from api.errors import APIError
from api.people.archive import check_phone, shown
from api.people.scope import CURRENT_RESIDENCE, building_sql, person_sql
from api.people.service import building_id, room_id
from api.personal.cipher import PersonalCipher
from api.personal.service import seal
from coding.credit_code import check_credit_code
from gis_core.errors import InvalidCode

OCCUPANCY = ("occupied", "vacant")


def check_building(session: Session, principal: Principal, code: str) -> int:
    """The id of building ``code``: 404 when unknown, 403 ``out_of_scope``."""
    cond, params = building_sql(principal)
    row = session.execute(text(f"SELECT b.id, {cond} FROM buildings b WHERE b.code = :c"),  # noqa: S608
                          {**params, "c": code}).first()
    if row is None:
        raise APIError(404, "building_not_found", f"no building with code {code!r}")
    if not row[1]:
        raise APIError(403, "out_of_scope", f"building {code} is not in your scope")
    return int(row[0])


def update_room(session: Session, principal: Principal, actor: Actor, code: str,
                changes: Mapping[str, Any]) -> dict[str, Any]:
    """Set a room's use, floor area, rented flag or occupancy (audited ``room.update``)."""
    room = session.execute(text("SELECT r.id, b.code FROM rooms r JOIN buildings b ON "
                                "b.id = r.building_id WHERE r.code = :c"), {"c": code}).first()
    if room is None:
        raise APIError(404, "room_not_found", f"no room with code {code!r}")
    check_building(session, principal, str(room[1]))
    if changes.get("occupancy") not in (None, *OCCUPANCY):
        raise APIError(422, "invalid_occupancy", f"field 'occupancy': one of "
                       f"{', '.join(OCCUPANCY)}", field="occupancy")
    sets = {k: v for k, v in changes.items() if k in ("use", "area_m2", "rented", "occupancy")}
    if not sets:
        raise APIError(422, "nothing_to_change", "give use, area_m2, rented or occupancy")
    before = session.execute(text("SELECT use, area_m2, rented, occupancy FROM rooms "
                                  "WHERE id = :id"), {"id": room[0]}).mappings().one()
    session.execute(text(f"UPDATE rooms SET {', '.join(f'{k} = :{k}' for k in sets)} "  # noqa: S608
                         "WHERE id = :id"), {**sets, "id": room[0]})
    record(session, actor=actor, action="room.update", object_type="room", object_id=code,
           before={k: before[k] for k in sets}, after=sets)
    return {"code": code, **dict(before), **sets}


def create_organisation(session: Session, cipher: PersonalCipher, principal: Principal,
                        actor: Actor, values: Mapping[str, Any]) -> int:
    """Add an organisation at a building (and room) by its credit code (audited)."""
    try:
        code = check_credit_code(str(values.get("credit_code") or ""))
    except InvalidCode as exc:
        raise APIError(422, "invalid_credit_code", str(exc), field="credit_code") from None
    building = building_id(session, values["building_code"])
    check_building(session, principal, values["building_code"])
    room = room_id(session, values["room_code"]) if values.get("room_code") else None
    sealed = seal(cipher, "organisations", {
        "contact_name": values.get("contact_name"),
        "contact_phone": check_phone(values.get("contact_phone"))})
    new_id = session.execute(text(
        "INSERT INTO organisations (name, credit_code, kind, building_id, room_id, "
        "contact_name, contact_phone, contact_phone_hash) VALUES (:name, :code, :kind, :b, "
        ":r, :contact_name, :contact_phone, :contact_phone_hash) "
        "ON CONFLICT (credit_code) DO NOTHING RETURNING id"),
        {"name": values["name"], "code": code, "kind": values.get("kind"), "b": building,
         "r": room, **sealed}).scalar()
    if new_id is None:
        raise APIError(409, "duplicate_organisation", f"an organisation with credit code "
                       f"{code} is already recorded", field="credit_code")
    record(session, actor=actor, action="organisation.create", object_type="organisation",
           object_id=new_id, fields=[k for k in ("contact_name", "contact_phone")
                                     if values.get(k)])
    return int(new_id)


def _organisations(session: Session, cipher: PersonalCipher, building: int
                   ) -> list[dict[str, Any]]:
    rows = session.execute(text(
        "SELECT o.id, o.name, o.credit_code, o.kind, r.code AS room, o.contact_name, "
        "o.contact_phone FROM organisations o LEFT JOIN rooms r ON r.id = o.room_id "
        "WHERE o.building_id = :b ORDER BY o.id"), {"b": building}).mappings().all()
    return [{k: r[k] for k in ("id", "name", "credit_code", "kind", "room")}
            | shown(cipher, r, table="organisations") for r in rows]


def building_record(session: Session, cipher: PersonalCipher, principal: Principal,
                    actor: Actor, code: str) -> dict[str, Any]:
    """Rooms (house record), households, current residents (masked) and organisations."""
    building = check_building(session, principal, code)
    cond, params = person_sql(principal)
    rooms = session.execute(text(
        "SELECT code, unit, floor, number, use, area_m2, rented, occupancy FROM rooms "
        "WHERE building_id = :b ORDER BY code"), {"b": building}).mappings().all()
    residents = session.execute(text(
        f"SELECT p.id, p.name, p.id_number, p.phone, p.gender, p.birth_date, ro.code AS room, "  # noqa: S608
        f"r.kind, h.code AS household FROM residences r JOIN rooms ro ON ro.id = r.room_id "
        f"JOIN persons p ON p.id = r.person_id LEFT JOIN households h ON h.id = p.household_id "
        f"WHERE ro.building_id = :b AND {CURRENT_RESIDENCE} AND {cond} ORDER BY ro.code, p.id"),
        {**params, "b": building}).mappings().all()
    people = [{"id": r["id"], "room": r["room"], "kind": r["kind"], "gender": r["gender"],
               "birth_date": r["birth_date"].isoformat(), "household": r["household"],
               **shown(cipher, r)} for r in residents]
    households = sorted({p["household"] for p in people if p["household"]})
    orgs = _organisations(session, cipher, building)
    record(session, actor=actor, action="people.building", object_type="building",
           object_id=code, fields=["name", "id_number", "phone"] if people else [],
           details={"residents": len(people), "ids": [p["id"] for p in people]})
    return {"building": code, "rooms": [dict(r) for r in rooms], "households": households,
            "residents": people, "organisations": orgs,
            "counts": {"rooms": len(rooms), "households": len(households),
                       "residents": len(people), "organisations": len(orgs),
                       "rented_rooms": sum(1 for r in rooms if r["rented"])}}

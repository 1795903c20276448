"""A small synthetic world for the people tests: rooms in two grids, persons, workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from coding.resident_id import make_resident_id
from tests.api.events_support import bearer, token_for

ROLES = ("admin", "dispatcher", "handler", "grid_worker", "analyst")

_ROOMS = text("""
SELECT g.code AS grid, b.code AS building,
       (SELECT min(ro.code) FROM rooms ro WHERE ro.building_id = b.id) AS room
FROM grids g JOIN grid_layers l ON l.id = g.layer_id AND l.name = 'basic'
CROSS JOIN LATERAL (
    SELECT b.id, b.code FROM buildings b
    WHERE b.geom && g.geom AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))
      AND EXISTS (SELECT 1 FROM rooms ro WHERE ro.building_id = b.id)
    ORDER BY b.code LIMIT 1) AS b
WHERE g.valid_to IS NULL
ORDER BY g.code LIMIT 2
""")


def person_body(n: int, room: str | None, **extra: Any) -> dict[str, Any]:
    """A synthetic person (valid ID number of Nanshan, Shenzhen) living in ``room``."""
    return {"name": f"测试{n}号", "id_number": make_resident_id("440305", date(1950 + n, 3, 4),
                                                                 100 + n),
            "phone": f"1380000{n:04d}", "room_code": room, "residence_kind": "tenant",
            "from_date": "2025-01-01", **extra}


@dataclass
class World:
    """Two grids with a room each, a person in each, and a token per role."""

    grids: tuple[str, str]
    buildings: tuple[str, str]
    rooms: tuple[str, str]
    persons: tuple[int, int]
    bodies: tuple[dict[str, Any], dict[str, Any]]
    tokens: dict[str, dict[str, str]]

    def as_(self, role: str) -> dict[str, str]:
        """The headers of ``role`` (the grid worker serves the first grid only)."""
        return self.tokens[role]


def make_world(client: TestClient, session: Session) -> World:
    """Persons created through the API by an admin; users of every role."""
    rows = session.execute(_ROOMS).mappings().all()
    first, second = rows[0], rows[1]
    dept = session.execute(text("SELECT code FROM departments ORDER BY id LIMIT 1")).scalar()
    tokens = {r: bearer(token_for(session, r, f"people-{r}",
                                  **({"grids": [first["grid"]]} if r == "grid_worker" else {}),
                                  **({"department": dept} if r == "handler" else {})))
              for r in ROLES}
    bodies = (person_body(1, first["room"]), person_body(2, second["room"]))
    ids = []
    for body in bodies:
        resp = client.post("/api/v1/people/persons", json=body, headers=tokens["admin"])
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    return World((first["grid"], second["grid"]), (first["building"], second["building"]),
                 (first["room"], second["room"]), (ids[0], ids[1]), bodies, tokens)

"""Who hears what: the outbox's recipients against the scope rules of ``Principal.event_sql``.

Handlers and dispatchers of every kind of scope (none, a community, a street, a
district, a grid; another department) each get one channel; the handlers the
outbox writes for many events at once must be exactly those whose principal
sees the event (the brute-force oracle: one ``event_sql`` per user), the
dispatchers exactly those responsible for the area of the event's level.
"""

from __future__ import annotations

from itertools import product
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal, expand_scope
from api.auth.service import create_user
from api.notify.models import UserChannel
from api.notify.outbox import notify


def _scopes(session: Session) -> list[dict[str, Any]]:
    row = session.execute(text("""
        SELECT e.community_code, e.street_code, a.parent_code AS district,
               (SELECT g.code FROM grids g JOIN grid_layers l ON l.id = g.layer_id
                WHERE l.name = 'basic' AND e.grids ->> 'basic' = g.code) AS grid
        FROM events e JOIN admin_areas a ON a.code = e.street_code
        WHERE e.department_id IS NOT NULL ORDER BY e.id LIMIT 1""")).mappings().one()
    return [{}, {"areas": [row["community_code"]]}, {"areas": [row["street_code"]]},
            {"areas": [row["district"]]}, {"grids": [row["grid"]]}]


def _principal(session: Session, user_id: int) -> Principal:
    u = session.execute(text("SELECT * FROM users WHERE id = :id"),
                        {"id": user_id}).mappings().one()
    areas, docs = expand_scope(session, tuple(u["area_codes"]), tuple(u["grid_codes"]))
    return Principal(u["id"], u["name"], u["role"], u["department_id"], areas=areas,
                     grids=tuple(u["grid_codes"]), grid_docs=docs)


def _sees(session: Session, principal: Principal, event_ids: list[int]) -> set[int]:
    where, params = principal.event_sql("e")
    return set(session.execute(text(f"SELECT e.id FROM events e WHERE e.id = ANY(:ids) "
                                    f"AND {where}"), {"ids": event_ids, **params}).scalars())


def test_recipients_are_the_users_whose_scope_covers_the_event(session: Session) -> None:
    departments = list(session.execute(text(
        "SELECT code FROM departments ORDER BY code LIMIT 2")).scalars())
    users = []
    for i, (scope, role, dept) in enumerate(product(_scopes(session), ("dispatcher", "handler"),
                                                    departments)):
        if role == "dispatcher" and dept != departments[0]:
            continue
        user, _ = create_user(session, name=f"oracle-{i}", role=role,
                              department=dept if role == "handler" else None, **scope)
        session.add(UserChannel(user_id=user.id, channel="sms", address="13900000000"))
        users.append(user.id)
    session.flush()
    events = list(session.execute(text(
        "SELECT id FROM events WHERE department_id IS NOT NULL ORDER BY id LIMIT 60")).scalars())
    notify(session, [(e, kind) for e in events for kind in ("dispatched", "escalated")])
    heard = session.execute(text("""
        SELECT n.kind, n.event_id, c.user_id FROM notifications n
        JOIN user_channels c ON c.id = n.user_channel_id""")).all()
    communities: dict[int, str | None] = dict(session.execute(text(
        "SELECT id, community_code FROM events WHERE id = ANY(:ids)"), {"ids": events}).all())
    for user_id in users:
        p = _principal(session, user_id)
        kind = "dispatched" if p.role == "handler" else "escalated"
        got = {e for k, e, u in heard if u == user_id and k == kind}
        assert got == _expected(session, p, events, communities), (p.name, p.role, p.areas[:3])
        assert not {e for k, e, u in heard if u == user_id and k != kind}
    # not vacuous: the community's dispatcher and handlers hear
    assert any(k == "escalated" for k, _, _ in heard)
    assert any(k == "dispatched" for k, _, _ in heard)


def _expected(session: Session, p: Principal, events: list[int],
              communities: dict[int, str | None]) -> set[int]:
    """Handlers: the events they see; dispatchers: those of their level's area.

    The events are not escalated (level 0: their community), so a dispatcher
    hears of those whose community is one of their own areas (the command centre:
    those with no community).
    """
    if p.role == "handler":
        return _sees(session, p, events)
    own = set(session.execute(text("SELECT unnest(area_codes) FROM users WHERE id = :id"),
                              {"id": p.id}).scalars())
    centre = not own and not p.grids
    return {e for e in events
            if (communities[e] in own) or (communities[e] is None and centre)}

"""Hand-over with photos, the reporter told, transfers by hand, notification templates.

Against a real second gridgov server on loopback (``tests/api/test_handover.py``'s
``neighbour``: the sample town moved east by its width).
"""

from __future__ import annotations

import io
import json
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.notify.templates import render, render_payload
from tests.api.events_support import bearer, token_for
from tests.api.test_handover import _their_event, neighbour

__all__ = ["neighbour"]  # the module-scoped fixture: the second server


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _east(client: TestClient, session: Session, nb: dict[str, Any], gridgov: bool = False
          ) -> tuple[dict[str, str], float, float, str]:
    """Configure the neighbour ``east``; an admin's header, a point on its side, a category."""
    admin = bearer(token_for(session, "admin", "tr-admin"))
    territory, lon, lat, category = session.execute(text("""
        SELECT ST_AsGeoJSON(ST_Translate(ST_Union(g.geom), :dx, 0)),
               ST_X(p.pt) + :dx, ST_Y(p.pt),
               (SELECT code FROM event_categories ORDER BY code LIMIT 1)
        FROM grids g JOIN grid_layers l ON l.id = g.layer_id,
             (SELECT ST_PointOnSurface(g2.geom) AS pt FROM grids g2 JOIN grid_layers l2
              ON l2.id = g2.layer_id WHERE l2.name = 'basic' AND g2.valid_to IS NULL
              ORDER BY ST_XMin(g2.geom) LIMIT 1) p
        WHERE l.name = 'basic' AND g.valid_to IS NULL GROUP BY p.pt"""), {"dx": nb["dx"]}).one()
    put = client.put("/api/v1/neighbours/east", headers=admin, json={
        "name": "East town", "territory": json.loads(territory), "endpoint": nb["endpoint"],
        "api_key": nb["key"], "gridgov": gridgov})
    assert put.status_code == 200, put.text
    return admin, lon, lat, category


def test_a_forwarded_report_takes_its_photos_and_its_reporter_is_told(
        client: TestClient, session: Session, neighbour: dict[str, Any]) -> None:
    _, lon, lat, category = _east(client, session, neighbour)
    png = _png()
    sent = client.post("/api/v1/events", data={
        "category": category, "x": str(lon), "y": str(lat), "description": "photo over there",
        "reporter_phone": "13700000077"}, files=[("photos", ("p.png", png, "image/png"))])
    assert sent.status_code == 202, sent.text
    their_id = int(sent.json()["neighbour_request_id"])
    with neighbour["engine"].connect() as conn:
        paths = conn.execute(text("SELECT path FROM event_photos WHERE event_id = :id"),
                             {"id": their_id}).scalars().all()
    assert len(paths) == 1 and open(paths[0], "rb").read() == png  # the same bytes arrived
    [row] = session.execute(text(
        "SELECT kind, event_id, reporter_field, channel, payload, n::text AS whole "
        "FROM notifications n WHERE kind = 'forwarded'")).mappings().all()
    assert (row["event_id"], row["reporter_field"], row["channel"]) == (None, "phone", "sms")
    assert "13700000077" not in row["whole"]  # the contact stays sealed
    subject, body = render_payload(session.connection(), "forwarded", "en", row["payload"]) \
        or ("", "")
    assert "East town" in subject and str(their_id) in body


def _our_case(client: TestClient, session: Session, photo: bytes, dx: float) -> int:
    """A case with a photo and the reporter's e-mail, whose place is on the neighbour's side.

    Registered inside our territory, then its point moved ``dx`` east: a case
    placed here by mistake (a wrong address), as transfers by hand are.
    """
    point, category = session.execute(text("""
        SELECT ST_PointOnSurface(g.geom), (SELECT code FROM event_categories ORDER BY code
                                           LIMIT 1)
        FROM grids g JOIN grid_layers l ON l.id = g.layer_id
        WHERE l.name = 'basic' AND g.valid_to IS NULL ORDER BY g.code LIMIT 1""")).one()
    lon, lat = session.execute(text("SELECT ST_X(:p), ST_Y(:p)"), {"p": point}).one()
    sent = client.post("/api/v1/events", data={
        "category": category, "x": str(lon), "y": str(lat), "description": "theirs really",
        "reporter_email": "resident@example.cn"}, files=[("photos", ("a.png", photo,
                                                                    "image/png"))])
    assert sent.status_code == 201, sent.text
    event_id = int(sent.json()["id"])
    session.execute(text("UPDATE events SET geom = ST_Translate(geom, :dx, 0) WHERE id = :id"),
                    {"dx": dx, "id": event_id})
    return event_id


def _their_dispatcher(nb: dict[str, Any], name: str) -> dict[str, str]:
    with Session(nb["engine"]) as s:
        header = bearer(token_for(s, "dispatcher", name))
        s.commit()
    return header


def _history(session: Session, event_id: int) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in session.execute(text(
        "SELECT action, note FROM event_history WHERE event_id = :id ORDER BY id"),
        {"id": event_id})]


def test_a_case_transferred_by_hand_and_accepted_is_the_neighbours(
        client: TestClient, session: Session, neighbour: dict[str, Any]) -> None:
    admin, *_ = _east(client, session, neighbour, gridgov=True)
    png = _png()
    event_id = _our_case(client, session, png, neighbour["dx"])
    dispatcher = bearer(token_for(session, "dispatcher", "tr-disp"))
    sent = client.post(f"/api/v1/events/{event_id}/transfer", headers=dispatcher,
                       json={"neighbour": "east", "reason": "their road"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "pending"
    assert _history(session, event_id)[-1][0] == "transfer"
    again = client.post(f"/api/v1/events/{event_id}/transfer", headers=dispatcher,
                        json={"neighbour": "east", "reason": "twice"})
    assert again.status_code == 409 and again.json()["code"] == "not_transferable"
    base = neighbour["endpoint"].removesuffix("/open311/v2")
    theirs = _their_dispatcher(neighbour, "nb-disp-accept")
    pending = httpx.get(f"{base}/api/v1/transfers/incoming", headers=theirs).json()
    [mine] = [t for t in pending if t["their_event_id"] == str(event_id)]
    assert (mine["reason"], mine["photos"]) == ("their road", 1)
    assert client.post("/api/v1/handovers/poll", headers=admin).json() == {"changed": 0}
    took = httpx.post(f"{base}/api/v1/transfers/incoming/{mine['id']}/accept",
                      headers=theirs)
    assert took.status_code == 200, took.text
    their_event = took.json()["event_id"]
    with neighbour["engine"].connect() as conn:
        path = conn.execute(text("SELECT path FROM event_photos WHERE event_id = :id"),
                            {"id": their_event}).scalar_one()
    assert open(path, "rb").read() == png
    assert client.post("/api/v1/handovers/poll", headers=admin).json() == {"changed": 1}
    status, transfer = session.execute(text(
        "SELECT status, attributes->'transfer' FROM events WHERE id = :id"),
        {"id": event_id}).one()
    assert status == "cancelled" and transfer["status"] == "accepted"
    action, note = _history(session, event_id)[-1]
    assert action == "transfer_accepted" and f"request {their_event}" in note
    [told] = session.execute(text("SELECT reporter_field, payload FROM notifications "
                                  "WHERE kind = 'forwarded_link' AND event_id = :id"),
                             {"id": event_id}).all()
    assert told[0] == "email" and told[1]["request_id"] == str(their_event)
    audited = session.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                   "'event.transfer' AND object_id = :id"),
                              {"id": str(event_id)}).scalar_one()
    assert audited == 1


def test_a_refused_transfer_comes_back_with_the_reason_and_scope_is_checked(
        client: TestClient, session: Session, neighbour: dict[str, Any]) -> None:
    admin, *_ = _east(client, session, neighbour, gridgov=True)
    event_id = _our_case(client, session, _png(), neighbour["dx"])
    community = session.execute(text("SELECT community_code FROM events WHERE id = :id"),
                                {"id": event_id}).scalar_one()
    other = session.execute(text("SELECT code FROM admin_areas WHERE level = 'community' "
                                 "AND code <> :c LIMIT 1"), {"c": community}).scalar_one()
    outsider = bearer(token_for(session, "dispatcher", "tr-out", areas=[other]))
    denied = client.post(f"/api/v1/events/{event_id}/transfer", headers=outsider,
                         json={"neighbour": "east", "reason": "not mine"})
    assert denied.status_code == 403 and denied.json()["code"] == "out_of_scope"
    dispatcher = bearer(token_for(session, "dispatcher", "tr-disp2"))
    before = session.execute(text("SELECT status FROM events WHERE id = :id"),
                             {"id": event_id}).scalar_one()
    sent = client.post(f"/api/v1/events/{event_id}/transfer", headers=dispatcher,
                       json={"neighbour": "east", "reason": "their river"})
    assert sent.status_code == 200, sent.text
    base = neighbour["endpoint"].removesuffix("/open311/v2")
    theirs = _their_dispatcher(neighbour, "nb-disp-refuse")
    transfer_id = sent.json()["neighbour_id"]
    refused = httpx.post(f"{base}/api/v1/transfers/incoming/{transfer_id}/refuse",
                         headers=theirs, json={"reason": "the river is yours"})
    assert refused.status_code == 200, refused.text
    assert client.post("/api/v1/handovers/poll", headers=admin).json() == {"changed": 1}
    status, transfer = session.execute(text(
        "SELECT status, attributes->'transfer' FROM events WHERE id = :id"),
        {"id": event_id}).one()
    assert status == before  # ours again
    assert transfer["status"] == "refused" and transfer["refusal_reason"] == "the river is yours"
    action, note = _history(session, event_id)[-1]
    assert action == "transfer_refused" and "the river is yours" in note
    assert session.execute(text("SELECT count(*) FROM notifications WHERE kind LIKE "
                                "'forwarded%' AND event_id = :id"),
                           {"id": event_id}).scalar_one() == 0


def test_a_case_transferred_to_a_plain_open311_neighbour_goes_at_once(
        client: TestClient, session: Session, neighbour: dict[str, Any]) -> None:
    _east(client, session, neighbour, gridgov=False)
    png = _png()
    event_id = _our_case(client, session, png, neighbour["dx"])
    dispatcher = bearer(token_for(session, "dispatcher", "tr-disp3"))
    sent = client.post(f"/api/v1/events/{event_id}/transfer", headers=dispatcher,
                       json={"neighbour": "east", "reason": "their square"})
    assert sent.status_code == 200, sent.text
    their_id = int(sent.json()["neighbour_id"])
    assert sent.json()["status"] == "open"
    assert _their_event(neighbour, str(their_id))[0] == "open311"
    with neighbour["engine"].connect() as conn:
        path = conn.execute(text("SELECT path FROM event_photos WHERE event_id = :id"),
                            {"id": their_id}).scalar_one()
    assert open(path, "rb").read() == png
    assert session.execute(text("SELECT status FROM events WHERE id = :id"),
                           {"id": event_id}).scalar_one() == "cancelled"
    action, note = _history(session, event_id)[-1]
    assert action == "transfer" and f"request {their_id}" in note
    assert session.execute(text("SELECT payload->>'request_id' FROM notifications WHERE "
                                "kind = 'forwarded' AND event_id = :id"),
                           {"id": event_id}).scalar_one() == str(their_id)
    unknown = client.post(f"/api/v1/events/{event_id}/transfer", headers=dispatcher,
                          json={"neighbour": "nowhere", "reason": "x"})
    assert unknown.status_code == 409  # no longer ours: cancelled here


def test_a_template_set_by_an_admin_is_the_next_notifications_text(
        client: TestClient, session: Session) -> None:
    admin = bearer(token_for(session, "admin", "tpl-admin"))
    event_id, category = session.execute(text(
        "SELECT e.id, c.code FROM events e JOIN event_categories c ON c.id = e.category_id "
        "ORDER BY e.id LIMIT 1")).one()
    conn = session.connection()
    tz = ZoneInfo("Asia/Shanghai")
    default = render(conn, event_id, "closed", "en", "https://g.example", tz)
    assert default is not None and "Case" not in default[0]
    put = client.put("/api/v1/notifications/templates/closed/en", headers=admin, json={
        "category": category, "subject": "Case $id closed", "body": "See $track_url ($$0)"})
    assert put.status_code == 200, put.text
    subject, body = render(conn, event_id, "closed", "en", "https://g.example", tz) or ("", "")
    token = session.execute(text("SELECT public_token FROM events WHERE id = :id"),
                            {"id": event_id}).scalar_one()
    assert subject == f"Case {event_id} closed"
    assert body == f"See https://g.example/t/{token} ($0)"
    listed = client.get("/api/v1/notifications/templates", headers=admin,
                        params={"kind": "closed", "language": "en"}).json()
    assert [t["category"] for t in listed] == [None, category]
    assert session.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                "'notify.template'")).scalar_one() == 1


def test_a_template_with_an_unknown_placeholder_is_refused(
        client: TestClient, session: Session) -> None:
    admin = bearer(token_for(session, "admin", "tpl-admin2"))
    before = client.get("/api/v1/notifications/templates", headers=admin).json()
    for text_, code in (("Hello $name", "unknown_placeholder"), ("Costs $5", "invalid_template")):
        bad = client.put("/api/v1/notifications/templates/forwarded/zh", headers=admin,
                         json={"subject": "转交", "body": text_})
        assert bad.status_code == 422 and bad.json()["code"] == code, bad.text
    nokind = client.put("/api/v1/notifications/templates/birthday/zh", headers=admin,
                        json={"subject": "s", "body": "b"})
    assert nokind.status_code == 422 and nokind.json()["code"] == "invalid_parameter"
    wrong = client.put("/api/v1/notifications/templates/closed/zh", headers=admin,
                       json={"category": "nosuch", "subject": "s", "body": "b"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "unknown_category"
    assert client.get("/api/v1/notifications/templates", headers=admin).json() == before
    dispatcher = bearer(token_for(session, "dispatcher", "tpl-disp"))
    denied = client.put("/api/v1/notifications/templates/closed/zh", headers=dispatcher,
                        json={"subject": "s", "body": "b"})
    assert denied.status_code == 403

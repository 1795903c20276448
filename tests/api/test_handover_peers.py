"""Hand-over loose ends: a poll round that survives a dead neighbour and a transfer the
neighbour does not know, the tracking link a neighbouring gridgov gives, the receiving
dispatchers' scope.

Against the real second gridgov on loopback (``tests/api/test_handover.py``'s
``neighbour``) and, for neighbours that fail, a closed port and small local HTTP
servers that answer 500 or something that is not JSON.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.notify.templates import render, render_payload
from tests.api.events_support import bearer, token_for
from tests.api.test_handover import neighbour
from tests.api.test_handover_transfer import _east, _our_case, _png, _their_dispatcher

__all__ = ["neighbour"]  # the module-scoped fixture: the second server
TZ = ZoneInfo("Asia/Shanghai")


#: set when the test module is done: the ``/hang`` requests are answered then
RELEASE = threading.Event()


class _Failing(BaseHTTPRequestHandler):
    """Answers every GET with a 500, or (``/junk``...) a 200 that is not JSON; ``/hang``...
    answers only when the module is done."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        if self.path.startswith("/hang"):
            RELEASE.wait(60)
        junk = self.path.startswith("/junk")
        body = b"<html>not json" if junk else b"internal error"
        self.send_response(200 if junk else 500)
        self.send_header("Content-Type", "application/json" if junk else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def failing() -> Iterator[str]:
    """The base URL of a local server whose answers are a 500 or not JSON."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    RELEASE.set()
    server.shutdown()
    server.server_close()


def _far_neighbour(client: TestClient, session: Session, admin: dict[str, str], code: str,
                   endpoint: str, their_id: str) -> None:
    """Neighbour ``code`` at ``endpoint``, far away, with one report open there."""
    box = {"type": "Polygon", "coordinates": [[[170, 10], [171, 10], [171, 11], [170, 10]]]}
    put = client.put(f"/api/v1/neighbours/{code}", headers=admin, json={
        "name": code, "territory": box, "endpoint": endpoint, "api_key": "k"})
    assert put.status_code == 200, put.text
    session.execute(text(
        "INSERT INTO handovers (neighbour_code, their_id, category_code, geom, their_status) "
        "VALUES (:code, :id, '0101', ST_Point(170.5, 10.2, 4326), 'open')"),
        {"code": code, "id": their_id})


def test_a_dead_neighbour_does_not_stop_the_others_in_the_round(
        client: TestClient, session: Session, neighbour: dict[str, Any], failing: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings.events, "handover_poll_timeout_seconds", 0.5)
    admin, lon, lat, category = _east(client, session, neighbour)
    sent = client.post("/api/v1/events", json={
        "category": category, "location": {"x": lon, "y": lat, "crs": "EPSG:4326"}})
    assert sent.status_code == 202, sent.text
    their_id = sent.json()["neighbour_request_id"]
    for code, endpoint in (("a-refused", "http://127.0.0.1:9/open311/v2"),
                           ("b-error", f"{failing}/open311/v2"),
                           ("c-junk", f"{failing}/junk/open311/v2"),
                           ("d-hangs", f"{failing}/hang/open311/v2")):
        _far_neighbour(client, session, admin, code, endpoint, "77")
    with neighbour["engine"].begin() as conn:
        conn.execute(text("UPDATE events SET status = 'closed' WHERE id = :id"),
                     {"id": int(their_id)})
    polled = client.post("/api/v1/handovers/poll", headers=admin)
    assert polled.status_code == 200 and polled.json() == {"changed": 1}, polled.text
    statuses = {r[0]: r[1] for r in session.execute(text(
        "SELECT neighbour_code, their_status FROM handovers"))}
    assert statuses == {"east": "closed", "a-refused": "open", "b-error": "open",
                        "c-junk": "open", "d-hangs": "open"}
    listed = {n["code"]: n for n in client.get("/api/v1/neighbours", headers=admin).json()}
    assert "ConnectError" in listed["a-refused"]["last_error"]
    assert "HTTP 500" in listed["b-error"]["last_error"]
    assert "not JSON" in listed["c-junk"]["last_error"]
    assert "ReadTimeout" in listed["d-hangs"]["last_error"]
    assert listed["east"]["last_error"] is None
    assert all(n["last_polled_at"] is not None for n in listed.values())


def _told(session: Session) -> tuple[str, str]:
    """The kind and English body of the one ``forwarded*`` notification."""
    [(kind, event_id, payload)] = session.execute(text(
        "SELECT kind, event_id, payload FROM notifications WHERE kind LIKE 'forwarded%'")).all()
    conn = session.connection()
    told = (render(conn, event_id, kind, "en", "https://us.example", TZ, payload)
            if event_id is not None else render_payload(conn, kind, "en", payload))
    assert told is not None
    return kind, told[1]


def _shows_the_case(url: str, description: str) -> None:
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200 and description in page.text


def test_a_report_forwarded_to_a_gridgov_tells_its_tracking_link(
        client: TestClient, session: Session, neighbour: dict[str, Any]) -> None:
    _, lon, lat, category = _east(client, session, neighbour, gridgov=True)
    sent = client.post("/api/v1/events", json={
        "category": category, "location": {"x": lon, "y": lat, "crs": "EPSG:4326"},
        "description": "a kerb stone loose there", "reporter": {"phone": "13700000078"}})
    assert sent.status_code == 202, sent.text
    url = sent.json()["neighbour_tracking_url"]
    base = neighbour["endpoint"].removesuffix("/open311/v2")
    assert url.startswith(f"{base}/t/") and url in sent.json()["message"]
    kind, body = _told(session)
    assert kind == "forwarded_link" and url in body
    _shows_the_case(url, "a kerb stone loose there")


def test_a_plain_open311_neighbour_gives_only_its_request_id(
        client: TestClient, session: Session, neighbour: dict[str, Any]) -> None:
    _, lon, lat, category = _east(client, session, neighbour, gridgov=False)
    sent = client.post("/api/v1/events", json={
        "category": category, "location": {"x": lon, "y": lat, "crs": "EPSG:4326"},
        "reporter": {"email": "r@example.cn"}})
    assert sent.status_code == 202, sent.text
    assert sent.json()["neighbour_tracking_url"] is None
    kind, body = _told(session)
    assert kind == "forwarded" and "http" not in body
    assert sent.json()["neighbour_request_id"] in body and "no tracking link" in body


def _their_user(nb: dict[str, Any], name: str, **kw: Any) -> dict[str, str]:
    with Session(nb["engine"]) as s:
        header = bearer(token_for(s, "dispatcher", name, **kw))
        s.commit()
    return header


def test_a_transfer_is_listed_and_decided_only_in_the_receiving_dispatchers_scope(
        client: TestClient, session: Session, neighbour: dict[str, Any]) -> None:
    admin, *_ = _east(client, session, neighbour, gridgov=True)
    event_id = _our_case(client, session, _png(), neighbour["dx"])
    street = session.execute(text("SELECT street_code FROM events WHERE id = :id"),
                             {"id": event_id}).scalar_one()
    other = session.execute(text("SELECT code FROM admin_areas WHERE level = 'street' "
                                 "AND code <> :s ORDER BY code LIMIT 1"), {"s": street}
                            ).scalar_one()
    dispatcher = bearer(token_for(session, "dispatcher", "peer-disp"))
    sent = client.post(f"/api/v1/events/{event_id}/transfer", headers=dispatcher,
                       json={"neighbour": "east", "reason": "their lane"})
    assert sent.status_code == 200, sent.text
    transfer_id = int(sent.json()["neighbour_id"])
    base = neighbour["endpoint"].removesuffix("/open311/v2")
    mine = _their_user(neighbour, "peer-street-disp", areas=[street])
    theirs = _their_user(neighbour, "peer-other-disp", areas=[other])
    for header, listed in ((mine, True), (theirs, False)):
        pending = httpx.get(f"{base}/api/v1/transfers/incoming", headers=header).json()
        assert (transfer_id in [t["id"] for t in pending]) is listed
    for action, body in (("accept", None), ("refuse", {"reason": "not ours"})):
        denied = httpx.post(f"{base}/api/v1/transfers/incoming/{transfer_id}/{action}",
                            headers=theirs, json=body)
        assert denied.status_code == 403 and denied.json()["code"] == "out_of_scope"
    took = httpx.post(f"{base}/api/v1/transfers/incoming/{transfer_id}/accept", headers=mine)
    assert took.status_code == 200, took.text
    assert client.post("/api/v1/handovers/poll", headers=admin).json() == {"changed": 1}
    kind, told = _told(session)
    [url] = [w for w in told.split() if w.startswith(f"{base}/t/")]
    assert kind == "forwarded_link"
    _shows_the_case(url, "theirs really")  # _our_case's description, at the neighbour


def test_a_transfer_the_neighbour_does_not_know_does_not_hold_up_its_others(
        client: TestClient, session: Session, neighbour: dict[str, Any]) -> None:
    admin, *_ = _east(client, session, neighbour, gridgov=True)
    # a transfer row whose id the neighbour never gave (its answer: 404), asked first
    session.execute(text(
        "INSERT INTO handovers (neighbour_code, their_id, category_code, geom, their_status) "
        "VALUES ('east', '0', '0101', ST_Point(170.5, 10.2, 4326), 'pending')"))
    event_id = _our_case(client, session, _png(), neighbour["dx"])
    dispatcher = bearer(token_for(session, "dispatcher", "tr-disp-lost"))
    sent = client.post(f"/api/v1/events/{event_id}/transfer", headers=dispatcher,
                       json={"neighbour": "east", "reason": "their lane"})
    assert sent.status_code == 200, sent.text
    base = neighbour["endpoint"].removesuffix("/open311/v2")
    theirs = _their_dispatcher(neighbour, "nb-disp-lost")
    took = httpx.post(f"{base}/api/v1/transfers/incoming/{sent.json()['neighbour_id']}/accept",
                      headers=theirs)
    assert took.status_code == 200, took.text
    polled = client.post("/api/v1/handovers/poll", headers=admin)
    assert polled.status_code == 200 and polled.json() == {"changed": 1}, polled.text
    status = session.execute(text("SELECT status FROM events WHERE id = :id"),
                             {"id": event_id}).scalar_one()
    assert status == "cancelled"  # the neighbour's now, although the unknown one failed
    lost = session.execute(text("SELECT their_status FROM handovers WHERE neighbour_code = "
                                "'east' AND their_id = '0'")).scalar_one()
    assert lost == "pending"  # asked again next round
    listed = {n["code"]: n for n in client.get("/api/v1/neighbours", headers=admin).json()}
    assert "transfer 0: HTTP 404" in listed["east"]["last_error"]

"""Hand-over loose ends: a poll round that survives a dead neighbour, the tracking link a
neighbouring gridgov gives, the receiving dispatchers' scope.

Against the real second gridgov on loopback (``tests/api/test_handover.py``'s
``neighbour``) and, for neighbours that fail, a closed port and small local HTTP
servers that answer 500 or something that is not JSON.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.api.test_handover import neighbour
from tests.api.test_handover_transfer import _east

__all__ = ["neighbour"]  # the module-scoped fixture: the second server


class _Failing(BaseHTTPRequestHandler):
    """Answers every GET with a 500, or (path ``/junk``...) a 200 that is not JSON."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
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
        client: TestClient, session: Session, neighbour: dict[str, Any], failing: str) -> None:
    admin, lon, lat, category = _east(client, session, neighbour)
    sent = client.post("/api/v1/events", json={
        "category": category, "location": {"x": lon, "y": lat, "crs": "EPSG:4326"}})
    assert sent.status_code == 202, sent.text
    their_id = sent.json()["neighbour_request_id"]
    for code, endpoint in (("a-refused", "http://127.0.0.1:9/open311/v2"),
                           ("b-error", f"{failing}/open311/v2"),
                           ("c-junk", f"{failing}/junk/open311/v2")):
        _far_neighbour(client, session, admin, code, endpoint, "77")
    with neighbour["engine"].begin() as conn:
        conn.execute(text("UPDATE events SET status = 'closed' WHERE id = :id"),
                     {"id": int(their_id)})
    polled = client.post("/api/v1/handovers/poll", headers=admin)
    assert polled.status_code == 200 and polled.json() == {"changed": 1}, polled.text
    statuses = {r[0]: r[1] for r in session.execute(text(
        "SELECT neighbour_code, their_status FROM handovers"))}
    assert statuses == {"east": "closed", "a-refused": "open", "b-error": "open",
                        "c-junk": "open"}
    listed = {n["code"]: n for n in client.get("/api/v1/neighbours", headers=admin).json()}
    assert "ConnectError" in listed["a-refused"]["last_error"]
    assert "HTTP 500" in listed["b-error"]["last_error"]
    assert "not JSON" in listed["c-junk"]["last_error"]
    assert listed["east"]["last_error"] is None
    assert all(n["last_polled_at"] is not None for n in listed.values())

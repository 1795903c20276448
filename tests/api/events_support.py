"""Helpers shared by the event tests: points inside grids, users with tokens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from api.auth.service import create_user
from api.db.migrate import upgrade
from api.db.session import make_engine
from api.io.samples import load_directory
from api.settings import Settings
from testkit.databases import create_database, drop_database

REPO = Path(__file__).resolve().parents[2]


def event_settings(database_url: str, photo_dir: Path) -> Settings:
    """Test settings: photos in a temporary directory, no background escalation."""
    settings = Settings()
    settings.db.database_url = database_url
    settings.events.photo_dir = photo_dir
    settings.events.escalation_interval_seconds = 0
    return settings


def basic_grids(conn: Connection | Session) -> list[dict[str, Any]]:
    """Current grids of the basic layer with a point inside each, outside any building."""
    rows = conn.execute(text("""
        SELECT g.code, g.community_code,
               ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat
        FROM grids g JOIN grid_layers l ON l.id = g.layer_id,
        LATERAL (SELECT (ST_Dump(ST_GeneratePoints(g.geom, 40, 7))).geom AS pt) p
        WHERE l.name = 'basic' AND g.valid_to IS NULL
          AND NOT EXISTS (SELECT 1 FROM buildings b WHERE ST_DWithin(b.geom, p.pt, 0.0002))
          AND NOT EXISTS (SELECT 1 FROM grids o WHERE o.layer_id = g.layer_id
                          AND o.id <> g.id AND ST_DWithin(o.geom, p.pt, 0.0005))
        ORDER BY g.code, p.pt
    """)).mappings().all()
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        seen.setdefault(r["code"], dict(r))
    return list(seen.values())


def token_for(session: Session, role: str, name: str | None = None, **kw: Any) -> str:
    """Create a user in the test transaction and return its bearer header."""
    _, token = create_user(session, name=name or f"{role}-{len(kw)}-{id(kw)}", role=role, **kw)
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def signed_in(client: Any, session: Session, role: str = "admin", **kw: Any) -> Any:
    """``client`` with the bearer token of a new user of ``role`` on every request."""
    client.headers["Authorization"] = f"Bearer {token_for(session, role, f'as-{role}', **kw)}"
    return client


@contextmanager
def sample_database(server_url: str, sample_dir: Path, prefix: str
                    ) -> Iterator[tuple[str, Engine]]:
    """A new database on ``server_url``'s server with the small sample; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    upgrade(url)
    engine = make_engine(url, pool_size=2)
    load_directory(engine, sample_dir)
    try:
        yield url, engine
    finally:
        engine.dispose()
        drop_database(server_url, name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, tmp: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """A real uvicorn serving ``url`` (settings from ``env``); returns it and its base URL."""
    port = _free_port()
    environ = {**os.environ, "DATABASE_URL": url, "GRIDGOV_HOME": str(tmp),
               "GRIDGOV_EVENTS_ESCALATION_INTERVAL_SECONDS": "0",
               "GRIDGOV_API_RATE_LIMIT_INTAKE": "off",  # every test client is 127.0.0.1
               **env}
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app_from_env", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=environ, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp / "server.log").read_text()[-2000:]
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")

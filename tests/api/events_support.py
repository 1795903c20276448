"""Helpers shared by the event tests: points inside grids, users with tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.auth.service import create_user
from api.settings import Settings


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

"""The live server of the closed-loop browser tests: a sample with a case left to dispatch."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from api.db.session import make_engine
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.web.accounts import make_user


def run_sql(url: str, query: str, **params: Any) -> Any:
    """Run one statement in its own transaction on ``url``; its first row (None without)."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(query), params)
            return result.first() if result.returns_rows else None
    finally:
        engine.dispose()


def post_report(server: dict[str, Any]) -> dict[str, Any]:
    """A resident's report at the ``desk_server``'s point, over HTTP (not through a page)."""
    lon, lat = server["point"]
    req = urllib.request.Request(f"{server['base']}/api/v1/events", method="POST", data=json.dumps({
        "category": server["category"], "channel": "app", "description": "小区门口井盖缺失，很危险",
        "location": {"x": lon, "y": lat}, "reporter": {"name": "张三", "phone": "13700137000"},
    }).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body: dict[str, Any] = json.loads(resp.read())
    return body


@contextmanager
def desk_server(server_url: str, sample_dir: Path, dispatcher: str, handler: str,
                **others: str) -> Iterator[dict[str, Any]]:
    """A live server on a fresh sample with a dispatcher, a handler and ``others`` (name:
    role), and a category no rule dispatches, so its reports wait in the "new" tab.

    Yields the server's ``base`` and database ``url``, the handler's ``department``, that
    ``category`` and a ``point`` inside the first basic grid.
    """
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base:
        department = run_sql(url, "SELECT code FROM departments ORDER BY code LIMIT 1")[0]
        category = run_sql(url, "SELECT code FROM event_categories ORDER BY code LIMIT 1")[0]
        run_sql(url, "UPDATE event_categories SET department_id = NULL WHERE code = :c",
                c=category)
        run_sql(url, "DELETE FROM routing_rules WHERE category_code IN "
                     "(CAST(:c AS text), left(CAST(:c AS text), 2))", c=category)
        point = run_sql(url, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(g.geom) "
                             "AS p FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
                             "WHERE l.name = 'basic' ORDER BY g.code LIMIT 1) s")
        make_user(url, dispatcher, role="dispatcher")
        make_user(url, handler, role="handler", department=department)
        for name, role in others.items():
            make_user(url, name, role=role)
        yield {"base": base, "url": url, "department": department, "category": category,
               "point": (float(point[0]), float(point[1]))}

"""The app's routers do not shadow each other, so the order they are included in is free.

``api.main`` includes the busiest routers first (routes are tried in order); that
is only safe while no path of one router is also a path of another.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from starlette.routing import Match

from api.main import create_app


def _routes() -> list[tuple[str, APIRoute]]:
    """Every API route of the app with the module of the router holding it."""
    app = create_app()
    found = []
    for included in app.router.routes:
        router = getattr(included, "original_router", None)
        for route in getattr(router, "routes", ()):
            if isinstance(route, APIRoute):
                found.append((route.endpoint.__module__, route))
    return found


def test_no_route_answers_a_path_of_another_routers_route() -> None:
    routes = _routes()
    assert len({module for module, _ in routes}) > 20  # the whole app, not one router
    clashes = []
    for module, route in routes:
        path = re.sub(r"\{[^}:]+(:[^}]+)?\}", "1", route.path)
        for method in route.methods or ():
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            clashes += [(route.path, method, other.path) for other_module, other in routes
                        if other_module != module and other.matches(scope)[0] == Match.FULL]
    assert clashes == []

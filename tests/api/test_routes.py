"""How requests reach their endpoints: routers that do not shadow each other, no thread hops.

``api.main`` includes the busiest routers first (routes are tried in order); that
is only safe while no path of one router is also a path of another.

FastAPI runs a plain ``def`` dependency in a worker thread, one hand-over of the
GIL there and back per dependency; the dependencies of ``api.deps`` are ``async``
so that a request takes a thread once, for its endpoint.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

from api.main import create_app
from api.routing import Router

#: the dependencies that query the database before the endpoint (a scope check), and so
#: rightly run in a worker thread
DEPENDENCIES_IN_A_THREAD = {"api.calendar.router.scoped_event", "api.workbench.router.scoped_case"}


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


def _every_route(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            yield from _every_route(router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _runs_on_the_loop(call: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


def test_a_request_takes_a_worker_thread_only_for_its_endpoint() -> None:
    routes = list(_every_route(create_app().router.routes))
    assert len(routes) > 150  # every router, the nested ones too
    in_threads = {f"{call.__module__}.{call.__qualname__}" for route in routes
                  for call in _calls(route.dependant) if not _runs_on_the_loop(call)}
    assert in_threads == DEPENDENCIES_IN_A_THREAD


def test_every_router_refuses_only_paths_it_does_not_serve() -> None:
    app = create_app()
    entries = app.router.routes
    routers = [entry.original_router for entry in entries if hasattr(entry, "original_router")]
    assert len(routers) > 30 and all(isinstance(router, Router) for router in routers)
    assert all(router.starts() for router in routers)  # each says where its paths start
    # FastAPI's own account of the paths (the OpenAPI document), not the routers'
    paths = app.openapi()["paths"]
    hidden = []
    for template, operations in paths.items():
        path = re.sub(r"\{[^}:]+(:[^}]+)?\}", "1", template)
        for method in operations:
            scope = {"type": "http", "path": path, "method": method.upper(), "root_path": ""}
            if sum(entry.matches(scope)[0] == Match.FULL for entry in entries) != 1:
                hidden.append((method, template))
    assert len(paths) > 150 and hidden == []
    # and a path no router serves is refused by the first characters
    people = next(router for router in routers if router.prefix == "/api/v1/people")
    assert people.matches({"type": "http", "path": "/tiles/1/2/3.pbf", "method": "GET",
                           "root_path": ""})[0] == Match.NONE

"""The routers of the app: an ``APIRouter`` that says "not mine" without trying its routes.

A request is matched by trying the app's routers in turn, and each router tries
its routes in turn, a regular expression apiece: a request for the last router
walked past some two hundred routes first (a quarter of the event loop's time on
``POST /api/v1/people/lookup``). :class:`Router` knows the literal start of every
path it serves (``/api/v1/people``, ``/tiles``, ``/open311/v2``) and refuses a
request outside them with one ``str.startswith``; inside them it matches as
``APIRouter`` does, so which route answers never changes
(``tests/api/test_routes.py`` checks that against every route of the app).

A router included into another :class:`Router` (with or without ``prefix=``) is
refused or not by the one that includes it, whose starts hold its paths; the app
includes its routers without a prefix, so their paths are those of their routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


def literal_start(path: str) -> str:
    """The part of a route's path before its first parameter: every path it serves starts so."""
    brace = path.find("{")
    return path if brace < 0 else path[:brace]


class Router(APIRouter):
    """An ``APIRouter`` that refuses, by their first characters, paths none of its routes serve."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._nested: list[tuple[str, Router]] = []
        self._starts: tuple[str, ...] | None = None
        self._starts_of: int = -1
        self._included_in_a_router = False

    def include_router(self, router: APIRouter, *args: Any, prefix: str = "",
                       **kwargs: Any) -> None:
        """Include ``router`` as ``APIRouter`` does, remembering where its paths start."""
        super().include_router(router, *args, prefix=prefix, **kwargs)
        if isinstance(router, Router):
            self._nested.append((prefix, router))
            router._included_in_a_router = True  # its paths start under ours: we refuse
        self._starts_of = -1

    def starts(self) -> tuple[str, ...] | None:
        """How every path this router serves starts; None when that cannot be said."""
        if self._starts_of == len(self.routes):
            return self._starts
        starts: set[str] = set()
        nested = {id(router) for _, router in self._nested}
        for route in self.routes:
            inner = getattr(route, "original_router", None)
            if inner is not None and id(inner) in nested:
                continue  # counted below, with the prefix it was included under
            path = getattr(route, "path", None)
            if not isinstance(path, str) or inner is not None:
                self._starts, self._starts_of = None, len(self.routes)
                return None
            starts.add(literal_start(path))
        for prefix, router in self._nested:
            inner_starts = router.starts()
            if inner_starts is None:
                self._starts, self._starts_of = None, len(self.routes)
                return None
            # FastAPI puts a router's own prefix before what is included into it
            starts.update(self.prefix + prefix + start for start in inner_starts)
        self._starts, self._starts_of = tuple(sorted(starts)), len(self.routes)
        return self._starts

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """``Match.NONE`` at once for a path outside :meth:`starts`, else as ``APIRouter``."""
        starts = None if self._included_in_a_router else self.starts()
        if starts is not None and scope.get("type") in ("http", "websocket"):
            path = scope.get("path", "")
            root = scope.get("root_path", "")
            if not (path.startswith(starts)
                    or (root and path.startswith(root) and path[len(root):].startswith(starts))):
                return Match.NONE, {}
        return super().matches(scope)

"""Due and overdue visits of the grid worker: the one place the people-and-houses issue wires in.

A visit task has this shape (the same keys as a case task in :mod:`api.field.mytasks`)::

    {"kind": "visit", "id": 12, "title": "<whom to visit>", "status": "due" | "overdue",
     "due_at": "2026-12-02T00:00:00+08:00", "overdue": false, "building_code": "...",
     "lon": 114.05, "lat": 22.54}

Until visits exist (``api/people/``) there are none: :func:`due_visits` returns
an empty list. The lead replaces its body with the query of the people package
(visits of the worker's grids due before ``until``); nothing else changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.auth.principal import Principal


def due_visits(session: Session, worker: Principal, until: datetime) -> list[dict[str, Any]]:
    """Visits due before ``until`` (or overdue) of residents in ``worker``'s grids (none yet)."""
    del session, worker, until  # wired by the people-and-houses issue (see the module text)
    return []

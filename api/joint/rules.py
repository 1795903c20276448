"""The rule of a joint case that the lifecycle follows: not handled while a sub-task is open."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_core.errors import Conflict


def open_departments(session: Session, event_id: int) -> list[str]:
    """The codes of the departments whose sub-task of ``event_id`` is still open, lead first."""
    return list(session.execute(text(
        "SELECT d.code FROM event_subtasks t JOIN departments d ON d.id = t.department_id "
        "WHERE t.event_id = :id AND t.status = 'open' ORDER BY t.role DESC, d.code"),
        {"id": event_id}).scalars())


def check_can_handle(session: Session, event_id: int) -> None:
    """409 ``subtasks_open`` while a sub-task of the case is open."""
    still = open_departments(session, event_id)
    if still:
        raise Conflict(f"case {event_id} is handled jointly; sub-tasks still open: "
                       f"{', '.join(still)}", code="subtasks_open", departments=still)

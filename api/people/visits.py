"""Special populations and their visits: tags, levels, cycles, due and overdue visits.

The rule of a visit cycle (its one home): a person with current tags is due for a
visit ``cycle`` days after their last visit (or, never visited, after the day
they were tagged), where ``cycle`` is the shortest cycle of their tags' levels.
On a day ``today`` (in the server's time zone) a person is

- ``overdue`` when the due date is before ``today``;
- ``due`` when it falls within ``today`` .. ``today + horizon`` days;
- ``scheduled`` otherwise.

:func:`visit_tasks` gives the due and overdue persons of a user's scope (the field
app's "my tasks" calls it); :func:`visit_kpis` counts visits due, done and
overdue by grid or by worker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.principal import Principal
from api.errors import APIError
from api.people.scope import CURRENT_RESIDENCE, PERSON_GRIDS, person_sql
from api.people.service import check_person

STATUSES = ("overdue", "due", "scheduled")

_CYCLES = """
WITH cycles AS (
  SELECT pt.person_id, min(l.cycle_days) AS cycle_days, min(pt.since) AS since,
         array_agg(DISTINCT t.code ORDER BY t.code) AS tags
  FROM person_tags pt
  JOIN special_tag_levels l ON l.tag_id = pt.tag_id AND l.level = pt.level
  JOIN special_tags t ON t.id = pt.tag_id
  WHERE pt.since <= :today AND (pt.until IS NULL OR pt.until > :today)
  GROUP BY pt.person_id
), last AS (
  SELECT c.*, (SELECT max(CAST(v.visited_at AT TIME ZONE :tz AS date)) FROM visits v
               WHERE v.person_id = c.person_id
                 AND CAST(v.visited_at AT TIME ZONE :tz AS date) <= :today) AS last_visit
  FROM cycles c
), tasks AS (
  SELECT l.*, COALESCE(l.last_visit, l.since) + l.cycle_days AS due_date FROM last l
), status AS (
  SELECT t.*, CASE WHEN t.due_date < :today THEN 'overdue'
                   WHEN t.due_date <= :horizon THEN 'due' ELSE 'scheduled' END AS status
  FROM tasks t
)
"""


def _dates(today: date, horizon_days: int, tz: str) -> dict[str, Any]:
    if not 0 <= horizon_days <= 366:
        raise APIError(422, "invalid_parameter", "parameter 'horizon_days': 0 to 366",
                       field="horizon_days")
    return {"today": today, "horizon": today + timedelta(days=horizon_days), "tz": tz}


def visit_status(due_date: date, today: date, horizon_days: int = 7) -> str:
    """The status of a person due on ``due_date`` (the rule of the module docstring).

    Examples
    --------
    >>> visit_status(date(2026, 3, 1), date(2026, 3, 2))
    'overdue'
    >>> visit_status(date(2026, 3, 9), date(2026, 3, 2)), visit_status(date(2026, 3, 10),
    ...                                                                 date(2026, 3, 2))
    ('due', 'scheduled')
    """
    if due_date < today:
        return "overdue"
    return "due" if due_date <= today + timedelta(days=horizon_days) else "scheduled"


def visit_tasks(session: Session, principal: Principal, *, today: date, tz: str,
                horizon_days: int = 7, grid: str | None = None,
                statuses: tuple[str, ...] = ("overdue", "due"), limit: int = 500
                ) -> list[dict[str, Any]]:
    """The persons of ``principal``'s scope whose visit is overdue or due, most urgent first.

    Each item: ``person_id``, ``tags``, ``cycle_days``, ``last_visit``, ``due_date``,
    ``status``, ``building`` and ``room`` of the current residence. Holds no
    personal value (the caller shows names through the archive). ``grid``: the
    persons of that grid only (by the rule of its layer).
    """
    cond, params = person_sql(principal)
    where = [cond, "s.status = ANY(CAST(:statuses AS text[]))"]
    if grid:
        gcond, gparams = person_sql(Principal(0, "grid", "grid_worker", grids=(grid,)),
                                    prefix="pg")
        where.append(gcond)
        params.update(gparams)
    rows = session.execute(text(
        f"{_CYCLES} SELECT s.person_id, s.tags, s.cycle_days, s.last_visit, s.due_date, "  # noqa: S608
        f"s.status, (SELECT b.code || '|' || ro.code FROM residences r JOIN rooms ro ON "
        f"ro.id = r.room_id JOIN buildings b ON b.id = ro.building_id WHERE r.person_id = "
        f"p.id AND {CURRENT_RESIDENCE} ORDER BY r.from_date DESC LIMIT 1) AS place "
        f"FROM status s JOIN persons p ON p.id = s.person_id WHERE {' AND '.join(where)} "
        "ORDER BY s.due_date, s.person_id LIMIT :n"),
        {**params, **_dates(today, horizon_days, tz), "statuses": list(statuses),
         "n": limit}).mappings().all()
    return [_task(r) for r in rows]


def _task(row: Mapping[Any, Any]) -> dict[str, Any]:
    building, _, room = (row["place"] or "|").partition("|")
    return {"person_id": row["person_id"], "tags": list(row["tags"]),
            "cycle_days": row["cycle_days"],
            "last_visit": row["last_visit"].isoformat() if row["last_visit"] else None,
            "due_date": row["due_date"].isoformat(), "status": row["status"],
            "building": building or None, "room": room or None}


def visit_kpis(session: Session, principal: Principal, *, by: str, start: date, end: date,
               tz: str, layer: str = "basic") -> list[dict[str, Any]]:
    """Per grid of ``layer`` or per grid worker: visits due, done and overdue in [start, end).

    - ``due``: persons whose visit fell due before ``end``, as things stood on ``start``;
    - ``done``: visits made from ``start`` to before ``end`` (by the worker who made them);
    - ``overdue``: persons whose visit is overdue on ``end``.

    A worker's persons are those of their grids. Only persons of the caller's scope count.
    """
    if by not in ("grid", "worker"):
        raise APIError(422, "invalid_parameter", "parameter 'by': grid or worker", field="by")
    if end <= start:
        raise APIError(422, "invalid_parameter", "parameter 'end' must be after 'start'",
                       field="end")
    cond, params = person_sql(principal)
    params.update({"tz": tz, "layer": layer if by == "grid" else None, "start": start,
                   "end": end})
    key, join = (("pg.grid", "") if by == "grid" else
                 ("u.name", "JOIN users u ON u.role = 'grid_worker' AND u.active "
                  "AND pg.grid = ANY(u.grid_codes)"))
    members = (f"JOIN persons p ON p.id = s.person_id AND {cond} "
               f"JOIN ({PERSON_GRIDS}) pg ON pg.person_id = s.person_id {join}")
    due = _counts(session, f"{_CYCLES} SELECT {key}, count(DISTINCT s.person_id) FROM status s "  # noqa: S608
                  f"{members} WHERE s.due_date < :end GROUP BY 1",
                  {**params, "today": start, "horizon": start})
    overdue = _counts(session, f"{_CYCLES} SELECT {key}, count(DISTINCT s.person_id) FROM "  # noqa: S608
                      f"status s {members} WHERE s.status = 'overdue' GROUP BY 1",
                      {**params, "today": end, "horizon": end})
    done_key = "pg.grid" if by == "grid" else "v.worker_name"
    done_join = (f"JOIN ({PERSON_GRIDS}) pg ON pg.person_id = v.person_id"
                 if by == "grid" else "")
    done = _counts(session, f"SELECT {done_key}, count(DISTINCT v.id) FROM visits v JOIN "  # noqa: S608
                   f"persons p ON p.id = v.person_id AND {cond} {done_join} WHERE "
                   "v.visited_at >= CAST(:start AS timestamp) AT TIME ZONE :tz AND "
                   "v.visited_at < CAST(:end AS timestamp) AT TIME ZONE :tz GROUP BY 1", params)
    keys = sorted(set(due) | set(done) | set(overdue))
    return [{by: k, "due": due.get(k, 0), "done": done.get(k, 0),
             "overdue": overdue.get(k, 0)} for k in keys]


def _counts(session: Session, sql: str, params: Mapping[str, Any]) -> dict[str, int]:
    return {str(k): int(n) for k, n in session.execute(text(sql), dict(params)) if k}


# -- visit records -------------------------------------------------------------------------
_DISTANCE = f"""
SELECT ST_Distance(CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography),
                   CAST(ST_PointOnSurface(b.geom) AS geography))
FROM residences r JOIN rooms ro ON ro.id = r.room_id JOIN buildings b ON b.id = ro.building_id
WHERE r.person_id = :p AND {CURRENT_RESIDENCE} ORDER BY r.from_date DESC LIMIT 1
"""  # noqa: S608


def record_visit(session: Session, principal: Principal, actor: Actor, person_id: int,
                 values: Mapping[str, Any], key: str | None = None
                 ) -> tuple[dict[str, Any], bool]:
    """Append a visit to a person's archive (audited ``visit.create``); it and whether new.

    ``values``: ``visited_at`` (aware, not in the future), ``lon``/``lat`` of the
    phone (optional), ``notes``, ``findings``, ``photos`` (URLs). ``key``: the
    request's ``Idempotency-Key``; the same worker sending it again gets the visit
    recorded first (not new), and a key reused for another person is a 422.
    """
    check_person(session, principal, person_id)
    at: datetime = values["visited_at"]
    if at > datetime.now(UTC) + timedelta(minutes=5):
        raise APIError(422, "visit_in_future", "field 'visited_at' lies in the future",
                       field="visited_at")
    lon, lat = values.get("lon"), values.get("lat")
    if (lon is None) != (lat is None):
        raise APIError(422, "invalid_position", "give both 'lon' and 'lat' or neither",
                       field="lon")
    distance = (session.execute(text(_DISTANCE), {"lon": lon, "lat": lat, "p": person_id})
                .scalar() if lon is not None else None)
    made = session.execute(text(
        "INSERT INTO visits (person_id, visited_at, worker_id, worker_name, geom, distance_m, "
        "notes, findings, photos, client_key) VALUES (:p, :at, :w, :wn, CASE WHEN "
        "CAST(:lon AS float8) IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), "
        "4326) END, :d, :notes, :findings, CAST(:photos AS jsonb), :k) "
        "ON CONFLICT ON CONSTRAINT uq_visits_worker_key DO NOTHING RETURNING id"),
        {"p": person_id, "at": at, "w": principal.id or None, "wn": principal.name,
         "lon": lon, "lat": lat, "d": distance, "notes": values.get("notes"),
         "findings": values.get("findings"),
         "photos": json.dumps(list(values.get("photos") or [])), "k": key}).scalar()
    if made is None:  # this worker sent this key before
        return _seen_again(session, principal, person_id, str(key)), False
    record(session, actor=actor, action="visit.create", object_type="person",
           object_id=person_id, details={"visit": int(made), "findings": bool(
               values.get("findings"))})
    return _view(int(made), person_id, at, distance), True


def _seen_again(session: Session, principal: Principal, person_id: int, key: str
                ) -> dict[str, Any]:
    """The visit first recorded with ``key`` by this worker, when it was for the same person."""
    known = session.execute(text(
        "SELECT id, person_id, visited_at, distance_m FROM visits "
        "WHERE worker_name = :wn AND client_key = :k"),
        {"wn": principal.name, "k": key}).mappings().one()
    if int(known["person_id"]) != person_id:
        raise APIError(422, "idempotency_key_reused", f"Idempotency-Key {key!r} was sent "
                       f"with a visit to another person", field="Idempotency-Key")
    return _view(int(known["id"]), person_id, known["visited_at"], known["distance_m"])


def _view(visit_id: int, person_id: int, at: datetime, distance: Any) -> dict[str, Any]:
    return {"id": visit_id, "person_id": person_id, "visited_at": at.isoformat(),
            "distance_m": None if distance is None else round(float(distance), 1)}


def person_visits(session: Session, person_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """A person's visits, the newest first."""
    rows = session.execute(text(
        "SELECT id, visited_at, worker_name AS worker, distance_m, notes, findings, photos, "
        "event_id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM visits WHERE person_id = :p "
        "ORDER BY visited_at DESC, id DESC LIMIT :n"), {"p": person_id, "n": limit})
    return [{**r, "visited_at": r["visited_at"].isoformat()} for r in rows.mappings()]


def visit_person(session: Session, principal: Principal, visit_id: int) -> dict[str, Any]:
    """A visit's person, findings, case and where the person lives; 404/403 as for persons."""
    row = session.execute(text(
        "SELECT v.person_id, v.findings, v.event_id, ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat, "  # noqa: S608
        f"(SELECT b.code FROM residences r JOIN rooms ro ON ro.id = r.room_id JOIN buildings "
        f"b ON b.id = ro.building_id WHERE r.person_id = v.person_id AND {CURRENT_RESIDENCE} "
        "ORDER BY r.from_date DESC LIMIT 1) AS building FROM visits v WHERE v.id = :v"),
        {"v": visit_id}).mappings().first()
    if row is None:
        raise APIError(404, "visit_not_found", f"no visit with id {visit_id}")
    check_person(session, principal, int(row["person_id"]))
    return dict(row)


def link_case(session: Session, actor: Actor, visit_id: int, person_id: int,
              event_id: int) -> None:
    """Record that a visit's finding became case ``event_id`` (audited ``visit.case``)."""
    session.execute(text("UPDATE visits SET event_id = :e WHERE id = :v"),
                    {"e": event_id, "v": visit_id})
    record(session, actor=actor, action="visit.case", object_type="person",
           object_id=person_id, details={"visit": visit_id, "event": event_id})

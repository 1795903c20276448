"""Who sees which field records, in SQL; days in the server's time zone; loading tracks.

Track points and check-ins carry the grid (of the field layer) they lie in. A
supervisor (admin, dispatcher) sees a record when its grid is theirs or lies
in one of their areas (:meth:`api.auth.principal.Principal.areas`, expanded
below the areas given); a user who sees every event sees every record. A grid
worker sees their own records only. Every read of another user's points is
audited by the caller (``track.read``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.principal import Principal
from api.personal.cipher import PersonalCipher

#: the encrypted column of track positions (its name is the ciphertexts' associated data)
POSITION_COLUMN = "track_points.position"

#: roles that read other workers' tracks, check-ins and KPIs (within their scope)
SUPERVISOR_ROLES = ("admin", "dispatcher")


def grid_scope_sql(principal: Principal, column: str) -> tuple[str, dict[str, Any]]:
    """A condition on a grid code ``column`` and its parameters: the grids ``principal`` sees.

    Examples
    --------
    >>> grid_scope_sql(Principal(1, "a", "admin"), "p.grid_code")[0]
    'TRUE'
    >>> grid_scope_sql(Principal(2, "d", "dispatcher", grids=("G1",)), "p.grid_code")[0]
    '(p.grid_code = ANY(CAST(:scope_grids AS text[])))'
    """
    if principal.sees_everything:
        return "TRUE", {}
    parts, params = [], {}
    if principal.grids:
        parts.append(f"{column} = ANY(CAST(:scope_grids AS text[]))")
        params["scope_grids"] = list(principal.grids)
    if principal.areas:
        parts.append(f"{column} IN (SELECT g.code FROM grids g WHERE "  # noqa: S608
                     "g.community_code = ANY(CAST(:scope_areas AS text[])))")
        params["scope_areas"] = list(principal.areas)
    return (f"({' OR '.join(parts)})" if parts else "FALSE"), params


def record_scope_sql(principal: Principal, grid_column: str, worker_column: str
                     ) -> tuple[str, dict[str, Any]]:
    """The field records ``principal`` sees: a worker their own, a supervisor their grids'."""
    if principal.role not in SUPERVISOR_ROLES:
        return f"{worker_column} = :scope_self", {"scope_self": principal.id}
    return grid_scope_sql(principal, grid_column)


def seal_position(cipher: PersonalCipher, lon: float, lat: float) -> str:
    """A track position (WGS84) as stored: ``"lon,lat"`` encrypted for :data:`POSITION_COLUMN`.

    Examples
    --------
    >>> from api.personal.keys import new_ring
    >>> cipher = PersonalCipher(new_ring())
    >>> stored = seal_position(cipher, 114.0579, 22.5431)
    >>> "114.05" in stored, open_position(cipher, stored)
    (False, (114.0579, 22.5431))
    """
    sealed = cipher.encrypt(f"{lon:.7f},{lat:.7f}", POSITION_COLUMN)
    assert sealed is not None  # a value in, a ciphertext out  # noqa: S101
    return sealed


def open_position(cipher: PersonalCipher, stored: str) -> tuple[float, float]:
    """The (lon, lat) of a stored track position (:func:`seal_position`)."""
    lon, _, lat = (cipher.decrypt(stored, POSITION_COLUMN) or "").partition(",")
    return float(lon), float(lat)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The first instant of ``day`` and of the next day, in ``timezone``."""
    start = datetime.combine(day, datetime.min.time(), ZoneInfo(timezone))
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class TrackRows:
    """Track points in WGS84, sorted by worker, shift and time."""

    worker: npt.NDArray[np.int64]
    shift: npt.NDArray[np.object_]
    t: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    accuracy: npt.NDArray[np.float64]
    grid: npt.NDArray[np.object_]

    def __len__(self) -> int:
        """The number of points."""
        return len(self.t)


def load_points(session: Session, cipher: PersonalCipher, principal: Principal,
                start: datetime, end: datetime, worker_id: int | None = None) -> TrackRows:
    """The track points from ``start`` to ``end`` that ``principal`` sees (one worker or all)."""
    where, params = record_scope_sql(principal, "p.grid_code", "p.worker_id")
    if worker_id is not None:
        where += " AND p.worker_id = :worker"
        params["worker"] = worker_id
    rows = session.execute(text(f"""
        SELECT p.worker_id, CAST(p.shift_id AS text) AS shift,
               EXTRACT(EPOCH FROM p.recorded_at) AS t, p.position, p.accuracy, p.grid_code
        FROM track_points p
        WHERE p.recorded_at >= :start AND p.recorded_at < :end AND {where}
        ORDER BY p.worker_id, p.shift_id, p.recorded_at"""),  # noqa: S608
        {"start": start, "end": end, **params}).all()
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    xy = np.array([open_position(cipher, s) for s in cols[3]], dtype=np.float64)
    xy = xy.reshape(-1, 2)
    return TrackRows(np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=object),
                     np.array(cols[2], dtype=np.float64), xy[:, 0], xy[:, 1],
                     np.array([np.nan if a is None else a for a in cols[4]], dtype=np.float64),
                     np.array(cols[5], dtype=object))


def audit_track_read(session: Session, principal: Principal, worker_id: int | None,
                     what: str, details: dict[str, Any]) -> None:
    """The audit row of a read of workers' track points (``track.read``); no commit."""
    if worker_id == principal.id:
        return  # a worker reading their own day
    record(session, actor=Actor(principal.name, principal.id, principal.role),
           action="track.read", object_type="user",
           object_id=worker_id if worker_id is not None else "*", fields=[what],
           details=details)

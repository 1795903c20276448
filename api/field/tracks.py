"""Patrol shifts and their track points: start, stop, upload (each point once), retention.

Upload: a batch of positions (time, lon/lat in WGS84 or GCJ-02, accuracy) is
put in time order, converted to WGS84, projected to the territory's metric CRS
and passed through the noise rule of :func:`gis_core.tracks.noise_reasons`
(thresholds from :class:`api.settings.FieldSettings`), continuing from
the shift's last stored point before the batch. Kept points are stored with
their grid of the field layer; a point already stored for the shift at the
same time is skipped, so a batch sent again (a phone back online that never
heard the first answer) stores nothing twice.

Reads of stored points are in :mod:`api.field.supervision` (scoped, audited).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.principal import Principal
from api.errors import APIError
from api.field.scope import open_position, seal_position
from api.grids.lookup import GridLookup
from api.personal.cipher import PersonalCipher
from api.settings import FieldSettings
from gis_core.crs import from_wgs84
from gis_core.gcj02 import gcj02_to_wgs84
from gis_core.metric_zone import metric_crs
from gis_core.tracks import NoiseRule, noise_reasons


class ShiftIn(BaseModel):
    """A shift started on the phone, with the id the phone made for it."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID
    started_at: AwareDatetime


class ShiftStopIn(BaseModel):
    """The end of a shift."""

    model_config = ConfigDict(extra="forbid")
    ended_at: AwareDatetime


class PointIn(BaseModel):
    """One position of the phone."""

    model_config = ConfigDict(extra="forbid")
    t: AwareDatetime = Field(description="when the position was taken")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    accuracy: float | None = Field(None, ge=0, description="metres (68 % radius)")


class PointsIn(BaseModel):
    """A batch of positions of one shift."""

    model_config = ConfigDict(extra="forbid")
    crs: Literal["WGS84", "GCJ02"] = Field(
        "WGS84", description="WGS84 from the browser, GCJ02 from a phone map SDK")
    points: list[PointIn] = Field(min_length=1)


def noise_rule(settings: FieldSettings) -> NoiseRule:
    """The noise rule of these settings."""
    return NoiseRule(settings.track_max_accuracy_m, settings.track_max_speed_mps,
                     settings.track_max_jump_m)


def _actor(worker: Principal) -> Actor:
    return Actor(worker.name, worker.id, worker.role)


def start_shift(session: Session, worker: Principal, shift: ShiftIn) -> dict[str, Any]:
    """Start a shift (again: the same shift); 409 ``shift_taken`` when another user's id."""
    row = session.execute(text("""
        INSERT INTO patrol_shifts (id, worker_id, started_at) VALUES (:id, :worker, :at)
        ON CONFLICT (id) DO NOTHING RETURNING id"""),
        {"id": shift.id, "worker": worker.id, "at": shift.started_at}).first()
    if row is not None:
        record(session, actor=_actor(worker), action="patrol.start", object_type="shift",
               object_id=shift.id, after={"started_at": shift.started_at.isoformat()})
    found = _shift(session, worker, shift.id)
    session.commit()
    return found


def stop_shift(session: Session, worker: Principal, shift_id: uuid.UUID,
               stop: ShiftStopIn) -> dict[str, Any]:
    """End a shift (an end sent again keeps the first one)."""
    found = _shift(session, worker, shift_id)
    if found["ended_at"] is None:
        if stop.ended_at < found["started_at"]:
            raise APIError(422, "invalid_shift_end", "ended_at must not be before the shift's "
                           f"start ({found['started_at'].isoformat()})")
        session.execute(text("UPDATE patrol_shifts SET ended_at = :at WHERE id = :id"),
                        {"id": shift_id, "at": stop.ended_at})
        record(session, actor=_actor(worker), action="patrol.stop", object_type="shift",
               object_id=shift_id, after={"ended_at": stop.ended_at.isoformat()})
        found = _shift(session, worker, shift_id)
    session.commit()
    return found


def _shift(session: Session, worker: Principal, shift_id: uuid.UUID) -> dict[str, Any]:
    row = session.execute(text(
        "SELECT id, worker_id, started_at, ended_at FROM patrol_shifts WHERE id = :id"),
        {"id": shift_id}).mappings().first()
    if row is None:
        raise APIError(404, "shift_not_found", f"no shift {shift_id}; start it first "
                       "(POST /api/v1/field/shifts)")
    if row["worker_id"] != worker.id:
        raise APIError(409, "shift_taken", f"shift {shift_id} is another user's; make a new id")
    return dict(row)


def shift_view(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON of a shift."""
    return {"id": str(row["id"]), "started_at": row["started_at"].isoformat(),
            "ended_at": row["ended_at"].isoformat() if row["ended_at"] else None}


_ANCHOR = text("""
SELECT recorded_at, position FROM track_points
WHERE shift_id = :shift AND recorded_at < :before ORDER BY recorded_at DESC LIMIT 1""")

_INSERT = text("""
INSERT INTO track_points (shift_id, worker_id, recorded_at, position, accuracy, grid_code)
SELECT :shift, :worker, to_timestamp(t), pos, a, g
FROM unnest(CAST(:ts AS float8[]), CAST(:positions AS text[]),
            CAST(:accs AS float8[]), CAST(:grids AS text[])) AS p(t, pos, a, g)
ON CONFLICT ON CONSTRAINT uq_track_points_shift_time DO NOTHING""")


def add_points(session: Session, cipher: PersonalCipher, lookup: GridLookup,
               settings: FieldSettings, worker: Principal, shift_id: uuid.UUID,
               batch: PointsIn) -> dict[str, Any]:
    """Store the kept points of a batch once each; say how many were kept, repeated, dropped."""
    if len(batch.points) > settings.track_max_batch:
        raise APIError(413, "too_many_points", f"at most {settings.track_max_batch} points per "
                       "upload (GRIDGOV_TRACK_MAX_BATCH); send the rest in another batch")
    _shift(session, worker, shift_id)
    points = sorted(batch.points, key=lambda p: p.t)
    lon = np.array([p.lon for p in points])
    lat = np.array([p.lat for p in points])
    if batch.crs == "GCJ02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    reasons = _reasons(session, cipher, settings, shift_id, points, lon, lat)
    keep = np.array([r is None for r in reasons])
    stored = _insert(session, cipher, lookup, settings, worker, shift_id,
                     [p for p, k in zip(points, keep, strict=True) if k], lon[keep], lat[keep])
    session.commit()
    return {"shift": str(shift_id), "received": len(points), "stored": stored,
            "repeated": int(keep.sum()) - stored,
            "dropped": dict(sorted(Counter(r for r in reasons if r is not None).items()))}


def _reasons(session: Session, cipher: PersonalCipher, settings: FieldSettings,
             shift_id: uuid.UUID,
             points: list[PointIn], lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    crs = metric_crs(float(np.median(lon)), float(np.median(lat)))
    x, y = from_wgs84(lon, lat, crs)
    origin = points[0].t
    t = np.array([(p.t - origin).total_seconds() for p in points])
    acc = np.array([np.nan if p.accuracy is None else p.accuracy for p in points])
    prev = session.execute(_ANCHOR, {"shift": shift_id, "before": origin}).first()
    anchor = None
    if prev is not None:
        plon, plat = open_position(cipher, prev.position)
        ax, ay = from_wgs84([plon], [plat], crs)
        anchor = ((prev.recorded_at - origin).total_seconds(), float(ax[0]), float(ay[0]))
    return noise_reasons(t, x, y, acc, noise_rule(settings), anchor)


def _insert(session: Session, cipher: PersonalCipher, lookup: GridLookup,
            settings: FieldSettings, worker: Principal, shift_id: uuid.UUID,
            points: list[PointIn], lon: np.ndarray, lat: np.ndarray) -> int:
    if not points:
        return 0
    grids = lookup.assign(lon, lat)
    layer = settings.field_grid_layer
    codes = grids[layer].tolist() if layer in grids else [None] * len(points)
    result = session.execute(_INSERT, {
        "shift": shift_id, "worker": worker.id, "ts": [p.t.timestamp() for p in points],
        "positions": [seal_position(cipher, x, y) for x, y in zip(lon.tolist(), lat.tolist(),
                                                                   strict=True)],
        "accs": [p.accuracy for p in points],
        "grids": [c if isinstance(c, str) else None for c in codes]})
    return int(getattr(result, "rowcount", 0) or 0)


def purge_old_points(session: Session, days: int, now: datetime | None = None) -> int:
    """Delete track points older than ``days`` (and shifts left with none), audited; no commit."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    result: Any = session.execute(text("DELETE FROM track_points WHERE recorded_at < :cutoff"),
                                  {"cutoff": cutoff})
    deleted = int(result.rowcount or 0)
    session.execute(text("""
        DELETE FROM patrol_shifts s WHERE COALESCE(s.ended_at, s.started_at) < :cutoff
          AND NOT EXISTS (SELECT 1 FROM track_points p WHERE p.shift_id = s.id)"""),
        {"cutoff": cutoff})
    if deleted:
        record(session, actor="system", action="track.purge", object_type="track_points",
               details={"before": cutoff.isoformat(), "points": deleted, "days": days})
    return int(deleted)

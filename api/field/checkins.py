"""Plate check-ins: a worker scanned a building's plate; record it with the distance.

The phone decodes the plate's QR code (``BarcodeDetector`` or jsQR in the
app) and sends the text read (the plate URL ``.../b/{code}`` or a bare code)
with its position. The check-in is stored with the distance in metres from the
phone to the building's footprint (0 inside it, on the spheroid); one farther
than ``GRIDGOV_CHECKIN_FLAG_DISTANCE_M`` (default 50), or without a position,
is stored **flagged**, never refused. The ``Idempotency-Key`` of the request
makes a check-in sent again (after being offline) count once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.errors import APIError
from api.settings import FieldSettings
from coding import qr
from gis_core.gcj02 import gcj02_to_wgs84


class CheckinIn(BaseModel):
    """A scanned plate, when, and where the phone was."""

    model_config = ConfigDict(extra="forbid")
    payload: str = Field(min_length=1, max_length=500, description="the text of the plate's QR")
    at: AwareDatetime
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: Literal["WGS84", "GCJ02"] = "WGS84"
    accuracy: float | None = Field(None, ge=0)


_INSERT = text("""
WITH b AS (
    SELECT b.id, b.code, b.geom,
           (SELECT g.code FROM grids g JOIN grid_layers l ON l.id = g.layer_id
            WHERE l.name = :layer AND g.valid_to IS NULL
              AND ST_Covers(g.geom, ST_PointOnSurface(b.geom)) ORDER BY g.code LIMIT 1) AS grid
    FROM buildings b WHERE b.code = :code
), phone AS (SELECT CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
                    ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END AS geom)
INSERT INTO field_checkins (worker_id, building_id, at, geom, accuracy, distance_m, flagged,
                            grid_code, client_key)
SELECT :worker, b.id, :at, phone.geom, :accuracy, d.m, d.m IS NULL OR d.m > :flag_m, b.grid,
       :key
FROM b, phone, LATERAL (SELECT ST_Distance(CAST(b.geom AS geography),
                                           CAST(phone.geom AS geography)) AS m) d
ON CONFLICT ON CONSTRAINT uq_field_checkins_worker_key DO NOTHING
RETURNING id""")

_VIEW = text("""
SELECT c.id, b.code AS building_code, b.address, c.at, c.distance_m, c.flagged, c.grid_code,
       c.accuracy
FROM field_checkins c JOIN buildings b ON b.id = c.building_id
WHERE c.worker_id = :worker AND c.client_key = :key""")


def check_in(session: Session, settings: FieldSettings, worker: Principal, body: CheckinIn,
             key: str | None, base_url: str) -> tuple[dict[str, Any], bool]:
    """Record a check-in (once per Idempotency-Key); the check-in and whether it is new."""
    if not key:
        raise APIError(422, "idempotency_key_required", "send an 'Idempotency-Key' header "
                       "(1 to 128 characters) so a check-in sent again counts once")
    code = qr.parse_plate_url(body.payload, base_url=base_url)
    if code is None:
        raise APIError(422, "not_a_building_plate", f"the QR code reads {body.payload[:200]!r}, "
                       f"which is not one of our building plates ({base_url}/b/CODE)")
    lon, lat = _wgs84(body)
    if not session.execute(text("SELECT 1 FROM buildings WHERE code = :c"), {"c": code}).first():
        raise APIError(404, "building_not_found", f"no building with code {code}")
    new = session.execute(_INSERT, {
        "layer": settings.field_grid_layer, "code": code, "lon": lon, "lat": lat,
        "worker": worker.id, "at": body.at, "accuracy": body.accuracy,
        "flag_m": settings.checkin_flag_distance_m, "key": key}).first() is not None
    row = session.execute(_VIEW, {"worker": worker.id, "key": key}).mappings().one()
    session.commit()
    return _view(dict(row)), new


def _wgs84(body: CheckinIn) -> tuple[float | None, float | None]:
    if (body.lon is None) != (body.lat is None):
        raise APIError(422, "invalid_position", "send both lon and lat, or neither")
    if body.lon is None or body.lat is None:
        return None, None
    if body.crs == "GCJ02":
        x, y = gcj02_to_wgs84(np.array([body.lon]), np.array([body.lat]))
        return float(x[0]), float(y[0])
    return body.lon, body.lat


def _view(row: dict[str, Any]) -> dict[str, Any]:
    at: datetime = row.pop("at")
    distance = row["distance_m"]
    return {**row, "at": at.isoformat(),
            "distance_m": None if distance is None else round(float(distance), 1)}

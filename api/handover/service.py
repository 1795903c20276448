"""Forwarding reports to neighbours and polling their status back.

A report whose location is outside every grid of our territory
(``OutsideJurisdiction`` from the intake) but inside the territory of a
configured neighbour is forwarded (:func:`forward`): a GeoReport v2
``POST {endpoint}/requests.json`` with the neighbour's key, the category as
``service_code``, the point and the description. We keep a hand-over row with
our id and theirs; the resident is told where the report went. :func:`poll`
asks each neighbour for the status of the forwarded reports still open
(``GET {endpoint}/requests.json?service_request_id=...``) and stores it.
Neighbours are administered with :func:`set_neighbour` (audited; the key is
encrypted at rest with the personal-data key). A neighbour
that cannot be reached or refuses: 502 ``neighbour_unavailable``, nothing stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.errors import APIError
from api.handover.models import Handover, Neighbour
from api.personal.cipher import PersonalCipher
from gis_core.errors import OutsideJurisdiction

TIMEOUT_S = 10.0
#: the column a neighbour's key is sealed for (encrypted like personal data)
KEY_COLUMN = "neighbours.api_key"


def neighbour_at(session: Session, lon: float, lat: float) -> Neighbour | None:
    """The neighbour whose territory covers ``(lon, lat)`` (the first by code), if any."""
    return session.execute(
        select(Neighbour).where(text("ST_Covers(territory, ST_Point(:x, :y, 4326))")
                                .bindparams(x=lon, y=lat))
        .order_by(Neighbour.code).limit(1)).scalar_one_or_none()


def _unavailable(neighbour: Neighbour, why: str) -> APIError:
    return APIError(502, "neighbour_unavailable",
                    f"the report is in the territory of {neighbour.name}, whose system did not "
                    f"take it ({why}); try again later")


def _post(neighbour: Neighbour, form: dict[str, str]) -> str:
    try:
        resp = httpx.post(f"{neighbour.endpoint}/requests.json", data=form, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise _unavailable(neighbour, type(exc).__name__) from None
    if resp.status_code >= 400:
        raise _unavailable(neighbour, f"HTTP {resp.status_code}: {resp.text[:200]}")
    try:
        return str(resp.json()[0]["service_request_id"])
    except (ValueError, LookupError, TypeError):
        raise _unavailable(neighbour, "no service_request_id in its answer") from None


def forward(session: Session, cipher: PersonalCipher, neighbour: Neighbour, category: str,
            lon: float, lat: float, description: str | None) -> dict[str, Any]:
    """Forward a report to ``neighbour``; store the hand-over; the caller commits."""
    form = {"api_key": cipher.decrypt(neighbour.api_key, KEY_COLUMN) or "",
            "service_code": category, "lat": repr(lat), "long": repr(lon),
            "description": description or ""}
    their_id = _post(neighbour, form)
    row = Handover(neighbour_code=neighbour.code, their_id=their_id, category_code=category,
                   geom=f"SRID=4326;POINT({lon!r} {lat!r})", description=description,
                   their_status="open")
    session.add(row)
    session.flush()
    return {"forwarded": True, "handover_id": row.id, "neighbour": neighbour.code,
            "neighbour_request_id": their_id,
            "message": f"This place is in the territory of {neighbour.name}; your report was "
                       f"sent to them as request {their_id}."}


def _statuses(neighbour: Neighbour, ids: Sequence[str]) -> dict[str, str]:
    try:
        resp = httpx.get(f"{neighbour.endpoint}/requests.json", timeout=TIMEOUT_S,
                         params={"service_request_id": ",".join(ids)})
        resp.raise_for_status()
        return {str(r["service_request_id"]): str(r["status"]) for r in resp.json()}
    except (httpx.HTTPError, ValueError, LookupError, TypeError) as exc:
        raise _unavailable(neighbour, type(exc).__name__) from None


def poll(session: Session, now: datetime) -> int:
    """Store the neighbours' status of the open hand-overs; how many changed. Caller commits."""
    changed = 0
    for neighbour in session.execute(select(Neighbour).order_by(Neighbour.code)).scalars():
        rows = session.execute(select(Handover).where(
            Handover.neighbour_code == neighbour.code, Handover.their_status == "open")
            .order_by(Handover.id)).scalars().all()
        if not rows:
            continue
        statuses = _statuses(neighbour, [r.their_id for r in rows])
        for row in rows:
            status = statuses.get(row.their_id, row.their_status)
            changed += status != row.their_status
            row.their_status, row.polled_at = status, now
    return changed


def list_handovers(session: Session, limit: int) -> list[dict[str, Any]]:
    """The forwarded reports, newest first, with both ids and the neighbour's status."""
    rows = session.execute(text("""
        SELECT id, neighbour_code, their_id, category_code, their_status, forwarded_at,
               polled_at, ST_X(geom) AS lon, ST_Y(geom) AS lat
        FROM handovers ORDER BY id DESC LIMIT :n"""), {"n": limit}).mappings().all()
    return [{**r, "forwarded_at": r["forwarded_at"].isoformat(),
             "polled_at": r["polled_at"].isoformat() if r["polled_at"] else None}
            for r in rows]


def set_neighbour(session: Session, cipher: PersonalCipher, code: str, name: str,
                  territory: dict[str, Any], endpoint: str, api_key: str, by: Actor
                  ) -> dict[str, Any]:
    """Create or change neighbour ``code`` (territory: GeoJSON, EPSG:4326); audited.

    The key is stored encrypted with the personal-data key.
    """
    try:
        shape = shapely.from_geojson(json.dumps(territory))
    except shapely.errors.GEOSException:
        raise APIError(422, "invalid_geometry", "field 'territory': not a GeoJSON geometry",
                       field="territory") from None
    if shape.geom_type not in ("Polygon", "MultiPolygon") or not shape.is_valid:
        raise APIError(422, "invalid_geometry", "field 'territory': a valid Polygon or "
                       "MultiPolygon is required", field="territory")
    multi = shapely.MultiPolygon([shape]) if shape.geom_type == "Polygon" else shape
    row = session.get(Neighbour, code) or Neighbour(code=code)
    row.name, row.endpoint = name, endpoint.rstrip("/")
    row.api_key = cipher.encrypt(api_key, KEY_COLUMN) or ""
    row.territory = f"SRID=4326;{multi.wkt}"
    session.add(row)
    record(session, actor=by, action="neighbour.set", object_type="neighbour", object_id=code,
           after={"name": name, "endpoint": row.endpoint})
    return {"code": code, "name": name, "endpoint": row.endpoint}


def forward_outside(session: Session, cipher: PersonalCipher, outside: OutsideJurisdiction,
                    category: str, description: str | None) -> dict[str, Any]:
    """Forward a report refused as outside our territory when a neighbour covers it.

    Re-raises ``outside`` (422 ``outside_jurisdiction``) when no neighbour does;
    commits the hand-over otherwise.
    """
    lon, lat = outside.details.get("lon"), outside.details.get("lat")
    if not isinstance(lon, float | int) or not isinstance(lat, float | int):
        raise outside
    found = neighbour_at(session, float(lon), float(lat))
    if found is None:
        raise outside
    out = forward(session, cipher, found, category, float(lon), float(lat), description)
    session.commit()
    return out

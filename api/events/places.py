"""Where a report is: coordinates checked, a building code or an address resolved.

A location is, in this order of precedence, a building code (the building's
point on surface), ``lon``/``lat`` in EPSG:4326, or an address (normalised exact
match on ``buildings.address``; at most :data:`MAX_ADDRESS` characters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from api.db.models import NORMALISED_ADDRESS, Building
from gis_core.crs import to_wgs84
from gis_core.errors import InvalidCoordinates, InvalidInput

#: the longest address matched against the buildings (characters)
MAX_ADDRESS = 200


@dataclass(frozen=True)
class Place:
    """Where a report is: EPSG:4326 point and, when known, the building."""

    lon: float
    lat: float
    building_id: int | None = None


def invalid(message: str, code: str, **details: Any) -> InvalidInput:
    """The 422 of a field of a report: ``message`` and the machine-readable ``code``."""
    return InvalidInput(message, code=code, **details)


def _check_lonlat(lon: float, lat: float) -> Place:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidCoordinates("field 'location': coordinates must be finite numbers",
                                 field="location")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidCoordinates("field 'location': lon must be in [-180, 180] and lat in "
                                 "[-90, 90] (give 'crs' for projected coordinates)",
                                 field="location")
    return Place(float(lon), float(lat))


def resolve_building(session: Session | Connection, code: str) -> Place:
    """The point of the building with ``code`` (a point on its footprint)."""
    row = session.execute(
        select(Building.id, Building.geom.ST_PointOnSurface().ST_X(),
               Building.geom.ST_PointOnSurface().ST_Y()).where(Building.code == code)
    ).one_or_none()
    if row is None:
        raise invalid(f"field 'building_code': no building with code {code!r}",
                    "building_not_found", field="building_code")
    return Place(float(row[1]), float(row[2]), int(row[0]))


def resolve_address(session: Session | Connection, address: str, limit: int = 5) -> Place:
    """The building whose address equals ``address`` once both are normalised.

    Unresolved: 422 ``address_not_found`` with up to ``limit`` close addresses
    (pg_trgm similarity above its threshold, nearest first, from the trigram
    index) in ``details.suggestions``. Longer than :data:`MAX_ADDRESS`: 422.
    """
    if len(address) > MAX_ADDRESS:
        raise invalid(f"field 'address': at most {MAX_ADDRESS} characters", "address_too_long",
                    field="address")
    norm = NORMALISED_ADDRESS.format(col="b.address")
    given = NORMALISED_ADDRESS.format(col="CAST(:a AS text)")
    row = session.execute(text(
        f"SELECT b.id, ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom)) "  # noqa: S608 - SQL from trusted parts; values bound
        f"FROM buildings b WHERE {norm} = {given} ORDER BY b.id LIMIT 1"), {"a": address}
    ).one_or_none()
    if row is not None:
        return Place(float(row[1]), float(row[2]), int(row[0]))
    suggestions = session.execute(text(
        "SELECT address FROM buildings WHERE address % CAST(:a AS text) "
        "ORDER BY address <-> CAST(:a AS text), address LIMIT :n"),
        {"a": address, "n": limit}).scalars().all()
    raise invalid(f"field 'address': no building has the address {address!r}",
                "address_not_found", field="address", suggestions=list(suggestions))


def resolve_place(session: Session | Connection, *, lon: float | None, lat: float | None,
                  x: float | None, y: float | None, crs: str,
                  building_code: str | None, address: str | None) -> Place:
    """Turn one of the accepted location forms into an EPSG:4326 point."""
    if building_code:
        return resolve_building(session, building_code)
    if lon is not None and lat is not None:
        return _check_lonlat(lon, lat)
    if x is not None and y is not None:
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidCoordinates("field 'location': x and y must be finite numbers",
                                     field="location")
        try:
            lons, lats = to_wgs84(np.array([x], float), np.array([y], float), crs)
        except InvalidInput as exc:
            raise type(exc)(f"field 'location': {exc.message}", field="location") from None
        return _check_lonlat(float(lons[0]), float(lats[0]))
    if address and address.strip():
        return resolve_address(session, address.strip())
    raise invalid("a location is required: 'location' {x, y, crs}, 'building_code' or "
                "'address'", "location_required", field="location")


def grid_dicts(frame: Any) -> list[dict[str, Any]]:
    """Rows of ``GridLookup.assign`` as ``{layer: code or sorted codes}`` (no empty layers)."""
    out = []
    for row in frame.itertuples(index=False, name=None):
        out.append({str(k): (sorted(map(str, v)) if isinstance(v, list | tuple | np.ndarray)
                             else str(v))
                    for k, v in zip(frame.columns, row, strict=True) if v is not None})
    return out

"""Codes and QR: building plates (SVG, PNG, PDF sheets), scan to record, BeiDou grid codes."""

from __future__ import annotations

import math
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Query, Request, Response, UploadFile
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.access import Staff, public
from api.buildings.router import building_record
from api.deps import PublicBaseDep, SessionDep, SettingsDep
from api.errors import APIError
from api.media import images
from api.routing import Router
from coding import beidou, plates, qr
from gis_core.errors import InvalidCode, InvalidInput, NotAnImage
from layers.vocabulary import OPEN_STATUSES

router = Router(prefix="/api/v1", tags=["codes"])

#: Radius of the cameras listed with a scanned building (m).
CAMERA_RADIUS_M = 100.0


def _building(session: Session, code: str) -> dict[str, Any]:
    row = session.execute(text("SELECT code, address, name FROM buildings WHERE code = :c"),
                          {"c": code}).mappings().one_or_none()
    if row is None:
        raise APIError(404, "building_not_found", f"no building with code {code!r}")
    return dict(row)


@router.get("/buildings/{code}/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
@public
def building_qr_svg(code: str, session: SessionDep, base: PublicBaseDep) -> Response:
    """The building's plate QR code as SVG; it encodes ``{public_base_url}/b/{code}``."""
    building = _building(session, code)
    url = qr.plate_url(base, building["code"])
    return Response(qr.make_svg(url), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/buildings/{code}/qr.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
@public
def building_qr_png(code: str, session: SessionDep, base: PublicBaseDep,
                    scale: Annotated[int, Query(ge=1, le=40, description="pixels per module")]
                    = 8) -> Response:
    """The building's plate QR code as PNG."""
    building = _building(session, code)
    url = qr.plate_url(base, building["code"])
    return Response(qr.make_png(url, scale=scale), media_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


def grid_plate_records(session: Session, grid_code: str) -> tuple[str, list[dict[str, str]]]:
    """The grid's name and the plate records of the buildings whose largest part lies in it."""
    grid = session.execute(text(
        "SELECT g.code, g.name, l.name AS layer FROM grids g JOIN grid_layers l "
        "ON l.id = g.layer_id WHERE (g.code = :c OR g.alias_code = :c) AND g.valid_to IS NULL "
        "ORDER BY g.code LIMIT 1"), {"c": grid_code}).mappings().one_or_none()
    if grid is None:
        raise APIError(404, "grid_not_found", f"no current grid with code {grid_code!r}")
    rows = session.execute(text(
        "SELECT code, coalesce(address, '') AS address, coalesce(name, '') AS name "
        "FROM buildings WHERE attributes -> 'grids' ->> :layer = :code ORDER BY code"),
        {"layer": grid["layer"], "code": grid["code"]}).mappings().all()
    return f"{grid['name'] or ''} {grid['code']}".strip(), [dict(r) for r in rows]


@router.get("/grids/{code}/plates.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def grid_plates_pdf(code: str, session: SessionDep, base: PublicBaseDep) -> Response:
    """Printable A4 sheets of the QR plates of every building in a grid (10 per page)."""
    title, records = grid_plate_records(session, code)
    pdf = plates.plates_pdf(records, title=f"楼栋二维码门牌 · {title}",
                            base_url=base)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="plates-{code}.pdf"'})


def scan_record(session: Session, code: str, scope: tuple[str, dict[str, Any]] = ("TRUE", {})
                ) -> dict[str, Any]:
    """A building record for a grid worker: grids per layer, nearby cameras, open events.

    ``scope`` (``Principal.event_sql("e")``) limits the open events to the reader's.
    """
    condition, scope_params = scope
    record = building_record(session, code)
    props = record["properties"]
    props["grids"] = (props.get("attributes") or {}).get("grids", {})
    props["cameras"] = [dict(r) for r in session.execute(text(
        "SELECT c.code, c.name, c.kind, c.status, round(ST_Distance(c.geom::geography, "
        "b.geom::geography)::numeric, 1)::float AS distance_m "
        "FROM buildings b JOIN cameras c ON ST_DWithin(c.geom::geography, b.geom::geography, "
        ":r) WHERE b.code = :code ORDER BY distance_m, c.code"),
        {"code": code, "r": CAMERA_RADIUS_M}).mappings()]
    props["open_events"] = [dict(r) for r in session.execute(text(
        "SELECT e.id, e.status, c.code AS category, c.name AS category_name, "  # noqa: S608 - SQL from trusted parts; values bound
        "e.reported_at, e.due_at, e.description FROM events e "
        "JOIN buildings b ON b.id = e.building_id JOIN event_categories c "
        f"ON c.id = e.category_id WHERE b.code = :code AND e.status = ANY(:open) AND {condition} "
        "ORDER BY e.reported_at DESC LIMIT 50"),
        {"code": code, "open": list(OPEN_STATUSES), **scope_params}).mappings()]
    return record


@router.post("/buildings/scan")
async def scan_building(request: Request, session: SessionDep, settings: SettingsDep,
                        base: PublicBaseDep, principal: Staff, image: UploadFile
                        ) -> dict[str, Any]:
    """Read the QR plate in a photo and return the building's record.

    Upload the photo as multipart field ``image`` (JPEG, PNG or WebP recognised
    from its bytes, at most 10 MB and 40 megapixels). The record adds the
    building's grid in every layer, the cameras within 100 m and the building's
    open events. Errors: 413 ``too_large`` or ``image_too_large`` (checked from the
    header, before decoding), 415 not JPEG/PNG/WebP, 422 ``no_qr_found`` or
    ``not_a_building_plate`` (a QR code that is not a valid building plate, e.g. a
    wrong check character), 404 unknown building.
    """
    limits = settings.events
    photo = images.check_photo(await image.read(limits.max_photo_bytes + 1), field="image",
                               max_bytes=limits.max_photo_bytes,
                               max_pixels=limits.max_photo_pixels)
    try:
        text_read = await anyio.to_thread.run_sync(qr.read, photo.content)
    except NotAnImage as exc:
        raise APIError(415, "unsupported_media_type", f"field 'image': {exc}") from None
    if text_read is None:
        raise APIError(422, "no_qr_found", "no QR code could be read in the photo; hold the "
                                           "phone closer and keep the plate flat and lit")
    code = qr.parse_plate_url(text_read, base_url=base)
    if code is None:
        raise APIError(422, "not_a_building_plate",
                       f"the QR code reads {text_read[:200]!r}, which is not one of our building "
                       f"plates ({base}/b/ and a building code with a "
                       "valid check character)")
    return await anyio.to_thread.run_sync(scan_record, session, code, principal.event_sql("e"))


def _check_level(level: int) -> None:
    if not 1 <= level <= 10:
        raise InvalidInput(f"query parameter 'level': 1 to 10, got {level}", parameter="level")


@router.get("/beidou/{code}")
def beidou_cell(code: str) -> dict[str, Any]:
    """A BeiDou grid location code (GB/T 39409) as a GeoJSON Feature of its cell."""
    try:
        return beidou.cell_geojson(code)
    except InvalidCode as exc:
        raise APIError(422, "invalid_beidou_code", f"path parameter 'code': {exc}") from None


@router.get("/beidou")
def beidou_encode(
    lon: Annotated[float, Query(description="longitude (WGS84 / CGCS2000)")],
    lat: Annotated[float, Query(description="latitude")],
    level: Annotated[int, Query(description="1 (1° x 1° ... 6° x 4°) to 10 (~1/2048\")")] = 10,
) -> dict[str, Any]:
    """Encode a point as a BeiDou grid location code; the cell comes back as a Feature."""
    for name, value in (("lon", lon), ("lat", lat)):
        if not math.isfinite(value):
            raise InvalidInput(f"query parameter '{name}': a finite number is required",
                               parameter=name)
    if not -180 <= lon <= 180:
        raise InvalidInput("query parameter 'lon': -180 to 180", parameter="lon")
    if not -90 <= lat <= 90:
        raise InvalidInput("query parameter 'lat': -90 to 90", parameter="lat")
    _check_level(level)
    try:
        code = beidou.encode(lon, lat, level)
    except InvalidInput as exc:
        raise InvalidInput(f"query parameter 'lat': {exc}", parameter="lat") from None
    cell = beidou.cell_geojson(code)
    return {**cell, "properties": {**cell.get("properties", {}), "code": code, "level": level,
                                   "lon": lon, "lat": lat}}

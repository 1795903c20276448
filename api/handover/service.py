"""Forwarding reports to neighbours and polling their status back.

A report whose location is outside every grid of our territory
(``OutsideJurisdiction`` from the intake) but inside the territory of a
configured neighbour is forwarded (:func:`forward`): a GeoReport v2
``POST {endpoint}/requests.json`` with the neighbour's key, the category as
``service_code``, the point and the description. We keep a hand-over row with
our id and theirs; the resident is told where the report went. :func:`poll_statuses`
asks a neighbour for the status of the forwarded reports still open
(``GET {endpoint}/requests.json?service_request_id=...``) and stores it.

Photos go with the report: the first photo given as a URL is the spec's
``media_url``; photo files are sent as ``media`` parts of a multipart form (a
gridgov's Open311 endpoint stores them as the new request's photos; others
ignore the parts). The reporter, when they left a contact, is told through the
outbox (a ``forwarded`` notification: the neighbour's name and request id; from a
gridgov, which answers the request's ``token``, ``forwarded_link`` with its
tracking page, :func:`tracking_link`); the
contact of a report forwarded at intake is kept, sealed, on the hand-over row.
A poll round (``api.handover.scheduled``) asks each neighbour on its own: one that
fails (:class:`NeighbourFailed`) is logged and recorded on its row, the others
are still asked.
Neighbours are administered with :func:`set_neighbour` (audited; the key is
encrypted at rest with the personal-data key). A neighbour
that cannot be reached or refuses: 502 ``neighbour_unavailable``, nothing stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.errors import APIError
from api.handover.models import Handover, Neighbour
from api.media.store import PhotoRef
from api.notify.outbox import notify_forwarded
from api.personal.cipher import PersonalCipher
from api.personal.models import HANDOVER_REPORTER
from gis_core.errors import OutsideJurisdiction

TIMEOUT_S = 10.0
#: what a tracking code of a gridgov looks like (``secrets.token_urlsafe``)
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: the column a neighbour's key is sealed for (encrypted like personal data)
KEY_COLUMN = "neighbours.api_key"


def neighbour_at(session: Session, lon: float, lat: float) -> Neighbour | None:
    """The neighbour whose territory covers ``(lon, lat)`` (the first by code), if any."""
    return session.execute(
        select(Neighbour).where(text("ST_Covers(territory, ST_Point(:x, :y, 4326))")
                                .bindparams(x=lon, y=lat))
        .order_by(Neighbour.code).limit(1)).scalar_one_or_none()


def unavailable(neighbour: Neighbour, why: str) -> APIError:
    """The 502 ``neighbour_unavailable`` of a neighbour that did not answer as it should."""
    return APIError(502, "neighbour_unavailable",
                    f"the report is in the territory of {neighbour.name}, whose system did not "
                    f"take it ({why}); try again later")


@dataclass(frozen=True)
class Case:
    """What a neighbour is sent of a report or case: category, point, text and photos."""

    category: str
    lon: float
    lat: float
    description: str | None
    photos: tuple[PhotoRef, ...] = field(default=())

    def media(self) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
        """The ``media_url`` form field (the first URL photo) and the ``media`` file parts."""
        urls = [p.url for p in self.photos if p.url]
        files = [("media", (Path(p.path).name, Path(p.path).read_bytes(),
                            p.content_type or "application/octet-stream"))
                 for p in self.photos if p.path and Path(p.path).is_file()]
        return ({"media_url": urls[0]} if urls else {}), files


def post_form(neighbour: Neighbour, url: str, form: dict[str, str],
              files: list[tuple[str, tuple[str, bytes, str]]] | None = None) -> Any:
    """POST ``form`` (and ``files``) to ``url`` of ``neighbour``; its JSON answer.

    Any failure is 502 ``neighbour_unavailable``.
    """
    try:
        resp = httpx.post(url, data=form, files=files or None, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise unavailable(neighbour, type(exc).__name__) from None
    if resp.status_code >= 400:
        raise unavailable(neighbour, f"HTTP {resp.status_code}: {resp.text[:200]}")
    try:
        return resp.json()
    except ValueError:
        raise unavailable(neighbour, "its answer is not JSON") from None


def post_request(neighbour: Neighbour, form: dict[str, str],
                 files: list[tuple[str, tuple[str, bytes, str]]]) -> tuple[str, str | None]:
    """POST a new service request to ``neighbour``; its ``service_request_id`` and tracking link.

    The link (:func:`tracking_link`) only from a gridgov, which answers the
    request's ``token``.
    """
    answer = post_form(neighbour, f"{neighbour.endpoint}/requests.json", form, files)
    try:
        their_id, token = str(answer[0]["service_request_id"]), answer[0].get("token")
    except (LookupError, TypeError, AttributeError):
        raise unavailable(neighbour, "no service_request_id in its answer") from None
    return their_id, tracking_link(neighbour, token)


def tracking_link(neighbour: Neighbour, token: Any) -> str | None:
    """The resident's page of a report at gridgov ``neighbour``: ``{its base}/t/{token}``.

    Its base is the endpoint without ``/open311/v2``. None for a plain Open311
    neighbour (its ``token`` is no tracking code) or a token that is not one.

    Examples
    --------
    >>> nb = Neighbour(endpoint="https://east.example/open311/v2", gridgov=True)
    >>> tracking_link(nb, "Ab-3_x")
    'https://east.example/t/Ab-3_x'
    >>> tracking_link(nb, "<a href>"), tracking_link(Neighbour(gridgov=False), "Ab")
    (None, None)
    """
    if not neighbour.gridgov or not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    return f"{neighbour.endpoint.removesuffix('/open311/v2')}/t/{token}"


def case_form(cipher: PersonalCipher, neighbour: Neighbour, case: Case) -> dict[str, str]:
    """The Open311 form fields of ``case`` for ``neighbour`` (with its key)."""
    return {"api_key": cipher.decrypt(neighbour.api_key, KEY_COLUMN) or "",
            "service_code": case.category, "lat": repr(case.lat), "long": repr(case.lon),
            "description": case.description or ""}


def record_handover(session: Session, cipher: PersonalCipher, neighbour: Neighbour, case: Case,
                    their_id: str, status: str, *, reporter: dict[str, Any] | None = None,
                    event_id: int | None = None, reason: str | None = None,
                    notify: bool = True, track_url: str | None = None) -> Handover:
    """Store a hand-over of ``case``; queue the reporter's ``forwarded`` notification.

    ``notify`` False: not yet (a transfer waiting for a gridgov's answer);
    ``track_url``: the neighbour's tracking link, told to the reporter.
    """
    contact = {k: cipher.encrypt(str(v), f.qualified) for k, f in HANDOVER_REPORTER.items()
               if (v := (reporter or {}).get(k))}
    row = Handover(neighbour_code=neighbour.code, their_id=their_id, category_code=case.category,
                   geom=f"SRID=4326;POINT({case.lon!r} {case.lat!r})",
                   description=case.description, their_status=status, event_id=event_id,
                   reason=reason, reporter_phone=contact.get("phone"),
                   reporter_email=contact.get("email"))
    session.add(row)
    session.flush()
    if notify:
        tell_reporter(session, neighbour, row, track_url)
    return row


def tell_reporter(session: Session, neighbour: Neighbour, row: Handover,
                  track_url: str | None) -> None:
    """Queue the ``forwarded`` (``forwarded_link`` with ``track_url``) message of ``row``."""
    notify_forwarded(session, row.id, {
        "neighbour": neighbour.name, "request_id": row.their_id,
        "category": row.category_code, **({"their_track_url": track_url} if track_url else {})})


def forward(session: Session, cipher: PersonalCipher, neighbour: Neighbour, case: Case,
            reporter: dict[str, Any] | None = None) -> dict[str, Any]:
    """Forward a report to ``neighbour`` with its photos; store the hand-over; caller commits.

    ``reporter`` (clear ``phone``/``email``, as given) is sealed on the hand-over
    and told through the outbox.
    """
    url, files = case.media()
    their_id, link = post_request(neighbour, {**case_form(cipher, neighbour, case), **url},
                                  files)
    row = record_handover(session, cipher, neighbour, case, their_id, "open", reporter=reporter,
                          track_url=link)
    follow = f" Follow it at {link}" if link else ""
    return {"forwarded": True, "handover_id": row.id, "neighbour": neighbour.code,
            "neighbour_request_id": their_id, "neighbour_tracking_url": link,
            "message": f"This place is in the territory of {neighbour.name}; your report was "
                       f"sent to them as request {their_id}.{follow}"}


class NeighbourFailed(Exception):
    """A neighbour did not answer a poll as it should; the message says how.

    ``answered``: it was reached and answered this one request wrongly (an HTTP
    4xx, something that is not JSON, or JSON without what was asked), so its
    other requests may still be asked; False when it could not be reached or
    failed itself (a 5xx).
    """

    def __init__(self, message: str, answered: bool = False) -> None:
        super().__init__(message)
        self.answered = answered


def get_json(url: str, params: dict[str, str], timeout: float) -> Any:
    """GET ``url`` of a neighbour, waiting ``timeout`` s at most per step; its JSON answer.

    Raises :class:`NeighbourFailed` when it cannot be reached, answers an HTTP
    error or something that is not JSON.
    """
    try:
        resp = httpx.get(url, params=params, timeout=timeout)
    except httpx.HTTPError as exc:
        raise NeighbourFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
    if resp.status_code >= 400:
        raise NeighbourFailed(f"HTTP {resp.status_code} from {url}",
                              answered=resp.status_code < 500)
    try:
        return resp.json()
    except ValueError:
        raise NeighbourFailed(f"the answer of {url} is not JSON", answered=True) from None


def poll_statuses(neighbour: Neighbour, rows: Sequence[Handover], now: datetime,
                  timeout: float) -> int:
    """Store ``neighbour``'s status of its open hand-overs ``rows``; how many changed.

    Raises :class:`NeighbourFailed` (nothing changed) when it does not answer.
    """
    rows = [r for r in rows if r.their_status == "open"]
    if not rows:
        return 0
    answer = get_json(f"{neighbour.endpoint}/requests.json",
                      {"service_request_id": ",".join(r.their_id for r in rows)}, timeout)
    try:
        statuses = {str(r["service_request_id"]): str(r["status"]) for r in answer}
    except (LookupError, TypeError):
        raise NeighbourFailed("its answer is not a list of requests with their "
                              "status") from None
    changed = 0
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
                  territory: dict[str, Any], endpoint: str, api_key: str, by: Actor, *,
                  gridgov: bool = False) -> dict[str, Any]:
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
    row.name, row.endpoint, row.gridgov = name, endpoint.rstrip("/"), gridgov
    row.api_key = cipher.encrypt(api_key, KEY_COLUMN) or ""
    row.territory = f"SRID=4326;{multi.wkt}"
    session.add(row)
    record(session, actor=by, action="neighbour.set", object_type="neighbour", object_id=code,
           after={"name": name, "endpoint": row.endpoint, "gridgov": gridgov})
    return {"code": code, "name": name, "endpoint": row.endpoint, "gridgov": gridgov}


def forward_outside(session: Session, cipher: PersonalCipher, outside: OutsideJurisdiction,
                    category: str, description: str | None,
                    photos: Sequence[PhotoRef] = (), reporter: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
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
    case = Case(category, float(lon), float(lat), description, tuple(photos))
    out = forward(session, cipher, found, case, reporter)
    session.commit()
    return out

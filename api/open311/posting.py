"""A service request POSTed through Open311: its form fields checked and read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from api.events.places import MAX_ADDRESS
from api.open311.service import MAX_DESCRIPTION, Open311Error
from api.validation import text_problem


@dataclass(frozen=True)
class NewRequest:
    """A validated POST requests form."""

    service_code: str
    lon: float | None
    lat: float | None
    address: str | None
    building_code: str | None
    description: str | None
    media_url: str | None
    reporter: dict[str, str | None]
    attributes: dict[str, str]


def _number(form: Mapping[str, str], name: str) -> float | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number, got {raw!r}") from None
    limit = 90.0 if name == "lat" else 180.0
    if not -limit <= value <= limit:
        raise Open311Error(400, f"{name} must be within [-{limit:g}, {limit:g}], got {raw}")
    return value


def check_fields(form: Mapping[str, str]) -> None:
    """Refuse a field whose name or value PostgreSQL cannot store (422 naming it)."""
    for name, value in form.items():
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            raise Open311Error(422, f"invalid_text: field {name!r}: {problem}")


def _text(form: Mapping[str, str], name: str) -> str | None:
    value = (form.get(name) or "").strip()
    return value or None


def _location(form: Mapping[str, str]) -> tuple[float | None, float | None, str | None,
                                                 str | None]:
    lat, lon = _number(form, "lat"), _number(form, "long")
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long must be given together")
    address, building = _text(form, "address_string"), _text(form, "address_id")
    if address is not None and len(address) > MAX_ADDRESS:
        raise Open311Error(422, f"address_string may not exceed {MAX_ADDRESS} characters")
    if lat is None and address is None and building is None:
        raise Open311Error(400, "a location is required: lat and long, address_string "
                                "or address_id (a building code)")
    return lon, lat, address, building


def parse_new_request(form: Mapping[str, str]) -> NewRequest:
    """Validate a POST requests form (the spec's field names)."""
    code = _text(form, "service_code")
    if code is None:
        raise Open311Error(400, "service_code is required")
    lon, lat, address, building = _location(form)
    description = _text(form, "description")
    if description and len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description may not exceed {MAX_DESCRIPTION} characters")
    media_url = _text(form, "media_url")
    if media_url and (urlparse(media_url).scheme not in ("http", "https")
                      or not urlparse(media_url).netloc):
        raise Open311Error(400, f"media_url must be an http(s) URL, got {media_url!r}")
    first, last = _text(form, "first_name"), _text(form, "last_name")
    name = " ".join(p for p in (first, last) if p) or None
    reporter: dict[str, str | None] = {
        k: v for k, v in (("name", name), ("phone", _text(form, "phone")),
                          ("email", _text(form, "email"))) if v}
    attributes = {k[len("attribute["):].split("]")[0]: v for k, v in form.items()
                  if k.startswith("attribute[") and "]" in k and v}
    return NewRequest(code, lon, lat, address, building, description, media_url, reporter,
                      attributes)


def posted(event_id: int, token: str, notice: str | None) -> list[dict[str, Any]]:
    """The POST response: id and token of the new request, with its service notice."""
    out: dict[str, Any] = {"service_request_id": str(event_id), "token": token}
    if notice:
        out["service_notice"] = notice
    return [out]

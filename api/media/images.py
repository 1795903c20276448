"""Photos: what we accept, recognised from their bytes, and how they are served back.

One rule for every photo the API takes (report photos, the QR scan):

- JPEG, PNG or WebP, recognised from the magic bytes; the declared content type
  and file name are never trusted. SVG, HTML, GIF and anything else: 415
  ``unsupported_media_type``.
- At most ``GRIDGOV_EVENTS_MAX_PHOTO_BYTES`` bytes (413 ``too_large``) and
  ``GRIDGOV_EVENTS_MAX_PHOTO_PIXELS`` pixels, read from the header before anything
  is decoded (413 ``image_too_large``); an image whose header cannot be read is 415.
- At most ``GRIDGOV_EVENTS_MAX_PHOTOS`` per report, files and URLs together
  (422 ``too_many_photos``); a photo URL must be ``http(s)`` (422
  ``invalid_photo_url``). URL photos are listed as links in the event, never
  redirected to.

Stored photos are served with the type sniffed from the stored bytes (a file
that is none of the three, e.g. stored by an older version, is sent as an
``application/octet-stream`` attachment), ``nosniff``, a ``Content-Disposition``
and a policy that lets nothing in the response run.
"""

from __future__ import annotations

import io
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from api.errors import APIError


@dataclass(frozen=True)
class ImageKind:
    """A photo format we accept."""

    name: str
    media_type: str
    extension: str
    pillow_format: str


JPEG = ImageKind("JPEG", "image/jpeg", ".jpg", "JPEG")
PNG = ImageKind("PNG", "image/png", ".png", "PNG")
WEBP = ImageKind("WebP", "image/webp", ".webp", "WEBP")

#: bytes to read from a file to recognise it
SNIFF_BYTES = 16
#: the Content-Security-Policy of a served photo: nothing in it may run or load
PHOTO_POLICY = "default-src 'none'; sandbox"


@dataclass(frozen=True)
class Photo:
    """An accepted photo: its kind, size in pixels and bytes."""

    kind: ImageKind
    width: int
    height: int
    content: bytes


def sniff(head: bytes) -> ImageKind | None:
    r"""The format of an image from its first bytes (``None``: not JPEG, PNG or WebP).

    Examples
    --------
    >>> sniff(b"\x89PNG\r\n\x1a\n....").name
    'PNG'
    >>> sniff(b"<svg xmlns='http://www.w3.org/2000/svg'>") is None
    True
    """
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def header_size(content: bytes, kind: ImageKind) -> tuple[int, int]:
    """Width and height from the image's header; nothing is decoded.

    A size past Pillow's own bomb limit comes back as ``(sys.maxsize, 1)``.

    Raises
    ------
    APIError
        415 ``unsupported_media_type`` when the header cannot be read as ``kind``.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[kind.pillow_format]) as im:
                return int(im.width), int(im.height)
    except Image.DecompressionBombError:  # Pillow's own bound, far past ours
        return sys.maxsize, 1
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise APIError(415, "unsupported_media_type",
                       f"the photo starts like a {kind.name} but its header cannot be "
                       "read") from None


def check_photo(content: bytes, *, max_bytes: int, max_pixels: int,
                field: str = "photos") -> Photo:
    """Accept a photo's bytes or refuse them (see the module docstring).

    Parameters
    ----------
    content
        The uploaded bytes.
    max_bytes, max_pixels
        The limits (``GRIDGOV_EVENTS_MAX_PHOTO_BYTES``, ``..._MAX_PHOTO_PIXELS``).
    field
        The form field, named in the messages.
    """
    if len(content) > max_bytes:
        raise APIError(413, "too_large", f"field '{field}': a photo is over {max_bytes:,} bytes")
    kind = sniff(content[:SNIFF_BYTES])
    if kind is None:
        raise APIError(415, "unsupported_media_type",
                       f"field '{field}': photos must be JPEG, PNG or WebP images "
                       "(recognised from their content)")
    width, height = header_size(content, kind)
    if width * height > max_pixels:
        size = f"{width} x {height} pixels" if width < sys.maxsize else "too many pixels"
        raise APIError(413, "image_too_large", f"field '{field}': the image has {size}; at "
                       f"most {max_pixels:,} pixels are accepted")
    return Photo(kind, width, height, content)


def check_photo_count(count: int, max_photos: int) -> None:
    """Refuse a report with more than ``max_photos`` photos (422 ``too_many_photos``)."""
    if count > max_photos:
        raise APIError(422, "too_many_photos",
                       f"field 'photos': {count} photos; at most {max_photos} per report")


def is_photo_url(url: str | None) -> bool:
    """Whether ``url`` is ``http`` or ``https`` with a host (older rows may hold others).

    Examples
    --------
    >>> is_photo_url("https://photos.example.cn/a.jpg"), is_photo_url("javascript:alert(1)")
    (True, False)
    """
    if not url:
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def check_photo_urls(urls: list[str]) -> None:
    """Refuse any photo URL that is not http(s) (422 ``invalid_photo_url``)."""
    for i, url in enumerate(urls):
        if not is_photo_url(url):
            raise APIError(422, "invalid_photo_url",
                           f"body field 'photos[{i}]': a photo URL must be http(s) with a "
                           f"host, got {url[:100]!r}", field=f"photos[{i}]")


def served_headers(path: Path, photo_id: int) -> tuple[str, dict[str, Any]]:
    """The media type and headers to serve a stored photo file with, from its bytes."""
    with path.open("rb") as f:
        kind = sniff(f.read(SNIFF_BYTES))
    if kind is None:
        name = f"photo-{photo_id}.bin"
        return "application/octet-stream", {
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Security-Policy": PHOTO_POLICY}
    return kind.media_type, {
        "Content-Disposition": f'inline; filename="photo-{photo_id}{kind.extension}"',
        "Content-Security-Policy": PHOTO_POLICY, "X-Content-Type-Options": "nosniff"}

"""Photo files of reports: stored under the photo directory, removed when not kept."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from api.media.images import Photo
from api.settings import Settings


@dataclass(frozen=True)
class PhotoRef:
    """A photo of a report: a URL, or a file stored under the photo directory."""

    url: str | None = None
    path: str | None = None
    content_type: str | None = None
    size: int | None = None


def save_photos(settings: Settings, uploads: Sequence[Photo]) -> list[PhotoRef]:
    """Write checked photos under ``GRIDGOV_EVENTS_PHOTO_DIR``; all or none are kept."""
    if not uploads:
        return []
    folder = settings.events.photo_dir or (settings.db.home / "photos")
    folder.mkdir(parents=True, exist_ok=True)
    refs: list[PhotoRef] = []
    try:
        for photo in uploads:
            path = folder / f"{uuid.uuid4().hex}{photo.kind.extension}"
            path.write_bytes(photo.content)
            refs.append(PhotoRef(path=str(path), content_type=photo.kind.media_type,
                                 size=len(photo.content)))
    except BaseException:
        remove_photos(refs)
        raise
    return refs


def remove_photos(refs: Sequence[PhotoRef]) -> None:
    """Delete the stored files of a report that was not registered."""
    for ref in refs:
        if ref.path:
            Path(ref.path).unlink(missing_ok=True)

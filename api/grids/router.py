"""Admin routes of the grid-version workflow: upload, QA, repair, publish, discard."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Form, Query, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from api.audit.deps import AuditActor
from api.auth.access import roles
from api.auth.schemas import Text
from api.deps import SessionDep
from api.grids import repair, versions
from api.routing import Router

router = Router(prefix="/api/v1/grid-versions", tags=["grid versions"])
VersionId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
NOT_DRAFT: dict[int | str, dict[str, Any]] = {
    409: {"description": "the version is not a draft (published or discarded)"}}
FormText = Annotated[Text | None, Form(max_length=200)]


class PublishIn(BaseModel):
    """When the version takes effect."""

    model_config = ConfigDict(extra="forbid")
    effective_from: datetime = Field(description="with its offset, e.g. 2027-01-01T00:00+08:00")


@router.get("")
@roles("admin")
def list_versions(session: SessionDep, layer: Annotated[
        Text | None, Query(max_length=64, description="one grid layer")] = None
        ) -> list[dict[str, Any]]:
    """The versions of the grid layers, newest first (admins)."""
    return versions.list_versions(session, layer)


@router.post("", status_code=201)
@roles("admin")
def upload_version(session: SessionDep, actor: AuditActor, file: UploadFile,
                   layer: Annotated[Text, Form(min_length=1, max_length=64)],
                   code_field: FormText = None, name_field: FormText = None,
                   crs: FormText = None,
                   note: Annotated[Text | None, Form(max_length=2000)] = None
                   ) -> dict[str, Any]:
    """Upload a new version of a grid layer as a draft; answers its QA and changes (admins).

    The file: GeoPackage, GeoJSON, zipped Shapefile, FlatGeobuf or CSV with a
    WKT column, with a grid code column (``code``/``grid_code`` or ``code_field``).
    """
    name = Path(file.filename or "grids").name
    with tempfile.TemporaryDirectory(prefix="gridgov-upload-") as tmp:
        path = Path(tmp) / ("upload" + Path(name).suffix.lower())
        path.write_bytes(file.file.read())
        grids = versions.read_grid_file(path, crs=crs, code_field=code_field,
                                        name_field=name_field)
    found = versions.upload(session, layer, grids, source=name, note=note, by=actor)
    session.commit()
    return versions.describe(session, found.id)


@router.get("/{version_id}")
@roles("admin")
def show_version(version_id: VersionId, session: SessionDep) -> dict[str, Any]:
    """A version with its QA findings (GeoJSON) and, for a draft, what publishing changes."""
    return versions.describe(session, version_id)


@router.get("/{version_id}/grids")
@roles("admin")
def version_grids(version_id: VersionId, session: SessionDep) -> dict[str, Any]:
    """The grids of a version as uploaded (and repaired), a GeoJSON FeatureCollection (admins)."""
    versions.version(session, version_id)
    frame = versions.draft_frame(session, version_id)
    return repair.feature_collection(frame)


@router.get("/{version_id}/repair", responses=NOT_DRAFT)
@roles("admin")
def preview_repair(version_id: VersionId, session: SessionDep) -> dict[str, Any]:
    """What the topology repair would change in a draft, and the QA of the result (admins)."""
    return repair.repair_preview(session, version_id)


@router.post("/{version_id}/repair", responses=NOT_DRAFT)
@roles("admin")
def apply_repair(version_id: VersionId, session: SessionDep,
                 actor: AuditActor) -> dict[str, Any]:
    """Write the topology repair into a draft (admins; audited)."""
    done = repair.apply_repair(session, version_id, by=actor)
    session.commit()
    return done


@router.post("/{version_id}/publish", responses=NOT_DRAFT)
@roles("admin")
def publish_version(version_id: VersionId, body: PublishIn, session: SessionDep,
                    actor: AuditActor) -> dict[str, Any]:
    """Publish a draft from a date; events, buildings and cameras re-linked (admins; audited)."""
    versions.publish(session, version_id, body.effective_from, by=actor)
    session.commit()
    return versions.describe(session, version_id)


@router.delete("/{version_id}", responses=NOT_DRAFT)
@roles("admin")
def discard_version(version_id: VersionId, session: SessionDep,
                    actor: AuditActor) -> dict[str, Any]:
    """Discard a draft (admins; audited)."""
    versions.discard(session, version_id, by=actor)
    session.commit()
    return versions.describe(session, version_id)

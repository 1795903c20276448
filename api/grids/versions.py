"""A grid layer's new version as a workflow: upload -> QA -> repair -> publish (the caller commits).

- :func:`upload` stores a draft of a layer from a GeoDataFrame (a ``code``
  column, optional ``name`` and ``alias_code``; polygons in EPSG:4326). Invalid
  geometries are kept: QA reports them and repair fixes them.
- :func:`qa` checks the draft as ``gridgov grids check`` checks a stored layer
  (:func:`api.grids.qa.check_grids`); :func:`changes` compares it with
  the layer's current grids (added, changed, removed, unchanged codes).
- ``api.grids.repair`` previews :func:`gis_core.topology.repair` on the draft
  against the district boundary (exclusive layers) and applies it.
- :func:`publish` makes the draft the layer's version from ``effective_from``:
  a changed or removed grid's current row ends there (``valid_to``) and keeps
  its history, a changed or added grid gets a new row from there; unchanged
  grids keep their row. Events reported from ``effective_from`` on are
  assigned again (every event keeps the grid valid at its report time), the
  buildings and cameras are linked to the published grids, and the triggers
  of ``grids`` bump the change counters that the grid index, the tile caches
  and the analytics caches follow. A draft with topology errors is refused.

Every step writes an audit row (``grid_version.upload``, ``.repair``,
``.publish``, ``.discard``). Errors: 404 ``grid_layer_not_found`` /
``grid_version_not_found``, 409 ``grid_version_not_draft``, 422
``invalid_grids`` (the file), ``grid_topology`` (publish), ``effective_too_early``,
``effective_in_future``,
``not_exclusive`` (repair of a layer that may overlap).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geoalchemy2.shape import from_shape
from pyogrio.errors import DataLayerError, DataSourceError
from sqlalchemy import Connection, func, insert, select, text, update
from sqlalchemy.orm import Session

from api.audit.service import SYSTEM, Actor, record
from api.db.models import GridLayer
from api.grids import assignment
from api.grids import qa as grid_qa
from api.grids.models import GridVersion, GridVersionGrid
from api.imports.reading import read_any
from gis_core.errors import Conflict, InvalidInput, NotFound
from gis_core.topology import TopologyReport

_POLYGONAL = (3, 6)  # shapely type ids: Polygon, MultiPolygon
#: the files a version is read from
GRID_FILE_SUFFIXES = (".gpkg", ".geojson", ".json", ".zip", ".fgb", ".csv")


def layer_of(session: Session, name: str) -> GridLayer:
    """The grid layer ``name``; 404 ``grid_layer_not_found``."""
    layer = session.execute(select(GridLayer).where(GridLayer.name == name)).scalar_one_or_none()
    if layer is None:
        known = session.execute(select(GridLayer.name).order_by(GridLayer.id)).scalars().all()
        raise NotFound(f"no grid layer {name!r}; layers: {', '.join(known) or 'none'}",
                       code="grid_layer_not_found", parameter="layer")
    return layer


def version(session: Session, version_id: int) -> GridVersion:
    """The grid version ``version_id``; 404 ``grid_version_not_found``."""
    found = session.get(GridVersion, version_id)
    if found is None:
        raise NotFound(f"no grid version {version_id}", code="grid_version_not_found")
    return found


def draft(session: Session, version_id: int, lock: bool = False) -> GridVersion:
    """The draft ``version_id`` (locked for update); 409 ``grid_version_not_draft``."""
    found = version(session, version_id)
    if lock:
        session.refresh(found, with_for_update=True)
    if found.status != "draft":
        raise Conflict(f"grid version {version_id} is {found.status}, not a draft",
                       code="grid_version_not_draft")
    return found


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_grids", field="file")


def _column(frame: pd.DataFrame, given: str | None, names: tuple[str, ...]) -> str | None:
    if given:
        if given not in frame.columns:
            raise _bad(f"no column {given!r}; columns: {', '.join(map(str, frame.columns))}")
        return given
    lower = {str(c).lower(): str(c) for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def as_multipolygon(geom: Any) -> Any:
    """A polygon as a MultiPolygon of one; anything not polygonal as an empty MultiPolygon.

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> as_multipolygon(box(0, 0, 1, 1)).geom_type, as_multipolygon(Point(0, 0)).is_empty
    ('MultiPolygon', True)
    """
    kind = shapely.get_type_id(geom)
    if kind == 3:
        return shapely.MultiPolygon([geom])
    return geom if kind == 6 else shapely.MultiPolygon([])


def grids_from_frame(frame: gpd.GeoDataFrame, code_field: str | None = None,
                     name_field: str | None = None) -> gpd.GeoDataFrame:
    """The grids of a file as ``code``, ``name``, ``alias_code``, MultiPolygon geometry.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> f = gpd.GeoDataFrame({"grid_code": ["A"]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    >>> g = grids_from_frame(f)
    >>> g["code"].tolist(), g.geometry.iloc[0].geom_type
    (['A'], 'MultiPolygon')
    """
    if not len(frame):
        raise _bad("the file has no grids")
    code_col = _column(frame, code_field, ("code", "grid_code"))
    if code_col is None:
        raise _bad("no code column (code, grid_code); name it with code_field")
    codes = frame[code_col].astype("string").str.strip()
    bad = codes.isna() | (codes == "") | (codes.str.len() > 32)
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy()) + 1)[:20].tolist()
        raise _bad(f"grid codes must be 1 to 32 characters; rows {rows}")
    dupes = sorted(set(codes[codes.duplicated()]))
    if dupes:
        raise _bad(f"duplicate grid codes: {dupes[:20]}")
    geoms = np.asarray(frame.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    wrong = ~np.isin(kinds, _POLYGONAL) | shapely.is_empty(geoms)
    if wrong.any():
        raise _bad(f"grids must be polygons; rows {(np.flatnonzero(wrong) + 1)[:20].tolist()}")
    out = {"code": codes.to_numpy(dtype=object)}
    for target, given, names in (("name", name_field, ("name", "grid_name")),
                                 ("alias_code", None, ("alias_code", "alias"))):
        col = _column(frame, given, names)
        out[target] = (frame[col].astype("string").str.strip().to_numpy(dtype=object)
                       if col else np.full(len(frame), None, dtype=object))
    multi = [as_multipolygon(g) for g in geoms]
    result = gpd.GeoDataFrame(out, geometry=multi, crs=frame.crs or 4326).to_crs(4326)
    return result.replace({pd.NA: None})


def read_grid_file(path: Path, *, crs: str | None = None, code_field: str | None = None,
                   name_field: str | None = None) -> gpd.GeoDataFrame:
    """The grids of a GIS file (GeoPackage, GeoJSON, zipped Shapefile, CSV with WKT).

    The file's CRS is used (``crs`` when it declares none) and the grids are
    reprojected to EPSG:4326; see :func:`grids_from_frame` for the columns.
    """
    if path.suffix.lower() not in GRID_FILE_SUFFIXES:
        raise _bad(f"a grid file is one of {', '.join(GRID_FILE_SUFFIXES)}; got {path.name!r}")
    try:
        frame = read_any(path, crs)
    except (DataSourceError, DataLayerError, ValueError, UnicodeDecodeError) as exc:
        raise _bad(f"{path.name} cannot be read: {exc}") from None
    except InvalidInput as exc:  # the reader's own refusals are the file's fault here
        if exc.code != InvalidInput.code:
            raise
        raise _bad(str(exc)) from None
    return grids_from_frame(frame, code_field, name_field)


def upload(session: Session, layer: str, grids: gpd.GeoDataFrame, *, source: str | None = None,
           note: str | None = None, by: Actor | None = None) -> GridVersion:
    """Store ``grids`` (from :func:`grids_from_frame`) as a draft version of ``layer``."""
    who = by or SYSTEM
    found = layer_of(session, layer)
    row = GridVersion(layer_id=found.id, status="draft", source=(source or "")[:300] or None,
                      note=(note or "")[:2000] or None, created_by=who.name)
    session.add(row)
    session.flush()
    session.execute(insert(GridVersionGrid), [
        {"version_id": row.id, "code": r.code, "name": r.name, "alias_code": r.alias_code,
         "geom": from_shape(r.geometry, srid=4326)} for r in grids.itertuples()])
    record(session, actor=who, action="grid_version.upload", object_type="grid_version",
           object_id=row.id, details={"layer": layer, "grids": len(grids), "source": source})
    return row


def draft_frame(conn: Connection | Session, version_id: int) -> gpd.GeoDataFrame:
    """The grids of a version: ``code``, ``name``, ``alias_code``, geometry (EPSG:4326)."""
    rows = conn.execute(text(
        "SELECT code, name, alias_code, ST_AsBinary(geom) AS wkb FROM grid_version_grids "
        "WHERE version_id = :v ORDER BY code"), {"v": version_id}).all()
    return gpd.GeoDataFrame(
        {"code": [r.code for r in rows], "name": [r.name for r in rows],
         "alias_code": [r.alias_code for r in rows]},
        geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]), crs=4326)


def layer_of_version(session: Session, found: GridVersion) -> GridLayer:
    """The layer of a version."""
    layer = session.get(GridLayer, found.layer_id)
    assert layer is not None  # noqa: S101 - the version's foreign key
    return layer


def qa(session: Session, version_id: int) -> tuple[GridLayer, TopologyReport]:
    """The topology report of a version's grids, checked as their layer would be."""
    found = version(session, version_id)
    layer = layer_of_version(session, found)
    grids = draft_frame(session, version_id)
    return layer, grid_qa.check_grids(session.connection(), grids, layer.exclusive)


_CHANGES = """
WITH d AS (SELECT code, name, alias_code, geom FROM grid_version_grids WHERE version_id = :v),
c AS (SELECT code, name, alias_code, geom FROM grids WHERE layer_id = :l AND valid_to IS NULL)
SELECT coalesce(d.code, c.code) AS code,
       CASE WHEN c.code IS NULL THEN 'added' WHEN d.code IS NULL THEN 'removed'
            WHEN ST_OrderingEquals(d.geom, c.geom) AND d.name IS NOT DISTINCT FROM c.name
                 AND d.alias_code IS NOT DISTINCT FROM c.alias_code THEN 'unchanged'
            ELSE 'changed' END AS change
FROM d FULL JOIN c ON c.code = d.code
ORDER BY 1
"""


def changes(session: Session, version_id: int) -> dict[str, Any]:
    """What publishing a version would change: added, changed, removed codes; unchanged count."""
    found = version(session, version_id)
    out: dict[str, Any] = {"added": [], "changed": [], "removed": [], "unchanged": 0}
    for code, change in session.execute(text(_CHANGES), {"v": found.id, "l": found.layer_id}):
        if change == "unchanged":
            out["unchanged"] += 1
        else:
            out[change].append(code)
    return out


def discard(session: Session, version_id: int, by: Actor | None = None) -> GridVersion:
    """Set a draft aside: it can no longer be published (its grids stay on record)."""
    found = draft(session, version_id, lock=True)
    found.status = "discarded"
    session.flush()
    record(session, actor=by or SYSTEM, action="grid_version.discard",
           object_type="grid_version", object_id=found.id)
    return found


def list_versions(session: Session, layer: str | None = None) -> list[dict[str, Any]]:
    """The versions of one layer (or every layer), newest first, with their grid counts."""
    query = (select(GridVersion, GridLayer.name, func.count(GridVersionGrid.id))
             .join(GridLayer, GridLayer.id == GridVersion.layer_id)
             .outerjoin(GridVersionGrid, GridVersionGrid.version_id == GridVersion.id)
             .group_by(GridVersion.id, GridLayer.name).order_by(GridVersion.id.desc()))
    if layer is not None:
        query = query.where(GridVersion.layer_id == layer_of(session, layer).id)
    return [version_json(v, name, n) for v, name, n in session.execute(query)]


def version_json(found: GridVersion, layer: str, grids: int) -> dict[str, Any]:
    """A version as the API shows it."""
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": found.id, "layer": layer, "status": found.status, "grids": grids,
            "source": found.source, "note": found.note, "created_by": found.created_by,
            "created_at": when(found.created_at), "effective_from": when(found.effective_from),
            "published_at": when(found.published_at), "published_by": found.published_by,
            "summary": found.summary or {}}


def describe(session: Session, version_id: int) -> dict[str, Any]:
    """A version with its QA report and, for a draft, what publishing it would change."""
    found = version(session, version_id)
    layer, report = qa(session, version_id)
    n = session.execute(select(func.count()).where(GridVersionGrid.version_id == found.id)
                        ).scalar_one()
    out = version_json(found, layer.name, int(n))
    out["qa"] = grid_qa.report_json(layer.name, layer.exclusive, report)
    if found.status == "draft":
        out["changes"] = changes(session, version_id)
    return out


# -- publication ---------------------------------------------------------------------------
def _check_effective(session: Session, found: GridVersion, effective: datetime) -> None:
    if effective.utcoffset() is None:
        raise InvalidInput("field 'effective_from': give the time with its offset "
                           "(2027-01-01T00:00+08:00)", code="invalid_field",
                           field="effective_from")
    if effective > datetime.now(UTC):
        # the map, QA, plates, analytics and the building and camera links follow the
        # published version at once: a later date would show both layouts until then
        raise InvalidInput("field 'effective_from': a version takes effect when it is "
                           "published, from that time or an earlier one (events since are "
                           "assigned again); publish it on the day it starts",
                           code="effective_in_future", field="effective_from")
    latest = session.execute(text(
        "SELECT max(valid_from) FROM grids WHERE layer_id = :l AND valid_to IS NULL"),
        {"l": found.layer_id}).scalar()
    if latest is not None and effective <= latest:
        raise InvalidInput(f"field 'effective_from': the layer's current version is valid "
                           f"from {latest.isoformat()}; a new one must start after it",
                           code="effective_too_early", field="effective_from",
                           current_from=latest.isoformat())


def _check_topology(session: Session, version_id: int) -> None:
    layer, report = qa(session, version_id)
    if not report.ok:
        raise InvalidInput(f"grid version {version_id} of layer {layer.name!r} has topology "
                           f"errors: {grid_qa.describe(report)}; see its QA findings and "
                           "the repair preview", code="grid_topology", parameter="version")


_CLOSE = ("UPDATE grids SET valid_to = :eff WHERE layer_id = :l AND valid_to IS NULL "
          "AND code = ANY(:codes)")
_OPEN = """
INSERT INTO grids (layer_id, code, alias_code, name, community_code, geom, valid_from)
SELECT :l, d.code, d.alias_code, d.name, coalesce(
           (SELECT g.community_code FROM grids g WHERE g.layer_id = :l AND g.code = d.code
              AND g.community_code IS NOT NULL ORDER BY g.valid_from DESC NULLS LAST LIMIT 1),
           (SELECT a.code FROM admin_areas a
            WHERE a.level = 'community' AND a.geom && d.geom AND ST_Intersects(a.geom, d.geom)
            ORDER BY ST_Area(ST_Intersection(a.geom, d.geom)) DESC, a.code LIMIT 1)),
       d.geom, :eff
FROM grid_version_grids d WHERE d.version_id = :v AND d.code = ANY(:codes)
"""


def publish(session: Session, version_id: int, effective_from: datetime,
            by: Actor | None = None) -> GridVersion:
    """Make a draft the layer's version from ``effective_from`` (see the module's text).

    A new grid's community is that of the grid's earlier versions, else the
    community polygon it overlaps most.
    """
    who = by or SYSTEM
    found = draft(session, version_id, lock=True)
    session.execute(select(GridLayer.id).where(GridLayer.id == found.layer_id).with_for_update())
    _check_effective(session, found, effective_from)
    _check_topology(session, version_id)
    diff = changes(session, version_id)
    params = {"l": found.layer_id, "v": found.id, "eff": effective_from}
    session.execute(text(_CLOSE), {**params, "codes": diff["changed"] + diff["removed"]})
    session.execute(text(_OPEN), {**params, "codes": diff["added"] + diff["changed"]})
    conn = session.connection()
    events = 0
    if effective_from <= datetime.now(UTC):
        events = assignment.assign_events(
            conn, f"e.reported_at >= CAST('{effective_from.isoformat()}' AS timestamptz)")
    summary = {**diff, "events_reassigned": events,
               "buildings_linked": assignment.assign_buildings(conn),
               "cameras_linked": assignment.assign_cameras(conn)}
    session.execute(update(GridVersion).where(GridVersion.id == found.id).values(
        status="published", effective_from=effective_from, published_at=func.now(),
        published_by=who.name, summary=summary))
    session.refresh(found)
    record(session, actor=who, action="grid_version.publish", object_type="grid_version",
           object_id=found.id, details={"effective_from": effective_from.isoformat(),
                                        **{k: v if isinstance(v, int) else len(v)
                                           for k, v in summary.items()}})
    return found

"""The repair of a draft grid version: :func:`gis_core.topology.repair`, previewed, applied.

Only an exclusive layer is repaired (into a partition of its district
boundary); the preview answers each grid the repair changes, with its area
before and after and the area that moves, the changed grids as repaired, and
the QA of the result. Applying writes the repaired grids into the draft
(audited ``grid_version.repair``).
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.audit.service import SYSTEM, Actor, record
from api.grids import qa as grid_qa
from api.grids.models import GridVersion
from api.grids.versions import as_multipolygon, draft, draft_frame, layer_of_version
from gis_core.crs import metric_crs_for
from gis_core.errors import InvalidInput
from gis_core.topology import repair


# -- repair --------------------------------------------------------------------------------
def _repaired(session: Session, found: GridVersion) -> tuple[gpd.GeoDataFrame,
                                                             gpd.GeoDataFrame]:
    layer = layer_of_version(session, found)
    if not layer.exclusive:
        raise InvalidInput(f"layer {layer.name!r} is not exclusive: its grids may overlap, "
                           "so there is nothing to repair into a partition",
                           code="not_exclusive", parameter="layer")
    grids = draft_frame(session, found.id)
    boundary = grid_qa.boundary_of(session.connection(), grids)
    return grids, repair(grids, boundary=boundary)


def _plan(session: Session, found: GridVersion) -> tuple[dict[str, Any], gpd.GeoDataFrame]:
    """The preview of a draft's repair, and the changed grids as repaired."""
    before, after = _repaired(session, found)
    moved = ~shapely.equals_exact(np.asarray(before.geometry.values, dtype=object),
                                  np.asarray(after.geometry.values, dtype=object), 0.0)
    metric = metric_crs_for(before)
    a0, a1 = before.to_crs(metric).geometry, after.to_crs(metric).geometry
    diff = shapely.area(shapely.symmetric_difference(
        shapely.make_valid(np.asarray(a0.values, dtype=object)),
        np.asarray(a1.values, dtype=object)))
    changed = [{"code": c, "area_before_m2": round(float(x), 1),
                "area_after_m2": round(float(y), 1), "area_moved_m2": round(float(d), 1)}
               for c, x, y, d, m in zip(before["code"], shapely.area(a0.values),
                                        shapely.area(a1.values), diff, moved, strict=True) if m]
    report = grid_qa.check_grids(session.connection(), after, True)
    layer = layer_of_version(session, found)
    return {"version": found.id, "changed": changed,
            "qa": grid_qa.report_json(layer.name, True, report),
            "grids": feature_collection(after[moved])}, after[moved]


def repair_preview(session: Session, version_id: int) -> dict[str, Any]:
    """What :func:`gis_core.topology.repair` would do to a draft, and the QA of the result.

    ``changed``: each grid whose geometry repair changes, with its area before and
    after and the area that moves (m2, in the layer's metric CRS); ``grids``: the
    changed grids as repaired (GeoJSON).
    """
    return _plan(session, draft(session, version_id))[0]


def feature_collection(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """Grids as a GeoJSON FeatureCollection (their columns as properties)."""
    if not len(frame):
        return {"type": "FeatureCollection", "features": []}
    return dict(json.loads(frame.to_json(drop_id=True)))


def apply_repair(session: Session, version_id: int, by: Actor | None = None) -> dict[str, Any]:
    """Write the repair into the draft; answers the preview it applied."""
    found = draft(session, version_id, lock=True)
    preview, changed = _plan(session, found)
    codes = {c["code"] for c in preview["changed"]}
    rows = [{"c": r.code, "g": shapely.to_wkb(as_multipolygon(r.geometry), hex=True)}
            for r in changed.itertuples()]
    if rows:
        session.execute(text("UPDATE grid_version_grids SET geom = ST_SetSRID("
                             "ST_GeomFromWKB(decode(:g, 'hex')), 4326) "
                             "WHERE version_id = :v AND code = :c"),
                        [{**r, "v": found.id} for r in rows])
    record(session, actor=by or SYSTEM, action="grid_version.repair",
           object_type="grid_version", object_id=found.id,
           details={"changed": sorted(codes)})
    return preview

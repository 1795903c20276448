"""Topology QA of the stored grid layers (:mod:`gis_core.topology` over PostGIS).

An exclusive layer must cover its jurisdiction without overlap: every finding
of :func:`gis_core.topology.check` is reported (gaps, overlaps, invalid
geometries, parts outside the district, slivers). The jurisdiction is the union
of the district-level admin areas when there are any, else the union of the
grids (gaps are then the holes inside it). A non-exclusive layer may overlap by
design, so only invalid geometries and slivers are reported for it. An exclusive
layer's grids are also checked against the community polygons
(:func:`api.imports.communities.community_findings`: ``straddle`` and
``outside_community`` warnings). ``gridgov import grids``,
``gridgov grids check`` and ``GET /api/v1/grids/qa`` all report :func:`check_layer`.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from api.imports.communities import communities, community_findings
from gis_core.errors import InvalidInput, NotFound
from gis_core.topology import TopologyReport, check

_GRIDS = ("SELECT g.code, g.community_code, ST_AsBinary(g.geom) AS wkb FROM grids g "
          "JOIN grid_layers l ON l.id = g.layer_id WHERE l.name = :layer AND g.valid_to IS NULL "
          "ORDER BY g.code")
# the districts holding a point of some grid (not every district near the grids)
_BOUNDARY = ("SELECT ST_AsBinary(ST_Union(a.geom)) FROM admin_areas a "
             "WHERE a.level = 'district' AND EXISTS (SELECT 1 FROM unnest(CAST(:points AS "
             "bytea[])) AS p(wkb) WHERE ST_Covers(a.geom, ST_GeomFromWKB(p.wkb, 4326)))")


def layers(conn: Connection) -> dict[str, bool]:
    """Grid layer names with their ``exclusive`` flag."""
    return {str(n): bool(e) for n, e in conn.execute(
        text("SELECT name, exclusive FROM grid_layers ORDER BY id"))}


def check_layer(conn: Connection, layer: str, use_boundary: bool = True
                ) -> tuple[bool, TopologyReport]:
    """Check the current grids of ``layer``; ``(exclusive, report)``.

    Raises
    ------
    NotFound
        When there is no such layer.
    """
    known = layers(conn)
    if layer not in known:
        raise NotFound(f"no grid layer {layer!r}; layers: {', '.join(known) or 'none'}",
                       parameter="layer")
    rows = conn.execute(text(_GRIDS), {"layer": layer}).all()
    grids = gpd.GeoDataFrame({"code": [r.code for r in rows],
                              "community_code": pd.Series([r.community_code for r in rows],
                                                          dtype=object)},
                             geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]), crs=4326)
    return known[layer], check_grids(conn, grids, known[layer], use_boundary)


def boundary_of(conn: Connection, grids: gpd.GeoDataFrame) -> gpd.GeoSeries | None:
    """The jurisdiction of ``grids`` (EPSG:4326): the districts holding a point of one."""
    if not len(grids):
        return None
    points = shapely.to_wkb(shapely.point_on_surface(grids.geometry.to_numpy()))
    wkb = conn.execute(text(_BOUNDARY), {"points": list(points)}).scalar()
    return gpd.GeoSeries(shapely.from_wkb([bytes(wkb)]), crs=4326) if wkb else None


def check_grids(conn: Connection, grids: gpd.GeoDataFrame, exclusive: bool,
                use_boundary: bool = True) -> TopologyReport:
    """Check ``grids`` as a layer is checked, stored or not.

    ``grids`` has ``code`` (and optionally ``community_code``) in EPSG:4326:
    topology, and for an exclusive layer the community warnings.
    """
    boundary = boundary_of(conn, grids) if use_boundary and exclusive else None
    report = check(grids[["code", "geometry"]], boundary=boundary)
    if not exclusive:
        keep = report.findings["kind"].isin(["invalid", "sliver"])
        return TopologyReport(report.findings[keep], {**report.summary, "overlaps": 0,
                                                      "gaps": 0, "outsides": 0})
    given = (grids["community_code"].astype(object) if "community_code" in grids
             else pd.Series(None, index=grids.index, dtype=object))
    linked = community_findings(grids, communities(conn), given)
    findings = pd.concat([report.findings, linked], ignore_index=True) if len(linked) \
        else report.findings
    return TopologyReport(gpd.GeoDataFrame(findings, geometry="geometry", crs=4326),
                          {**report.summary, "community_warnings": len(linked)})


def report_json(layer: str, exclusive: bool, report: TopologyReport) -> dict[str, Any]:
    """A JSON-ready report: ok, summary and the findings as a GeoJSON FeatureCollection."""
    findings = report.findings.to_crs(4326) if len(report.findings) else report.findings
    features = json.loads(findings.to_json(drop_id=True)) if len(findings) else {
        "type": "FeatureCollection", "features": []}
    summary = {k: v for k, v in report.summary.items() if k != "ok"}
    return {"layer": layer, "exclusive": exclusive, "ok": report.ok,
            "errors": int((report.findings["severity"] == "error").sum()),
            "warnings": int((report.findings["severity"] == "warning").sum()),
            "summary": summary, "findings": features}


def describe(report: TopologyReport, limit: int = 10) -> str:
    """One line per error (kind, codes, area), at most ``limit``."""
    lines = [f"{r.kind} {'/'.join(map(str, r.codes))} {r.area_m2:.1f} m2"
             for r in report.errors.head(limit).itertuples()]
    more = len(report.errors) - len(lines)
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def refuse_errors(layer: str, exclusive: bool, report: TopologyReport) -> None:
    """Raise :class:`InvalidInput` naming the errors of an exclusive layer's report."""
    if exclusive and not report.ok:
        counts = report.errors["kind"].value_counts()
        found = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        raise InvalidInput(
            f"grid layer {layer!r} is exclusive but its grids do not form a clean partition "
            f"({found}): {describe(report)}. Fix the file, import it as --no-exclusive, or "
            "pass --allow-invalid to import it anyway (see `gridgov grids check`)",
            code="grid_topology", parameter="layer")

"""Topology QA of the stored grid layers (:mod:`gis_core.topology` over PostGIS).

An exclusive layer must cover its jurisdiction without overlap: every finding
of :func:`gis_core.topology.check` is reported (gaps, overlaps, invalid
geometries, parts outside the district, slivers). The jurisdiction is the union
of the district-level admin areas when there are any, else the union of the
grids (gaps are then the holes inside it). A non-exclusive layer may overlap by
design, so only invalid geometries and slivers are reported for it.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import Connection, text

from gis_core.errors import InvalidInput, NotFound
from gis_core.topology import TopologyReport, check

_GRIDS = ("SELECT g.code, ST_AsBinary(g.geom) AS wkb FROM grids g "
          "JOIN grid_layers l ON l.id = g.layer_id WHERE l.name = :layer AND g.valid_to IS NULL "
          "ORDER BY g.code")
_BOUNDARY = ("SELECT ST_AsBinary(ST_Union(geom)) FROM admin_areas WHERE level = 'district' "
             "AND geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)")


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
    grids = gpd.GeoDataFrame({"code": [r.code for r in rows]},
                             geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]), crs=4326)
    return known[layer], check_grids(conn, grids, known[layer], use_boundary)


def boundary_of(conn: Connection, grids: gpd.GeoDataFrame) -> gpd.GeoSeries | None:
    """The jurisdiction of ``grids`` (EPSG:4326): the district areas their extent meets."""
    if not len(grids):
        return None
    minx, miny, maxx, maxy = (float(v) for v in grids.total_bounds)
    wkb = conn.execute(text(_BOUNDARY), {"minx": minx, "miny": miny, "maxx": maxx,
                                         "maxy": maxy}).scalar()
    return gpd.GeoSeries(shapely.from_wkb([bytes(wkb)]), crs=4326) if wkb else None


def check_grids(conn: Connection, grids: gpd.GeoDataFrame, exclusive: bool,
                use_boundary: bool = True) -> TopologyReport:
    """Check ``grids`` (``code``, EPSG:4326) as a layer, stored or not, would be checked."""
    boundary = boundary_of(conn, grids) if use_boundary and exclusive else None
    report = check(grids, boundary=boundary)
    if not exclusive:
        keep = report.findings["kind"].isin(["invalid", "sliver"])
        report = TopologyReport(report.findings[keep], {**report.summary, "overlaps": 0,
                                                         "gaps": 0, "outsides": 0})
    return report


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


def refuse_if_broken(conn: Connection, layer: str) -> None:
    """Raise :class:`InvalidInput` when the exclusive ``layer`` has gaps, overlaps or worse."""
    exclusive, report = check_layer(conn, layer, use_boundary=False)
    if exclusive and not report.ok:
        raise InvalidInput(
            f"grid layer {layer!r} is exclusive but its grids do not form a clean partition: "
            f"{describe(report)}. Fix the file, import it as --no-exclusive, or pass "
            "--allow-invalid to import it anyway (see `gridgov grids check`)",
            code="grid_topology", parameter="layer")

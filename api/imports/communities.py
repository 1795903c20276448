"""Grids and buildings linked to their community, and through it to street and district.

A grid's community is the community polygon holding the largest part of it
(:func:`gis_core.linking.largest_overlap`); one given by the file is kept and
checked. A grid is reported (severity ``warning``, in the same report as the
topology QA) when a part of it of at least :data:`MIN_SHARE` of its area lies
outside its community:

- ``straddle``: that part lies in another community;
- ``outside_community``: that part lies in no community (or the grid's
  community is not the one holding most of it).

A building's community is the one holding the largest part of its footprint.
For a building in no community the user chooses (``community_from``):
``grids`` (the community of the grid holding most of it), ``nearest`` (the
closest community) or ``refuse`` (the import fails naming the rows).
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from api.imports.tables import rows_of
from gis_core.crs import metric_crs_for
from gis_core.errors import InvalidInput
from gis_core.linking import largest_overlap, nearest_zone
from gis_core.topology import FINDING_COLUMNS

CommunityFrom = Literal["grids", "nearest", "refuse"]
COMMUNITY_FROM: tuple[str, ...] = ("grids", "nearest", "refuse")
#: share of a grid's area outside its community from which the grid is reported
MIN_SHARE = 0.01

_COMMUNITIES = ("SELECT code, ST_AsBinary(geom) AS wkb FROM admin_areas "
                "WHERE level = 'community' AND geom IS NOT NULL ORDER BY code")
_LAYER_GRIDS = ("SELECT g.id, g.code, g.community_code, ST_AsBinary(g.geom) AS wkb FROM grids g "
                "JOIN grid_layers l ON l.id = g.layer_id WHERE l.name = :layer "
                "AND g.valid_to IS NULL ORDER BY g.code")
_LINKED_GRIDS = ("SELECT g.code, g.community_code, ST_AsBinary(g.geom) AS wkb FROM grids g "
                 "JOIN grid_layers l ON l.id = g.layer_id WHERE l.exclusive "
                 "AND g.valid_to IS NULL AND g.community_code IS NOT NULL ORDER BY l.id, g.code")


def _frame(conn: Connection, sql: str, **params: object) -> gpd.GeoDataFrame:
    result = conn.execute(text(sql), params)
    columns = [k for k in result.keys() if k != "wkb"]  # noqa: SIM118 - a Result, not a dict
    rows = result.mappings().all()
    data = pd.DataFrame([[r[k] for k in columns] for r in rows], columns=columns)
    geoms = shapely.from_wkb([bytes(r["wkb"]) for r in rows])
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def communities(conn: Connection) -> gpd.GeoDataFrame:
    """The stored community polygons (code, geometry) in EPSG:4326."""
    return _frame(conn, _COMMUNITIES)


def link_grids(conn: Connection, layer: str) -> int:
    """Give each current grid of ``layer`` without a community the one holding most of it."""
    grids = _frame(conn, _LAYER_GRIDS, layer=layer)
    zones = communities(conn)
    if grids.empty or zones.empty:
        return 0
    missing = grids[grids["community_code"].isna()]
    links = largest_overlap(missing.geometry, zones)
    linked = links["zone"].notna()
    conn.execute(text(
        "UPDATE grids g SET community_code = v.code FROM unnest(CAST(:ids AS int[]), "
        "CAST(:codes AS text[])) AS v(id, code) WHERE g.id = v.id"),
        {"ids": missing["id"][linked].astype(int).tolist(),
         "codes": links["zone"][linked].tolist()})
    return int(linked.sum())


def community_findings(grids: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                       given: pd.Series) -> gpd.GeoDataFrame:
    """Findings (topology report columns) for grids lying partly outside their community.

    ``grids`` has ``code`` and geometry; ``given`` is each grid's stored
    community code (None where it has none).
    """
    empty = gpd.GeoDataFrame(columns=[*FINDING_COLUMNS, "geometry"], geometry="geometry",
                             crs=grids.crs)
    if grids.empty or zones.empty:
        return empty
    links = largest_overlap(grids.geometry, zones)
    own = given.where(given.notna(), links["zone"])
    own_share = _share_in(grids.geometry, zones, own)
    outside = 1 - own_share
    reported = outside >= MIN_SHARE
    if not reported.any():
        return empty
    in_others = links["share"] + links["other_share"] - own_share
    straddle = in_others.to_numpy() >= MIN_SHARE
    kind = np.where(straddle, "straddle", "outside_community")
    metric = metric_crs_for(grids)
    area = grids.geometry.to_crs(metric).area.to_numpy() * outside.to_numpy()
    detail = [f"{o:.0%} outside community {c or '(none)'}; most of it in {z or 'no community'}"
              for o, c, z in zip(outside, own, links["zone"], strict=True)]
    found = pd.DataFrame({"kind": kind, "severity": "warning",
                          "codes": [[str(c)] for c in grids["code"]], "area_m2": area,
                          "detail": detail}, index=grids.index)[reported.to_numpy()]
    return gpd.GeoDataFrame(found, geometry=grids.geometry[reported.to_numpy()].values,
                            crs=grids.crs).reset_index(drop=True)


def _share_in(geoms: gpd.GeoSeries, zones: gpd.GeoDataFrame, codes: pd.Series) -> pd.Series:
    """Share of each geometry's area inside the zone named by ``codes`` (0 when none)."""
    by_code = dict(zip(zones["code"].astype(str), zones.geometry.values, strict=True))
    zone = np.array([by_code.get(str(c)) for c in codes], dtype=object)
    metric = metric_crs_for(geoms)
    inside = gpd.GeoSeries(shapely.intersection(geoms.values, zone), crs=geoms.crs)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = inside.to_crs(metric).area.to_numpy() / geoms.to_crs(metric).area.to_numpy()
    return pd.Series(np.nan_to_num(share), index=geoms.index)


def building_communities(conn: Connection, footprints: gpd.GeoSeries,
                         community_from: str) -> pd.Series:
    """The community code of each footprint (see the module docstring for the rule)."""
    if community_from not in COMMUNITY_FROM:
        raise InvalidInput(f"parameter 'community_from': one of {', '.join(COMMUNITY_FROM)}, "
                           f"got {community_from!r}", parameter="community_from")
    zones = communities(conn)
    found = largest_overlap(footprints, zones)["zone"]
    outside = found.isna()
    if not outside.any():
        return found
    if community_from == "grids":
        grids = _frame(conn, _LINKED_GRIDS)
        via = largest_overlap(footprints[outside], grids)["zone"]
        by_grid = dict(zip(grids["code"].astype(str), grids["community_code"], strict=True))
        found[outside] = via.map(by_grid)
    elif community_from == "nearest":
        found[outside] = nearest_zone(footprints[outside], zones)["zone"]
    missing = found.isna()
    if missing.any():
        raise InvalidInput(
            f"{int(missing.sum())} buildings lie in no community (rows {rows_of(missing)[:20]})"
            f"{_hint(community_from, zones.empty)}", code="outside_communities",
            rows=rows_of(missing))
    return found


def _hint(community_from: str, none_stored: bool) -> str:
    if none_stored:
        return (": no community polygons are stored; import them first "
                "(gridgov import admin FILE --level community)")
    if community_from == "refuse":
        return (": choose --community-from grids (the community of the grid holding them) "
                "or --community-from nearest (the closest community)")
    return f" and --community-from {community_from} found none for them"

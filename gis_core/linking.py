"""Which zone holds each feature: grids and buildings to their community.

:func:`largest_overlap` gives each polygon the zone (community, street, ...)
holding the largest part of its area, with the share of its area in that zone,
in any other zone and in no zone; :func:`nearest_zone` gives each feature the
closest zone. Areas and distances are measured in the metric CRS of the
features (:func:`gis_core.crs.metric_crs_for`).

Tie rule: between two zones holding the same area of a feature, the smaller
zone code wins (codes compared as strings).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_core.crs import metric_crs_for
from gis_core.errors import CRSMismatch, InvalidInput

__all__ = ["LINK_COLUMNS", "largest_overlap", "nearest_zone"]

#: Columns of :func:`largest_overlap`'s result.
LINK_COLUMNS = ["zone", "share", "other_share", "outside_share", "zones"]


def _check(features: gpd.GeoSeries, zones: gpd.GeoDataFrame, code: str) -> None:
    if code not in zones.columns:
        raise InvalidInput(f"parameter 'code': {code!r} is not a column of the zones; "
                           f"columns: {', '.join(map(str, zones.columns))}", parameter="code")
    if features.crs is None or zones.crs is None:
        raise CRSMismatch("features and zones must both have a CRS")
    if not features.crs.equals(zones.crs):
        raise CRSMismatch(f"features are in {features.crs.to_string()} but zones in "
                          f"{zones.crs.to_string()}; reproject one of them")


def largest_overlap(features: gpd.GeoSeries, zones: gpd.GeoDataFrame, code: str = "code"
                    ) -> pd.DataFrame:
    """The zone holding the largest part of each polygon.

    Parameters
    ----------
    features
        Polygons (grids, building footprints), in the CRS of ``zones``.
    zones
        Polygons with a code column (communities), expected not to overlap.
    code
        The column of ``zones`` holding their codes.

    Returns
    -------
    pandas.DataFrame
        Aligned with ``features``: ``zone`` (code, or None when no zone
        touches the feature's area), ``share`` (fraction of the feature's area
        in that zone), ``other_share`` (in the other zones), ``outside_share``
        (in no zone) and ``zones`` (number of zones sharing area with it).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> zones = gpd.GeoDataFrame({"code": ["A", "B"]},
    ...                          geometry=[box(0, 0, 0.01, 0.01), box(0.01, 0, 0.02, 0.01)],
    ...                          crs=4326)
    >>> grids = gpd.GeoSeries([box(0.002, 0, 0.004, 0.002), box(0.008, 0, 0.011, 0.002),
    ...                        box(1, 1, 1.001, 1.001)], crs=4326)
    >>> out = largest_overlap(grids, zones)
    >>> out["zone"].tolist(), out["zones"].tolist()
    (['A', 'A', None], [1, 2, 0])
    >>> [round(s, 2) for s in out["share"]], [round(s, 2) for s in out["outside_share"]]
    ([1.0, 0.67, 0.0], [0.0, 0.0, 1.0])
    """
    _check(features, zones, code)
    n = len(features)
    out = pd.DataFrame({"zone": pd.Series([None] * n, dtype=object), "share": 0.0,
                        "other_share": 0.0, "outside_share": 1.0, "zones": 0},
                       index=features.index)
    if n == 0 or len(zones) == 0:
        return out
    metric = metric_crs_for(features)
    geoms = features.to_crs(metric).values
    zone_geoms = zones.geometry.to_crs(metric).values
    zone_codes = zones[code].astype(str).to_numpy()
    f_idx, z_idx = shapely.STRtree(zone_geoms).query(geoms, predicate="intersects")
    shared = shapely.area(shapely.intersection(geoms[f_idx], zone_geoms[z_idx]))
    keep = shared > 0
    pairs = pd.DataFrame({"f": f_idx[keep], "zone": zone_codes[z_idx[keep]],
                          "shared": shared[keep]})
    area = shapely.area(geoms)
    if len(pairs):
        pairs = pairs.sort_values(["f", "shared", "zone"], ascending=[True, False, True])
        best = pairs.drop_duplicates("f")
        total = pairs.groupby("f")["shared"].sum()
        count = pairs.groupby("f").size()
        rows = best["f"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.clip(best["shared"].to_numpy() / area[rows], 0, 1)
            inside = np.clip(total.loc[rows].to_numpy() / area[rows], 0, 1)
        out.iloc[rows, 0] = best["zone"].to_numpy()
        out.iloc[rows, 1] = share
        out.iloc[rows, 2] = inside - share
        out.iloc[rows, 3] = 1 - inside
        out.iloc[rows, 4] = count.loc[rows].to_numpy()
    return out


def nearest_zone(features: gpd.GeoSeries, zones: gpd.GeoDataFrame, code: str = "code"
                 ) -> pd.DataFrame:
    """The closest zone of each feature and the distance to it in metres.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> zones = gpd.GeoDataFrame({"code": ["A", "B"]},
    ...                          geometry=[box(0, 0, 0.01, 0.01), box(0.02, 0, 0.03, 0.01)],
    ...                          crs=4326)
    >>> out = nearest_zone(gpd.GeoSeries([box(0.012, 0, 0.013, 0.001)], crs=4326), zones)
    >>> out["zone"].tolist(), round(float(out["distance_m"].iloc[0]))
    (['A'], 223)
    """
    _check(features, zones, code)
    out = pd.DataFrame({"zone": pd.Series([None] * len(features), dtype=object),
                        "distance_m": np.nan}, index=features.index)
    if len(features) == 0 or len(zones) == 0:
        return out
    metric = metric_crs_for(features)
    geoms = features.to_crs(metric).values
    zone_geoms = zones.geometry.to_crs(metric).values
    f_idx, z_idx = shapely.STRtree(zone_geoms).query_nearest(geoms, all_matches=False)
    out.iloc[f_idx, 0] = zones[code].astype(str).to_numpy()[z_idx]
    out.iloc[f_idx, 1] = shapely.distance(geoms[f_idx], zone_geoms[z_idx])
    return out

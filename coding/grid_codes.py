"""Grid codes: CJ/T 213 unit grid codes (15 digits).

The sequence of the grids of one community runs west -> east, north -> south.
Rows are bands of latitude: the band height is the median north-south extent of
the community's grids, bands are counted from the northernmost grid's centroid,
and within a band grids are ordered by centroid longitude.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis_core.errors import InvalidInput


def number_unit_grids(community_code: str, geometries: Sequence[BaseGeometry]) -> list[str]:
    """Give the grids of one community their CJ/T 213 15-digit codes.

    Parameters
    ----------
    community_code
        The 12-digit community prefix: 6-digit county code + 3-digit street
        + 3-digit community.
    geometries
        The grid polygons of that community, in a geographic CRS.

    Returns
    -------
    list of str
        One code per geometry, aligned with the input.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> number_unit_grids("440307003001", [box(1, 0, 2, 1), box(0, 0, 1, 1), box(0, 1, 1, 2)])
    ['440307003001003', '440307003001002', '440307003001001']
    """
    if len(community_code) != 12 or not community_code.isdigit():
        raise InvalidInput(f"community_code must be 12 digits, got {community_code!r}")
    if len(geometries) > 999:
        raise InvalidInput("a community holds at most 999 unit grids")
    if len(geometries) == 0:
        return []
    geoms = np.asarray(geometries, dtype=object)
    centroids = shapely.centroid(geoms)
    cx, cy = shapely.get_x(centroids), shapely.get_y(centroids)
    bounds = shapely.bounds(geoms)
    band = float(np.median(bounds[:, 3] - bounds[:, 1])) or 1.0
    row = np.floor((cy.max() - cy) / band + 1e-9)
    order = np.lexsort((cx, row))
    codes = [""] * len(geoms)
    for seq, i in enumerate(order, start=1):
        codes[i] = f"{community_code}{seq:03d}"
    return codes

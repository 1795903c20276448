"""Spatial partitions with halos, so a partitioned analysis equals the single-process one.

- :mod:`~gis_core.batch.partition`: tiles of a bounding box and H3 parent cells,
  each with the halo its analysis needs;
- :mod:`~gis_core.batch.analyses`: the per-partition steps of bulk assignment
  and Gi* hot spots, built on :mod:`gis_core.grid_index` and
  :mod:`gis_core.hotspots`, and of camera coverage per grid, built on
  :mod:`gis_core.coverage`.

Pure functions on arrays and GeoDataFrames: a scheduler (Dask's ``distributed``
in :mod:`api.batch`, or a notebook) maps them over the partitions.
"""

from gis_core.batch.analyses import (
    assign_at_times,
    coverage_partition,
    emerging_partition,
    gi_star_partition,
)
from gis_core.batch.partition import (
    grids_owned,
    grids_touching,
    h3_halo,
    h3_partitions,
    tile_boxes,
    tile_of,
)

__all__ = [
    "assign_at_times",
    "coverage_partition",
    "emerging_partition",
    "gi_star_partition",
    "grids_owned",
    "grids_touching",
    "h3_halo",
    "h3_partitions",
    "tile_boxes",
    "tile_of",
]

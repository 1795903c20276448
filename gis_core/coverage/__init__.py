"""Camera coverage, one module per topic.

- :mod:`~gis_core.coverage.sectors`: view sectors of fixed, PTZ, dome and
  long-range cameras;
- :mod:`~gis_core.coverage.occlusion`: the ground each camera sees once
  buildings (2.5D prisms) hide what they hide;
- :mod:`~gis_core.coverage.statistics`: coverage figures per grid and blind
  spots;
- :mod:`~gis_core.coverage.raster`: cameras per raster cell and terrain
  viewsheds over a DEM.

All geometry work runs in a metric CRS: the ``crs`` argument, else the input's
own CRS when it is projected, else the CGCS2000 3-degree Gauss-Kruger zone of
the data's centroid (:func:`gis_core.crs.metric_crs_for`). Results come back in
the input CRS, aligned with the input index. Layers combined with each other
must share one CRS (the policy of :mod:`gis_core._checks`).

Every public name is available from the package itself (and
:func:`gis_core.io.write_geotiff`, re-exported here as it was before):

>>> from gis_core.coverage import blind_spots, coverage_by_grid, visible_polygons
"""

from gis_core.coverage.occlusion import visible_pairs, visible_polygons
from gis_core.coverage.raster import coverage_raster, viewshed
from gis_core.coverage.sectors import CAMERA_DEFAULTS, KINDS, view_polygons
from gis_core.coverage.statistics import SEEN_TOLERANCE_M, blind_spots, coverage_by_grid
from gis_core.io import write_geotiff

__all__ = [
    "CAMERA_DEFAULTS",
    "KINDS",
    "SEEN_TOLERANCE_M",
    "blind_spots",
    "coverage_by_grid",
    "coverage_raster",
    "view_polygons",
    "viewshed",
    "visible_pairs",
    "visible_polygons",
    "write_geotiff",
]

"""Topology QA of an exclusive grid layer: full coverage, no overlap.

:func:`check` (:mod:`~gis_core.topology.findings`) lists what keeps a layer
from being a clean partition of its jurisdiction; :func:`repair`
(:mod:`~gis_core.topology.repairs`) fixes gaps and overlaps by documented rules.

Everything is measured in the layer's metric CRS (:func:`gis_core.crs.metric_crs_for`:
the CGCS2000 3-degree Gauss-Kruger zone in China, the UTM zone elsewhere),
picked by the centroid of the layer.

Kinds of findings and their severity:

========== ======== ==================================================================
kind       severity meaning
========== ======== ==================================================================
invalid    error    a geometry is invalid (``detail`` has GEOS' reason) or empty
overlap    error    two grids share area; ``codes`` is the pair
gap        error    part of the jurisdiction no grid covers (with a ``boundary``), or a
                    hole in the union of the grids (without); ``codes`` are the grids
                    around it
outside    error    part of a grid outside the ``boundary``
sliver     warning  a polygon part of a grid smaller than ``sliver_area`` or thinner
                    than ``sliver_ratio`` (Polsby-Popper compactness ``4 pi A / P**2``)
========== ======== ==================================================================

Tolerance: real data carries floating-point noise where neighbours meet (NYC's
community districts, an exact partition, leave holes of ~1e-8 m2 in their
union). A gap, overlap or outside piece is reported only when its area is at
least ``min_area`` (default 1 m2) and its mean width ``2 A / P`` at least
``min_width`` (default 1 cm); smaller pieces are counted in
``summary["ignored_pieces"]``. :attr:`TopologyReport.ok` is True when there are
no errors (slivers are warnings: islands and piers are real).
"""

from gis_core.topology.findings import FINDING_COLUMNS, TopologyReport, check
from gis_core.topology.repairs import repair

__all__ = ["FINDING_COLUMNS", "TopologyReport", "check", "repair"]

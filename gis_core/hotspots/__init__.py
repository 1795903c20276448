"""Hotspot analysis of events, one module per topic.

- :mod:`~gis_core.hotspots.aggregation`: counts per H3 cell and per grid;
- :mod:`~gis_core.hotspots.cells`: H3 cells of points and their hexagons;
- :mod:`~gis_core.hotspots.weights`: sparse spatial weights;
- :mod:`~gis_core.hotspots.gistar`: Getis-Ord Gi* with FDR;
- :mod:`~gis_core.hotspots.density`: kernel density surfaces;
- :mod:`~gis_core.hotspots.emerging`: emerging hot spots over time;
- :mod:`~gis_core.hotspots.patterns`: their trend test and 17 patterns.

Every public name is available from the package itself:

>>> from gis_core.hotspots import aggregate_h3, gi_star
"""

from gis_core.hotspots.aggregation import aggregate_grids, aggregate_h3
from gis_core.hotspots.density import kernel_density
from gis_core.hotspots.emerging import emerging_hotspots, emerging_hotspots_cube
from gis_core.hotspots.gistar import fdr_cutoff, gi_star, gi_star_z
from gis_core.hotspots.patterns import PATTERNS, classify_pattern, mann_kendall
from gis_core.hotspots.weights import h3_contiguity, spatial_weights

__all__ = [
    "PATTERNS",
    "aggregate_grids",
    "aggregate_h3",
    "classify_pattern",
    "emerging_hotspots",
    "emerging_hotspots_cube",
    "fdr_cutoff",
    "gi_star",
    "gi_star_z",
    "h3_contiguity",
    "kernel_density",
    "mann_kendall",
    "spatial_weights",
]

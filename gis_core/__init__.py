"""gridgov spatial engine: pure functions over GeoDataFrames and arrays.

Nothing here imports a web framework or a database driver; every function is
usable from a notebook without the server. The most used names are available
from the package itself (imported lazily, so ``import gis_core`` stays cheap):

>>> import gis_core
>>> lon, lat = gis_core.to_wgs84([114.25], [22.72], "GCJ02")
>>> round(float(lon[0]), 4), round(float(lat[0]), 4)
(114.2452, 22.7228)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "to_wgs84": "crs", "from_wgs84": "crs", "metric_crs": "crs", "metric_crs_for": "crs",
    "looks_swapped": "crs", "parse_crs": "crs",
    "GridIndex": "grid_index",
    "TopologyReport": "topology", "check_topology": ("topology", "check"),
    "repair_topology": ("topology", "repair"),
    "view_polygons": "coverage", "coverage_by_grid": "coverage", "blind_spots": "coverage",
    "coverage_raster": "coverage", "viewshed": "coverage",
    "recommend_cameras": "placement",
    "aggregate_h3": "hotspots", "aggregate_grids": "hotspots", "gi_star": "hotspots",
    "emerging_hotspots": "hotspots", "kernel_density": "hotspots",
    "grid_anomalies": "anomalies",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'gis_core' has no attribute {name!r}")
    module, attr = (target, name) if isinstance(target, str) else target
    return getattr(import_module(f"gis_core.{module}"), attr)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""Shared type aliases of the engine."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from pyproj import CRS

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
#: An array of shapely geometries (dtype object).
GeomArray: TypeAlias = npt.NDArray[np.object_]
ArrayLike: TypeAlias = npt.ArrayLike
CRSLike: TypeAlias = str | int | CRS
Bounds: TypeAlias = tuple[float, float, float, float]

"""Raster files: single-band GeoTIFFs written to a path or a binary file object."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from pyproj import CRS

from gis_core.errors import InvalidInput

__all__ = ["write_geotiff"]


def write_geotiff(
    dest: str | Path | BinaryIO,
    array: npt.ArrayLike,
    transform: Affine,
    crs: Any,
    nodata: float | None = None,
) -> None:
    """Write a single-band GeoTIFF (deflate-compressed) to a path or a binary file object.

    Parameters
    ----------
    dest
        File path, or a writable binary file object such as ``io.BytesIO``.
    array
        2-D raster, rows north-to-south.
    transform
        Affine of the upper-left corner.
    crs
        CRS of the raster.
    nodata
        Optional nodata value.

    Examples
    --------
    >>> import io
    >>> buf = io.BytesIO()
    >>> write_geotiff(buf, np.ones((2, 3), np.uint16), Affine(1, 0, 0, 0, -1, 2), 4547)
    >>> buf.getvalue()[:2] in (b"II", b"MM")
    True
    """
    arr = np.asarray(array)
    if arr.ndim != 2:
        raise InvalidInput("array must be 2-D", parameter="array")
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": arr.dtype,
        "crs": CRS.from_user_input(crs).to_wkt(),
        "transform": transform,
        "compress": "deflate",
        "nodata": nodata,
    }
    if isinstance(dest, str | Path):
        with rasterio.open(dest, "w", **profile) as ds:
            ds.write(arr, 1)
        return
    with rasterio.MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(arr, 1)
        dest.write(mem.read())

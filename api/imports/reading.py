"""Reading the files of an import: GIS files, CSV and XLSX tables, into EPSG:4326.

GeoPackage, Shapefile and GeoJSON are read with pyogrio (``where``: an OGR SQL
condition); a CSV or XLSX table needs lon/lat columns or a WKT column. Any CRS
is reprojected to EPSG:4326; invalid geometries are refused with their row
numbers or repaired with ``make_valid``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyogrio.errors import DataSourceError
from pyproj import CRS
from pyproj.exceptions import CRSError

from api.imports.tables import find_column, read_table
from gis_core.errors import InvalidGeometry, InvalidInput, UnknownCRS

LON_NAMES = ("lon", "lng", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")
WKT_NAMES = ("wkt", "the_geom", "geometry", "geom")


def read_any(path: str | Path, crs: str | None = None, source_layer: str | None = None,
             where: str | None = None) -> gpd.GeoDataFrame:
    """Read a GIS file, CSV or XLSX into a GeoDataFrame in EPSG:4326.

    ``crs`` is the source CRS when the file does not declare one (CSV), or
    overrides a missing declaration; a file that declares a different CRS is
    reprojected from what it declares. ``where`` keeps the features of a GIS
    file matching an OGR SQL condition.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"file {str(path)!r} does not exist")
    source_crs = _parse_crs(crs) if crs else None
    if path.suffix.lower() in (".csv", ".txt", ".xlsx"):
        if where:
            raise InvalidInput("parameter 'where': only for GIS files (GeoPackage, "
                               "Shapefile, GeoJSON)", parameter="where")
        frame = _table_geometries(read_table(path), source_crs, path.name)
    else:
        frame = _read_gis(path, source_layer, where)
        if frame.crs is None:
            frame = frame.set_crs(source_crs or CRS.from_epsg(4326))
    frame = frame[frame.geometry.notna()].copy() if frame.geometry.isna().any() else frame
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return frame


def _read_gis(path: Path, source_layer: str | None, where: str | None) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path, layer=source_layer, engine="pyogrio", where=where)
    except DataSourceError as exc:
        raise InvalidInput(f"{path.name}: cannot read it ({exc})") from None
    except ValueError as exc:  # pyogrio: an SQL condition it cannot run
        raise InvalidInput(f"parameter 'where': {exc}", parameter="where") from None
    if where and frame.empty:
        raise InvalidInput(f"parameter 'where': no feature of {path.name} matches {where!r}",
                           parameter="where")
    return frame


def _parse_crs(value: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise UnknownCRS(f"parameter 'crs': cannot understand {value!r} as a CRS") from exc


def _table_geometries(df: pd.DataFrame, crs: CRS | None, name: str) -> gpd.GeoDataFrame:
    cols = list(df.columns)
    lon, lat, wkt = (find_column(df, names) for names in (LON_NAMES, LAT_NAMES, WKT_NAMES))
    if wkt is not None:
        geoms = shapely.from_wkt(df[wkt].fillna("").replace("", None).to_numpy(),
                                 on_invalid="raise")
        df = df.drop(columns=[wkt])
    elif lon is not None and lat is not None:
        x = pd.to_numeric(df[lon], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(df[lat], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        geoms = np.full(len(df), None, dtype=object)
        geoms[ok] = shapely.points(x[ok], y[ok])
    else:
        raise InvalidInput(f"{name}: a table needs lon/lat (or longitude/latitude) "
                           f"columns or a WKT column; found {', '.join(cols)}")
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms), crs=crs or CRS.from_epsg(4326))


def check_geometries(frame: gpd.GeoDataFrame, invalid: str) -> gpd.GeoDataFrame:
    """Repair invalid geometries with make_valid, or refuse listing their row numbers."""
    geoms = frame.geometry.values
    bad = ~shapely.is_valid(geoms) | shapely.is_empty(geoms)
    if not bad.any():
        return frame
    rows = (np.flatnonzero(bad) + 1).tolist()
    if invalid != "repair":
        reasons = [shapely.is_valid_reason(g) for g in geoms[bad][:5]]
        raise InvalidGeometry(
            f"{len(rows)} invalid or empty geometries at rows {rows[:20]}"
            f"{' ...' if len(rows) > 20 else ''} ({'; '.join(reasons)}); "
            "use --invalid repair to fix them with make_valid", rows=rows)
    frame = frame.copy()
    fixed = shapely.make_valid(geoms[bad])
    frame.loc[bad, "geometry"] = fixed
    return frame

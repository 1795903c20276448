"""Export a layer to GeoPackage, Shapefile, GeoJSON, GeoParquet, CSV or XLSX.

The format follows the file's extension. CSV and XLSX carry the geometry as
WKT in a ``wkt`` column (and ``lon``/``lat`` for points), so ``gridgov import``
reads them back; a Shapefile truncates field names to 10 characters (its
format's limit) and is written in UTF-8 with a ``.cpg`` file.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from gis_core.errors import InvalidInput

QUERIES: dict[str, str] = {
    "admin": "SELECT code, name, level, parent_code, geom FROM admin_areas ORDER BY code",
    "buildings": "SELECT code, external_code, address, name, floors, height, use, "
                 "community_code, status, attributes->'grids' AS grids, geom FROM buildings "
                 "ORDER BY code",
    "cameras": "SELECT code, name, kind, mount_height, heading, hfov, range_m, pan_min, "
               "pan_max, status, geom FROM cameras ORDER BY code",
    "roads": "SELECT name, kind, geom FROM roads ORDER BY id",
    "events": "SELECT e.id, c.code AS category, e.status, e.channel, e.grids, "
              "e.community_code, e.reported_at, e.closed_at, e.due_at, e.geom "
              "FROM events e JOIN event_categories c ON c.id = e.category_id ORDER BY e.id",
}
DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON",
           ".json": "GeoJSON", ".parquet": "parquet", ".csv": "csv", ".xlsx": "xlsx"}
#: the longest text an XLSX cell holds
XLSX_CELL = 32_767


def layer_names(engine: Engine) -> list[str]:
    """Exportable layer names: the fixed ones plus ``grids:<layer>`` per grid layer."""
    with engine.connect() as conn:
        grid_layers = conn.execute(text("SELECT name FROM grid_layers ORDER BY id")).scalars()
        return [*QUERIES, *(f"grids:{n}" for n in grid_layers)]


def read_layer(engine: Engine, layer: str) -> gpd.GeoDataFrame:
    """Read one layer as a GeoDataFrame (``grids`` or ``grids:<name>`` for grids)."""
    params: dict[str, str] = {}
    if layer == "grids" or layer.startswith("grids:"):
        sql = ("SELECT g.code, g.alias_code, g.name, l.name AS layer, g.community_code, "
               "g.valid_from, g.valid_to, g.geom FROM grids g JOIN grid_layers l "
               "ON l.id = g.layer_id")
        if ":" in layer:
            sql += " WHERE l.name = :layer"
            params["layer"] = layer.split(":", 1)[1]
        sql += " ORDER BY l.id, g.code, g.valid_from"
    elif layer in QUERIES:
        sql = QUERIES[layer]
    else:
        raise InvalidInput(f"unknown layer {layer!r}; choose one of "
                           f"{', '.join(layer_names(engine))}")
    with engine.connect() as conn:
        frame = gpd.read_postgis(text(sql), conn, geom_col="geom", params=params)
    for col in frame.columns:
        if frame[col].dtype == object and col != "geom":
            frame[col] = frame[col].map(_json_text)
    return frame.set_crs(4326, allow_override=True)


def _json_text(value: object) -> object:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def export_layer(engine: Engine, layer: str, path: str | Path) -> int:
    """Write ``layer`` to ``path``; the format follows the extension."""
    path = Path(path)
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise InvalidInput(f"unknown output format {path.suffix!r}; "
                           f"use one of {', '.join(DRIVERS)}")
    frame = read_layer(engine, layer)
    if driver == "parquet":
        frame.to_parquet(path)
    elif driver in ("csv", "xlsx"):
        _write_table(frame, path, driver)
    elif driver == "ESRI Shapefile":
        with warnings.catch_warnings():  # field names cut to 10 characters, as documented
            warnings.filterwarnings("ignore", message=".*(truncated|Normalized/laundered)")
            frame.to_file(path, driver=driver, engine="pyogrio", encoding="UTF-8")
    else:
        frame.to_file(path, driver=driver, engine="pyogrio",
                      layer=layer.replace(":", "_") if driver == "GPKG" else None)
    return len(frame)


def table_of(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """The attributes with the geometry as WKT (and lon/lat for points)."""
    geoms = frame.geometry.values
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    if len(geoms) and (shapely.get_type_id(geoms) == 0).all():
        out["lon"], out["lat"] = shapely.get_x(geoms), shapely.get_y(geoms)
    out["wkt"] = shapely.to_wkt(geoms, rounding_precision=9, trim=True)
    return out


def _write_table(frame: gpd.GeoDataFrame, path: Path, driver: str) -> None:
    table = table_of(frame)
    if driver == "csv":
        table.to_csv(path, index=False, encoding="utf-8")
        return
    longest = int(table["wkt"].str.len().max()) if len(table) else 0
    if longest > XLSX_CELL:
        raise InvalidInput(f"a geometry needs {longest} characters of WKT, more than an XLSX "
                           f"cell holds ({XLSX_CELL}); export to .gpkg or .csv instead")
    table.to_excel(path, index=False, engine="openpyxl")

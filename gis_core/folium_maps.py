"""folium maps of GeoDataFrames styled like the one-map's layers, usable with no internet.

Analysts draw the same layers as the web client: each layer is a GeoDataFrame
plus a style mapping with the keys of the layer registry's style hints
(``type`` fill/line/circle, ``color``, ``outline_color``, ``opacity``,
``width``, ``radius``, ``color_by``, ``colors``, ``visible``), e.g.
``layers.registry.get_layer("buildings").style.model_dump()``.

Offline: folium links Leaflet, jQuery and Bootstrap from CDNs by default. With
``offline=True`` the map carries Leaflet itself (its JS and CSS inlined as
``data:`` URIs, read from a local Leaflet ``dist`` folder) and nothing else
external: no CDN, no basemap tiles. The folder is, in order: the
``leaflet_dir`` argument, ``$GRIDGOV_LEAFLET_DIR``, or the repository's
``node_modules/leaflet/dist`` (installed by ``npm install`` / ``make assets``
from ``package.json``). ``offline="http://host:port/vendor/leaflet"`` links
the copy that the gridgov server serves instead of inlining it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np

from gis_core._checks import require_crs
from gis_core.errors import InvalidInput

STYLE_TYPES = ("fill", "line", "circle")
_REPO_LEAFLET = Path(__file__).resolve().parents[1] / "node_modules" / "leaflet" / "dist"


def find_leaflet_dir(leaflet_dir: str | Path | None = None) -> Path:
    """The local Leaflet ``dist`` folder (with ``leaflet.js`` and ``leaflet.css``).

    Raises
    ------
    InvalidInput
        When no folder with both files is found; the message says how to install one.
    """
    candidates = [Path(p) for p in (leaflet_dir, os.environ.get("GRIDGOV_LEAFLET_DIR")) if p]
    candidates.append(_REPO_LEAFLET)
    for folder in candidates:
        if (folder / "leaflet.js").is_file() and (folder / "leaflet.css").is_file():
            return folder
    raise InvalidInput(
        "parameter 'leaflet_dir': no local Leaflet found (looked in "
        f"{', '.join(str(c) for c in candidates)}); run `npm install` in the repository "
        "or set GRIDGOV_LEAFLET_DIR to a folder with leaflet.js and leaflet.css",
        parameter="leaflet_dir")


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def leaflet_assets(offline: bool | str, leaflet_dir: str | Path | None = None
                   ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]] | None:
    """The ``(default_js, default_css)`` of a folium map for ``offline``; None: the CDN ones.

    Examples
    --------
    >>> js, css = leaflet_assets("http://127.0.0.1:8000/vendor/leaflet")
    >>> js
    [('leaflet', 'http://127.0.0.1:8000/vendor/leaflet/leaflet.js')]
    >>> leaflet_assets(False) is None
    True
    """
    if offline is False:
        return None
    if isinstance(offline, str):
        base = offline.rstrip("/")
        return [("leaflet", f"{base}/leaflet.js")], [("leaflet_css", f"{base}/leaflet.css")]
    if offline is not True:
        raise InvalidInput("parameter 'offline': expected True, False or a base URL",
                           parameter="offline")
    folder = find_leaflet_dir(leaflet_dir)
    return ([("leaflet", _data_uri(folder / "leaflet.js", "text/javascript"))],
            [("leaflet_css", _data_uri(folder / "leaflet.css", "text/css"))])


def _check_style(name: str, style: Mapping[str, Any]) -> None:
    if style.get("type") not in STYLE_TYPES:
        raise InvalidInput(f"parameter 'layers': style of {name!r} must have type one of "
                           f"{', '.join(STYLE_TYPES)}, got {style.get('type')!r}",
                           parameter="layers")


def _style_function(style: Mapping[str, Any]) -> Any:
    color = style.get("color", "#3388ff")
    by, colors = style.get("color_by"), dict(style.get("colors") or {})
    kind = style["type"]

    def style_of(feature: dict[str, Any]) -> dict[str, Any]:
        fill = colors.get(str(feature["properties"].get(by)), color) if by else color
        if kind == "line":
            return {"color": fill, "weight": style.get("width", 1.0), "opacity": 0.9}
        if kind == "circle":
            return {"color": "#ffffff", "weight": 1, "fill": True, "fillColor": fill,
                    "fillOpacity": 0.9}
        return {"color": style.get("outline_color") or fill, "weight": 0.8,
                "fillColor": fill, "fillOpacity": style.get("opacity", 0.6)}

    return style_of


def add_layer(fmap: folium.Map, gdf: gpd.GeoDataFrame, style: Mapping[str, Any], *,
              name: str, tooltip: Sequence[str] | None = None) -> folium.GeoJson:
    """Add one styled layer (a GeoDataFrame in any CRS, drawn in EPSG:4326) to ``fmap``."""
    _check_style(name, style)
    require_crs(gdf, "gdf")
    data = gdf.to_crs(4326)
    columns = [c for c in (tooltip or []) if c in data.columns]
    by = style.get("color_by")
    keep = [*columns, *([by] if by in data.columns and by not in columns else [])]
    data = data[[*keep, data.geometry.name]]
    kwargs: dict[str, Any] = {}
    if style["type"] == "circle":
        kwargs["marker"] = folium.CircleMarker(radius=style.get("radius", 4.0), fill=True)
    if columns:
        kwargs["tooltip"] = folium.GeoJsonTooltip(fields=columns)
    layer = folium.GeoJson(data, name=name, style_function=_style_function(style),
                           show=bool(style.get("visible", True)), **kwargs)
    layer.add_to(fmap)
    return layer


def layer_map(layers: Mapping[str, tuple[gpd.GeoDataFrame, Mapping[str, Any]]], *,
              offline: bool | str = True, leaflet_dir: str | Path | None = None,
              tiles: str | None = None, tooltips: Mapping[str, Sequence[str]] | None = None,
              ) -> folium.Map:
    """A folium map of named ``(GeoDataFrame, style)`` layers with a layer switcher.

    Parameters
    ----------
    layers
        Layer name -> (GeoDataFrame with a CRS, style hints), drawn in order.
    offline
        True: Leaflet inlined from a local copy, no external request at all;
        a base URL: Leaflet linked from there (e.g. the gridgov server's
        ``/vendor/leaflet``); False: folium's CDN links.
    leaflet_dir
        Local Leaflet ``dist`` folder (see :func:`find_leaflet_dir`).
    tiles
        A basemap for folium (an XYZ URL template or a folium name); none by
        default, since a basemap needs its tile server.
    tooltips
        Layer name -> columns shown on hover.

    Examples
    --------
    >>> import tempfile
    >>> from shapely.geometry import Point, box
    >>> leaflet = Path(tempfile.mkdtemp())
    >>> _ = (leaflet / "leaflet.js").write_text("/* leaflet */")
    >>> _ = (leaflet / "leaflet.css").write_text("")
    >>> grids = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(114.24, 22.71, 114.26, 22.73)],
    ...                          crs=4326)
    >>> events = gpd.GeoDataFrame({"status": ["registered", "closed"]},
    ...                           geometry=[Point(114.25, 22.72), Point(114.245, 22.715)],
    ...                           crs=4326)
    >>> fmap = layer_map({"grids": (grids, {"type": "line", "color": "#33a02c"}),
    ...                   "events": (events, {"type": "circle", "color": "#ff7f00",
    ...                                       "color_by": "status",
    ...                                       "colors": {"closed": "#33a02c"}})},
    ...                  leaflet_dir=leaflet, tooltips={"grids": ["code"]})
    >>> html = fmap.get_root().render()
    >>> "https://" in html or "http://" in html.replace("http://www.w3.org", "")
    False
    """
    if not layers:
        raise InvalidInput("parameter 'layers': give at least one layer", parameter="layers")
    for name, (_, style) in layers.items():
        _check_style(name, style)
    boxes = np.array([gdf.to_crs(4326).total_bounds for gdf, _ in layers.values() if len(gdf)])
    bounds = ((boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())
              if len(boxes) else (np.nan,) * 4)  # extent only: no union of possibly invalid parts
    fmap = folium.Map(tiles=tiles, control_scale=True)
    assets = leaflet_assets(offline, leaflet_dir)
    if assets is not None:
        fmap.default_js, fmap.default_css = assets
    for name, (gdf, style) in layers.items():
        add_layer(fmap, gdf, style, name=name, tooltip=(tooltips or {}).get(name))
    folium.LayerControl(collapsed=False).add_to(fmap)
    if all(v == v for v in bounds):  # not NaN: at least one non-empty layer
        fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return fmap

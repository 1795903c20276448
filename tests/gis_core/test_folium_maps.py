"""folium helpers: styled layers, and an offline map that Chromium draws with no network."""

from __future__ import annotations

import re
import time
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from gis_core.errors import InvalidInput
from gis_core.folium_maps import find_leaflet_dir, layer_map
from tests.web.cdp import Browser


def _layers() -> dict[str, tuple[gpd.GeoDataFrame, dict[str, object]]]:
    grids = gpd.GeoDataFrame(
        {"code": ["G1", "G2"]},
        geometry=[box(114.24, 22.71, 114.25, 22.72), box(114.25, 22.71, 114.26, 22.72)],
        crs=4326).to_crs(4547)  # a projected CRS on purpose: drawn in EPSG:4326
    roads = gpd.GeoDataFrame({"name": ["r"]}, geometry=[LineString([(114.24, 22.715),
                                                                     (114.26, 22.716)])],
                             crs=4326)
    events = gpd.GeoDataFrame({"status": ["registered", "closed", "closed"]},
                              geometry=[Point(114.245, 22.713), Point(114.255, 22.717),
                                        Point(114.251, 22.719)], crs=4326)
    return {
        "grids": (grids, {"type": "fill", "color": "#33a02c", "opacity": 0.3}),
        "roads": (roads, {"type": "line", "color": "#9e9e9e", "width": 2.0}),
        "events": (events, {"type": "circle", "color": "#ff7f00", "color_by": "status",
                            "colors": {"closed": "#1b9e77"}, "radius": 5.0}),
    }


def test_offline_map_inlines_leaflet_and_links_nothing_external() -> None:
    html = layer_map(_layers(), tooltips={"grids": ["code"]}).get_root().render()
    external = [u for u in re.findall(r"(?:src|href)=[\"']([^\"']+)", html)
                if not u.startswith("data:")]
    assert external == []
    assert "cdn" not in html.lower()
    leaflet_js = (find_leaflet_dir() / "leaflet.js").read_bytes()
    assert len(html) > len(leaflet_js)  # Leaflet itself travels with the map


def test_linking_the_servers_leaflet_and_the_cdn_default() -> None:
    linked = layer_map(_layers(), offline="http://127.0.0.1:8000/vendor/leaflet")
    html = linked.get_root().render()
    assert "http://127.0.0.1:8000/vendor/leaflet/leaflet.js" in html
    assert "cdn.jsdelivr" not in html
    assert "cdn.jsdelivr" in layer_map(_layers(), offline=False).get_root().render()


@pytest.mark.parametrize("style", [{"type": "polygon"}, {}])
def test_bad_style_is_refused_naming_the_layer(style: dict[str, object]) -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=4326)
    with pytest.raises(InvalidInput, match="'x'"):
        layer_map({"x": (gdf, style)})


def test_missing_leaflet_says_how_to_install(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gis_core.folium_maps._REPO_LEAFLET", tmp_path / "nothing")
    monkeypatch.delenv("GRIDGOV_LEAFLET_DIR", raising=False)
    with pytest.raises(InvalidInput, match="npm install"):
        layer_map(_layers())


def test_chromium_draws_the_offline_map_without_network(tmp_path: Path) -> None:
    page_file = tmp_path / "map.html"
    layer_map(_layers()).save(str(page_file))
    with Browser() as browser:
        browser.open_page()
        browser.navigate(page_file.as_uri())
        drawn = browser.wait_for(
            "typeof L !== 'undefined' && document.querySelectorAll("
            "'.leaflet-overlay-pane path').length", timeout=30)
        time.sleep(0.5)
        # 2 grid polygons + 1 road + 3 event circles, each a path in Leaflet's SVG renderer
        assert drawn == 6
        colours = browser.evaluate(
            "[...document.querySelectorAll('.leaflet-overlay-pane path')]"
            ".map(p => p.getAttribute('fill')).filter(c => c && c !== 'none').sort()")
        assert colours.count("#1b9e77") == 2
        assert "#ff7f00" in colours
        assert browser.evaluate("document.querySelectorAll("
                                "'.leaflet-control-layers-overlays label').length") == 3
        urls = browser.requested_urls()
        assert urls
        assert all(u.startswith(("file:", "data:")) for u in urls), urls

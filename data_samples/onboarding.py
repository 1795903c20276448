"""The files of the onboarding walk-through (docs/onboarding.md): Nanshan, Shenzhen.

Real: the district polygon of 南山区 (``cn_admin/shenzhen_districts_transbigdata.geojson``),
the building footprints (``cn_buildings/shenzhen_nanshan_buildings_maptalks.geojson``),
the street codes and names (GB/T 2260 table in ``data_samples/``) and the
catalogue (``data_samples/categories.csv``, ``departments.csv``).

Made here, because no public extract has them: the street, community and grid
polygons (the district cut along straight lines: four streets, two
communities each, up to four grids a community, codes after GB/T 2260 and
CJ/T 213) and a small hotline export (reports at building footprints, local
Beijing times without a zone, a ``渠道`` channel column), written as a district
would hand them over. Run ``python -m data_samples.onboarding OUT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from data_samples.catalogue import load_categories, load_departments
from gis_core.topology import repair

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DISTRICTS = "cn_admin/shenzhen_districts_transbigdata.geojson"
BUILDINGS = "cn_buildings/shenzhen_nanshan_buildings_maptalks.geojson"
#: where the district is cut into streets: through the middle of the building extract
CUT_LON, CUT_LAT = 113.933, 22.519
#: the quadrants (west/east, south/north) and the real street of each
STREETS = {("w", "s"): ("440305005", "蛇口街道"), ("e", "s"): ("440305006", "招商街道"),
           ("e", "n"): ("440305007", "粤海街道"), ("w", "n"): ("440305002", "南山街道")}
#: their channels -> ours (``gridgov import events --channel-map``)
CHANNELS = {"电话": "hotline", "微信": "app", "巡查": "patrol"}


def _halves(geom: shapely.Geometry, lon: float | None = None, lat: float | None = None
            ) -> list[shapely.Geometry]:
    """``geom`` cut in two along a meridian (``lon``) or a parallel (``lat``)."""
    x0, y0, x1, y1 = geom.bounds
    if lon is not None:
        parts = [box(x0 - 1, y0 - 1, lon, y1 + 1), box(lon, y0 - 1, x1 + 1, y1 + 1)]
    else:
        parts = [box(x0 - 1, y0 - 1, x1 + 1, lat), box(x0 - 1, lat, x1 + 1, y1 + 1)]
    return [shapely.intersection(geom, p) for p in parts]


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    parts = shapely.get_parts(shapely.get_parts(geom))  # collections of multi-polygons too
    polys = [g for g in parts if g.geom_type == "Polygon" and g.area > 0]
    return shapely.MultiPolygon(polys) if polys else None


def layers(district: shapely.Geometry) -> tuple[gpd.GeoDataFrame, ...]:
    """Streets, communities and grids that partition ``district`` exactly."""
    streets, communities, grids = [], [], []
    west, east = _halves(district, lon=CUT_LON)
    for ew, half in (("w", west), ("e", east)):
        for sn, quarter in zip(("s", "n"), _halves(half, lat=CUT_LAT), strict=True):
            code, name = STREETS[(ew, sn)]
            streets.append((code, name, quarter))
            mid = (quarter.bounds[0] + quarter.bounds[2]) / 2
            for i, part in enumerate(_halves(quarter, lon=mid), start=1):
                community = f"{code}{i:03d}"
                communities.append((community, f"{name[:2]}第{i}社区", part))
                cut = (part.bounds[1] + part.bounds[3]) / 2
                pieces = [g for h in _halves(part, lat=cut)
                          for g in _halves(h, lon=(part.bounds[0] + part.bounds[2]) / 2)]
                kept = [p for p in map(_polygonal, pieces) if p is not None]
                grids += [(f"{community}{k:03d}", f"{name[:2]}{i}-{k}号网格", g)
                          for k, g in enumerate(kept, start=1)]

    def frame(rows: list[tuple[str, str, shapely.Geometry]]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"code": [r[0] for r in rows], "name": [r[1] for r in rows]},
                                geometry=[_polygonal(r[2]) for r in rows], crs=4326)

    # the cuts leave centimetre slivers along the coast: repaired as a district would
    cells = repair(frame(grids), boundary=gpd.GeoSeries([district], crs=4326))
    return _merged(cells, 9, frame(streets)), _merged(cells, 12, frame(communities)), cells


def _merged(grids: gpd.GeoDataFrame, digits: int, names: gpd.GeoDataFrame
            ) -> gpd.GeoDataFrame:
    """The union of the grids of each area (code prefix of ``digits``), named as ``names``."""
    merged = grids.assign(code=grids["code"].str[:digits]).dissolve("code").reset_index()
    merged["name"] = merged["code"].map(dict(zip(names["code"], names["name"], strict=True)))
    merged["geometry"] = [_polygonal(g) for g in merged.geometry]
    return merged[["code", "name", "geometry"]]


def hotline(buildings: gpd.GeoDataFrame, n: int = 60, seed: int = 7) -> pd.DataFrame:
    """A hotline export: reports at footprints, naive Beijing times, Chinese names."""
    rng = np.random.default_rng(seed)
    at = buildings.geometry.representative_point().iloc[rng.choice(len(buildings), n)]
    cats = load_categories()
    names = cats["name"].iloc[rng.choice(12, n)].to_numpy()
    start = pd.Timestamp("2024-10-08 08:30")
    times = start + pd.to_timedelta(np.sort(rng.integers(0, 3 * 24 * 60, n)), "min")
    return pd.DataFrame({
        "工单编号": [f"RX{20241008000 + i}" for i in range(n)],
        "事件类型": names, "受理时间": times.strftime("%Y-%m-%d %H:%M"),
        "渠道": rng.choice(list(CHANNELS), n), "lon": at.x.round(7).to_numpy(),
        "lat": at.y.round(7).to_numpy()})


def write(out: str | Path, shared: Path = SHARED) -> dict[str, Path]:
    """Write the district's files into ``out``; their paths by name."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    districts = gpd.read_file(shared / DISTRICTS)
    district = districts.loc[districts["qh"] == "南山", "geometry"].iloc[0]
    streets, communities, grids = layers(district)
    paths = {name: out / f"{name}.geojson" for name in ("streets", "communities", "grids")}
    for name, frame in (("streets", streets), ("communities", communities),
                        ("grids", grids)):
        frame.to_file(paths[name])
    buildings = gpd.read_file(shared / BUILDINGS)
    paths["hotline"] = out / "hotline.csv"
    hotline(buildings).to_csv(paths["hotline"], index=False, encoding="utf-8-sig")
    paths["catalogue"] = out / "catalogue.xlsx"
    with pd.ExcelWriter(paths["catalogue"], engine="openpyxl") as xlsx:
        cats = load_categories().rename(columns={
            "code": "类别编码", "name": "类别名称", "major_name": "大类名称",
            "time_limit_hours": "时限(小时)"})
        cats.to_excel(xlsx, sheet_name="categories", index=False)
        load_departments().to_excel(xlsx, sheet_name="departments", index=False)
    return paths


if __name__ == "__main__":
    for name, path in write(sys.argv[1] if len(sys.argv) > 1 else "nanshan").items():
        print(f"{name}: {path}")

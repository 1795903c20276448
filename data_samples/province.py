"""The province-scale sample (``gridgov sample --scale province``), made district by district.

A province sample is a directory of parts, one per district, each a whole
sample directory of its own (``parts/440303/`` holds what ``gridgov sample``
writes and loads alone), and at the top the cities holding the districts
(``sample.gpkg``, layer ``admin_areas``), the shared catalogue
(``grid_layers.csv``, ``categories.csv``, ``departments.csv``) and
``manifest.json``: the parts in loading order and the counts summed over them.

The districts are the cells of one lobed province outline (a Voronoi partition
relaxed by Lloyd steps), so neighbouring districts share their borders with no
gap and no overlap, and grids, streets and communities never cross a district
border. One part is in memory at a time: the peak memory of a province is that
of one district, whatever the number of districts. Event ids run on from part
to part, so the whole province has one id per event.

At the default part size (``district``: 4,200 grids, 170,000 buildings, 2,000
cameras, 834,000 events per district) twelve districts make 50,400 grids,
2.04 million buildings and 10 million events. The ``small`` part size (the test
sample's) lets a province be tried in seconds.

Names: the city and district codes and names are the real GB/T 2260 ones of
Shenzhen and Huizhou (深圳市, 惠州市) and Longgang keeps its real streets
(国家统计局 2023 统计用区划代码); where the districts lie, the other districts'
streets (codes ``DDDDDD001``.. and names) and everything below are synthetic.
With ``history=False`` the events have no history rows (about seven per event:
70 million at full size), for the analyses that read only the events.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from data_samples import events as ev_mod
from data_samples import territory as terr
from data_samples.generator import (
    GENERATOR_VERSION,
    METRIC_CRS,
    SCALES,
    STREETS,
    District,
    ScaleSpec,
    _Geo,
    make_part,
    period_end,
    write_manifest,
)
from data_samples.names import pick_words
from gis_core.errors import InvalidInput

Progress = Callable[[str, float], None]

#: GB/T 2260 codes and names: the cities and, in order, the districts a province sample takes
CITIES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("440300", "深圳市", (("440303", "罗湖区"), ("440304", "福田区"), ("440305", "南山区"),
                          ("440306", "宝安区"), ("440307", "龙岗区"), ("440308", "盐田区"),
                          ("440309", "龙华区"), ("440310", "坪山区"), ("440311", "光明区"))),
    ("441300", "惠州市", (("441302", "惠城区"), ("441303", "惠阳区"), ("441322", "博罗县"))),
)
MAX_DISTRICTS = sum(len(districts) for _, _, districts in CITIES)
SHARED = ("categories", "departments")
ALIAS_PREFIXES = "ABCDEFGHJKMN"  # the grids' alias codes start with their district's letter

#: the size of one district of a province
PARTS: dict[str, ScaleSpec] = {
    "district": ScaleSpec(260.0, tuple(STREETS), 12, 4_200, 170, 6, 170_000, 2_000, 834_000,
                          40_000),
    "small": SCALES["small"],
}


@dataclass
class ProvinceManifest:
    """What :func:`generate_province` wrote (also saved as ``manifest.json``)."""

    seed: int
    scale: str
    part_scale: str
    generator_version: str
    metric_crs: str
    storage_crs: str
    period_start: str
    period_end: str
    bbox: list[float]
    cities: list[dict[str, str]]
    districts: list[dict[str, Any]]
    parts: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The manifest as a plain dict (what ``manifest.json`` holds)."""
        return asdict(self)


def _districts(rng: np.random.Generator, n: int, spec: ScaleSpec) -> list[District]:
    """The first ``n`` districts of :data:`CITIES`, with their streets."""
    chosen = [(city, code, name) for city, _, members in CITIES for code, name in members][:n]
    n_streets = len(spec.streets)
    out = []
    for i, (city, code, name) in enumerate(chosen):
        if code == "440307" and n_streets <= len(STREETS):  # Longgang's streets are real
            streets = dict(list(STREETS.items())[:n_streets])
        else:
            words = pick_words(rng, n_streets)
            streets = {f"{code}{k + 1:03d}": f"{w}街道" for k, w in enumerate(words)}
        out.append(District(code, name, streets, ALIAS_PREFIXES[i], city))
    return out


def _cells(rng: np.random.Generator, outline: BaseGeometry, n: int) -> list[BaseGeometry]:
    """``outline`` cut into ``n`` compact cells, numbered north-west to south-east."""
    if n == 1:
        return [outline]
    _, cells = terr.relaxed_partition(rng, outline, n, iterations=4)
    xy = shapely.get_coordinates(shapely.centroid(cells))
    band = (xy[:, 1].max() - xy[:, 1].min()) / max(1.0, np.sqrt(n)) or 1.0
    order = np.lexsort((xy[:, 0], np.floor((xy[:, 1].max() - xy[:, 1]) / band)))
    return [cells[i] for i in order]


def generate_province(out_dir: str | Path, seed: int = 42, districts: int = MAX_DISTRICTS,
                      part: str = "district", progress: Progress | None = None,
                      end: date | str | None = None, *, history: bool = True
                      ) -> ProvinceManifest:
    """Generate a province of ``districts`` districts into ``out_dir``, one at a time.

    Parameters
    ----------
    out_dir
        Directory to write (created if missing; parts of the same names are replaced).
    seed
        Random seed; the same seed, districts, part size and end give the same data.
    districts
        How many districts (1 to 12), taken in the order of :data:`CITIES`.
    part
        The size of each district: ``"district"`` (4,200 grids, 170,000 buildings,
        2,000 cameras, 834,000 events) or ``"small"`` (the test sample's size).
    progress
        Called with a stage name and the fraction done (0-1).
    end
        The day the year of events ends, as for :func:`data_samples.generator.generate`.
    history
        Whether to write the events' history rows.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     m = generate_province(d, seed=1, districts=2, part="small", end="2026-11-01")
    >>> m.parts, m.counts["events"]
    (['parts/440303', 'parts/440304'], 4000)
    """
    if isinstance(districts, bool) or not isinstance(districts, int) \
            or not 1 <= districts <= MAX_DISTRICTS:
        raise InvalidInput(f"districts must be an integer from 1 to {MAX_DISTRICTS}, "
                           f"got {districts!r}")
    if part not in PARTS:
        raise InvalidInput(f"part must be one of {sorted(PARTS)}, got {part!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidInput(f"seed must be a non-negative integer, got {seed!r}")
    seed, until, spec = int(seed), period_end(end), PARTS[part]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, fraction: None)
    started = time.perf_counter()
    geo = _Geo()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 100]))
    outline = terr.district_outline(rng, geo.centre, districts * spec.area_km2 * 1e6)
    cells = _cells(rng, outline, districts)
    chosen = _districts(rng, districts, spec)
    counts: dict[str, int] = {}
    made: list[dict[str, Any]] = []
    next_id = 1
    for i, (district, cell) in enumerate(zip(chosen, cells, strict=True)):
        def step(stage: str, fraction: float, i: int = i, name: str = district.name) -> None:
            report(f"{name} {stage}", (i + fraction) / districts)

        folder = out / "parts" / district.code
        made_part = make_part(folder, (seed, 1000 + i), spec, district, until, step,
                              outline=cell, first_event_id=next_id,
                              with_history=history)
        write_manifest(folder, made_part.manifest(seed, f"province-{part}"))
        for k, v in made_part.counts.items():  # the catalogue is shared, the rest adds up
            counts[k] = v if k in SHARED else counts.get(k, 0) + v
        made.append({"code": district.code, "name": district.name, "city": district.parent_code,
                     "first_event_id": next_id, "events": made_part.counts["events"],
                     "outline": made_part.outline})
        next_id += made_part.counts["events"]
    report("cities", 0.99)
    cities = _write_top(out, geo, made, chosen[0], counts)
    bounds = shapely.bounds(geo.lonlat(shapely.union_all([m["outline"] for m in made])))
    manifest = ProvinceManifest(
        seed=seed, scale="province", part_scale=part, generator_version=GENERATOR_VERSION,
        metric_crs=METRIC_CRS, storage_crs="EPSG:4326",
        period_start=ev_mod.period_start(until).isoformat(),
        period_end=until.isoformat(), bbox=[round(float(v), 7) for v in bounds],
        cities=cities, districts=[{k: v for k, v in m.items() if k != "outline"} for m in made],
        parts=[f"parts/{m['code']}" for m in made], counts=counts)
    manifest.seconds = round(time.perf_counter() - started, 2)
    (out / "manifest.json").write_text(
        json.dumps({k: v for k, v in manifest.as_dict().items() if k != "seconds"},
                   ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    report("done", 1.0)
    return manifest


def _write_top(out: Path, geo: _Geo, made: list[dict[str, Any]], first: District,
               counts: dict[str, int]) -> list[dict[str, str]]:
    """The cities (union of their districts) and the shared catalogue, at the top."""
    names = {code: name for code, name, _ in CITIES}
    rows = []
    for city in dict.fromkeys(m["city"] for m in made):
        union = shapely.union_all([m["outline"] for m in made if m["city"] == city])
        rows.append({"code": city, "name": names[city], "level": "city", "parent_code": None,
                     "geometry": shapely.multipolygons(shapely.get_parts(geo.lonlat(union)))})
    gpkg = out / "sample.gpkg"
    gpkg.unlink(missing_ok=True)
    gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326").to_file(
        gpkg, layer="admin_areas", driver="GPKG", engine="pyogrio")
    for name in ("grid_layers.csv", "categories.csv", "departments.csv"):
        shutil.copyfile(out / "parts" / first.code / name, out / name)
    counts["cities"] = len(rows)
    return [{k: r[k] for k in ("code", "name")} for r in rows]

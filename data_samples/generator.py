"""The deterministic sample-town generator (``gridgov sample``).

:func:`generate` writes a sample town placed in Longgang district, Shenzhen
(龙岗区, GB/T 2260 code 440307, around 114.25E 22.72N) to a directory:

``sample.gpkg`` (EPSG:4326)
    layers ``admin_areas``, ``grids``, ``buildings``, ``roads``, ``cameras``
    and ``rivers`` (name, geometry; not loaded into the database).
``grid_layers.csv``, ``departments.csv``, ``categories.csv``
    the grid layers and the shipped catalogue.
``rooms.parquet``, ``events.parquet``, ``event_history.parquet``
    rooms of residential buildings, one year of events and their history.
``manifest.json``
    seed, scale, version, place, metric CRS and counts.

The street names and codes are the real ones of the National Bureau of
Statistics 2023 statistical division codes (国家统计局 2023 统计用区划代码,
via modood/Administrative-divisions-of-China, WTFPL); everything below the
street level (community names, geometry, roads, buildings, cameras, events)
is synthetic.

Grid layers: ``basic`` is the exclusive unit-grid layer with CJ/T 213 15-digit
codes (12-digit community prefix + 3-digit sequence) and Langfang-style
5-character alias codes (``L`` + street letter + 3-digit number in the
street). ``functional`` is a non-exclusive layer of grids around schools,
markets and health centres (buffers) and over industrial parks; its 20-digit
codes have the shape of CJ/T 349 professional grid codes: a 6-digit class of
our own (``010100`` school surroundings, ``020100`` market surroundings,
``030100`` health-centre surroundings, ``040100`` industrial park), the
12-digit prefix of the community holding the grid's centroid and a 2-digit
sequence. Two neighbouring basic grids were redrawn on 2026-05-01: their
old versions carry ``valid_to`` equal to the new versions' ``valid_from``.

The same seed, scale and end date give identical attribute content and geometry; the
year of events ends on the day of generation unless an end date is given.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from coding.building_codes import make_building_code
from coding.grid_codes import number_unit_grids
from data_samples import cameras as cams_mod
from data_samples import events as ev_mod
from data_samples import territory as terr
from data_samples import town as town_mod
from data_samples.catalogue import (
    CATEGORIES_CSV,
    DEPARTMENTS_CSV,
    load_categories,
    load_departments,
)
from data_samples.names import pick_words
from data_samples.people import make_people, write_people
from data_samples.rooms import make_rooms
from gis_core.errors import InvalidInput

GENERATOR_VERSION = "1.0.0"
Scale = Literal["small", "town", "district"]
Progress = Callable[[str, float], None]

DISTRICT_CODE = "440307"
DISTRICT_NAME = "龙岗区"
CENTRE_LONLAT = (114.25, 22.72)
METRIC_CRS = "EPSG:4547"  # CGCS2000 3-degree Gauss-Kruger, central meridian 114E
# 国家统计局 2023 statistical division codes via modood/Administrative-divisions-of-China (WTFPL)
STREETS = {
    "440307003": "平湖街道", "440307006": "坪地街道", "440307012": "南湾街道",
    "440307013": "坂田街道", "440307014": "布吉街道", "440307015": "龙城街道",
    "440307016": "龙岗街道", "440307017": "横岗街道", "440307018": "吉华街道",
    "440307019": "宝龙街道", "440307020": "园山街道",
}
GRID_PLAN_FROM = pd.Timestamp("2024-01-01", tz="Asia/Shanghai").tz_convert("UTC")
REDRAWN_AT = pd.Timestamp("2026-05-01", tz="Asia/Shanghai").tz_convert("UTC")
FUNCTIONAL_CLASSES = {"school": ("010100", 150.0, "周边网格"),
                      "market": ("020100", 120.0, "周边网格"),
                      "hospital": ("030100", 100.0, "周边网格")}
INDUSTRIAL_CLASS = "040100"


@dataclass(frozen=True)
class ScaleSpec:
    """Sizes of one scale."""

    area_km2: float
    streets: tuple[str, ...]
    communities_per_street: int
    grids: int
    zones: int
    arterials: int
    buildings: int
    cameras: int
    events: int
    room_budget: int


SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec(1.8, ("440307003", "440307006"), 2, 30, 5, 1, 1_000, 40, 2_000, 30_000),
    "town": ScaleSpec(14.0, ("440307003", "440307013", "440307014", "440307012"), 3, 120, 18,
                      2, 10_000, 300, 50_000, 150_000),
    "district": ScaleSpec(260.0, tuple(STREETS), 12, 4_000, 170, 6, 200_000, 6_000, 200_000,
                          300_000),
}

#: households of synthetic residents per scale (about 2.6 persons each; data_samples/people.py)
PEOPLE_HOUSEHOLDS = {"town": 11_000, "district": 60_000}


@dataclass
class Manifest:
    """What :func:`generate` wrote (also saved as ``manifest.json``)."""

    seed: int
    scale: str
    generator_version: str
    district_code: str
    district_name: str
    centre_lon: float
    centre_lat: float
    bbox: list[float]
    metric_crs: str
    storage_crs: str
    period_start: str
    period_end: str
    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The manifest as a plain dict (what ``manifest.json`` holds)."""
        return asdict(self)

    def __getitem__(self, key: str) -> Any:
        """Read a field like a dict entry."""
        return self.as_dict()[key]


@dataclass(frozen=True)
class District:
    """The district a sample, or one part of a province sample, is placed in.

    ``streets`` maps 9-digit street codes to names in numbering order;
    ``alias_prefix`` is the first letter of the grids' 5-character alias codes
    (unique per district in a province); ``parent_code`` is the city holding
    the district (none for the one-district samples).
    """

    code: str
    name: str
    streets: dict[str, str]
    alias_prefix: str = "L"
    parent_code: str | None = None


def _longgang(spec: ScaleSpec) -> District:
    """Longgang with the real streets a scale uses."""
    return District(DISTRICT_CODE, DISTRICT_NAME, {c: STREETS[c] for c in spec.streets})


def _rng(key: tuple[int, ...], stream: int) -> np.random.Generator:
    """The random stream ``stream`` of a sample (``key``: its seed, and a part's number)."""
    return np.random.default_rng(np.random.SeedSequence([*key, stream]))


class _Geo:
    """Metric <-> EPSG:4326 helpers for the town."""

    def __init__(self) -> None:
        self.to_ll = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
        self.to_m = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
        x, y = self.to_m.transform(*CENTRE_LONLAT)
        self.centre = (float(x), float(y))

    def lonlat(self, geoms: Any) -> Any:
        def fn(c: np.ndarray) -> np.ndarray:
            return np.column_stack(self.to_ll.transform(c[:, 0], c[:, 1]))
        return shapely.transform(geoms, fn)


def _multi(geoms: Any) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    parts, idx = shapely.get_parts(geoms, return_index=True)
    kind = shapely.get_type_id(parts)
    if np.all(kind == 3):
        out = shapely.multipolygons(parts, indices=idx)
    else:
        out = shapely.multilinestrings(parts, indices=idx)
    return np.asarray(out, dtype=object)


def period_end(end: date | str | None = None) -> pd.Timestamp:
    """The end of the sample's year of events: 00:00 (Asia/Shanghai) of ``end``.

    Parameters
    ----------
    end
        A date or ``"YYYY-MM-DD"``; ``None`` is today's date in Asia/Shanghai, so that a
        sample generated today has events up to today.

    Examples
    --------
    >>> period_end("2026-11-01").isoformat()
    '2026-11-01T00:00:00+08:00'
    """
    if end is None:
        end = pd.Timestamp.now(tz=ev_mod.LOCAL_TZ).date()
    if isinstance(end, str) and len(end) == 10:
        try:
            end = date.fromisoformat(end)
        except ValueError:
            pass
    if not isinstance(end, date):
        raise InvalidInput(f"end must be a date YYYY-MM-DD (e.g. 2026-11-01), got {end!r}")
    return pd.Timestamp(end.year, end.month, end.day, tz=ev_mod.LOCAL_TZ)


def generate(out_dir: str | Path, seed: int = 42, scale: Scale = "town",
             progress: Progress | None = None, end: date | str | None = None) -> Manifest:
    """Generate the sample town into ``out_dir``.

    Parameters
    ----------
    out_dir
        Directory to write (created if missing; files of the same names are replaced).
    seed
        Random seed.
    scale
        ``"small"`` (about 30 grids, 1,000 buildings, 40 cameras, 2,000
        events: for tests), ``"town"`` (about 120 grids, 10,000 buildings,
        300 cameras, 50,000 events) or ``"district"`` (about 4,000 grids,
        200,000 buildings, 6,000 cameras, 200,000 events). Rooms are made for
        the residential buildings in code order (community by community) until
        a budget is spent: 30,000 / 150,000 / 300,000 rooms.
    progress
        Called with a stage name and the fraction done (0-1).
    end
        The day the year of events ends (at its 00:00, Asia/Shanghai): a date or
        ``"YYYY-MM-DD"``; by default today, so a demo looks alive on the day it is made.
        The same seed, scale and end give the same data.

    Returns
    -------
    Manifest

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     m = generate(d, seed=1, scale="small")
    >>> m.district_code, m.counts["grids.basic"] >= 25
    ('440307', True)
    """
    if scale not in SCALES:
        raise InvalidInput(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidInput(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    until = period_end(end)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, fraction: None)
    started = time.perf_counter()
    spec = SCALES[scale]
    part = make_part(out, (seed,), spec, _longgang(spec), until, report,
                     households=PEOPLE_HOUSEHOLDS.get(scale))
    manifest = part.manifest(seed, scale)
    manifest.seconds = round(time.perf_counter() - started, 2)
    write_manifest(out, manifest)
    report("done", 1.0)
    return manifest


@dataclass
class Part:
    """What :func:`make_part` wrote into one directory."""

    out: Path
    district: District
    outline: BaseGeometry  # the district polygon (metric)
    until: pd.Timestamp
    counts: dict[str, int]

    def manifest(self, seed: int, scale: str) -> Manifest:
        """The manifest of the directory as a sample of its own."""
        bounds = shapely.bounds(_Geo().lonlat(self.outline))
        return Manifest(
            seed=seed, scale=scale, generator_version=GENERATOR_VERSION,
            district_code=self.district.code, district_name=self.district.name,
            centre_lon=CENTRE_LONLAT[0], centre_lat=CENTRE_LONLAT[1],
            bbox=[round(float(v), 7) for v in bounds], metric_crs=METRIC_CRS,
            storage_crs="EPSG:4326",
            period_start=ev_mod.period_start(self.until).isoformat(),
            period_end=self.until.isoformat(), counts=self.counts,
            files=sorted(p.name for p in self.out.iterdir() if p.name != "manifest.json")
            + ["manifest.json"])


def write_manifest(out: Path, manifest: Manifest) -> None:
    """Save ``manifest.json`` (without the seconds, so that equal samples are equal files)."""
    (out / "manifest.json").write_text(
        json.dumps({k: v for k, v in manifest.as_dict().items() if k != "seconds"},
                   ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def make_part(out: Path, key: tuple[int, ...], spec: ScaleSpec, district: District,
              until: pd.Timestamp, report: Progress, *, outline: BaseGeometry | None = None,
              first_event_id: int = 1, households: int | None = None,
              with_history: bool = True) -> Part:
    """Generate one district into ``out``: the whole of a sample, or a part of a province.

    ``outline`` is the district's polygon (metric) when a province cut it; by default
    a lobed outline of the scale's area around the centre. Event ids start at
    ``first_event_id`` so that the parts of a province do not share one; without
    ``with_history`` the history file has no rows (the events are the same).
    """
    out.mkdir(parents=True, exist_ok=True)
    geo = _Geo()
    report("territory", 0.0)
    admin, grids, hierarchy = _territory(key, spec, geo, district, outline)
    report("streets and buildings", 0.15)
    town = town_mod.build_town(_rng(key, 2), hierarchy.district, spec.zones, spec.arterials,
                               spec.buildings)
    buildings = _buildings(town, hierarchy, admin, district)
    report("cameras", 0.35)
    cameras = cams_mod.place_cameras(_rng(key, 3), town, hierarchy.district, spec.cameras,
                                     district.code)
    functional = _functional_grids(town, hierarchy, admin, buildings)
    report("rooms", 0.45)
    rooms = make_rooms(_rng(key, 4), buildings, spec.room_budget)
    report("events", 0.55)
    categories, departments = load_categories(), load_departments()
    place = _place(town, hierarchy, admin, buildings, district)
    events, history = ev_mod.make_events(_rng(key, 5), place, categories, departments,
                                         spec.events, until)
    if not with_history:
        history = history.iloc[:0]
    if first_event_id != 1:
        events["id"] += first_event_id - 1
        history["event_id"] += first_event_id - 1
    report("writing", 0.75)
    counts = _write(out, geo, admin, pd.concat([grids, functional], ignore_index=True), buildings,
                    town, cameras, rooms, events, history)
    if households:
        counts.update(write_people(out, make_people(
            _rng(key, 9), rooms, buildings, households, until.date())))
    return Part(out, district, hierarchy.district, until, counts)


# ------------------------------------------------------------- territory


def _territory(key: tuple[int, ...], spec: ScaleSpec, geo: _Geo, district: District,
               outline: BaseGeometry | None) -> tuple[pd.DataFrame, pd.DataFrame,
                                                      terr.Hierarchy]:
    rng = _rng(key, 1)
    if outline is None:
        outline = terr.district_outline(rng, geo.centre, spec.area_km2 * 1e6)
    n_streets = len(district.streets)
    h = terr.build_hierarchy(rng, outline, n_streets, [spec.communities_per_street] * n_streets,
                             spec.grids)
    community_words = pick_words(rng, len(h.community_geoms))
    street_codes = list(district.streets)
    rows = [{"code": district.code, "name": district.name, "level": "district",
             "parent_code": district.parent_code, "geometry": h.district}]
    rows += [{"code": c, "name": district.streets[c], "level": "street",
              "parent_code": district.code, "geometry": g}
             for c, g in zip(street_codes, h.street_geoms, strict=True)]
    comm_codes: list[str] = []
    for i, street in enumerate(h.community_street):
        seq = int((h.community_street[:i] == street).sum()) + 1
        comm_codes.append(f"{street_codes[street]}{seq:03d}")
        rows.append({"code": comm_codes[-1], "name": community_words[i] + "社区",
                     "level": "community", "parent_code": street_codes[street],
                     "geometry": h.community_geoms[i]})
    admin = pd.DataFrame(rows)
    grids = _basic_grids(h, comm_codes, admin, geo, district.alias_prefix)
    return admin, grids, h


def _basic_grids(h: terr.Hierarchy, comm_codes: list[str], admin: pd.DataFrame,
                 geo: _Geo, alias_prefix: str) -> pd.DataFrame:
    n = len(h.grid_geoms)
    codes = np.empty(n, dtype=object)
    lonlat = geo.lonlat(h.grid_geoms)
    for c, code in enumerate(comm_codes):
        m = np.flatnonzero(h.grid_community == c)
        codes[m] = number_unit_grids(code, list(lonlat[m]))
    comm = np.asarray(comm_codes, dtype=object)[h.grid_community]
    comm_name = admin.set_index("code").loc[comm, "name"].to_numpy()
    grids = pd.DataFrame({"layer": "basic", "code": codes, "community_code": comm,
                          "geometry": h.grid_geoms, "valid_from": GRID_PLAN_FROM,
                          "valid_to": pd.NaT, "seed": list(h.grid_seeds)})
    grids["name"] = [f"{cn}第{int(c[-3:])}网格" for cn, c in zip(comm_name, codes, strict=True)]
    grids = grids.sort_values("code", kind="stable").reset_index(drop=True)
    street = grids["code"].str[6:9]
    letters = {s: chr(ord("a") + i) for i, s in enumerate(sorted(street.unique()))}
    seq = grids.groupby(street).cumcount() + 1
    grids["alias_code"] = [f"{alias_prefix}{letters[s]}{k:03d}" if k <= 999 else None
                           for s, k in zip(street, seq, strict=True)]
    grids = _redraw(grids)
    grids["valid_to"] = pd.to_datetime(grids["valid_to"], utc=True)
    return grids.drop(columns="seed")


def _redraw(grids: pd.DataFrame) -> pd.DataFrame:
    """Give two neighbouring grids of the first community an older version."""
    first = grids["community_code"].iloc[0]
    members = np.flatnonzero(grids["community_code"].to_numpy() == first)
    geoms = grids["geometry"].to_numpy()
    a = int(members[0])
    b = terr.longest_shared_edge(geoms, a, members[1:])
    seeds = grids["seed"].to_numpy()
    old_a, old_b = terr.redraw_pair(geoms[a], geoms[b], seeds[a], seeds[b])
    old = grids.iloc[[a, b]].copy()
    old["geometry"] = [old_a, old_b]
    old["valid_to"] = REDRAWN_AT
    grids.loc[[a, b], "valid_from"] = REDRAWN_AT
    return pd.concat([grids, old], ignore_index=True)


# ------------------------------------------------------------- buildings


def _buildings(town: town_mod.Town, h: terr.Hierarchy, admin: pd.DataFrame,
               district: District) -> pd.DataFrame:
    b = town.buildings
    xy = town_mod.building_points(town)
    comm_idx = town_mod.assign_to(xy, h.community_geoms)
    communities = admin[admin["level"] == "community"].reset_index(drop=True)
    names = admin.set_index("code")["name"]
    comm_code = communities["code"].to_numpy()[comm_idx]
    band = np.floor(-xy[:, 1] / 100.0)
    order = np.lexsort((xy[:, 0], band, comm_code))
    b = b.iloc[order].reset_index(drop=True)
    comm_code, xy = comm_code[order], xy[order]
    seq = pd.Series(comm_code).groupby(comm_code).cumcount().to_numpy() + 1
    b["code"] = [make_building_code(c, int(s)) for c, s in zip(comm_code, seq, strict=True)]
    b["community_code"] = comm_code
    missing = b["road_name"].isna().to_numpy()
    if missing.any():
        tree = shapely.STRtree(town.roads["geometry"].to_numpy())
        _, near = tree.query_nearest(shapely.points(xy[missing]), all_matches=False)
        b.loc[missing, "road_name"] = town.roads["name"].to_numpy()[near]
    street_name = names.loc[[c[:9] for c in comm_code]].to_numpy()
    b["address"] = [f"{district.name}{s}{names[c]}{r}{n}号" for s, c, r, n in zip(
        street_name, comm_code, b["road_name"], b["house_no"], strict=True)]
    return b


def _functional_grids(town: town_mod.Town, h: terr.Hierarchy, admin: pd.DataFrame,
                      buildings: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for use, (cls, radius, label) in FUNCTIONAL_CLASSES.items():
        sel = buildings[buildings["use"] == use]
        geoms = shapely.buffer(shapely.envelope(sel["geometry"].to_numpy()), radius,
                               quad_segs=4)
        frames.append(pd.DataFrame({"cls": cls, "geometry": geoms,
                                    "name": sel["name"].to_numpy() + label}))
    parks = [(z, g) for z, (g, s) in enumerate(zip(town.zones, town.zone_style, strict=True))
             if s == "industrial"]
    frames.append(pd.DataFrame({
        "cls": INDUSTRIAL_CLASS,
        "geometry": [shapely.buffer(g, -12.0) for _, g in parks],
        "name": [f"{town.zone_word[z]}工业园区网格" for z, _ in parks]}))
    f = pd.concat(frames, ignore_index=True)
    f["geometry"] = shapely.intersection(f["geometry"].to_numpy(), h.district)
    f = f[~shapely.is_empty(f["geometry"].to_numpy())].reset_index(drop=True)
    xy = shapely.get_coordinates(shapely.point_on_surface(f["geometry"].to_numpy()))
    communities = admin[admin["level"] == "community"]["code"].to_numpy()
    f["community_code"] = communities[town_mod.assign_to(xy, h.community_geoms)]
    seq = f.groupby(["cls", "community_code"]).cumcount() + 1
    f["code"] = f["cls"] + f["community_code"] + seq.map("{:02d}".format)
    f = f.assign(layer="functional", alias_code=None, valid_from=GRID_PLAN_FROM,
                 valid_to=pd.NaT)
    f["valid_to"] = pd.to_datetime(f["valid_to"], utc=True)
    return f.drop(columns="cls")


def _place(town: town_mod.Town, h: terr.Hierarchy, admin: pd.DataFrame,
           buildings: pd.DataFrame, district: District) -> ev_mod.Place:
    names = admin.set_index("code")["name"]
    communities = admin[admin["level"] == "community"]["code"].to_numpy()

    def area_label(points: np.ndarray) -> np.ndarray:
        comm = communities[town_mod.assign_to(points, h.community_geoms)]
        return np.array([f"{district.name}{names[c[:9]]}{names[c]}" for c in comm],
                        dtype=object)

    roads = town.roads
    road_xy = shapely.get_coordinates(shapely.point_on_surface(roads["geometry"].to_numpy()))
    road_label = area_label(road_xy) + roads["name"].to_numpy().astype(object)
    use = buildings["use"].to_numpy().astype(object)
    style = buildings["style"].to_numpy()
    klass = np.where(use == "residential",
                     np.where(style == "urban_village", "village", "estate"), use)
    inside = shapely.buffer(h.district, -2.0)
    shapely.prepare(inside)
    return ev_mod.Place(
        inside=inside,
        building_xy=shapely.get_coordinates(shapely.centroid(buildings["geometry"].to_numpy())),
        building_class=klass.astype(object),
        building_address=buildings["address"].to_numpy().astype(object),
        building_footprint=buildings["footprint"].to_numpy(),
        road_geoms=roads["geometry"].to_numpy(), road_kind=roads["kind"].to_numpy(),
        road_label=road_label, river_geom=town.rivers["geometry"].iloc[0],
        river_label=str(town.rivers["name"].iloc[0]), area_label=area_label)


# ---------------------------------------------------------------- output


def _write(out: Path, geo: _Geo, admin: pd.DataFrame, grids: pd.DataFrame,
           buildings: pd.DataFrame, town: town_mod.Town, cameras: pd.DataFrame,
           rooms: pd.DataFrame, events: pd.DataFrame, history: pd.DataFrame) -> dict[str, int]:
    gpkg = out / "sample.gpkg"
    gpkg.unlink(missing_ok=True)
    layers: dict[str, tuple[pd.DataFrame, list[str], bool]] = {
        "admin_areas": (admin, ["code", "name", "level", "parent_code"], True),
        "grids": (grids, ["layer", "code", "alias_code", "name", "community_code",
                          "valid_from", "valid_to"], True),
        "buildings": (buildings, ["code", "address", "name", "floors", "height", "use",
                                  "community_code"], True),
        "roads": (town.roads, ["name", "kind"], True),
        "rivers": (town.rivers, ["name"], True),
    }
    counts: dict[str, int] = {}
    for name, (frame, cols, multi) in layers.items():
        geoms = geo.lonlat(frame["geometry"].to_numpy())
        gdf = gpd.GeoDataFrame(frame[cols].reset_index(drop=True),
                               geometry=_multi(geoms) if multi else geoms, crs="EPSG:4326")
        gdf.to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
        counts[name] = len(gdf)
    cam_pts = geo.lonlat(shapely.points(cameras[["x", "y"]].to_numpy()))
    cam_cols = ["code", "name", "mount_height", "heading", "hfov", "range_m", "kind", "pan_min",
                "pan_max", "status"]
    gpd.GeoDataFrame(cameras[cam_cols], geometry=cam_pts, crs="EPSG:4326").to_file(
        gpkg, layer="cameras", driver="GPKG", engine="pyogrio")
    counts["cameras"] = len(cameras)
    for layer in ("basic", "functional"):
        counts[f"grids.{layer}"] = int((grids["layer"] == layer).sum())
    pd.DataFrame([
        {"name": "basic", "kind": "basic", "exclusive": "true",
         "description": "基础网格 (CJ/T 213 unit grids): cover the district, no overlap"},
        {"name": "functional", "kind": "functional", "exclusive": "false",
         "description": "专属网格 around schools, markets, health centres and industrial parks"},
    ]).to_csv(out / "grid_layers.csv", index=False)
    shutil.copyfile(CATEGORIES_CSV, out / "categories.csv")
    shutil.copyfile(DEPARTMENTS_CSV, out / "departments.csv")
    lon, lat = geo.to_ll.transform(events["lon"].to_numpy(), events["lat"].to_numpy())
    events = events.assign(lon=np.round(lon, 7), lat=np.round(lat, 7))
    for name, frame in (("rooms", rooms), ("events", events), ("event_history", history)):
        frame.to_parquet(out / f"{name}.parquet", index=False)
        counts[name] = len(frame)
    counts["categories"] = len(load_categories())
    counts["departments"] = len(load_departments())
    return counts

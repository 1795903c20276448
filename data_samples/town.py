"""Streets, buildings and cameras of the sample town (metric geometry).

The district is cut into neighbourhood *zones* (a Voronoi partition), each of
one style: urban village (城中村, dense 5-9 storey blocks on narrow lanes),
estate (住宅小区, towers on a wide grid), industrial park, commercial centre
or park. Zone boundaries are secondary roads, a few curved arterials and a
river cross the district, and inside a zone a rotated, slightly irregular
lattice of local roads cuts blocks. Blocks are subdivided into plots set back
from the roads; each plot holds at most one building (a rectangle or an L), so
buildings never overlap each other or a road.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from data_samples.names import (
    ARTERIAL_SUFFIXES,
    ESTATE_SUFFIXES,
    SCHOOL_SUFFIXES,
    WORDS,
    pick_words,
)
from data_samples.territory import GeomArray, random_points_in, relaxed_partition
from gis_core.types import FloatArray, IntArray

ROAD_WIDTH = {"primary": 40.0, "secondary": 24.0, "tertiary": 14.0, "residential": 7.0}
RIVER_WIDTH = 30.0


@dataclass(frozen=True)
class ZoneStyle:
    """How one kind of neighbourhood is built (lengths in metres)."""

    spacing: tuple[float, float]
    setback: float
    plot: tuple[float, float]
    fill: tuple[float, float]
    occupancy: float
    floors: tuple[int, int]
    storey_m: float
    uses: dict[str, float] = field(default_factory=dict)
    l_shape: float = 0.2
    tertiary_every: int = 3
    lane_suffix: tuple[str, str] = ("路", "街")


STYLES: dict[str, ZoneStyle] = {
    "urban_village": ZoneStyle((90, 70), 2.0, (15, 14), (0.72, 0.9), 0.93, (4, 9), 3.0,
                               {"residential": 0.82, "commercial": 0.14, "public": 0.04},
                               0.15, 4, ("街", "巷")),
    "estate": ZoneStyle((260, 220), 5.0, (45, 34), (0.5, 0.7), 0.75, (12, 33), 3.0,
                        {"residential": 0.9, "commercial": 0.07, "public": 0.03}, 0.25, 2),
    "industrial": ZoneStyle((320, 220), 6.0, (75, 50), (0.55, 0.8), 0.8, (1, 6), 4.5,
                            {"industrial": 0.8, "warehouse": 0.15, "commercial": 0.05}, 0.3, 2),
    "commercial": ZoneStyle((200, 160), 5.0, (50, 42), (0.55, 0.8), 0.8, (5, 40), 3.8,
                            {"commercial": 0.75, "public": 0.15, "residential": 0.1}, 0.3, 2),
}
ZONE_MIX = {"urban_village": 0.37, "estate": 0.3, "industrial": 0.15, "commercial": 0.1,
            "park": 0.08}
_CN_DIGITS = "零一二三四五六七八九"


def chinese_ordinal(n: int) -> str:
    """Write 1-99 in Chinese numerals (一, 十二, 二十三).

    Examples
    --------
    >>> [chinese_ordinal(i) for i in (1, 10, 12, 40, 99)]
    ['一', '十', '十二', '四十', '九十九']
    """
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _CN_DIGITS[tens] + "十")
    return head + (_CN_DIGITS[ones] if ones else "")


def zone_styles(rng: np.random.Generator, n: int) -> list[str]:
    """Assign zone styles by quota (so even a tiny town has the main kinds)."""
    styles: list[str] = []
    for name, share in ZONE_MIX.items():
        styles += [name] * int(round(share * n))
    styles = (styles + ["urban_village"] * n)[:n]
    return [styles[i] for i in rng.permutation(n)]


# ----------------------------------------------------------------- roads


def _wavy_line(rng: np.random.Generator, district: BaseGeometry, angle: float,
               amplitude: float, waves: float) -> BaseGeometry:
    """A gently curving line across the district through a random inner point."""
    xmin, ymin, xmax, ymax = district.bounds
    half = np.hypot(xmax - xmin, ymax - ymin)
    centre = random_points_in(rng, district.buffer(-0.15 * np.sqrt(district.area)), 1)[0]
    t = np.linspace(-half, half, 120)
    offset = np.zeros_like(t)
    for k, share in ((1.0, 1.0), (2.3, 0.35)):  # a long bend and a shorter wiggle
        wavelength = 2 * half / (waves * k * rng.uniform(0.8, 1.25))
        offset += share * amplitude * np.sin(2 * np.pi * t / wavelength + rng.uniform(0, 2 * np.pi))
    d = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-d[1], d[0]])
    xy = centre + t[:, None] * d + offset[:, None] * normal
    return shapely.intersection(shapely.linestrings(xy), district)


def arterials(rng: np.random.Generator, district: BaseGeometry, n: int,
              words: list[str]) -> pd.DataFrame:
    """Main roads crossing the district at spread-out angles."""
    base = rng.uniform(0, np.pi)
    amp = 0.04 * np.sqrt(district.area)
    geoms = [_wavy_line(rng, district, base + i * np.pi / n + rng.normal(0, 0.12), amp, 1.0)
             for i in range(n)]
    names = [w + ARTERIAL_SUFFIXES[i % 2] for i, w in enumerate(words[:n])]
    return pd.DataFrame({"name": names, "kind": "primary", "geometry": geoms})


def river(rng: np.random.Generator, district: BaseGeometry, word: str) -> pd.DataFrame:
    """One meandering river across the district."""
    geom = _wavy_line(rng, district, rng.uniform(0, np.pi), 0.05 * np.sqrt(district.area),
                      3.0)
    return pd.DataFrame({"name": [word + "河"], "geometry": [geom]})


def secondary_roads(zones: GeomArray, district: BaseGeometry, words: list[str]) -> pd.DataFrame:
    """Roads along the shared boundaries of the zones."""
    edges = shapely.line_merge(shapely.union_all(shapely.boundary(zones)))
    inner = shapely.difference(edges, shapely.buffer(shapely.boundary(district), 1.0))
    parts = shapely.get_parts(shapely.line_merge(inner))
    parts = parts[shapely.length(parts) > 40.0]
    names = [words[i % len(words)] + ("路" if i < len(words) else "二路")
             for i in range(len(parts))]
    return pd.DataFrame({"name": names, "kind": "secondary", "geometry": parts})


# ----------------------------------------------------------- the lattice


@dataclass
class Lattice:
    """The local road lattice of one zone, in its rotated frame (u, v)."""

    origin: FloatArray
    theta: float
    u_lines: FloatArray  # u positions of the roads running along v
    v_lines: FloatArray  # v positions of the roads running along u

    def to_world(self, u: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Local (u, v) to metric (x, y)."""
        c, s = np.cos(self.theta), np.sin(self.theta)
        return self.origin[0] + u * c - v * s, self.origin[1] + u * s + v * c

    def to_local(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Metric (x, y) to local (u, v)."""
        c, s = np.cos(self.theta), np.sin(self.theta)
        dx, dy = x - self.origin[0], y - self.origin[1]
        return dx * c + dy * s, -dx * s + dy * c


def _lines(rng: np.random.Generator, lo: float, hi: float, spacing: float) -> FloatArray:
    pos = np.arange(lo - spacing, hi + spacing, spacing)
    return np.asarray(pos + rng.uniform(-0.12, 0.12, pos.size) * spacing, dtype=np.float64)


def make_lattice(rng: np.random.Generator, zone: BaseGeometry, style: ZoneStyle) -> Lattice:
    """A rotated, jittered lattice of local roads covering ``zone``."""
    centre = np.asarray(shapely.get_coordinates(shapely.centroid(zone))[0])
    lat = Lattice(centre, rng.uniform(-np.pi / 6, np.pi / 6), np.empty(0), np.empty(0))
    xy = shapely.get_coordinates(zone)
    u, v = lat.to_local(xy[:, 0], xy[:, 1])
    lat.u_lines = _lines(rng, u.min(), u.max(), style.spacing[0])
    lat.v_lines = _lines(rng, v.min(), v.max(), style.spacing[1])
    return lat


def lattice_roads(lat: Lattice, zone: BaseGeometry, style: ZoneStyle, word: str) -> pd.DataFrame:
    """The lattice lines clipped to the zone, named and classified."""
    ends = np.array([lat.v_lines[0], lat.v_lines[-1]])
    u_ext = np.array([lat.u_lines[0], lat.u_lines[-1]])
    rows = []
    for axis, positions, span in (("u", lat.u_lines, ends), ("v", lat.v_lines, u_ext)):
        n = positions.size
        a = np.repeat(positions, 2).reshape(n, 2)
        b = np.tile(span, (n, 1))
        uu, vv = (a, b) if axis == "u" else (b, a)
        x, y = lat.to_world(uu, vv)
        lines = shapely.linestrings(np.stack([x, y], axis=-1))
        clipped = shapely.intersection(lines, zone)
        suffix = style.lane_suffix[0 if axis == "v" else 1]
        kinds = line_kinds(n, style)
        names = [f"{word}{chinese_ordinal(i % 99 + 1)}{suffix}" for i in range(n)]
        rows.append(pd.DataFrame({"name": names, "kind": kinds, "geometry": clipped,
                                  "axis": axis, "index": np.arange(n)}))
    out = pd.concat(rows, ignore_index=True)
    keep = ~shapely.is_empty(out["geometry"].to_numpy()) & (
        shapely.length(out["geometry"].to_numpy()) > 20.0)
    return out[keep].reset_index(drop=True)


def line_kinds(n: int, style: ZoneStyle) -> npt.NDArray[np.str_]:
    """Kind of each of ``n`` parallel lattice roads: every few a tertiary road."""
    return np.where(np.arange(n) % style.tertiary_every == 1, "tertiary", "residential")


def _subdivide(lines: FloatArray, plot: float, style: ZoneStyle) -> tuple[FloatArray, FloatArray,
                                                                           IntArray]:
    """Cut the gaps between consecutive road lines into plots set back from the roads (1-D)."""
    half = np.array([ROAD_WIDTH[k] / 2 for k in line_kinds(lines.size, style)])
    starts = lines[:-1] + half[:-1] + style.setback
    ends = lines[1:] - half[1:] - style.setback
    length = np.maximum(ends - starts, 0.0)
    n = np.floor(length / plot).astype(np.int64)
    block = np.repeat(np.arange(n.size), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    size = (length / np.maximum(n, 1))[block]
    centre = starts[block] + (k + 0.5) * size
    return centre, size, block


def _footprints(rng: np.random.Generator, w: FloatArray, h: FloatArray,
                l_shape: float) -> tuple[FloatArray, FloatArray]:
    """Local outline coordinates (n, 7) of rectangles and L-shapes centred on 0."""
    n = w.size
    cw = w * rng.uniform(0.3, 0.5, n)
    ch = h * rng.uniform(0.3, 0.5, n)
    is_l = rng.random(n) < l_shape
    cw, ch = np.where(is_l, cw, 0.0), np.where(is_l, ch, 0.0)
    hw, hh = w / 2, h / 2
    # an L is a rectangle minus its (+u, +v) corner; a rectangle repeats a vertex
    us = np.stack([-hw, hw, hw, hw - cw, hw - cw, -hw, -hw], axis=1)
    vs = np.stack([-hh, -hh, hh - ch, hh - ch, hh, hh, -hh], axis=1)
    flip_u = rng.choice([-1.0, 1.0], n)[:, None]
    flip_v = rng.choice([-1.0, 1.0], n)[:, None]
    return us * flip_u, vs * flip_v


def zone_buildings(rng: np.random.Generator, lat: Lattice, zone: BaseGeometry,
                   style: ZoneStyle) -> pd.DataFrame:
    """Buildings on the plots of one zone (metric geometry, plus address hints)."""
    cu, su, bu = _subdivide(lat.u_lines, style.plot[0], style)
    cv, sv, bv = _subdivide(lat.v_lines, style.plot[1], style)
    iu, iv = (a.ravel() for a in np.meshgrid(np.arange(cu.size), np.arange(cv.size)))
    occupied = rng.random(iu.size) < style.occupancy
    iu, iv = iu[occupied], iv[occupied]
    n = iu.size
    w = su[iu] * rng.uniform(*style.fill, n)
    h = sv[iv] * rng.uniform(*style.fill, n)
    pu = cu[iu] + rng.uniform(-0.5, 0.5, n) * (su[iu] - w) * 0.6
    pv = cv[iv] + rng.uniform(-0.5, 0.5, n) * (sv[iv] - h) * 0.6
    ou, ov = _footprints(rng, w, h, style.l_shape)
    x, y = lat.to_world(pu[:, None] + ou, pv[:, None] + ov)
    geoms = shapely.make_valid(shapely.polygons(np.stack([x, y], axis=-1)))
    # nearest local road: one of the four lattice lines around the plot
    gaps = np.stack([pu - lat.u_lines[bu[iu]], lat.u_lines[bu[iu] + 1] - pu,
                     pv - lat.v_lines[bv[iv]], lat.v_lines[bv[iv] + 1] - pv], axis=1)
    side = np.argmin(gaps, axis=1)
    road_axis = np.where(side < 2, "u", "v")
    road_index = np.select([side == 0, side == 1, side == 2],
                           [bu[iu], bu[iu] + 1, bv[iv]], bv[iv] + 1)
    along = np.where(side < 2, pv, pu)
    return pd.DataFrame({"geometry": geoms, "road_axis": road_axis, "road_index": road_index,
                         "along": along, "odd_side": side % 2 == 0,
                         "block": bu[iu] * 10_000 + bv[iv], "footprint": w * h})


# -------------------------------------------------------------- assembly


@dataclass
class Town:
    """Everything physical of the sample town, metric geometry in ``geometry`` columns."""

    zones: GeomArray
    zone_style: list[str]
    zone_word: list[str]
    roads: pd.DataFrame
    rivers: pd.DataFrame
    buildings: pd.DataFrame
    lattices: list[Lattice | None]


def build_town(rng: np.random.Generator, district: BaseGeometry, n_zones: int,
               n_arterials: int, target_buildings: int) -> Town:
    """Lay out zones, roads, a river and buildings over ``district``."""
    _, zones = relaxed_partition(rng, district, n_zones, iterations=1)
    styles = zone_styles(rng, n_zones)
    words = pick_words(rng, n_zones + n_arterials + 1)
    zone_words, art_words, river_word = words[:n_zones], words[n_zones:-1], words[-1]
    main = arterials(rng, district, n_arterials, art_words)
    water = river(rng, district, river_word)
    second = secondary_roads(zones, district, pick_words(rng, 120))
    road_frames = [main, second]
    bframes = []
    lattices: list[Lattice | None] = []
    for z, (zone, style_name) in enumerate(zip(zones, styles, strict=True)):
        if style_name == "park":
            lattices.append(None)
            continue
        style = STYLES[style_name]
        lat = make_lattice(rng, zone, style)
        lattices.append(lat)
        local = lattice_roads(lat, zone, style, zone_words[z])
        local["zone"] = z
        road_frames.append(local)
        b = zone_buildings(rng, lat, zone, style)
        inner = shapely.buffer(zone, -(ROAD_WIDTH["secondary"] / 2 + 4.0))
        b = b[shapely.within(b["geometry"].to_numpy(), inner)]
        b["zone"] = z
        bframes.append(b)
    buildings = pd.concat(bframes, ignore_index=True)
    corridor = shapely.union_all(np.concatenate([
        shapely.buffer(main["geometry"].to_numpy(), ROAD_WIDTH["primary"] / 2 + 5.0),
        shapely.buffer(water["geometry"].to_numpy(), RIVER_WIDTH / 2 + 8.0),
    ]))
    shapely.prepare(corridor)
    buildings = buildings[~shapely.intersects(corridor, buildings["geometry"].to_numpy())]
    if len(buildings) > target_buildings:
        pick = np.sort(rng.choice(len(buildings), target_buildings, replace=False))
        buildings = buildings.iloc[pick]
    roads = pd.concat(road_frames, ignore_index=True)
    buildings = _attach_road_names(buildings.reset_index(drop=True), roads)
    town = Town(zones, styles, zone_words, roads, water, buildings, lattices)
    describe_buildings(rng, town)
    return town


def _attach_road_names(buildings: pd.DataFrame, roads: pd.DataFrame) -> pd.DataFrame:
    local = roads.dropna(subset=["axis"])[["zone", "axis", "index", "name"]]
    local = local.rename(columns={"axis": "road_axis", "index": "road_index",
                                  "name": "road_name"})
    local["zone"] = local["zone"].astype(np.int64)
    local["road_index"] = local["road_index"].astype(np.int64)
    out = buildings.merge(local, on=["zone", "road_axis", "road_index"], how="left")
    # house numbers: odd on one side, even on the other, in order along the road
    rank = out.groupby(["zone", "road_axis", "road_index", "odd_side"])["along"].rank(
        method="first").to_numpy().astype(np.int64)
    out["house_no"] = 2 * rank - np.where(out["odd_side"].to_numpy(), 1, 0)
    return out


def describe_buildings(rng: np.random.Generator, town: Town) -> None:
    """Give each building a use, floors, height and (for some) a name, in place."""
    b = town.buildings
    n = len(b)
    style = np.asarray(town.zone_style, dtype=object)[b["zone"].to_numpy()]
    use = np.empty(n, dtype=object)
    floors = np.empty(n, dtype=np.int64)
    storey = np.empty(n)
    for style_name, st in STYLES.items():
        m = style == style_name
        k = int(m.sum())
        use[m] = rng.choice(list(st.uses), k, p=list(st.uses.values()))
        floors[m] = rng.integers(st.floors[0], st.floors[1] + 1, k)
        storey[m] = st.storey_m
    name = np.full(n, None, dtype=object)
    _name_estates(rng, b, style, name, town.zone_word)
    _special_buildings(rng, b, style, use, floors, name)
    height = floors * storey + rng.uniform(0.3, 1.8, n)
    b["style"] = style
    b["use"] = use
    b["floors"] = floors
    b["height"] = np.round(height, 1)
    b["name"] = name


def _name_estates(rng: np.random.Generator, b: pd.DataFrame, style: GeomArray,
                  name: GeomArray, zone_word: list[str]) -> None:
    """Name the towers of estates (one estate per block) and industrial park buildings."""
    for kind in ("estate", "industrial"):
        m = np.flatnonzero(style == kind)
        if m.size == 0:
            continue
        sub = b.iloc[m]
        seq = sub.groupby(["zone", "block"]).cumcount().to_numpy() + 1
        if kind == "estate":
            block_id = sub.groupby(["zone", "block"]).ngroup().to_numpy()
            combos = [w + s for s in ESTATE_SUFFIXES for w in WORDS]
            order = rng.permutation(len(combos))
            base = np.array([combos[order[k % len(combos)]]
                             + (chinese_ordinal(k // len(combos) + 1) + "期"
                                if k >= len(combos) else "")
                             for k in range(int(block_id.max()) + 1)], dtype=object)[block_id]
        else:
            rank = sub.groupby("zone")["block"].rank(method="dense").to_numpy().astype(int)
            words = np.asarray(zone_word, dtype=object)[sub["zone"].to_numpy()]
            base = words + np.array([f"工业园{chr(64 + r) if r <= 26 else r}区" for r in rank],
                                    dtype=object)
        name[m] = base + np.asarray([f"{s}栋" for s in seq], dtype=object)


def _special_buildings(rng: np.random.Generator, b: pd.DataFrame, style: GeomArray,
                       use: GeomArray, floors: IntArray, name: GeomArray) -> None:
    """Turn a few residential buildings into schools, markets and health centres."""
    n = len(b)
    pool = np.flatnonzero(np.isin(style, ["urban_village", "estate"]) & (use == "residential"))
    counts = {"school": max(2, n // 600), "market": max(2, n // 700),
              "hospital": max(1, n // 5000)}
    chosen = rng.choice(pool, min(pool.size, sum(counts.values())), replace=False)
    words = pick_words(rng, chosen.size)
    start = 0
    for kind, k in counts.items():
        idx = chosen[start:start + k]
        w = words[start:start + k]
        start += k
        use[idx] = kind
        if kind == "school":
            floors[idx] = rng.integers(3, 7, idx.size)
            name[idx] = [f"{x}{SCHOOL_SUFFIXES[i % 3]}" for i, x in enumerate(w)]
        elif kind == "market":
            floors[idx] = rng.integers(1, 3, idx.size)
            name[idx] = [f"{x}农贸市场" for x in w]
        else:
            floors[idx] = rng.integers(2, 6, idx.size)
            name[idx] = [f"{x}社区健康服务中心" for x in w]




def building_points(town: Town) -> FloatArray:
    """Centroids (n, 2) of the buildings."""
    return shapely.get_coordinates(shapely.centroid(town.buildings["geometry"].to_numpy()))


def assign_to(points: FloatArray, polygons: GeomArray) -> IntArray:
    """Index of the polygon holding each point (nearest polygon for boundary cases)."""
    tree = shapely.STRtree(polygons)
    pts = shapely.points(points)
    out = np.full(len(points), -1, dtype=np.int64)
    hit_p, hit_g = tree.query(pts, predicate="intersects")
    out[hit_p[::-1]] = hit_g[::-1]  # first hit wins
    missing = np.flatnonzero(out < 0)
    if missing.size:
        near_p, near_g = tree.query_nearest(pts[missing], all_matches=False)
        out[missing[near_p]] = near_g
    return out

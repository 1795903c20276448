"""Cameras of the sample town: at crossings, along main roads, at schools and markets.

Codes follow the shape of GB/T 28181 device IDs (20 digits): 8-digit centre
code (the 6-digit district code + ``00``), 2-digit industry code ``00``,
3-digit type code ``132`` (network camera), 1-digit network flag ``0`` and a
6-digit serial. Headings are compass degrees (clockwise from north) and look
along a street; a PTZ camera sweeps clockwise from ``pan_min`` to ``pan_max``
(``0``-``360`` is a full turn).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from data_samples.town import ROAD_WIDTH, Town
from gis_core.types import FloatArray

KIND_SPECS = {  # hfov (deg), range (m), mount height (m)
    "fixed": ((55, 95), (40, 90), (3.5, 6.0)),
    "dome": ((90, 115), (25, 50), (3.0, 5.0)),
    "ptz": ((45, 65), (80, 160), (6.0, 10.0)),
    "long_range": ((8, 25), (250, 600), (12.0, 25.0)),
}
SOURCE_KINDS = {  # where a camera stands -> share of each kind
    "crossing": {"fixed": 0.4, "dome": 0.3, "ptz": 0.3},
    "main_road": {"fixed": 0.4, "ptz": 0.2, "long_range": 0.4},
    "hotspot": {"fixed": 0.5, "dome": 0.5},
}
SOURCE_SHARE = {"crossing": 0.55, "main_road": 0.25, "hotspot": 0.2}


def compass(angle_rad: FloatArray) -> FloatArray:
    """Mathematical angle (counter-clockwise from east) to compass bearing in degrees.

    Examples
    --------
    >>> compass(np.array([0.0, np.pi / 2])).tolist()
    [90.0, 0.0]
    """
    return np.asarray(np.round((90.0 - np.degrees(angle_rad)) % 360.0, 1), dtype=np.float64)


def _crossings(rng: np.random.Generator, town: Town) -> pd.DataFrame:
    frames = []
    names = town.roads.dropna(subset=["axis"])
    for z, lat in enumerate(town.lattices):
        if lat is None:
            continue
        uu, vv = np.meshgrid(lat.u_lines, lat.v_lines, indexing="ij")
        iu, iv = np.meshgrid(np.arange(lat.u_lines.size), np.arange(lat.v_lines.size),
                             indexing="ij")
        off = rng.choice([-1.0, 1.0], (uu.size, 2)) * 5.0
        x, y = lat.to_world(uu.ravel() + off[:, 0], vv.ravel() + off[:, 1])
        turn = rng.integers(0, 4, uu.size)
        zn = names[names["zone"] == z]
        u_name = dict(zip(zn.loc[zn["axis"] == "u", "index"], zn.loc[zn["axis"] == "u", "name"],
                          strict=True))
        v_name = dict(zip(zn.loc[zn["axis"] == "v", "index"], zn.loc[zn["axis"] == "v", "name"],
                          strict=True))
        label = [f"{u_name.get(a, '')}与{v_name.get(b, '')}交叉口"
                 for a, b in zip(iu.ravel(), iv.ravel(), strict=True)]
        heading = compass(lat.theta + turn * np.pi / 2)
        frames.append(pd.DataFrame({"x": x, "y": y, "heading": heading, "name": label,
                                    "zone": z}))
    out = pd.concat(frames, ignore_index=True)
    inner = [shapely.buffer(z, -8.0) for z in town.zones]
    ok = np.zeros(len(out), dtype=bool)
    for z, poly in enumerate(inner):
        m = out["zone"].to_numpy() == z
        ok[m] = shapely.contains_xy(poly, out["x"].to_numpy()[m], out["y"].to_numpy()[m])
    out = out[ok & ~out["name"].str.startswith("与") & ~out["name"].str.contains("与交叉口")]
    return out.drop(columns="zone")


def _along_main_roads(rng: np.random.Generator, town: Town, n: int) -> pd.DataFrame:
    roads = town.roads[town.roads["kind"].isin(["primary", "secondary"])].reset_index(drop=True)
    geoms = roads["geometry"].to_numpy()
    length = shapely.length(geoms)
    pick = rng.choice(len(roads), n, p=length / length.sum())
    d = rng.uniform(0.05, 0.95, n) * length[pick]
    a = shapely.get_coordinates(shapely.line_interpolate_point(geoms[pick], d))
    b = shapely.get_coordinates(shapely.line_interpolate_point(geoms[pick], d + 5.0))
    direction = np.arctan2(b[:, 1] - a[:, 1], b[:, 0] - a[:, 0])
    direction += np.where(rng.random(n) < 0.5, 0.0, np.pi)
    side = rng.choice([-1.0, 1.0], n)
    half = np.where(roads["kind"].to_numpy()[pick] == "primary", ROAD_WIDTH["primary"],
                    ROAD_WIDTH["secondary"]) / 2
    x = a[:, 0] - np.sin(direction) * side * half
    y = a[:, 1] + np.cos(direction) * side * half
    pole = (d // 50).astype(int) + 1
    name = [f"{r}{p}号杆" for r, p in zip(roads["name"].to_numpy()[pick], pole, strict=True)]
    return pd.DataFrame({"x": x, "y": y, "heading": compass(direction), "name": name})


def _hotspots(rng: np.random.Generator, town: Town, n: int) -> pd.DataFrame:
    b = town.buildings
    special = np.flatnonzero(b["use"].isin(["school", "market", "hospital"]).to_numpy())
    pick = special[rng.integers(0, special.size, n)]
    centre = shapely.get_coordinates(shapely.centroid(b["geometry"].to_numpy()[pick]))
    angle = rng.uniform(0, 2 * np.pi, n)
    dist = np.sqrt(b["footprint"].to_numpy()[pick]) / 2 + rng.uniform(8, 25, n)
    x = centre[:, 0] + np.cos(angle) * dist
    y = centre[:, 1] + np.sin(angle) * dist
    seq = pd.Series(pick).groupby(pick).cumcount().to_numpy() + 1
    name = [f"{nm}周边{s}号" for nm, s in zip(b["name"].to_numpy()[pick], seq, strict=True)]
    return pd.DataFrame({"x": x, "y": y, "heading": compass(angle + np.pi), "name": name})


def place_cameras(rng: np.random.Generator, town: Town, district: BaseGeometry, n: int,
                  district_code: str) -> pd.DataFrame:
    """Place ``n`` cameras and give them kinds, fields of view and codes (metric points)."""
    counts = {s: int(round(share * n)) for s, share in SOURCE_SHARE.items()}
    counts["crossing"] = n - counts["main_road"] - counts["hotspot"]
    crossings = _crossings(rng, town)
    take = rng.choice(len(crossings), min(counts["crossing"], len(crossings)), replace=False)
    parts = {"crossing": crossings.iloc[np.sort(take)],
             "main_road": _along_main_roads(rng, town, counts["main_road"]),
             "hotspot": _hotspots(rng, town, counts["hotspot"])}
    frames = []
    for source, frame in parts.items():
        kinds = SOURCE_KINDS[source]
        frame = frame.assign(kind=rng.choice(list(kinds), len(frame), p=list(kinds.values())))
        frames.append(frame)
    cams = pd.concat(frames, ignore_index=True)
    shapely.prepare(district)
    cams = cams[shapely.contains_xy(district, cams["x"].to_numpy(), cams["y"].to_numpy())]
    return _attributes(rng, cams.reset_index(drop=True), district_code)


def _attributes(rng: np.random.Generator, cams: pd.DataFrame, district_code: str) -> pd.DataFrame:
    n = len(cams)
    kind = cams["kind"].to_numpy()
    hfov, range_m, mount = np.empty(n), np.empty(n), np.empty(n)
    for k, (fov, rng_m, h) in KIND_SPECS.items():
        m = kind == k
        hfov[m] = rng.uniform(*fov, m.sum())
        range_m[m] = rng.uniform(*rng_m, m.sum())
        mount[m] = rng.uniform(*h, m.sum())
    sweep = rng.choice([120.0, 150.0, 180.0], n)
    heading = cams["heading"].to_numpy()
    ptz = kind == "ptz"
    full = sweep >= 180.0
    pan_min = np.where(ptz, np.where(full, 0.0, (heading - sweep) % 360.0), np.nan)
    pan_max = np.where(ptz, np.where(full, 360.0, (heading + sweep) % 360.0), np.nan)
    cams = cams.assign(
        code=[f"{district_code}00" "00" "132" "0" f"{i:06d}" for i in range(1, n + 1)],
        mount_height=np.round(mount, 1), hfov=np.round(hfov, 1), range_m=np.round(range_m, 0),
        pan_min=np.round(pan_min, 1), pan_max=np.round(pan_max, 1),
        status=np.where(rng.random(n) < 0.93, "online", "offline"),
    )
    return cams

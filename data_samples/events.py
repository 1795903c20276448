"""One year of citizen and patrol reports for the sample town.

Where: a report's category decides its location model. Most categories cluster
around buildings of the kinds where such problems happen (street vending and
garbage at markets, illegal parking at schools, e-bike charging in old urban
villages, fumes at industrial parks), with a per-building "chronic" factor so
some places are hotspots; facility and traffic categories fall on roads,
river categories on the river.

When: days follow a slow growth over the year, a wet-season peak for rain
related categories, a Spring Festival and National Day dip, and per channel a
weekly rhythm (patrols rest at weekends, app reports rise); hours follow the
channel (patrols in office hours, hotline 7-23, app with morning and evening
peaks; night-time categories at night).

Lifecycle: register -> dispatch -> accept -> handle (on time mostly, measured
against the category's time limit from registration, ``due_at``) -> verify
-> close -> evaluate, with returns for rework, rejections, duplicates and
cancellations. The whole timeline of every event is drawn first and then cut
at the end of the period: steps after it are not reached (null), so the
recent events are the open ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from data_samples.catalogue import (
    CAMERA_PROFILES,
    CHANNEL_SHARE,
    CHANNELS,
    PROFILE_WEIGHTS,
    generator_table,
)
from data_samples.names import SURNAMES
from data_samples.territory import GeomArray as ObjArray
from gis_core.types import FloatArray, IntArray

HOUR = 3600.0
DAY = 86400.0
LOCAL_TZ = "Asia/Shanghai"
#: the first day of the lunar new year (春节), 2020-2035; the holiday runs from two days
#: before it to six days after (2026: 02-15 to 02-23)
LUNAR_NEW_YEAR = ("2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10",
                  "2025-01-29", "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13",
                  "2030-02-03", "2031-01-23", "2032-02-11", "2033-01-31", "2034-02-19",
                  "2035-02-08")

HOURLY = {  # relative reports per local hour 0..23
    "patrol": [.1, .05, .05, .05, .05, .05, .1, .5, 3, 6, 7, 6, 2, 2, 5, 6, 6, 4, 1, .4, .3, .3,
               .2, .1],
    "hotline": [.3, .2, .2, .2, .2, .3, .8, 1.5, 4, 6, 7, 6, 4, 4, 6, 6, 6, 5, 4, 4, 4, 3, 2, 1],
    "app": [.6, .3, .2, .2, .2, .4, 1, 4, 6, 4, 3, 3, 4, 3, 3, 3, 3, 4, 6, 7, 7, 6, 4, 2],
    "camera": [1, .8, .6, .5, .5, .8, 2, 5, 6, 4, 3, 3, 3, 3, 3, 3, 4, 6, 6, 4, 3, 2, 2, 1.5],
    "qr": [.1, .05, .05, .05, .05, .1, .5, 2, 4, 5, 5, 5, 4, 4, 5, 5, 5, 4, 3, 2, 1, .5, .3, .2],
    "evening": [3, 2, 1, .3, .1, .1, .1, .1, .1, .1, .1, .1, .2, .2, .2, .2, .3, .5, 2, 5, 6, 6,
                5, 4],
    "late": [5, 4, 3, 1, .3, .1, .1, .1, .1, .1, .1, .1, .1, .1, .1, .1, .1, .2, .3, .5, 1, 2, 4,
             5],
}
HOURLY["open311"] = HOURLY["app"]
WEEKEND = {"patrol": 0.45, "hotline": 1.1, "app": 1.25, "camera": 1.0, "qr": 1.2,
           "open311": 1.1}
REGISTER_MINUTES = {"patrol": 3, "hotline": 15, "app": 25, "camera": 10, "qr": 25,
                    "open311": 30}
CHANNEL_LABEL = {"patrol": "网格员巡查", "hotline": "热线", "app": "市民APP", "camera": "视频巡查",
                 "qr": "扫码", "open311": "Open311接口"}
OUTCOMES = ("normal", "rejected", "duplicate", "cancelled")
OUTCOME_SHARE = (0.915, 0.03, 0.04, 0.015)
TEMPLATES = {  # by who reports: residents, grid workers, cameras
    "resident": ("{a}附近{c}，请尽快处理。", "在{a}发现{c}问题，影响周边居民。",
                 "{a}一带{c}，希望有关部门处理。", "市民反映{a}{c}，请相关部门处理。",
                 "{a}{c}，现场照片已上传。"),
    "patrol": ("巡查发现{a}{c}，已拍照取证。", "网格员巡查：{a}{c}，需派遣处置。",
               "{a}{c}，现场劝导无效，申请派遣。"),
    "camera": ("视频巡查发现{a}{c}。", "智能识别：{a}疑似{c}，已截图。"),
}


@dataclass
class Place:
    """What the event generator needs to know about the town (metric)."""

    inside: BaseGeometry  # the district, shrunk a little
    building_xy: FloatArray
    building_class: ObjArray
    building_address: ObjArray
    building_footprint: FloatArray
    road_geoms: ObjArray
    road_kind: ObjArray
    road_label: ObjArray  # address prefix + road name, per road
    river_geom: BaseGeometry
    river_label: str
    area_label: object  # callable: points (n, 2) -> address prefixes




def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> FloatArray:
    return np.asarray(median * np.exp(rng.normal(0.0, sigma, n)), dtype=np.float64)


# ------------------------------------------------------------------ when


def day_weights(days: pd.DatetimeIndex, channel: str, rainy: bool) -> FloatArray:
    """Relative report volume per local day for one channel."""
    n = len(days)
    w = 0.9 + 0.2 * np.arange(n) / n
    doy = days.day_of_year.to_numpy()
    if rainy:
        w = w * (0.35 + 1.8 * np.exp(-(((doy - 200) / 55.0) ** 2)))
    else:
        w = w * (1 + 0.12 * np.sin(2 * np.pi * (doy - 110) / 365.0))
    weekend = days.day_of_week.to_numpy() >= 5
    w = np.where(weekend, w * WEEKEND[channel], w)
    w = np.where(holidays(days), w * (0.4 if channel == "patrol" else 0.75), w)
    return np.asarray(w / w.sum(), dtype=np.float64)


def period_start(end: pd.Timestamp) -> pd.Timestamp:
    """The start of the year of events that ends at ``end`` (365 days before it)."""
    return end - pd.Timedelta(days=365)


def holidays(days: pd.DatetimeIndex) -> np.ndarray:
    """Whether each local day is in the Spring Festival or the National Day holiday.

    Examples
    --------
    >>> holidays(pd.DatetimeIndex(["2026-02-14", "2026-02-15", "2027-10-07", "2027-10-08"]))
    array([False,  True,  True, False])
    """
    new_year = pd.DatetimeIndex(LUNAR_NEW_YEAR).to_numpy()
    day = days.to_numpy()
    offset = (day[:, None] - new_year[None, :]) / np.timedelta64(1, "D")
    spring = ((offset >= -2) & (offset <= 6)).any(axis=1)
    national = (days.month == 10) & (days.day <= 7)
    return np.asarray(spring | national, dtype=bool)


def report_times(rng: np.random.Generator, channel: ObjArray, rainy: FloatArray,
                 night: ObjArray, end: pd.Timestamp) -> FloatArray:
    """Seconds after the period start (local) at which each event is reported."""
    start_local = period_start(end).tz_localize(None)
    days = pd.date_range(start_local, periods=365, freq="D")
    n = channel.size
    day = np.zeros(n, dtype=np.int64)
    hour = np.zeros(n, dtype=np.int64)
    for ch in CHANNELS:
        for wet in (False, True):
            m = np.flatnonzero((channel == ch) & (rainy == wet))
            day[m] = rng.choice(365, m.size, p=day_weights(days, ch, wet))
        m = np.flatnonzero(channel == ch)
        hour[m] = rng.choice(24, m.size, p=_norm(HOURLY[ch]))
    for profile in ("evening", "late"):
        m = np.flatnonzero(night == profile)
        hour[m] = rng.choice(24, m.size, p=_norm(HOURLY[profile]))
    t = day * DAY + hour * HOUR + rng.uniform(0, HOUR, n)
    return np.asarray(np.minimum(t, 365 * DAY - HOUR), dtype=np.float64)


def _norm(w: list[float]) -> FloatArray:
    a = np.asarray(w, dtype=np.float64)
    return np.asarray(a / a.sum(), dtype=np.float64)


# ----------------------------------------------------------------- where


def _near_buildings(rng: np.random.Generator, place: Place, profile: str,
                    chronic: FloatArray, n: int) -> tuple[FloatArray, IntArray]:
    weights = PROFILE_WEIGHTS[profile]
    w = np.array([weights.get(c, 1.0) for c in place.building_class]) * chronic
    pick = rng.choice(place.building_xy.shape[0], n, p=w / w.sum())
    spread = np.sqrt(place.building_footprint[pick]) / 2 + 10.0
    xy = place.building_xy[pick] + rng.normal(0, 1, (n, 2)) * spread[:, None]
    return xy, pick


def _on_roads(rng: np.random.Generator, place: Place, n: int) -> tuple[FloatArray, IntArray]:
    kind_w = {"primary": 2.0, "secondary": 1.5, "tertiary": 1.2, "residential": 0.6}
    length = shapely.length(place.road_geoms)
    w = length * np.array([kind_w[k] for k in place.road_kind])
    pick = rng.choice(length.size, n, p=w / w.sum())
    pts = shapely.line_interpolate_point(place.road_geoms[pick], rng.uniform(0, 1, n),
                                         normalized=True)
    xy = shapely.get_coordinates(pts) + rng.normal(0, 3.0, (n, 2))
    return xy, pick


def locate(rng: np.random.Generator, place: Place, profile: ObjArray) -> tuple[FloatArray,
                                                                                   ObjArray]:
    """Coordinates and addresses of events by location profile."""
    n = profile.size
    xy = np.zeros((n, 2))
    address = np.empty(n, dtype=object)
    chronic = np.asarray(rng.lognormal(0.0, 0.9, place.building_xy.shape[0]), dtype=np.float64)
    special = np.isin(place.building_class, ["market", "school", "hospital"])
    chronic[special] = np.maximum(chronic[special], 1.0)  # they are always busy places
    fallback = rng.integers(0, place.building_xy.shape[0], n)
    for prof in np.unique(profile):
        m = np.flatnonzero(profile == prof)
        if prof == "road":
            xy[m], pick = _on_roads(rng, place, m.size)
            address[m] = place.road_label[pick]
        elif prof == "river":
            d = rng.uniform(0, 1, m.size)
            pts = shapely.line_interpolate_point(place.river_geom, d, normalized=True)
            xy[m] = shapely.get_coordinates(pts) + rng.normal(0, 6.0, (m.size, 2))
            address[m] = place.area_label(xy[m]) + place.river_label  # type: ignore[operator]
        else:
            xy[m], pick = _near_buildings(rng, place, str(prof), chronic, m.size)
            address[m] = place.building_address[pick]
    outside = ~shapely.contains_xy(place.inside, xy[:, 0], xy[:, 1])
    xy[outside] = place.building_xy[fallback[outside]]
    address[outside] = place.building_address[fallback[outside]]
    return xy, address


# ------------------------------------------------------------- lifecycle


def lifecycle(rng: np.random.Generator, reported: FloatArray, channel: ObjArray,
              limit_h: FloatArray, department: ObjArray) -> dict[str, FloatArray]:
    """Draw every step time (seconds, NaN = never happens) of each event."""
    n = reported.size
    nan = np.full(n, np.nan)
    reg_min = np.array([REGISTER_MINUTES[c] for c in channel], dtype=np.float64)
    registered = reported + _lognormal(rng, 1.0, 0.8, n) * reg_min * 60
    outcome = rng.choice(len(OUTCOMES), n, p=OUTCOME_SHARE)
    normal = outcome == 0
    t: dict[str, FloatArray] = {"reported": reported, "registered": registered}
    t["rejected"] = np.where(outcome == 1, registered + _lognormal(rng, 1800, 0.7, n), nan)
    t["duplicate"] = np.where(outcome == 2, registered + _lognormal(rng, 1200, 0.7, n), nan)
    t["cancelled"] = np.where(outcome == 3, registered + _lognormal(rng, 7200, 0.9, n), nan)
    limit = limit_h * HOUR
    dispatched = registered + np.minimum(_lognormal(rng, 1200, 0.9, n), 0.25 * limit)
    accepted = dispatched + np.minimum(_lognormal(rng, 1800, 0.8, n), 0.2 * limit)
    p_on_time = np.where(np.isin(department, ["ZJJ", "JTJ", "GHJ"]), 0.78, 0.9)
    u = rng.random(n)
    on_time = registered + limit * rng.beta(2.2, 2.5, n) * 0.97
    late = registered + limit * (1 + rng.exponential(0.6, n))
    stuck = registered + limit * rng.uniform(5, 150, n)
    first = np.where(u < p_on_time, on_time, np.where(u < 0.985, late, stuck))
    first = np.maximum(first, accepted + 300.0)
    returned_loop = rng.random(n) < 0.06
    ret = first + _lognormal(rng, 2 * HOUR, 0.8, n)
    reaccept = ret + _lognormal(rng, HOUR, 0.8, n)
    rework = reaccept + limit * rng.beta(2, 4, n) * 0.5
    handled = np.where(returned_loop, rework, first)
    verified = handled + _lognormal(rng, 3 * HOUR, 0.9, n)
    closed = verified + _lognormal(rng, 1800, 0.8, n)
    evaluates = np.isin(channel, ["hotline", "app", "qr", "open311"]) & (rng.random(n) < 0.7)
    evaluated = closed + _lognormal(rng, 20 * HOUR, 0.9, n)
    for name, arr, cond in (
        ("dispatched", dispatched, normal), ("accepted", accepted, normal),
        ("first_handled", first, normal & returned_loop), ("returned", ret,
                                                           normal & returned_loop),
        ("reaccepted", reaccept, normal & returned_loop), ("handled", handled, normal),
        ("verified", verified, normal), ("closed", closed, normal),
        ("evaluated", evaluated, normal & evaluates),
    ):
        t[name] = np.where(cond, arr, nan)
    t["due"] = np.where(normal, registered + limit, nan)
    t["overdue"] = np.where(normal & (handled > registered + limit), 1.0, 0.0)
    t["returned_loop"] = returned_loop.astype(np.float64)
    return t


# (step, action, from_status, to_status, actor, note)
STEPS: tuple[tuple[str, str, str | None, str, str, str], ...] = (
    ("registered", "register", None, "registered", "指挥中心", "{channel}上报，已受理立案"),
    ("rejected", "reject", "registered", "rejected", "指挥中心", "不属于受理范围，不予立案"),
    ("duplicate", "mark_duplicate", "registered", "duplicate", "指挥中心", "重复上报，已合并"),
    ("cancelled", "cancel", "registered", "cancelled", "上报人", "问题已自行解决，撤回"),
    ("dispatched", "dispatch", "registered", "dispatched", "指挥中心", "派遣至{department}"),
    ("accepted", "accept", "dispatched", "in_progress", "{department}", "已签收，安排处置"),
    ("first_handled", "handle", "in_progress", "handled", "{department}", "已处置"),
    ("returned", "return", "handled", "returned", "指挥中心", "核查未通过，退回重办"),
    ("reaccepted", "accept", "returned", "in_progress", "{department}", "重新签收"),
    ("handled", "handle", "in_progress", "handled", "{department}", "{standard}"),
    ("verified", "verify", "handled", "verified", "网格员", "现场核查通过"),
    ("closed", "close", "verified", "closed", "指挥中心", "结案"),
    ("evaluated", "evaluate", "closed", "evaluated", "上报人", "满意度评价"),
)


def _to_utc(seconds: FloatArray, end: pd.Timestamp) -> pd.Series:
    start = period_start(end).tz_convert("UTC")
    whole = np.floor(seconds)
    out = start + pd.to_timedelta(np.where(np.isnan(whole), 0, whole).astype(np.int64), unit="s")
    return pd.Series(out).where(~np.isnan(seconds)).astype("datetime64[us, UTC]")


def snapshot(t: dict[str, FloatArray]) -> tuple[dict[str, FloatArray], ObjArray]:
    """Cut the timelines at the end of the period; return reached times and statuses."""
    end = 365 * DAY
    t = dict(t)
    t["registered"] = np.minimum(t["registered"], np.maximum(t["reported"], end - 1.0))
    status = np.full(t["reported"].size, "registered", dtype=object)
    for step, _action, _from, to, _actor, _note in STEPS:
        reached = t[step] <= end
        status[reached] = to
        t[step] = np.where(reached, t[step], np.nan)
    return t, status


def _reporters(rng: np.random.Generator, channel: ObjArray) -> tuple[ObjArray, ObjArray]:
    n = channel.size
    surname = np.asarray(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]
    title = np.where(rng.random(n) < 0.5, "先生", "女士").astype(object)
    name = np.where(channel == "patrol", surname + "网格员", surname + title)
    phone = np.array([f"1{a}{b}****{c:04d}" for a, b, c in zip(
        rng.integers(3, 10, n), rng.integers(0, 10, n), rng.integers(0, 10_000, n), strict=True)],
        dtype=object)
    anonymous = (channel == "camera") | ((channel == "hotline") & (rng.random(n) < 0.15))
    name = np.where(channel == "camera", "视频巡查", name).astype(object)
    phone[anonymous] = None
    name[(channel == "hotline") & anonymous] = None
    return name, phone


def _tokens(rng: np.random.Generator, n: int) -> ObjArray:
    alphabet = np.frombuffer(b"23456789ABCDEFGHJKMNPQRSTUVWXYZ", dtype="S1")
    raw = alphabet[rng.integers(0, alphabet.size, (n, 12))]
    tokens = raw.view("S12").ravel().astype(str).astype(object)
    if len(set(tokens)) < n:  # pragma: no cover - about 1e-9 at 200k events
        tokens = np.array([f"{tok}{i}" for i, tok in enumerate(tokens)], dtype=object)
    return tokens


def make_events(rng: np.random.Generator, place: Place, categories: pd.DataFrame,
                departments: pd.DataFrame, n: int, end: pd.Timestamp
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw ``n`` events and their history rows, over the 365 days before ``end``."""
    table = generator_table(categories).set_index("code")
    cat = rng.choice(table.index.to_numpy(), n, p=table["weight"].to_numpy())
    info = table.loc[cat]
    profile = info["profile"].to_numpy()
    channel = np.empty(n, dtype=object)
    share = np.asarray(CHANNEL_SHARE)
    for prof in np.unique(profile):
        m = np.flatnonzero(profile == prof)
        p = share.copy() if prof in CAMERA_PROFILES else share * (np.asarray(CHANNELS) != "camera")
        channel[m] = rng.choice(np.asarray(CHANNELS, dtype=object), m.size, p=p / p.sum())
    reported = report_times(rng, channel, info["rainy"].to_numpy(), info["night"].to_numpy(),
                            end)
    order = np.argsort(reported, kind="stable")
    cat, profile, channel, reported = cat[order], profile[order], channel[order], reported[order]
    xy, address = locate(rng, place, profile)
    cats = categories.set_index("code").loc[cat]
    dept = cats["department_code"].to_numpy()
    t, status = snapshot(lifecycle(rng, reported, channel,
                                   cats["time_limit_hours"].to_numpy(float), dept))
    satisfaction = _satisfaction(rng, t)
    names, phones = _reporters(rng, channel)
    template = np.empty(n, dtype=object)
    for who, options in TEMPLATES.items():
        m = np.flatnonzero(np.isin(channel, ["patrol", "camera"]) == (who != "resident"))
        if who != "resident":
            m = m[channel[m] == who]
        template[m] = np.asarray(options, dtype=object)[rng.integers(0, len(options), m.size)]
    description = [tpl.format(a=a, c=c) for tpl, a, c in
                   zip(template, address, cats["name"].to_numpy(), strict=True)]
    handled = np.where(np.isnan(t["handled"]), t["first_handled"], t["handled"])
    events = pd.DataFrame({
        "id": np.arange(1, n + 1, dtype=np.int64), "public_token": _tokens(rng, n),
        "category_code": cat.astype(object), "description": description, "status": status,
        "channel": channel, "lon": xy[:, 0], "lat": xy[:, 1], "address": address,
        **{f"{k}_at": _to_utc(v, end) for k, v in (
            ("reported", t["reported"]), ("registered", t["registered"]),
            ("dispatched", t["dispatched"]), ("handled", handled), ("closed", t["closed"]),
            ("evaluated", t["evaluated"]), ("due", t["due"]))},
        "satisfaction": satisfaction, "reporter_name": names,
        "reporter_phone": phones, "department_code": dept,
    })
    dept_name = departments.set_index("code").loc[dept, "name"].to_numpy().astype(object)
    history = _history(t, events, dept_name, cats["closing_standard"].to_numpy().astype(object),
                       end)
    return events, history


def _satisfaction(rng: np.random.Generator, t: dict[str, FloatArray]) -> pd.Series:
    n = t["reported"].size
    good = rng.choice([5, 4, 3, 2, 1], n, p=[0.55, 0.28, 0.1, 0.04, 0.03])
    poor = rng.choice([5, 4, 3, 2, 1], n, p=[0.25, 0.3, 0.2, 0.13, 0.12])
    worse = (t["overdue"] > 0) | (t["returned_loop"] > 0)
    score = pd.Series(np.where(worse, poor, good), dtype="Int64")
    return score.where(~np.isnan(t["evaluated"]))


def _history(t: dict[str, FloatArray], events: pd.DataFrame, dept_name: ObjArray,
             standard: ObjArray, end: pd.Timestamp) -> pd.DataFrame:
    channel_label = events["channel"].map(CHANNEL_LABEL).to_numpy().astype(object)
    sat = events["satisfaction"].astype("string").fillna("").to_numpy().astype(object)
    parts = []
    for k, (step, action, from_status, to_status, actor, note) in enumerate(STEPS):
        m = np.flatnonzero(~np.isnan(t[step]))
        if actor == "{department}":
            actors = dept_name[m]
        else:
            actors = np.full(m.size, actor, dtype=object)
        if note == "{standard}":
            notes = "已按标准处置：" + standard[m]
        elif step == "evaluated":
            notes = "满意度评价：" + sat[m] + "分"
        elif "{channel}" in note:
            notes = channel_label[m] + note.replace("{channel}", "")
        elif "{department}" in note:
            notes = note.replace("{department}", "") + dept_name[m]
        else:
            notes = np.full(m.size, note, dtype=object)
        parts.append(pd.DataFrame({
            "event_id": m.astype(np.int64) + 1, "action": action, "from_status": from_status,
            "to_status": to_status, "actor": actors, "note": notes, "at": t[step][m],
            "step": k}))
    hist = pd.concat(parts, ignore_index=True)
    hist = hist.sort_values(["event_id", "at", "step"], kind="stable").reset_index(drop=True)
    hist["at"] = _to_utc(hist["at"].to_numpy(), end).to_numpy()
    return hist.drop(columns="step")

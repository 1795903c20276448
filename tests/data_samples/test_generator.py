"""The sample-town generator: determinism, topology, codes, events (small scale only)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coding.building_codes import validate
from data_samples.catalogue import CATEGORIES_CSV
from data_samples.generator import generate
from gis_core.errors import InvalidInput

LAYERS = ("admin_areas", "grids", "buildings", "roads", "cameras")
PARQUETS = ("rooms", "events", "event_history")
METRIC = "EPSG:4547"
END = "2026-11-01"
LIFECYCLE = ["reported_at", "registered_at", "dispatched_at", "handled_at", "closed_at",
             "evaluated_at"]


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("town_a")
    generate(out, seed=11, scale="small", end=END)
    return out


def layer(d: Path, name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(d / "sample.gpkg", layer=name, engine="pyogrio")


def current_basic(d: Path, at: pd.Timestamp | None = None) -> gpd.GeoDataFrame:
    g = layer(d, "grids")
    g = g[g["layer"] == "basic"]
    if at is None:
        return g[g["valid_to"].isna()]
    alive = (g["valid_from"].isna() | (g["valid_from"] <= at)) & (
        g["valid_to"].isna() | (g["valid_to"] > at))
    return g[alive]


def district(d: Path) -> gpd.GeoDataFrame:
    a = layer(d, "admin_areas")
    return a[a["level"] == "district"]


# ----------------------------------------------------------- determinism


def _same_layers(a: Path, b: Path) -> None:
    for name in LAYERS:
        fa, fb = layer(a, name), layer(b, name)
        pd.testing.assert_frame_equal(fa.drop(columns="geometry"), fb.drop(columns="geometry"))
        assert list(shapely.to_wkb(fa.geometry.values)) == list(shapely.to_wkb(fb.geometry.values))
    for name in PARQUETS:
        pd.testing.assert_frame_equal(pd.read_parquet(a / f"{name}.parquet"),
                                      pd.read_parquet(b / f"{name}.parquet"))
    for name in ("grid_layers.csv", "categories.csv", "departments.csv", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_same_seed_gives_the_same_town(town: Path, tmp_path: Path) -> None:
    generate(tmp_path, seed=11, scale="small", end=END)
    _same_layers(town, tmp_path)


def test_another_seed_gives_another_town(town: Path, tmp_path: Path) -> None:
    generate(tmp_path, seed=12, scale="small", end=END)
    a, b = layer(town, "buildings"), layer(tmp_path, "buildings")
    assert not (len(a) == len(b) and a["address"].tolist() == b["address"].tolist())


@pytest.mark.parametrize(("kwargs", "word"), [({"scale": "city"}, "scale"),
                                              ({"seed": -1}, "seed"), ({"seed": "1"}, "seed"),
                                              ({"end": "2026-13-01"}, "end"),
                                              ({"end": "1 Nov 2026"}, "end")])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict, word: str) -> None:
    with pytest.raises(InvalidInput, match=word):
        generate(tmp_path, **kwargs)


def test_another_end_moves_the_year_of_events(town: Path, tmp_path: Path) -> None:
    generate(tmp_path, seed=11, scale="small", end="2027-03-15")
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["period_start"], manifest["period_end"]) == (
        "2026-03-15T00:00:00+08:00", "2027-03-15T00:00:00+08:00")
    ev = pd.read_parquet(tmp_path / "events.parquet")
    assert ev["reported_at"].max() < pd.Timestamp("2027-03-15", tz="Asia/Shanghai")
    assert ev["reported_at"].min() >= pd.Timestamp("2026-03-15", tz="Asia/Shanghai")


def test_the_cli_takes_an_end_and_refuses_a_bad_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["sample", "--out", str(tmp_path), "--scale", "small",
                              "--end", "2026-02-30"])
    assert bad.exit_code != 0 and "end must be a date YYYY-MM-DD" in bad.output
    ok = runner.invoke(app, ["sample", "--out", str(tmp_path), "--scale", "small", "--seed",
                             "11", "--end", END])
    assert ok.exit_code == 0, ok.output
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period_end"] == "2026-11-01T00:00:00+08:00"


def test_without_an_end_the_sample_is_alive_today(tmp_path: Path) -> None:
    generate(tmp_path, seed=11, scale="small")
    now = pd.Timestamp.now(tz="UTC")
    today = now.tz_convert("Asia/Shanghai").normalize()
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert pd.Timestamp(manifest["period_end"]) == today
    ev = pd.read_parquet(tmp_path / "events.parquet")
    recent = ev[ev["reported_at"] >= now - pd.Timedelta(days=30)]
    assert len(recent) > 100  # the dashboard's last-30-days trend has something to draw
    open_ = ev[~ev["status"].isin(["closed", "evaluated", "rejected", "duplicate", "cancelled"])]
    overdue = open_["due_at"] < now
    assert len(open_) > 0 and 0 < overdue.sum() < len(open_)


# ----------------------------------------------------------- territory


def test_small_scale_sizes(town: Path) -> None:
    admin = layer(town, "admin_areas")
    assert admin["level"].value_counts().to_dict() == {"district": 1, "street": 2, "community": 4}
    assert 25 <= len(current_basic(town)) <= 40
    assert 800 <= len(layer(town, "buildings")) <= 1_200
    assert 30 <= len(layer(town, "cameras")) <= 50
    assert 1_500 <= len(pd.read_parquet(town / "events.parquet")) <= 2_500
    grids = layer(town, "grids")
    assert (grids["layer"] == "functional").sum() >= 3
    manifest = json.loads((town / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["buildings"] == len(layer(town, "buildings"))
    assert manifest["counts"]["events"] == len(pd.read_parquet(town / "events.parquet"))
    assert (manifest["seed"], manifest["scale"], manifest["district_code"]) == (11, "small",
                                                                               "440307")


def test_town_is_in_longgang(town: Path) -> None:
    c = district(town).to_crs(METRIC).geometry.centroid.to_crs(4326).iloc[0]
    assert abs(c.x - 114.25) < 0.05 and abs(c.y - 22.72) < 0.05
    streets = layer(town, "admin_areas").query("level == 'street'")
    assert set(streets["name"]) <= {"平湖街道", "坪地街道", "南湾街道", "坂田街道", "布吉街道",
                                    "龙城街道", "龙岗街道", "横岗街道", "吉华街道", "宝龙街道",
                                    "园山街道"}


def _assert_partition(grids: gpd.GeoDataFrame, whole: shapely.Geometry) -> None:
    geoms = grids.to_crs(METRIC).geometry.values
    union = shapely.union_all(geoms)
    total = float(shapely.area(geoms).sum())
    assert abs(total - union.area) / union.area < 1e-9
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max(initial=0.0) < 1e-3  # square metres
    assert shapely.symmetric_difference(union, whole).area / whole.area < 1e-9


def test_basic_grids_partition_the_district(town: Path) -> None:
    whole = district(town).to_crs(METRIC).geometry.iloc[0]
    _assert_partition(current_basic(town), whole)
    # before the redraw the old versions make a partition too
    _assert_partition(current_basic(town, pd.Timestamp("2025-01-01", tz="UTC")), whole)


def test_streets_and_communities_partition_the_district(town: Path) -> None:
    admin = layer(town, "admin_areas")
    whole = district(town).to_crs(METRIC).geometry.iloc[0]
    for level in ("street", "community"):
        _assert_partition(admin[admin["level"] == level], whole)


def test_grids_nest_in_their_community(town: Path) -> None:
    admin = layer(town, "admin_areas").set_index("code").to_crs(METRIC)
    grids = current_basic(town).to_crs(METRIC)
    outside = shapely.difference(grids.geometry.values,
                                 admin.loc[grids["community_code"]].geometry.values)
    assert shapely.area(outside).max() < 1e-3


def test_a_redrawn_grid_keeps_its_history(town: Path) -> None:
    g = layer(town, "grids")
    versions = g[g.duplicated(["layer", "code"], keep=False)].sort_values("valid_from")
    assert len(versions) >= 2
    for _, pair in versions.groupby("code"):
        old, new = pair.iloc[0], pair.iloc[-1]
        assert old["valid_to"] == new["valid_from"]
        assert pd.isna(new["valid_to"])
        assert not old.geometry.equals(new.geometry)


def test_functional_grids_overlap_the_basic_layer(town: Path) -> None:
    g = layer(town, "grids").to_crs(METRIC)
    func = g[g["layer"] == "functional"].geometry.values
    basic = g[(g["layer"] == "basic") & g["valid_to"].isna()].geometry.values
    hits = shapely.STRtree(basic).query(func, predicate="overlaps")
    assert hits.shape[1] > 0
    assert g.loc[g["layer"] == "functional", "code"].str.fullmatch(r"\d{20}").all()


# --------------------------------------------------------------- codes


def test_admin_and_grid_codes(town: Path) -> None:
    admin = layer(town, "admin_areas")
    comm = admin[admin["level"] == "community"]
    assert comm["code"].str.fullmatch(r"440307\d{6}").all()
    assert (comm["code"].str[:9] == comm["parent_code"]).all()
    streets = admin[admin["level"] == "street"]
    assert (streets["parent_code"] == "440307").all()
    basic = layer(town, "grids").query("layer == 'basic'")
    assert basic["code"].str.fullmatch(r"\d{15}").all()
    assert (basic["code"].str[:12] == basic["community_code"]).all()
    assert set(basic["community_code"]) == set(comm["code"])
    current = basic[basic["valid_to"].isna()]
    assert current["code"].is_unique and current["alias_code"].is_unique
    assert current["alias_code"].str.fullmatch(r"L[a-z]\d{3}").all()


def test_building_room_and_camera_codes(town: Path) -> None:
    b = layer(town, "buildings")
    assert b["code"].is_unique
    assert all(validate(c) == c for c in b["code"])
    assert (b["code"].str[:12] == b["community_code"]).all()
    rooms = pd.read_parquet(town / "rooms.parquet")
    assert len(rooms) > 0 and rooms["code"].is_unique
    assert all(validate(c) == c for c in rooms["code"].iloc[::97])
    assert (rooms["code"].str[:17] == rooms["building_code"].str[:17]).all()
    assert set(rooms["building_code"]) <= set(b.loc[b["use"] == "residential", "code"])
    cams = layer(town, "cameras")
    assert cams["code"].is_unique and cams["code"].str.fullmatch(r"440307\d{14}").all()


# ----------------------------------------------------- buildings, cameras


def test_buildings_overlap_neither_each_other_nor_roads(town: Path) -> None:
    b = layer(town, "buildings").to_crs(METRIC).geometry.values
    assert shapely.is_valid(b).all()
    left, right = shapely.STRtree(b).query(b, predicate="overlaps")
    assert left.size == 0
    roads = layer(town, "roads").to_crs(METRIC)
    half = roads["kind"].map({"primary": 20, "secondary": 12, "tertiary": 7,
                              "residential": 4}).to_numpy()
    bodies = shapely.buffer(roads.geometry.values, half - 0.5)
    hit = shapely.STRtree(b).query(bodies, predicate="intersects")
    assert hit.shape[1] == 0


def test_buildings_have_addresses_floors_and_uses(town: Path) -> None:
    b = layer(town, "buildings")
    assert b["address"].str.startswith("龙岗区").all()
    assert b["address"].str.endswith("号").all()
    assert b["address"].duplicated().mean() < 0.01  # house numbers run along each road
    assert (b["floors"] >= 1).all() and (b["height"] >= 2.5 * b["floors"]).all()
    assert {"residential", "commercial", "school", "market"} <= set(b["use"])


def test_cameras_are_inside_and_well_formed(town: Path) -> None:
    cams = layer(town, "cameras")
    assert district(town).geometry.iloc[0].covers(cams.geometry).all()
    assert cams["heading"].between(0, 360).all() and (cams["hfov"] > 0).all()
    assert (cams["range_m"] > 0).all()
    assert set(cams["kind"]) <= {"fixed", "ptz", "dome", "long_range"}
    ptz = cams["kind"] == "ptz"
    assert cams.loc[ptz, ["pan_min", "pan_max"]].notna().all().all()
    assert cams.loc[~ptz, ["pan_min", "pan_max"]].isna().all().all()


# ---------------------------------------------------------- categories


def test_categories_have_department_and_time_limit(town: Path) -> None:
    cats = pd.read_csv(town / "categories.csv", dtype=str)
    deps = pd.read_csv(town / "departments.csv", dtype=str)
    assert cats["major_code"].nunique() == 11 and len(cats) >= 100
    assert cats["code"].is_unique and (cats["code"].str[:2] == cats["major_code"]).all()
    assert set(cats["department_code"]) <= set(deps["code"])
    assert (cats["time_limit_hours"].astype(float) > 0).all()
    assert cats[["name", "name_en", "closing_standard", "major_name_en"]].notna().all().all()
    assert {"违章停车", "占用消防通道", "井盖缺失", "路灯倒伏", "河道漂浮物", "暴露垃圾"} <= set(
        cats["name"])
    assert (town / "categories.csv").read_bytes() == CATEGORIES_CSV.read_bytes()


# -------------------------------------------------------------- events


@pytest.fixture(scope="module")
def events(town: Path) -> pd.DataFrame:
    return pd.read_parquet(town / "events.parquet")


def test_event_lifecycle_is_monotone(events: pd.DataFrame) -> None:
    times = events[LIFECYCLE]
    for earlier, later in zip(LIFECYCLE, LIFECYCLE[1:], strict=False):
        both = times[earlier].notna() & times[later].notna()
        assert (times.loc[both, earlier] <= times.loc[both, later]).all(), (earlier, later)
        assert not (times[earlier].isna() & times[later].notna()).any(), (earlier, later)
    assert events["reported_at"].notna().all() and events["registered_at"].notna().all()
    assert str(events["reported_at"].dt.tz) == "UTC"


def test_event_status_matches_timestamps(events: pd.DataFrame) -> None:
    done = events["status"].isin(["closed", "evaluated"])
    assert events.loc[done, "closed_at"].notna().all()
    assert events.loc[~done, "closed_at"].isna().all()
    evaluated = events["status"] == "evaluated"
    assert events.loc[evaluated, "satisfaction"].between(1, 5).all()
    assert events.loc[~evaluated, "satisfaction"].isna().all()
    dropped = events["status"].isin(["rejected", "duplicate", "cancelled"])
    assert events.loc[dropped, ["dispatched_at", "due_at"]].isna().all().all()
    assert events.loc[~dropped, "due_at"].notna().all()
    old = events["reported_at"] < events["reported_at"].max() - pd.Timedelta(days=60)
    assert (done | dropped)[old].mean() > 0.95
    assert (~done & ~dropped).sum() > 0  # some events are still open at the end


def test_most_events_are_handled_on_time(events: pd.DataFrame) -> None:
    handled = events.dropna(subset=["handled_at"])
    on_time = (handled["handled_at"] <= handled["due_at"]).mean()
    assert 0.7 < on_time < 0.97


def test_event_history_follows_the_events(town: Path, events: pd.DataFrame) -> None:
    h = pd.read_parquet(town / "event_history.parquet")
    assert set(h["event_id"]) == set(events["id"])
    assert h.groupby("event_id")["at"].is_monotonic_increasing.all()
    first = h.groupby("event_id").first()
    last = h.groupby("event_id").last()
    ev = events.set_index("id")
    assert (first["action"] == "register").all()
    assert (first["at"] == ev.loc[first.index, "registered_at"]).all()
    assert (last["to_status"] == ev.loc[last.index, "status"]).all()
    chained = h.groupby("event_id")["to_status"].shift()
    assert (h["from_status"].isna() == chained.isna()).all()
    assert (h["from_status"].dropna() == chained.dropna()).all()


def test_events_are_inside_the_district(town: Path, events: pd.DataFrame) -> None:
    shape = district(town).geometry.iloc[0]
    assert shapely.contains_xy(shape, events["lon"].to_numpy(), events["lat"].to_numpy()).all()


def test_events_cluster_around_markets(town: Path, events: pd.DataFrame) -> None:
    b = layer(town, "buildings").to_crs(METRIC)
    markets = shapely.union_all(shapely.buffer(b.loc[b["use"] == "market"].geometry.values, 100))
    pts = gpd.GeoSeries(gpd.points_from_xy(events["lon"], events["lat"]), crs=4326).to_crs(METRIC)
    near = shapely.contains(markets, pts.values).mean()
    area_share = markets.area / district(town).to_crs(METRIC).area.iloc[0]
    assert near > 3 * area_share


def test_daily_and_weekly_rhythms(events: pd.DataFrame) -> None:
    local = events["reported_at"].dt.tz_convert("Asia/Shanghai")
    weekend = local.dt.day_of_week >= 5
    patrol = events["channel"] == "patrol"
    app = events["channel"].isin(["app", "open311"])
    assert weekend[patrol].mean() < 0.2 < weekend[app].mean()
    hour = local.dt.hour
    assert hour[patrol].between(8, 18).mean() > 0.85
    assert (hour.between(0, 5)).mean() < 0.05


def test_reporters_are_masked(events: pd.DataFrame) -> None:
    phones = events["reporter_phone"].dropna()
    assert len(phones) > 0 and phones.str.fullmatch(r"1\d{2}\*{4}\d{4}").all()
    assert events["public_token"].is_unique

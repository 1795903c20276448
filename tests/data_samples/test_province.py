"""The province sample: districts that border each other, one id per thing, made part by part."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from data_samples.province import generate_province
from gis_core.errors import InvalidInput

METRIC = "EPSG:4547"
END = "2026-11-01"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("province")
    generate_province(out, seed=5, districts=3, part="small", end=END)
    return out


def _manifest(d: Path) -> dict:
    return json.loads((d / "manifest.json").read_text(encoding="utf-8"))


def _layer(d: Path, name: str) -> gpd.GeoDataFrame:
    parts = [gpd.read_file(d / p / "sample.gpkg", layer=name, engine="pyogrio")
             for p in _manifest(d)["parts"]]
    return pd.concat(parts, ignore_index=True)


def _parquet(d: Path, name: str) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(d / p / f"{name}.parquet")
                      for p in _manifest(d)["parts"]], ignore_index=True)


def test_the_districts_border_each_other_without_gap_or_overlap(province: Path) -> None:
    admin = _layer(province, "admin_areas").to_crs(METRIC)
    districts = admin[admin["level"] == "district"]
    assert districts["code"].tolist() == ["440303", "440304", "440305"]
    assert districts["parent_code"].tolist() == ["440300"] * 3
    union = shapely.union_all(districts.geometry.values)
    assert union.geom_type == "Polygon", "the districts make one territory"
    assert districts.area.sum() == pytest.approx(union.area, rel=1e-9)
    pairs = [(a, b) for a in range(3) for b in range(a + 1, 3)]
    geoms = districts.geometry.values
    shared = [geoms[a].boundary.intersection(geoms[b].buffer(0.5)).length for a, b in pairs]
    assert max(shared) > 500, "neighbouring districts share a border (metres)"
    cities = gpd.read_file(province / "sample.gpkg", layer="admin_areas").to_crs(METRIC)
    assert cities[["code", "name", "level"]].values.tolist() == [["440300", "深圳市", "city"]]
    assert cities.area.iloc[0] == pytest.approx(union.area, rel=1e-6)


def test_grids_cover_each_district_and_never_cross_a_border(province: Path) -> None:
    admin = _layer(province, "admin_areas").to_crs(METRIC)
    grids = _layer(province, "grids").to_crs(METRIC)
    basic = grids[(grids["layer"] == "basic") & grids["valid_to"].isna()]
    assert basic["code"].is_unique and basic["alias_code"].dropna().is_unique
    for code, geom in admin[admin["level"] == "district"][["code", "geometry"]].values:
        mine = basic[basic["code"].str[:6] == code]
        assert mine.area.sum() == pytest.approx(geom.area, rel=1e-9)
        assert shapely.union_all(mine.geometry.values).area == pytest.approx(geom.area,
                                                                            rel=1e-9)
        assert mine["alias_code"].str[0].nunique() == 1
    assert basic["alias_code"].str[0].nunique() == 3, "each district has its alias letter"


def test_every_code_and_id_is_the_provinces_own(province: Path) -> None:
    for name in ("buildings", "cameras"):
        assert _layer(province, name)["code"].is_unique, name
    assert _parquet(province, "rooms")["code"].is_unique
    events = _parquet(province, "events")
    assert events["id"].tolist() == list(range(1, len(events) + 1))
    assert events["public_token"].is_unique
    history = _parquet(province, "event_history")
    assert set(history["event_id"]) <= set(events["id"])
    assert history["event_id"].nunique() > 0.9 * len(events)
    manifest = _manifest(province)
    assert [d["first_event_id"] for d in manifest["districts"]] == [1, 2001, 4001]
    assert manifest["counts"]["events"] == len(events) == 6000
    assert manifest["counts"]["buildings"] == len(_layer(province, "buildings"))
    assert manifest["counts"]["categories"] == len(pd.read_csv(province / "categories.csv"))


def test_the_same_seed_gives_the_same_province(province: Path, tmp_path: Path) -> None:
    generate_province(tmp_path, seed=5, districts=3, part="small", end=END)
    assert _manifest(tmp_path) == _manifest(province)
    pd.testing.assert_frame_equal(_parquet(tmp_path, "events"), _parquet(province, "events"))
    a, b = _layer(tmp_path, "grids"), _layer(province, "grids")
    assert list(shapely.to_wkb(a.geometry.values)) == list(shapely.to_wkb(b.geometry.values))


def test_a_province_without_history_has_the_same_events(province: Path, tmp_path: Path) -> None:
    generate_province(tmp_path, seed=5, districts=3, part="small", end=END, history=False)
    assert _parquet(tmp_path, "event_history").empty
    assert _manifest(tmp_path)["counts"]["event_history"] == 0
    pd.testing.assert_frame_equal(_parquet(tmp_path, "events"), _parquet(province, "events"))


@pytest.mark.parametrize(("kwargs", "word"), [({"districts": 0}, "districts"),
                                              ({"districts": 13}, "districts"),
                                              ({"districts": True}, "districts"),
                                              ({"part": "city"}, "part"),
                                              ({"seed": -1}, "seed")])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict, word: str) -> None:
    with pytest.raises(InvalidInput, match=word):
        generate_province(tmp_path, **{"part": "small", **kwargs})
    assert not (tmp_path / "manifest.json").exists()

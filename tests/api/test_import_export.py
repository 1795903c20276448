"""Import real public files (reprojected, validated, in one transaction) and export them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import Engine, text

from api.db.session import make_engine
from api.io.export import export_layer
from api.io.importer import ImportOptions, import_file
from gis_core.errors import InvalidGeometry, InvalidInput, UnknownCRS


@pytest.fixture()
def fresh(empty_database_url: str) -> Iterator[Engine]:
    """An empty migrated database of its own (imports commit)."""
    eng = make_engine(empty_database_url, pool_size=2)
    yield eng
    eng.dispose()


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_real_grid_layer_geojson(fresh: Engine, shared_data: Path) -> None:
    path = shared_data / "us_buildings" / "philadelphia_police_service_areas.geojson"
    src = gpd.read_file(path)
    # the real layer has a 173 m2 overlap (121/77A) and slivers of gap: as an exclusive
    # layer it is refused (nothing stored) unless the user accepts it
    with pytest.raises(InvalidInput, match="121/77A") as refused:
        import_file(fresh, "grids", path, ImportOptions(layer="psa", code_field="psa_id"))
    assert refused.value.code == "grid_topology"
    assert _count(fresh, "SELECT count(*) FROM grids") == 0
    import_file(fresh, "grids", path, ImportOptions(layer="psa", code_field="psa_id",
                                                    allow_invalid=True))
    assert _count(fresh, "SELECT count(*) FROM grids") == len(src) == 65
    with fresh.connect() as conn:
        area = conn.execute(text("SELECT sum(ST_Area(geom)) FROM grids")).scalar_one()
    assert area == pytest.approx(src.geometry.area.sum(), rel=1e-9)  # same planar degrees²


def _one_community_around(engine: Engine, frame: gpd.GeoSeries, tmp_path: Path) -> None:
    hull = frame.union_all().convex_hull.buffer(0.001)
    gpd.GeoDataFrame({"code": ["440305005001"], "name": ["测试社区"]}, geometry=[hull],
                     crs=4326).to_file(tmp_path / "community.geojson")
    import_file(engine, "admin", tmp_path / "community.geojson",
                ImportOptions(level="community"))


def test_real_buildings_csv_with_wkt(fresh: Engine, shared_data: Path, tmp_path: Path) -> None:
    from coding.building_codes import is_valid

    path = shared_data / "us_buildings" / "nyc_building_footprints_sample_bin.csv"
    src = pd.read_csv(path)
    with pytest.raises(InvalidInput, match="no community polygons are stored"):
        import_file(fresh, "buildings", path, ImportOptions(invalid="repair"))
    _one_community_around(fresh, gpd.GeoSeries.from_wkt(src["the_geom"], crs=4326), tmp_path)
    # a BIN is not a standard building code: named as the code, it is refused ...
    with pytest.raises(InvalidInput, match="--external-code-field BIN"):
        import_file(fresh, "buildings", path, ImportOptions(code_field="BIN", invalid="repair"))
    # ... and by default it is kept as the external code next to an allocated code
    import_file(fresh, "buildings", path, ImportOptions(invalid="repair"))
    assert _count(fresh, "SELECT count(*) FROM buildings") == len(src) == 499
    bin0 = str(src["BIN"].iloc[0])
    with fresh.connect() as conn:
        code, x, y, h = conn.execute(text(
            "SELECT code, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), height "
            "FROM buildings WHERE external_code = :c"), {"c": bin0}).one()
        codes = conn.execute(text("SELECT code FROM buildings")).scalars().all()
    expected = gpd.GeoSeries.from_wkt([src["the_geom"].iloc[0]]).centroid.iloc[0]
    assert (x, y) == pytest.approx((expected.x, expected.y), abs=1e-9)
    assert h == pytest.approx(src["HEIGHTROOF"].iloc[0])
    assert code.startswith("440305005001") and all(is_valid(c) for c in codes)


def test_real_cameras_csv_lat_lon(fresh: Engine, shared_data: Path) -> None:
    path = shared_data / "cameras" / "chicago_speed_camera_locations.csv"
    src = pd.read_csv(path, encoding="utf-8-sig")
    import_file(fresh, "cameras", path, ImportOptions(code_field="ID"))
    assert _count(fresh, "SELECT count(*) FROM cameras") == len(src) == 160
    with fresh.connect() as conn:
        lon, lat = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM cameras "
                                     "WHERE code = :c"), {"c": str(src["ID"][0])}).one()
    assert (lon, lat) == pytest.approx((src["LONGITUDE"][0], src["LATITUDE"][0]))


@pytest.mark.parametrize("epsg", [4547, 4490, 3857, 32650])
def test_reprojects_from_gauss_kruger_and_others(fresh: Engine, shared_data: Path,
                                                 tmp_path: Path, epsg: int) -> None:
    src = gpd.read_file(shared_data / "cn_admin" / "shenzhen_districts_transbigdata.geojson")
    src = src[src["qh"] != "大鹏"]  # a new area (新区), not a GB/T 2260 district
    path = tmp_path / f"sz_{epsg}.gpkg"
    src.to_crs(epsg).to_file(path)
    import_file(fresh, "admin", path, ImportOptions(name_field="qh", code_from_name=True,
                                                    within="4403", level="district"))
    with fresh.connect() as conn:
        stored = gpd.read_postgis(text("SELECT code, name, geom FROM admin_areas "
                                       "ORDER BY code"), conn, geom_col="geom")
    assert dict(zip(stored["name"], stored["code"], strict=True))["南山"] == "440305"
    src = src.set_index("qh").loc[stored["name"]]
    # back in lon/lat, every district is where it was (to a millimetre)
    dist = stored.geometry.values.hausdorff_distance(src.geometry.values)
    assert float(np.max(dist)) < 1e-8


def test_csv_without_crs_uses_given_gauss_kruger_zone(fresh: Engine, tmp_path: Path) -> None:
    # a point given in CGCS2000 / 3-degree GK CM 114E (EPSG:4547)
    pd.DataFrame({"code": ["C1"], "x": [525_000.0], "y": [2_513_000.0]}).to_csv(
        tmp_path / "c.csv", index=False)
    import_file(fresh, "cameras", tmp_path / "c.csv", ImportOptions(crs="EPSG:4547"))
    with fresh.connect() as conn:
        lon, lat = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM cameras")).one()
    assert 114.2 < lon < 114.3 and 22.6 < lat < 22.8


def _bowtie_file(tmp_path: Path) -> Path:
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    frame = gpd.GeoDataFrame({"code": ["A", "B", "C"]},
                             geometry=[box(0, 0, 1, 1), bowtie, box(2, 2, 3, 3)], crs=4326)
    path = tmp_path / "bad.geojson"
    frame.to_file(path)
    return path


def test_invalid_geometry_refused_with_row_numbers_and_nothing_stored(
        fresh: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidGeometry, match=r"rows \[2\]"):
        import_file(fresh, "grids", _bowtie_file(tmp_path), ImportOptions(layer="g"))
    assert _count(fresh, "SELECT count(*) FROM grids") == 0
    assert _count(fresh, "SELECT count(*) FROM grid_layers") == 0


def test_invalid_geometry_repaired_on_request(fresh: Engine, tmp_path: Path) -> None:
    import_file(fresh, "grids", _bowtie_file(tmp_path),
                ImportOptions(layer="g", invalid="repair", exclusive=False))
    assert _count(fresh, "SELECT count(*) FROM grids WHERE ST_IsValid(geom)") == 3


def test_failed_import_changes_nothing(fresh: Engine, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": ["A", "A"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
                             crs=4326)
    frame.to_file(tmp_path / "dup.geojson")
    with pytest.raises(InvalidInput, match="standard building codes"):
        import_file(fresh, "buildings", tmp_path / "dup.geojson", ImportOptions())
    assert _count(fresh, "SELECT count(*) FROM buildings") == 0


def test_unknown_crs_and_missing_file(fresh: Engine, tmp_path: Path) -> None:
    pd.DataFrame({"code": ["C1"], "lon": [1.0], "lat": [2.0]}).to_csv(tmp_path / "c.csv")
    with pytest.raises(UnknownCRS, match="crs"):
        import_file(fresh, "cameras", tmp_path / "c.csv", ImportOptions(crs="EPSG:999999"))
    with pytest.raises(InvalidInput, match="does not exist"):
        import_file(fresh, "cameras", tmp_path / "nope.csv", ImportOptions())


def _read_back(out: Path) -> gpd.GeoDataFrame:
    if out.suffix == ".parquet":
        return gpd.read_parquet(out)
    if out.suffix in (".csv", ".xlsx"):
        table = (pd.read_csv(out, dtype=str) if out.suffix == ".csv"
                 else pd.read_excel(out, dtype=str))
        return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries.from_wkt(table["wkt"]),
                                crs=4326)
    return gpd.read_file(out)


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson", ".parquet", ".csv", ".xlsx"])
def test_export_round_trip(fresh: Engine, shared_data: Path, tmp_path: Path,
                           suffix: str) -> None:
    path = shared_data / "us_buildings" / "philadelphia_police_service_areas.geojson"
    import_file(fresh, "grids", path,
                ImportOptions(layer="psa", code_field="psa_id", allow_invalid=True))
    out = tmp_path / f"psa{suffix}"
    assert export_layer(fresh, "grids:psa", out) == 65
    back = _read_back(out)
    src = gpd.read_file(path)
    assert sorted(back["code"]) == sorted(src["psa_id"].astype(str))
    assert back.crs.to_epsg() == 4326
    assert back.geometry.area.sum() == pytest.approx(src.geometry.area.sum(), rel=1e-9)


def test_buildings_without_codes_get_new_ones_never_reused(fresh: Engine,
                                                           tmp_path: Path) -> None:
    from coding.building_codes import is_valid

    community = gpd.GeoDataFrame({"code": ["440307003001"], "name": ["东环社区"]},
                                 geometry=[box(114.24, 22.71, 114.26, 22.73)], crs=4326)
    community.to_file(tmp_path / "c.geojson")
    import_file(fresh, "admin", tmp_path / "c.geojson", ImportOptions(level="community"))
    houses = gpd.GeoDataFrame({"address": ["一号", "二号"]},
                              geometry=[box(114.25, 22.72, 114.2501, 22.7201),
                                        box(114.252, 22.72, 114.2521, 22.7201)], crs=4326)
    houses.to_file(tmp_path / "h.geojson")
    import_file(fresh, "buildings", tmp_path / "h.geojson", ImportOptions())
    with fresh.connect() as conn:
        codes = conn.execute(text("SELECT code FROM buildings ORDER BY code")).scalars().all()
    assert [c[:17] for c in codes] == ["44030700300100001", "44030700300100002"]
    assert all(is_valid(c) for c in codes)
    with fresh.begin() as conn:
        conn.execute(text("DELETE FROM buildings WHERE code = :c"), {"c": codes[1]})
    import_file(fresh, "buildings", tmp_path / "h.geojson", ImportOptions())
    with fresh.connect() as conn:
        again = conn.execute(text("SELECT code FROM buildings ORDER BY code")).scalars().all()
    assert [c[:17] for c in again] == ["44030700300100001", "44030700300100003",
                                       "44030700300100004"]
    outside = gpd.GeoDataFrame(geometry=[box(100, 30, 100.001, 30.001)], crs=4326)
    outside.to_file(tmp_path / "o.geojson")
    with pytest.raises(InvalidInput, match="no community"):
        import_file(fresh, "buildings", tmp_path / "o.geojson", ImportOptions())

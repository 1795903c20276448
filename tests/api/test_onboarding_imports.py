"""Imports that produce a working district: communities, codes, rooms, catalogue, formats."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app as cli
from api.db.session import make_engine
from api.grids import qa as grid_qa
from api.io.importer import ImportOptions, import_file
from coding.building_codes import is_valid, make_building_code
from gis_core.errors import InvalidInput

A, B = "440305005001", "440305005002"


@pytest.fixture()
def fresh(empty_database_url: str) -> Iterator[Engine]:
    """An empty migrated database of the test's own (imports commit)."""
    eng = make_engine(empty_database_url, pool_size=2)
    yield eng
    eng.dispose()


def _rows(engine: Engine, sql: str, **params: object) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _write(tmp_path: Path, name: str, frame: gpd.GeoDataFrame) -> Path:
    path = tmp_path / name
    frame.to_file(path)
    return path


def _communities(engine: Engine, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": [A, B], "name": ["一社区", "二社区"]},
                             geometry=[box(114.00, 22.50, 114.02, 22.51),
                                       box(114.02, 22.50, 114.04, 22.51)], crs=4326)
    import_file(engine, "admin", _write(tmp_path, "c.geojson", frame),
                ImportOptions(level="community"))


def _grids(tmp_path: Path) -> Path:
    # g1 in A; g2 one third in B; g3 in B; g4 two thirds in no community
    edges = [114.00, 114.01, 114.025, 114.035, 114.05]
    frame = gpd.GeoDataFrame({"code": ["g1", "g2", "g3", "g4"]},
                             geometry=[box(x0, 22.50, x1, 22.51)
                                       for x0, x1 in zip(edges, edges[1:], strict=False)],
                             crs=4326)
    return _write(tmp_path, "g.geojson", frame)


def test_grids_get_the_community_holding_most_of_them_and_odd_ones_are_reported(
        fresh: Engine, tmp_path: Path) -> None:
    _communities(fresh, tmp_path)
    seen = []
    import_file(fresh, "grids", _grids(tmp_path),
                ImportOptions(layer="basic", on_report=lambda *a: seen.append(a)))
    linked = dict(_rows(fresh, "SELECT code, community_code FROM grids ORDER BY code"))
    assert linked == {"g1": A, "g2": A, "g3": B, "g4": B}
    with fresh.connect() as conn:
        exclusive, report = grid_qa.check_layer(conn, "basic")
    found = {(r.kind, r.codes[0], r.severity) for r in report.findings.itertuples()}
    assert found == {("straddle", "g2", "warning"), ("outside_community", "g4", "warning")}
    assert report.ok and exclusive
    # the import reported exactly what the check finds
    (layer, _, at_import), = seen
    assert layer == "basic"
    assert at_import.findings[["kind", "detail"]].equals(report.findings[["kind", "detail"]])


def test_a_community_given_by_the_file_is_kept_and_checked(fresh: Engine,
                                                           tmp_path: Path) -> None:
    _communities(fresh, tmp_path)
    frame = gpd.GeoDataFrame({"code": ["g1"], "community": [B]},
                             geometry=[box(114.00, 22.50, 114.01, 22.51)], crs=4326)
    path = _write(tmp_path, "given.geojson", frame)
    import_file(fresh, "grids", path, ImportOptions(layer="basic",
                                                    fields={"community_code": "community"}))
    assert _rows(fresh, "SELECT community_code FROM grids") == [(B,)]
    with fresh.connect() as conn:
        _, report = grid_qa.check_layer(conn, "basic")
    assert report.findings["kind"].tolist() == ["straddle"]
    assert "100% outside community 440305005002" in report.findings["detail"].iloc[0]
    frame["community"] = ["440305005009"]
    with pytest.raises(InvalidInput, match="not stored communities"):
        import_file(fresh, "grids", _write(tmp_path, "bad.geojson", frame),
                    ImportOptions(layer="other", fields={"community_code": "community"}))


@pytest.mark.parametrize(("community_from", "expected"),
                         [("grids", B), ("nearest", B), ("refuse", None)])
def test_buildings_outside_every_community(fresh: Engine, tmp_path: Path,
                                           community_from: str, expected: str | None) -> None:
    _communities(fresh, tmp_path)
    import_file(fresh, "grids", _grids(tmp_path), ImportOptions(layer="basic"))
    houses = gpd.GeoDataFrame({"name": ["in A", "outside, in g4"]},
                              geometry=[box(114.005, 22.505, 114.0051, 22.5051),
                                        box(114.045, 22.505, 114.0451, 22.5051)], crs=4326)
    path = _write(tmp_path, "h.geojson", houses)
    options = ImportOptions(community_from=community_from)
    if expected is None:
        with pytest.raises(InvalidInput, match=r"rows \[2\]\): choose --community-from grids"):
            import_file(fresh, "buildings", path, options)
        assert _rows(fresh, "SELECT count(*) FROM buildings") == [(0,)]
        return
    import_file(fresh, "buildings", path, options)
    stored = _rows(fresh, "SELECT name, community_code, code FROM buildings ORDER BY name")
    assert stored == [("in A", A, make_building_code(A, 1)),
                      ("outside, in g4", expected, make_building_code(expected, 1))]


def test_suzhou_shapefile_keeps_its_id_as_external_code(fresh: Engine, shared_data: Path,
                                                        tmp_path: Path) -> None:
    src = gpd.read_file(shared_data / "cn_buildings" / "suzhou_gusu_buildings_pybdshadow.geojson")
    hull = src.union_all().convex_hull.buffer(0.001)
    import_file(fresh, "admin", _write(tmp_path, "c.geojson", gpd.GeoDataFrame(
        {"code": ["320508018001"], "name": ["平江一社区"]}, geometry=[hull], crs=4326)),
        ImportOptions(level="community"))
    shp = _write(tmp_path, "suzhou.shp", src)
    with pytest.raises(InvalidInput, match="does not hold standard building codes"):
        import_file(fresh, "buildings", shp, ImportOptions(code_field="Id"))
    import_file(fresh, "buildings", shp, ImportOptions())
    rows = _rows(fresh, "SELECT code, external_code, floors FROM buildings")
    assert len(rows) == len(src) == 3076
    assert {r[1] for r in rows} == {"0"}  # the file's Id: the same for every feature
    assert all(is_valid(r[0]) and r[0].startswith("320508018001") for r in rows)
    assert sorted(r[2] for r in rows) == sorted(src["Floor"])


def test_an_osm_id_is_not_a_building_code(fresh: Engine, shared_data: Path) -> None:
    path = shared_data / "cn_buildings" / "shanghai_lujiazui_osm_tilezen.gpkg"
    with pytest.raises(InvalidInput, match=r"--external-code-field osm_id") as refused:
        import_file(fresh, "buildings", path,
                    ImportOptions(code_field="osm_id", source_layer="buildings"))
    assert re.search(r"'-\d+'", str(refused.value))  # negative OSM ids named
    assert _rows(fresh, "SELECT count(*) FROM buildings") == [(0,)]


def test_cameras_from_xlsx(fresh: Engine, shared_data: Path, tmp_path: Path) -> None:
    src = pd.read_csv(shared_data / "cameras" / "chicago_red_light_camera_locations.csv",
                      encoding="utf-8-sig")
    src.insert(0, "code", [f"RL{i:03d}" for i in range(len(src))])
    src.to_excel(tmp_path / "cams.xlsx", index=False)
    import_file(fresh, "cameras", tmp_path / "cams.xlsx", ImportOptions())
    (lon, lat), = _rows(fresh, "SELECT ST_X(geom), ST_Y(geom) FROM cameras WHERE code = 'RL000'")
    assert (lon, lat) == pytest.approx((src["LONGITUDE"][0], src["LATITUDE"][0]))
    assert _rows(fresh, "SELECT count(*) FROM cameras") == [(len(src),)]


def _two_buildings(engine: Engine, tmp_path: Path) -> list[str]:
    _communities(engine, tmp_path)
    houses = gpd.GeoDataFrame({"osm_id": ["w1", "w2"]},
                              geometry=[box(114.005, 22.505, 114.0051, 22.5051),
                                        box(114.006, 22.505, 114.0061, 22.5051)], crs=4326)
    import_file(engine, "buildings", _write(tmp_path, "h.geojson", houses), ImportOptions())
    return [r[0] for r in _rows(engine, "SELECT code FROM buildings ORDER BY external_code")]


def test_rooms_from_csv_and_xlsx(fresh: Engine, tmp_path: Path) -> None:
    first, second = _two_buildings(fresh, tmp_path)
    pd.DataFrame({"楼栋编码": [first, first, "w2"], "单元": ["1", "1", ""],
                  "楼层": ["3", "B1", "2"], "房号": ["2", "1", "5"]}).to_csv(
        tmp_path / "rooms.csv", index=False)
    assert import_file(fresh, "rooms", tmp_path / "rooms.csv", ImportOptions()) == {"rooms": 3}
    rows = _rows(fresh, "SELECT b.code, r.unit, r.floor, r.number, r.code FROM rooms r "
                        "JOIN buildings b ON b.id = r.building_id ORDER BY r.code")
    assert [r[:4] for r in rows] == [(first, 1, 3, 2), (first, 1, -1, 1), (second, 0, 2, 5)]
    assert all(is_valid(r[4]) and r[4].startswith(r[0][:17]) for r in rows)
    with pytest.raises(InvalidInput, match="already stored"):
        import_file(fresh, "rooms", tmp_path / "rooms.csv", ImportOptions())
    pd.DataFrame({"code": [rows[0][4][:17] + "01004001" + "X"]}).to_excel(
        tmp_path / "bad.xlsx", index=False)
    with pytest.raises(InvalidInput, match="check character"):
        import_file(fresh, "rooms", tmp_path / "bad.xlsx", ImportOptions())
    assert _rows(fresh, "SELECT count(*) FROM rooms") == [(3,)]


def test_the_catalogue_is_created_then_updated(fresh: Engine, tmp_path: Path) -> None:
    table = pd.DataFrame({"类别编码": ["0101", "0102"], "类别名称": ["暴露垃圾", "积存垃圾"],
                          "大类名称": ["市容环境", "市容环境"], "时限(小时)": ["2", "24"],
                          "department_code": ["CG", "CG"],
                          "处置部门": ["城管局", "城管局"]})
    table.to_csv(tmp_path / "cat.csv", index=False)
    counts = import_file(fresh, "catalogue", tmp_path / "cat.csv", ImportOptions())
    assert counts == {"categories_created": 2, "categories_updated": 0,
                      "departments_created": 1, "departments_updated": 0}
    table["时限(小时)"] = ["4", "48"]
    table.drop(columns=["处置部门"]).to_excel(tmp_path / "cat.xlsx", index=False,
                                            sheet_name="categories")
    counts = import_file(fresh, "catalogue", tmp_path / "cat.xlsx", ImportOptions())
    assert counts["categories_updated"] == 2 and counts["departments_created"] == 0
    assert _rows(fresh, "SELECT c.code, c.major_code, c.time_limit_hours, d.code FROM "
                        "event_categories c JOIN departments d ON d.id = c.department_id "
                        "ORDER BY c.code") == [("0101", "01", 4.0, "CG"),
                                               ("0102", "01", 48.0, "CG")]
    table["时限(小时)"] = ["4", "0"]
    table["department_code"] = ["CG", "NOPE"]
    table.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InvalidInput, match=r"rows \[2\] have no positive time limit"):
        import_file(fresh, "catalogue", tmp_path / "bad.csv", ImportOptions())
    audited = _rows(fresh, "SELECT count(*) FROM audit_log WHERE action = 'catalogue.import'")
    assert audited == [(2,)]


def test_names_and_unknown_codes_are_not_admin_codes(fresh: Engine, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": ["南山"]}, geometry=[box(113.9, 22.5, 114.0, 22.6)],
                             crs=4326)
    path = _write(tmp_path, "a.geojson", frame)
    with pytest.raises(InvalidInput, match="'南山' is a name, not a code.*440305 南山区") as bad:
        import_file(fresh, "admin", path, ImportOptions(level="district"))
    assert bad.value.code == "admin_code"
    frame["code"] = ["440305099001"]  # street 099 does not exist
    with pytest.raises(InvalidInput, match="not a street of the community"):
        import_file(fresh, "admin", _write(tmp_path, "b.geojson", frame),
                    ImportOptions(level="community"))
    assert _rows(fresh, "SELECT count(*) FROM admin_areas") == [(0,)]


@pytest.mark.parametrize(("kind", "says"), [
    ("admin", "--code-from-name"), ("grids", "straddle"), ("buildings", "--community-from"),
    ("rooms", "floor"), ("cameras", "heading"), ("catalogue", "time_limit_hours"),
    ("events", "--timezone")])
def test_every_import_kind_explains_itself(kind: str, says: str) -> None:
    result = CliRunner().invoke(cli, ["import", kind, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert says in result.output


def test_cli_import_prints_the_findings_of_grids_check(fresh: Engine, tmp_path: Path,
                                                      shared_data: Path) -> None:
    path = shared_data / "us_buildings" / "philadelphia_police_service_areas.geojson"
    psa = gpd.read_file(path)
    district = psa.union_all().convex_hull  # wider than the grids: gaps at the edge
    import_file(fresh, "admin", _write(tmp_path, "d.geojson", gpd.GeoDataFrame(
        {"code": ["440305"], "name": ["测试区"]}, geometry=[district], crs=4326)),
        ImportOptions(level="district"))
    env = {"DATABASE_URL": fresh.url.render_as_string(hide_password=False),
           "COLUMNS": "200"}
    runner = CliRunner()
    args = ["import", "grids", str(path), "--layer", "psa", "--code-field", "psa_id"]
    refused = runner.invoke(cli, args, env=env)
    stored = runner.invoke(cli, [*args, "--allow-invalid"], env=env)
    checked = runner.invoke(cli, ["grids", "check", "--layer", "psa"], env=env)
    assert (refused.exit_code, stored.exit_code, checked.exit_code) == (1, 0, 1)

    def table(output: str) -> str:
        return output[output.index("layer psa"):output.rindex("│") + 1]

    assert table(refused.output) == table(stored.output) == table(checked.output)
    assert table(checked.output).count(" gap ") > 1 and "overlap" in checked.output


def test_valid_codes_of_the_file_are_kept(fresh: Engine, tmp_path: Path) -> None:
    _communities(fresh, tmp_path)
    given = [make_building_code(A, 7), make_building_code(A, 3).lower()]
    houses = gpd.GeoDataFrame({"building_code": given, "bin": ["x1", "x2"]},
                              geometry=[box(114.005, 22.505, 114.0051, 22.5051),
                                        box(114.006, 22.505, 114.0061, 22.5051)], crs=4326)
    path = _write(tmp_path, "h.geojson", houses)
    import_file(fresh, "buildings", path, ImportOptions())
    assert _rows(fresh, "SELECT code, external_code FROM buildings ORDER BY external_code") == [
        (given[0], "x1"), (given[1].upper(), "x2")]
    with pytest.raises(InvalidInput, match="already stored"):
        import_file(fresh, "buildings", path, ImportOptions())
    # the next allocated code follows the highest one stored
    more = gpd.GeoDataFrame(geometry=[box(114.007, 22.505, 114.0071, 22.5051)], crs=4326)
    import_file(fresh, "buildings", _write(tmp_path, "m.geojson", more), ImportOptions())
    assert (make_building_code(A, 8),) in _rows(fresh, "SELECT code FROM buildings")


def test_where_keeps_some_features_and_a_bad_condition_is_refused(
        fresh: Engine, shared_data: Path) -> None:
    path = shared_data / "cn_admin" / "shenzhen_districts_transbigdata.geojson"
    options = ImportOptions(level="district", name_field="qh", code_from_name=True,
                            within="4403", where="qh IN ('南山', '福田')")
    assert import_file(fresh, "admin", path, options) == {"admin": 2}
    assert _rows(fresh, "SELECT code FROM admin_areas ORDER BY code") == [("440304",),
                                                                          ("440305",)]
    for where, message in (("nope = 1", "parameter 'where'"), ("qh = '北京'", "no feature")):
        with pytest.raises(InvalidInput, match=message):
            import_file(fresh, "admin", path, ImportOptions(level="district", where=where))


def test_events_without_a_channel_column_take_the_given_channel(
        fresh: Engine, tmp_path: Path) -> None:
    pd.DataFrame({"code": ["0101"], "name": ["暴露垃圾"], "major_name": ["市容环境"],
                  "time_limit_hours": ["4"]}).to_csv(tmp_path / "cat.csv", index=False)
    import_file(fresh, "catalogue", tmp_path / "cat.csv", ImportOptions())
    pd.DataFrame({"事件类型": ["暴露垃圾"], "受理时间": ["2024-02-09 23:30"],
                  "lon": ["114.0"], "lat": ["22.5"]}).to_csv(tmp_path / "e.csv", index=False)
    import_file(fresh, "events", tmp_path / "e.csv",
                ImportOptions(channel="patrol", timezone="Asia/Shanghai"))
    assert _rows(fresh, "SELECT channel, to_char(reported_at AT TIME ZONE 'UTC', "
                        "'YYYY-MM-DD HH24:MI') FROM events") == [("patrol", "2024-02-09 15:30")]
    with pytest.raises(InvalidInput, match="ours are app"):
        import_file(fresh, "events", tmp_path / "e.csv", ImportOptions(channel="phone"))


def test_cli_reads_naive_times_in_gridgov_timezone(fresh: Engine, tmp_path: Path) -> None:
    pd.DataFrame({"code": ["0101"], "name": ["暴露垃圾"], "major_name": ["市容环境"],
                  "time_limit_hours": ["4"]}).to_csv(tmp_path / "cat.csv", index=False)
    pd.DataFrame({"requesttype": ["0101"], "createddate": ["1/1/20 0:05"],
                  "longitude": ["-118.5"], "latitude": ["34.2"]}).to_csv(
        tmp_path / "la.csv", index=False)
    env = {"DATABASE_URL": fresh.url.render_as_string(hide_password=False),
           "GRIDGOV_TIMEZONE": "America/Los_Angeles"}
    runner = CliRunner()
    for args in (["catalogue", str(tmp_path / "cat.csv")], ["events", str(tmp_path / "la.csv")]):
        result = runner.invoke(cli, ["import", *args], env=env)
        assert result.exit_code == 0, result.output
    assert _rows(fresh, "SELECT to_char(reported_at AT TIME ZONE 'UTC', 'HH24:MI'), channel "
                        "FROM events") == [("08:05", "hotline")]


def test_admin_areas_are_not_stored_twice_nor_under_unknown_parents(
        fresh: Engine, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": [A]}, geometry=[box(114.0, 22.5, 114.02, 22.51)],
                             crs=4326)
    path = _write(tmp_path, "c.geojson", frame)
    import_file(fresh, "admin", path, ImportOptions(level="community"))
    assert _rows(fresh, "SELECT code, name, parent_code FROM admin_areas") == [(A, A, None)]
    assert _rows(fresh, "SELECT actor, details->>'count', details->>'file' FROM audit_log "
                        "WHERE action = 'admin.import'") == [("import", "1", "c.geojson")]
    with pytest.raises(InvalidInput, match="already stored"):
        import_file(fresh, "admin", path, ImportOptions(level="community"))
    frame["code"], frame["parent_code"] = [B], ["440305005"]
    with pytest.raises(InvalidInput, match=r"parent codes \['440305005'\]"):
        import_file(fresh, "admin", _write(tmp_path, "p.geojson", frame),
                    ImportOptions(level="community"))

"""The layer declarations: typed, strict, URL-safe, no personal data, valid TileJSON."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from gis_core.errors import InvalidInput, NotFound
from layers import REGISTRY, Layer, all_layers, get_layer
from layers.catalog import grid_layer, grid_layer_id, static_layers
from layers.filters import parse_datetime_interval
from layers.registry import Registry

PERSONAL = {"reporter_name", "reporter_phone", "reporter_email", "description", "public_token"}
EXPECTED = {"admin-district", "admin-street", "admin-community", "buildings", "roads", "cameras",
            "camera-views", "blind-spots", "events", "hotspots"}


def _buildings_decl() -> dict[str, Any]:
    return get_layer("buildings").model_dump(exclude={"properties", "style", "title"}) | {
        "properties": [{"name": "code"}], "style": {"type": "fill"},
        "title": {"zh": "建筑", "en": "Buildings"}}


def test_every_layer_of_the_issue_is_declared_with_url_safe_ids() -> None:
    ids = {layer.id for layer in static_layers()}
    assert ids >= EXPECTED
    for layer in all_layers():
        assert re.fullmatch(r"[a-z][a-z0-9_-]*", layer.id)
        assert layer.title.zh
        assert layer.title.en
        assert layer.minzoom <= layer.maxzoom
        assert layer.style.type in ("fill", "line", "circle")


def test_no_layer_exposes_personal_data() -> None:
    for layer in all_layers():
        exposed = {p.name for p in layer.properties}
        sql = " ".join(p.expression() for p in layer.properties)
        assert not exposed & PERSONAL, layer.id
        assert not any(word in sql for word in PERSONAL), layer.id


def test_declarations_reject_unknown_keys_and_bad_values() -> None:
    Layer(**_buildings_decl())  # the base declaration is valid
    with pytest.raises(ValidationError, match="colour"):
        Layer(**_buildings_decl(), colour="#ff0000")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Layer(**{**_buildings_decl(), "id": "Buildings/../x"})
    with pytest.raises(ValidationError, match="minzoom"):
        Layer(**{**_buildings_decl(), "minzoom": 15, "maxzoom": 10})
    with pytest.raises(ValidationError, match="exactly one"):
        Layer(**{**_buildings_decl(), "query": "SELECT * FROM buildings"})
    with pytest.raises(ValidationError):
        Layer(**{**_buildings_decl(), "style": {"type": "fill", "opacity": 3}})
    with pytest.raises(ValidationError, match="mercator_column"):
        Layer(**{**_buildings_decl(), "mercator_column": "geom_3857", "index_column": "geom"})
    with pytest.raises(ValidationError, match="pixel_columns"):
        Layer(**{**_buildings_decl(), "pixel_columns": {19: "tile_px19"}})
    with pytest.raises(ValidationError, match="pixel_columns"):
        Layer(**{**_buildings_decl(), "pixel_columns": {14: "px; DROP TABLE buildings"}})


def test_a_stored_mercator_column_is_drawn_and_searched_without_transforms() -> None:
    sql = get_layer("buildings").tile_sql.text
    assert "ST_AsMVTGeom(t.geom_3857," in sql
    assert "t.geom_3857 && _tile.search" in sql
    assert "WHEN 14 THEN t.tile_px14" in sql
    assert "ST_Translate(" in sql
    assert "ST_TileEnvelope(:z, :x, :y, margin => 0.015625) AS search" in sql
    assert "ST_Transform" not in sql
    # layers without one transform the geometry and search in EPSG:4326
    roads = get_layer("roads").tile_sql.text
    assert "ST_AsMVTGeom(ST_Transform(t.geom, 3857)," in roads
    assert "ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4326) AS search" in roads
    assert "t.geom && _tile.search" in roads


def test_grid_layers_get_one_layer_each_with_safe_ids() -> None:
    assert grid_layer_id("basic", 1) == "grids-basic"
    assert grid_layer_id("Functional Grids", 2) == "grids-functional-grids"
    assert grid_layer_id("网格", 7) == "grids-7"
    layer = grid_layer(4, "basic", "basic", "基础网格", True)
    assert layer.params == {"grid_layer_id": 4}
    assert "valid_to" in (layer.where or "")
    assert {"grids", "grid_layers"} <= set(layer.tables)


def test_unknown_layer_is_not_found_naming_the_known_ones() -> None:
    with pytest.raises(NotFound, match="buildings"):
        get_layer("nope")


def test_registry_rejects_duplicate_ids() -> None:
    reg = Registry()
    with pytest.raises(ValueError, match="already"):
        reg.add(get_layer("buildings"))


def test_tile_sql_binds_request_values_and_is_built_once() -> None:
    events = get_layer("events")
    assert events.tile_sql is events.tile_sql
    params = set(events.tile_sql.compile().params)
    assert {"z", "x", "y", "status", "category", "overdue", "open", "datetime_start",
            "datetime_end"} == params
    assert "ST_TileEnvelope" in events.tile_sql.text
    assert "ST_AsMVT(" in events.tile_sql.text


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("status", "bogus", "status"), ("overdue", "maybe", "overdue"),
    ("datetime", "2024-13-01", "datetime"), ("datetime", "2024-02-01/2024-01-01", "after"),
    ("colour", "red", "colour"), ("category", ",", "category"),
])
def test_invalid_filters_name_the_parameter(name: str, raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        get_layer("events").bind({name: raw})


def test_filters_bind_parsed_values() -> None:
    params = get_layer("events").bind({"status": "registered,closed", "overdue": "false",
                                        "datetime": "../2024-01-01T00:00:00Z"})
    assert params["status"] == ["registered", "closed"]
    assert params["overdue"] is False
    assert params["datetime_start"] is None
    assert params["datetime_end"].year == 2024
    assert get_layer("events").bind()["status"] is None


def test_datetime_interval_accepts_instants_and_open_ends() -> None:
    start, end = parse_datetime_interval("2024-05-01T08:00:00+08:00")
    assert start == end
    assert start is not None
    assert start.utcoffset() is not None
    assert parse_datetime_interval("../2024-05-01")[0] is None


def test_tilejson_is_tilejson_3() -> None:
    layer = get_layer("events")
    doc = layer.tilejson("http://example.org/", (114.0, 22.0, 114.5, 22.5), "status=closed")
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://example.org/tiles/events/{z}/{x}/{y}.mvt?status=closed"]
    assert doc["bounds"] == [114.0, 22.0, 114.5, 22.5]
    assert doc["minzoom"] == layer.minzoom
    assert doc["maxzoom"] == layer.maxzoom
    (vl,) = doc["vector_layers"]
    assert vl["id"] == "events"
    assert vl["fields"]["overdue"] == "Boolean"
    assert vl["fields"]["status"] == "String"
    assert set(vl["fields"]) == {p.name for p in layer.properties}
    lon, lat, zoom = doc["center"]
    assert 114.0 <= lon <= 114.5
    assert 22.0 <= lat <= 22.5
    assert layer.minzoom <= zoom


@pytest.mark.parametrize(("z", "x", "y", "name"), [(-1, 0, 0, "z"), (25, 0, 0, "z"),
                                                   (3, 8, 0, "x"), (3, 0, -1, "y")])
def test_tile_coordinates_out_of_range_name_the_parameter(z: int, x: int, y: int,
                                                          name: str) -> None:
    with pytest.raises(InvalidInput, match=f"'{name}'"):
        get_layer("buildings").check_tile(z, x, y)


def test_module_registry_is_shared() -> None:
    assert get_layer("roads") is REGISTRY.get("roads")

"""``gridgov import KIND FILE``: one command per kind, each saying what it reads.

Every import runs in one transaction: on any error nothing is stored. Files:
GeoPackage, Shapefile, GeoJSON, CSV or XLSX (a table with lon/lat columns or a
WKT column), in any CRS (``--crs`` when the file declares none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

import_app = typer.Typer(
    help="Import a district's data, in this order: admin areas (district, streets, "
         "communities), grids, buildings, rooms, cameras, the catalogue, events. "
         "Each import is one transaction: on error nothing is stored. "
         "See docs/onboarding.md.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="GeoPackage, Shapefile, GeoJSON, CSV or XLSX")]
TableArg = Annotated[Path, typer.Argument(help="CSV or XLSX")]
Crs = Annotated[str | None, typer.Option(help="source CRS when the file declares none, "
                                              "e.g. EPSG:4547 (CGCS2000 3-degree GK 114E)")]
SourceLayer = Annotated[str | None, typer.Option(help="layer inside a GeoPackage")]
Where = Annotated[str | None, typer.Option(
    help="keep the features matching an OGR SQL condition, e.g. \"qh = '南山'\"")]
Invalid = Annotated[str, typer.Option(help="invalid geometries: refuse (listing the rows) "
                                           "or repair (make_valid)")]
Field = Annotated[list[str] | None, typer.Option(help="OURS=THEIRS: read our field from "
                                                      "their column (repeatable)")]


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    from api.cli._common import _fail

    out = {}
    for item in values or []:
        if "=" not in item:
            raise _fail(f"{what} takes NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _read_map(path: Path | None) -> dict[str, str]:
    import csv
    import json

    if path is None:
        return {}
    if path.suffix.lower() == ".json":
        return {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    with path.open(encoding="utf-8-sig") as fh:
        return {row[0]: row[1] for row in csv.reader(fh) if len(row) >= 2}


def _run(kind: str, file: Path, **options: Any) -> dict[str, int]:
    from api.audit.service import cli_actor
    from api.cli._common import _engine, _fail, _friendly_errors, console
    from api.cli.grids import _print
    from api.io.importer import ImportOptions, import_file

    if options.get("invalid", "refuse") not in ("refuse", "repair"):
        raise _fail("--invalid must be refuse or repair")
    def report(layer: str, exclusive: bool, found: Any) -> None:
        _print(console, layer, exclusive, found)  # what `gridgov grids check` prints

    with _friendly_errors():
        engine = _engine()
        try:
            counts = import_file(engine, kind, file, ImportOptions(
                **options, on_report=report, actor=cli_actor().name))
        finally:
            engine.dispose()
    console.print(f"imported: {counts}")
    return counts


@import_app.command("admin")
def admin(
    file: FileArg,
    level: Annotated[str, typer.Option(help="city, district, street or community")],
    code_field: Annotated[str | None, typer.Option(
        help="column of the GB/T 2260 codes (default: code, adcode)")] = None,
    name_field: Annotated[str | None, typer.Option(
        help="column of the names (default: name, mc; else the table's name)")] = None,
    parent_field: Annotated[str | None, typer.Option(
        help="column of the parent codes (default: parent_code; else the stored area "
             "above the code: community -> street -> district -> city)")] = None,
    code_from_name: Annotated[bool, typer.Option(
        help="take the codes from the names in the GB/T 2260 table")] = False,
    within: Annotated[str | None, typer.Option(
        help="with --code-from-name: look names up under this code, e.g. 4403 (深圳市)")]
    = None,
    admin_codes: Annotated[Path | None, typer.Option(
        help="a newer code,name table (default: the 2023 table in data_samples/)")] = None,
    where: Where = None,
    crs: Crs = None, source_layer: SourceLayer = None, invalid: Invalid = "refuse",
) -> None:
    """Import admin-area polygons; codes are checked against GB/T 2260 (a name is not a code).

    District codes have 6 digits, streets 9, communities 12 (a street of
    the table plus 001-999). Importing communities links the stored
    grids to them.
    """
    from api.imports.admin_codes import TABLE

    _run("admin", file, level=level, code_field=code_field, name_field=name_field,
         parent_field=parent_field, code_from_name=code_from_name, within=within,
         admin_codes=admin_codes or TABLE, where=where, crs=crs, source_layer=source_layer,
         invalid=invalid)


@import_app.command("grids")
def grids(
    file: FileArg,
    layer: Annotated[str, typer.Option(help="the grid layer to import into (made if new)")],
    code_field: Annotated[str | None, typer.Option(
        help="column of the grid codes (default: code, grid_code, id)")] = None,
    name_field: Annotated[str | None, typer.Option(help="column of the names")] = None,
    layer_kind: Annotated[str, typer.Option(help="basic, household, functional ...")]
    = "basic",
    exclusive: Annotated[bool, typer.Option(
        help="the layer covers its district without overlap (checked)")] = True,
    allow_invalid: Annotated[bool, typer.Option(
        help="store an exclusive layer despite gaps or overlaps")] = False,
    field: Field = None, where: Where = None,
    crs: Crs = None, source_layer: SourceLayer = None, invalid: Invalid = "refuse",
) -> None:
    """Import grid polygons, link each to its community, and check the layer.

    A grid's community is read from a community_code column (--field
    community_code=COLUMN) or is the community holding most of it. An
    exclusive layer is refused on gaps, overlaps or parts outside its
    district; grids that straddle two communities or lie outside their
    community are reported. The findings are those of `gridgov grids
    check`.
    """
    _run("grids", file, layer=layer, code_field=code_field, name_field=name_field,
         layer_kind=layer_kind, exclusive=exclusive, allow_invalid=allow_invalid,
         fields=_pairs(field, "--field"), where=where, crs=crs, source_layer=source_layer,
         invalid=invalid)


@import_app.command("buildings")
def buildings(
    file: FileArg,
    code_field: Annotated[str | None, typer.Option(
        help="column of standard 18-character building codes (default: code, "
             "building_code when present; else codes are allocated)")] = None,
    external_code_field: Annotated[str | None, typer.Option(
        help="column kept as external_code (default: bin, osm_id, id, fid, objectid ...)")]
    = None,
    community_from: Annotated[str, typer.Option(
        help="buildings in no community: grids (the grid's community), nearest, or refuse")]
    = "refuse",
    field: Field = None, where: Where = None,
    crs: Crs = None, source_layer: SourceLayer = None, invalid: Invalid = "refuse",
) -> None:
    """Import building footprints; every building gets a standard code and a plate.

    The community is the one holding most of the footprint (for
    buildings in none: --community-from). Codes come from the file only
    when they are valid standard codes; otherwise they are allocated
    from the community's sequence, and a foreign id is kept as
    external_code. Also read: address, name, floors, height (--field
    address=COLUMN ...).
    """
    _run("buildings", file, code_field=code_field, external_code_field=external_code_field,
         community_from=community_from, fields=_pairs(field, "--field"), where=where,
         crs=crs, source_layer=source_layer, invalid=invalid)


@import_app.command("rooms")
def rooms(file: TableArg, field: Field = None) -> None:
    """Import rooms from a table: building_code, unit, floor, room (or a room code).

    building_code may be the building's external_code; a room code has
    26 characters. Floors below ground are -1 or B1; unit 0 or empty
    means the building has no units. Names of our fields: building_code,
    code, unit, floor, room (--field room=房号 ...).
    """
    _run("rooms", file, fields=_pairs(field, "--field"))


@import_app.command("cameras")
def cameras(
    file: FileArg,
    code_field: Annotated[str | None, typer.Option(
        help="column of the camera codes (default: code, id, location id)")] = None,
    field: Field = None,
    crs: Crs = None, source_layer: SourceLayer = None, invalid: Invalid = "refuse",
) -> None:
    """Import camera points: code, name, heading, hfov, range_m, mount_height.

    Missing heading, hfov, range_m and mount_height default to 0, 60, 50
    and 6.
    """
    _run("cameras", file, code_field=code_field, fields=_pairs(field, "--field"), crs=crs,
         source_layer=source_layer, invalid=invalid)


@import_app.command("catalogue")
def catalogue(file: TableArg) -> None:
    """Import the district's service catalogue: categories, departments, time limits.

    Columns: code, name, major_code, major_name, time_limit_hours,
    department_code, department_name, closing_standard (Chinese headers
    such as 类别编码, 时限(小时), 处置部门 are understood). An XLSX may hold a
    'departments' sheet (code, name). Categories and departments are
    created or updated by code.
    """
    _run("catalogue", file)


@import_app.command("events")
def events(
    file: FileArg,
    timezone: Annotated[str | None, typer.Option(
        help="zone of times written without one (default: GRIDGOV_TIMEZONE)")] = None,
    channel: Annotated[str, typer.Option(
        help="channel of rows without one: app, qr, hotline, patrol, camera, open311")]
    = "hotline",
    channel_map: Annotated[list[str] | None, typer.Option(
        help="THEIRS=OURS for values of the channel column ('*' = every other value)")]
    = None,
    category_map: Annotated[Path | None, typer.Option(
        help="JSON or CSV mapping their category names to our codes ('*' = default)")]
    = None,
    field: Field = None,
    crs: Crs = None, source_layer: SourceLayer = None,
) -> None:
    """Import events (a hotline or 311 export): each gets its grids, community, street, department.

    Columns read: category, reported_at, closed_at, description,
    address, external_id, channel (common names such as requesttype,
    createddate, closeddate, srnumber, 事件类型, 受理时间, 结案时间, 工单编号,
    渠道 are found; else --field reported_at=COLUMN), and lon/lat or WKT.
    Categories match our codes, our names, or --category-map. Times
    without a zone are local to --timezone; all are stored in UTC.
    """
    from api.cli._common import _settings

    _run("events", file, timezone=timezone or _settings().api.timezone, channel=channel,
         channel_map=_pairs(channel_map, "--channel-map"),
         category_map=_read_map(category_map), fields=_pairs(field, "--field"), crs=crs,
         source_layer=source_layer)


@import_app.command("people")
def people(file: TableArg) -> None:
    """Import residents (XLSX or CSV with the district offices' Chinese headers).

    Columns: 姓名, 公民身份号码, 联系电话, 户籍地, 民族, 房屋编码 (room code),
    户号, 与户主关系, 居住类型, 入住日期. Every row is checked first (check
    character, known room, no duplicate person); any error refuses the file
    and lists the rows.
    """
    from api.audit.service import cli_actor
    from api.cli._common import _engine, _friendly_errors, _settings, console
    from api.imports.admin_codes import DivisionTable
    from api.people.importer import import_people, settle
    from api.personal.cipher import PersonalCipher

    with _friendly_errors():
        engine = _engine()
        try:
            with engine.begin() as conn:  # one transaction: on any error nothing is stored
                counts = import_people(conn, file, PersonalCipher.from_settings(_settings()),
                                       DivisionTable.load(), cli_actor())
            settle(engine)
        finally:
            engine.dispose()
    console.print(f"imported: {counts}")

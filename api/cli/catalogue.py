"""``gridgov department|category|rule ...``: the catalogue from the command line.

Every change is audited as ``cli:<system user>``. ``import FILE`` and
``export FILE`` read and write CSV or XLSX (by the file's suffix) in the
columns of :data:`api.catalogue.tables.COLUMNS`; ``gridgov user import|export``
are the same for users.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.audit.service import cli_actor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

departments_app = typer.Typer(help="Departments: list, save, remove, import, export.",
                              no_args_is_help=True)
categories_app = typer.Typer(help="Event categories: list, save, remove, import, export.",
                             no_args_is_help=True)
rules_app = typer.Typer(help="Routing rules (grid | community | street x category -> "
                             "department): list, add, remove, import, export, preview.",
                        no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="one JSON object per line")]


@contextmanager
def _session() -> Iterator[Session]:
    from api.cli._common import _session as session

    with session() as s:
        yield s


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False) if as_json else
                   "\t".join("-" if v is None else str(v) for v in row.values()))


def add_table_commands(app: typer.Typer, kind: str) -> None:
    """Add ``import FILE`` and ``export FILE`` of ``kind`` to ``app``."""

    @app.command("import")
    def import_(file: Annotated[Path, typer.Argument(help="a .csv or .xlsx file")]) -> None:
        """Create or change one object per row of a CSV/XLSX file (all rows or none)."""
        from api.catalogue import tables
        from api.cli._common import _fail

        if not file.is_file():
            raise _fail(f"no file {str(file)!r}")
        with _session() as session:
            frame = tables.read_frame(file.read_bytes(), file.name)
            result = tables.import_frame(session, kind, frame, cli_actor())
            session.commit()
        for name, token in result["tokens"].items():
            typer.echo(f"{name}\t{token}")
        typer.echo(f"{result['rows']} {kind} rows imported from {file}", err=True)

    @app.command("export")
    def export(file: Annotated[Path, typer.Argument(help="the .csv or .xlsx file to write")]
               ) -> None:
        """Write every object as a CSV or XLSX table (by the file's suffix)."""
        from api.catalogue import tables

        with _session() as session:
            frame = tables.export_frame(session, kind)
            data = tables.to_bytes(frame, file.suffix.lower().lstrip("."), sheet=kind)
        file.write_bytes(data)
        typer.echo(f"{len(frame)} {kind} written to {file}", err=True)


# -- departments ---------------------------------------------------------------------------
@departments_app.command("list")
def department_list(as_json: AsJson = False) -> None:
    """List departments: code, name, English name."""
    from api.catalogue import service

    with _session() as session:
        rows = [service.department_json(d) for d in service.list_departments(session)]
    _print(rows, as_json)


@departments_app.command("save")
def department_save(
    code: Annotated[str, typer.Argument(help="department code")],
    name: Annotated[str | None, typer.Option(help="name (required for a new one)")] = None,
    name_en: Annotated[str | None, typer.Option(help="English name")] = None,
) -> None:
    """Create a department or change its names."""
    from api.catalogue import service

    with _session() as session:
        service.save_department(session, code, name=name, name_en=name_en, by=cli_actor())
        session.commit()
    typer.echo(f"department {code!r} saved", err=True)


@departments_app.command("remove")
def department_remove(code: Annotated[str, typer.Argument(help="department code")]) -> None:
    """Remove a department no event, category, rule or user refers to."""
    from api.catalogue import service

    with _session() as session:
        service.remove_department(session, code, by=cli_actor())
        session.commit()
    typer.echo(f"department {code!r} removed", err=True)


# -- categories ----------------------------------------------------------------------------
@categories_app.command("list")
def category_list(as_json: AsJson = False) -> None:
    """List categories: code, major class, names, department, time limit, closing standard."""
    from api.catalogue import service

    with _session() as session:
        rows = [service.category_json(c, d) for c, d in service.list_categories(session)]
    _print(rows, as_json)


@categories_app.command("save")
def category_save(
    code: Annotated[str, typer.Argument(help="category code (minor, e.g. 0101)")],
    major_code: Annotated[str | None, typer.Option(help="major class code (e.g. 01)")] = None,
    major_name: Annotated[str | None, typer.Option(help="major class name")] = None,
    major_name_en: Annotated[str | None, typer.Option(help="major class English name")]
    = None,
    name: Annotated[str | None, typer.Option(help="name")] = None,
    name_en: Annotated[str | None, typer.Option(help="English name")] = None,
    department: Annotated[str | None, typer.Option(
        help="default department code ('' for none)")] = None,
    time_limit_hours: Annotated[float | None, typer.Option(help="time limit (hours)")] = None,
    closing_standard: Annotated[str | None, typer.Option(help="closing standard")] = None,
    dispatch_limit_hours: Annotated[float | None, typer.Option(
        help="report to dispatch limit (hours; 0: none)")] = None,
    verification_limit_hours: Annotated[float | None, typer.Option(
        help="feedback to verification limit (hours; 0: none)")] = None,
    working: Annotated[list[str] | None, typer.Option(
        help="a step whose limit runs in working time: dispatch, handling or verification "
             "(repeat; the others run in natural time)")] = None,
) -> None:
    """Create an event category or change the fields given."""
    from api.catalogue import service

    given: dict[str, object] = {
        "major_code": major_code, "major_name": major_name, "major_name_en": major_name_en,
        "name": name, "name_en": name_en, "time_limit_hours": time_limit_hours,
        "closing_standard": closing_standard, "dispatch_limit_hours": dispatch_limit_hours,
        "verification_limit_hours": verification_limit_hours}
    if working is not None:
        unknown = set(working) - {"dispatch", "handling", "verification"}
        if unknown:
            raise typer.BadParameter(f"unknown steps {sorted(unknown)}", param_hint="--working")
        given |= {f"{step}_working": step in working
                  for step in ("dispatch", "handling", "verification")}
    with _session() as session:
        service.save_category(session, code, department=department, by=cli_actor(),
                              **{k: v for k, v in given.items() if v is not None})
        session.commit()
    typer.echo(f"category {code!r} saved", err=True)


@categories_app.command("remove")
def category_remove(code: Annotated[str, typer.Argument(help="category code")]) -> None:
    """Remove an event category no event has."""
    from api.catalogue import service

    with _session() as session:
        service.remove_category(session, code, by=cli_actor())
        session.commit()
    typer.echo(f"category {code!r} removed", err=True)


# -- routing rules -------------------------------------------------------------------------
@rules_app.command("list")
def rule_list(as_json: AsJson = False) -> None:
    """List routing rules: id, scope, area code, category, department, note."""
    from api.catalogue import service

    with _session() as session:
        rows = [service.rule_json(r, d) for r, d in service.list_rules(session)]
    _print(rows, as_json)


@rules_app.command("add")
def rule_add(
    scope: Annotated[str, typer.Option(help="grid, community or street")],
    code: Annotated[str, typer.Option(help="the grid, community or street code")],
    category: Annotated[str, typer.Option(help="category code, minor (0101) or major (01)")],
    department: Annotated[str, typer.Option(help="department code")],
    note: Annotated[str | None, typer.Option(help="why the rule exists")] = None,
) -> None:
    """Route a category in an area to a department (an existing rule there is changed)."""
    from api.catalogue import service

    with _session() as session:
        found = service.save_rule(session, scope=scope, scope_code=code, category=category,
                                  department=department, note=note, by=cli_actor())
        session.commit()
        typer.echo(str(found.id))
    typer.echo(f"rule: {category} in {scope} {code} -> {department}", err=True)


@rules_app.command("remove")
def rule_remove(rule_id: Annotated[int, typer.Argument(help="rule id (rule list)", min=1,
                                                       max=2**31 - 1)]) -> None:
    """Remove a routing rule."""
    from api.catalogue import service

    with _session() as session:
        service.remove_rule(session, rule_id, by=cli_actor())
        session.commit()
    typer.echo(f"rule {rule_id} removed", err=True)


@rules_app.command("preview")
def rule_preview(
    category: Annotated[str, typer.Option(help="category code")],
    x: Annotated[float | None, typer.Option(help="longitude, or x in --crs")] = None,
    y: Annotated[float | None, typer.Option(help="latitude, or y in --crs")] = None,
    crs: Annotated[str, typer.Option(help="CRS of x/y (EPSG code, GCJ02, BD09)")]
    = "EPSG:4326",
    building: Annotated[str | None, typer.Option(help="a building code")] = None,
    address: Annotated[str | None, typer.Option(help="a building's address")] = None,
    at: Annotated[str | None, typer.Option(help="report time with its offset, "
                                                "2026-12-01T09:00+08:00 (default: now)")]
    = None,
) -> None:
    """Print, as JSON, where a report would go: grids, area, department, rule, due times."""
    from api.catalogue.preview import preview
    from api.cli._common import _fail
    from api.grids.lookup import PostGISGridLookup

    try:
        when = datetime.fromisoformat(at) if at else None
    except ValueError:
        raise _fail(f"--at: {at!r} is not an ISO 8601 time") from None
    with _session() as session:
        lookup = PostGISGridLookup(session.get_bind())  # type: ignore[arg-type]
        answer = preview(session, lookup, category=category, x=x, y=y, crs=crs,
                         building_code=building, address=address, at=when)
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))


add_table_commands(departments_app, "departments")
add_table_commands(categories_app, "categories")
add_table_commands(rules_app, "rules")

"""``gridgov grids``: topology QA of the stored grid layers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

grids_app = typer.Typer(help="Grid layers: topology QA.", no_args_is_help=True)


@grids_app.command("check")
def check(
    layer: Annotated[str | None, typer.Option(help="one grid layer (default: every layer)")]
    = None,
    boundary: Annotated[bool, typer.Option(
        help="check exclusive layers against the district boundary")] = True,
) -> None:
    """Check grid layers for gaps, overlaps, invalid geometries and slivers (exit 1 on errors)."""
    from api.cli._common import _engine, _friendly_errors, console
    from api.grids import qa as grid_qa

    failed = False
    with _friendly_errors():
        engine = _engine()
        try:
            with engine.connect() as conn:
                names = [layer] if layer else list(grid_qa.layers(conn))
                for name in names:
                    exclusive, report = grid_qa.check_layer(conn, name, boundary)
                    failed |= not report.ok
                    _print(console, name, exclusive, report)
        finally:
            engine.dispose()
    if failed:
        raise typer.Exit(1)


def _print(console: object, name: str, exclusive: bool, report: object) -> None:
    from rich.console import Console

    from gis_core.topology import TopologyReport

    assert isinstance(console, Console)  # noqa: S101 - the types, for mypy
    assert isinstance(report, TopologyReport)  # noqa: S101 - the types, for mypy
    state = "[green]ok[/green]" if report.ok else "[red]errors[/red]"
    kind = "exclusive" if exclusive else "non-exclusive"
    console.print(f"layer [bold]{name}[/bold] ({kind}, {report.summary.get('grids', 0)} grids):"
                  f" {state}")
    if len(report.findings) == 0:
        return
    table = Table("kind", "severity", "grids", "area m²", "detail")
    for row in report.findings.head(50).itertuples():
        table.add_row(row.kind, row.severity, " / ".join(map(str, row.codes)),
                      f"{row.area_m2:,.1f}", str(row.detail or ""))
    console.print(table)
    if len(report.findings) > 50:
        console.print(f"... and {len(report.findings) - 50} more")


def plates(
    out: Annotated[Path, typer.Option(help="the PDF to write")],
    grid: Annotated[str | None, typer.Option(help="a grid code (or alias code)")] = None,
    community: Annotated[str | None, typer.Option(help="a community code (12 digits)")]
    = None,
    base_url: Annotated[str | None, typer.Option(
        help="the address phones reach the server at (default: GRIDGOV_PUBLIC_BASE_URL)")]
    = None,
) -> None:
    """Write printable A4 QR plate sheets of the buildings of a grid or a community."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from api.cli._common import _engine, _fail, _friendly_errors, _settings, console
    from api.codes.router import grid_plate_records
    from api.errors import APIError
    from coding.plates import plates_pdf

    if (grid is None) == (community is None):
        raise _fail("give one of --grid CODE or --community CODE")
    base_url = base_url or _settings().api.public_base_url
    if not base_url:
        raise _fail("the plates' QR codes need the address phones reach the server at: "
                    "give --base-url https://... or set GRIDGOV_PUBLIC_BASE_URL")
    with _friendly_errors():
        engine = _engine()
        try:
            with Session(engine) as session:
                if grid is not None:
                    try:
                        title, records = grid_plate_records(session, grid)
                    except APIError as exc:
                        raise _fail(exc.message) from None
                else:
                    title = community or ""
                    records = [dict(r) for r in session.execute(text(
                        "SELECT code, coalesce(address, '') AS address, "
                        "coalesce(name, '') AS name FROM buildings "
                        "WHERE community_code = :c ORDER BY code"), {"c": community}).mappings()]
                    if not records:
                        raise _fail(f"no buildings in community {community!r}")
        finally:
            engine.dispose()
        pdf = plates_pdf(records, title=f"楼栋二维码门牌 · {title}",
                         base_url=base_url)
    out.write_bytes(pdf)
    console.print(f"{len(records)} plates written to {out}")

"""``gridgov grids``: topology QA of the stored grid layers."""

from __future__ import annotations

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
    from api.cli import _engine, _friendly_errors, console
    from api.services import grid_qa

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

    assert isinstance(console, Console) and isinstance(report, TopologyReport)
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

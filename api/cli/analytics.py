"""``gridgov analytics run assign|hotspots|emerging|coverage``: the batch analyses on Dask."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

analytics_app = typer.Typer(help="Batch analytics on Dask over the whole stored history.",
                            no_args_is_help=True)
run_app = typer.Typer(help="Run one batch analysis (LocalCluster, or --scheduler).",
                      no_args_is_help=True)
analytics_app.add_typer(run_app, name="run")

Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", help="a Dask scheduler, tcp://HOST:PORT (default: a LocalCluster)")]
Workers = Annotated[int, typer.Option("--workers", min=1,
                                      help="processes of the LocalCluster")]
Tiles = Annotated[int, typer.Option("--tiles", min=1,
                                    help="tiles per side of the territory (tiles^2 tasks)")]


def _run(name: str, scheduler: str | None, workers: int, **options: Any) -> None:
    """Run ``name`` with a progress bar and print its summary as JSON."""
    from api.batch import runner
    from api.cli import _common as cli
    from api.settings import libpq_url

    with cli._friendly_errors():
        url = libpq_url(cli.database_url())
        with cli._progress(name) as update, runner.cluster(scheduler, workers) as client:
            summary = _runs()[name](client, url, progress=update, **options)
    cli.console.print_json(json.dumps(summary))


def _emerging_summary(client: Any, url: str, **options: Any) -> dict[str, Any]:
    """Patterns per cell of :func:`api.batch.runner.run_emerging`, counted."""
    from api.batch import runner

    cells = runner.run_emerging(client, url, **options)
    return {"cells": len(cells), "time_steps": len(cells.attrs["time_steps"]),
            "patterns": {str(k): int(v) for k, v in cells["pattern"].value_counts().items()}}


def _coverage_summary(client: Any, url: str, out: Path | None = None,
                      **options: Any) -> dict[str, Any]:
    """Totals of :func:`api.batch.runner.run_coverage`; the figures per grid go to ``out``."""
    from api.batch import runner

    figures = runner.run_coverage(client, url, **options)
    if out is not None:
        figures.to_csv(out)
    area, covered = float(figures["area_m2"].sum()), float(figures["covered_m2"].sum())
    return {"grids": len(figures), "cameras": figures.attrs["cameras"],
            "area_m2": round(area, 1), "covered_m2": round(covered, 1),
            "covered_share": round(covered / area, 4) if area > 0 else None,
            "blind_spots": figures.attrs["blind_spots"],
            "partitions": figures.attrs["partitions"]}


def _runs() -> dict[str, Any]:
    from api.batch import runner

    return {"assign": runner.run_assign, "hotspots": runner.run_hotspots,
            "emerging": _emerging_summary, "coverage": _coverage_summary}


@run_app.command("assign")
def assign(scheduler: Scheduler = None, workers: Workers = 2, tiles: Tiles = 4) -> None:
    """Re-assign every stored event to the grids valid at its report time."""
    _run("assign", scheduler, workers, tiles=tiles)


@run_app.command("hotspots")
def hotspots(
    scheduler: Scheduler = None,
    workers: Workers = 2,
    tiles: Tiles = 4,
    resolution: Annotated[int, typer.Option(min=0, max=15, help="H3 resolution")] = 9,
    parent: Annotated[int, typer.Option(min=0, max=14,
                                        help="H3 resolution of the partitions")] = 6,
    alpha: Annotated[float, typer.Option(min=0.0, max=1.0, help="FDR level")] = 0.05,
) -> None:
    """Gi* hot spots with FDR on H3 cells; replaces the stored hot spots."""
    _run("hotspots", scheduler, workers, tiles=tiles, resolution=resolution, parent=parent,
         alpha=alpha)


@run_app.command("emerging")
def emerging(
    scheduler: Scheduler = None,
    workers: Workers = 2,
    tiles: Tiles = 4,
    resolution: Annotated[int, typer.Option(min=0, max=15, help="H3 resolution")] = 9,
    parent: Annotated[int, typer.Option(min=0, max=14,
                                        help="H3 resolution of the partitions")] = 6,
    step: Annotated[str, typer.Option(help="time step, a pandas frequency (7D, 2W, MS)")] = "7D",
) -> None:
    """Emerging hot spot patterns of the H3 cells over time steps (counted per pattern)."""
    _run("emerging", scheduler, workers, tiles=tiles, resolution=resolution, parent=parent,
         step=step)


@run_app.command("coverage")
def coverage(
    scheduler: Scheduler = None,
    workers: Workers = 2,
    tiles: Tiles = 4,
    layer: Annotated[str, typer.Option(help="grid layer")] = "basic",
    min_area: Annotated[float, typer.Option("--min-area", min=0.0,
                                            help="smallest blind spot kept (m2)")] = 100.0,
    out: Annotated[Path | None, typer.Option(help="write the figures per grid to this CSV")
                   ] = None,
) -> None:
    """Camera coverage per grid with occlusion by buildings; replaces the stored blind spots."""
    _run("coverage", scheduler, workers, tiles=tiles, layer=layer, min_area_m2=min_area, out=out)

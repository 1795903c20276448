"""``gridgov sample``, ``load`` and ``export``: the sample town and layers in and out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from api.cli._common import _engine, _fail, _friendly_errors, _progress, console, database_url

if TYPE_CHECKING:
    from data_samples.generator import Scale


def sample(
    out: Annotated[Path, typer.Option(help="directory to write the sample into")],
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    scale: Annotated[str, typer.Option(help="small, town or district")] = "town",
    end: Annotated[str | None, typer.Option(
        help="YYYY-MM-DD: the day the year of events ends (default: today)")] = None,
) -> None:
    """Generate the deterministic sample town (same seed, scale and end: same data)."""
    from data_samples.generator import generate

    if scale not in ("small", "town", "district"):
        raise _fail("--scale must be small, town or district")
    with _friendly_errors(), _progress("sample") as update:
        manifest = generate(out, seed=seed, scale=cast("Scale", scale), end=end,
                            progress=lambda step, frac: update(step, round(frac * 100), 100))
    counts = getattr(manifest, "counts", None)
    console.print(f"sample written to {out}: {counts}")


def load(
    directory: Annotated[Path, typer.Argument(help="a directory written by 'gridgov sample'")],
    replace: Annotated[bool, typer.Option(help="clear the database first")] = False,
) -> None:
    """Load a sample directory into the database (one transaction)."""
    from api.db.migrate import upgrade
    from api.io.samples import LoadError, load_directory

    with _friendly_errors():
        url = database_url()
        upgrade(url)
        from api.db.session import make_engine

        engine = make_engine(url)
        try:
            with _progress("load") as update:
                counts = load_directory(engine, directory, replace=replace, progress=update)
        except LoadError as exc:
            raise _fail(str(exc)) from None
        finally:
            engine.dispose()
    console.print(f"loaded: {counts}")


def export(
    layer: Annotated[str, typer.Argument(help="admin, grids[:LAYER], buildings, cameras, "
                                              "roads or events")],
    file: Annotated[Path, typer.Argument(
        help="output .gpkg, .shp, .geojson, .parquet, .csv or .xlsx (CSV/XLSX: WKT column)")],
) -> None:
    """Export a layer to GeoPackage, Shapefile, GeoJSON, GeoParquet, CSV or XLSX."""
    from api.io.export import export_layer

    with _friendly_errors():
        engine = _engine()
        try:
            n = export_layer(engine, layer, file)
        finally:
            engine.dispose()
    console.print(f"exported {n} features to {file}")

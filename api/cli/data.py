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
    scale: Annotated[str, typer.Option(help="small, town, district or province")] = "town",
    end: Annotated[str | None, typer.Option(
        help="YYYY-MM-DD: the day the year of events ends (default: today)")] = None,
    districts: Annotated[int, typer.Option(
        help="province: how many districts (1-12)")] = 12,
    part_scale: Annotated[str, typer.Option(
        "--part-scale", help="province: the size of each district, district or small")
    ] = "district",
    history: Annotated[bool, typer.Option(
        help="province: write the events' history rows (about seven per event)")] = True,
) -> None:
    """Generate the deterministic sample town (same seed, scale and end: same data).

    ``--scale province`` writes a province of districts, one district at a time.
    """
    from data_samples.generator import generate
    from data_samples.province import generate_province

    if scale not in ("small", "town", "district", "province"):
        raise _fail("--scale must be small, town, district or province")
    with _friendly_errors(), _progress("sample") as update:
        def report(step: str, frac: float) -> None:
            update(step, round(frac * 100), 100)

        if scale == "province":
            manifest: object = generate_province(out, seed=seed, districts=districts,
                                                 part=part_scale, end=end, progress=report,
                                                 history=history)
        else:
            manifest = generate(out, seed=seed, scale=cast("Scale", scale), end=end,
                                progress=report)
    counts = getattr(manifest, "counts", None)
    console.print(f"sample written to {out}: {counts}")


def load(
    directory: Annotated[Path, typer.Argument(help="a directory written by 'gridgov sample'")],
    replace: Annotated[bool, typer.Option(help="clear the database first")] = False,
) -> None:
    """Load a sample directory into the database (one transaction), then analyse it."""
    from api.db.migrate import upgrade
    from api.io.samples import LoadError, analyse, load_directory

    with _friendly_errors():
        url = database_url()
        upgrade(url)
        from api.db.session import make_engine

        engine = make_engine(url)
        try:
            with _progress("load") as update:
                counts = load_directory(engine, directory, replace=replace, progress=update)
            analyse(engine)
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

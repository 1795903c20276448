"""Hot spots, emerging hot spots, anomalies and the density surface of the events."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from api.analytics.reading import feature_collection, read_events, read_grids
from gis_core import anomalies, hotspots
from gis_core.errors import InvalidInput, NotFound
from gis_core.io import write_geotiff

#: the most H3 cells an analysis may cut the territory into (sets the finest resolution)
MAX_H3_CELLS = 200_000
#: the most time steps of an emerging hot spot analysis
MAX_TIME_STEPS = 260


def max_h3_resolution(conn: Connection) -> int:
    """The finest H3 resolution that cuts the territory into at most ``MAX_H3_CELLS`` cells.

    The territory is the bounding box of the admin areas (or of the grids).
    """
    area_km2 = conn.execute(text(
        "SELECT coalesce((SELECT ST_Area(ST_Envelope(ST_Extent(geom))::geography) "
        "FROM admin_areas), (SELECT ST_Area(ST_Envelope(ST_Extent(geom))::geography) "
        "FROM grids)) / 1e6")).scalar()
    if not area_km2:
        return 9
    fits = [r for r in range(16)
            if area_km2 / h3.average_hexagon_area(r, unit="km^2") <= MAX_H3_CELLS]
    return max(fits, default=0)


def check_h3_resolution(conn: Connection, resolution: int, parameter: str) -> None:
    """422 naming ``parameter`` when ``resolution`` is finer than the territory allows."""
    finest = max_h3_resolution(conn)
    if resolution > finest:
        raise InvalidInput(f"query parameter '{parameter}': H3 resolution {resolution} would "
                           f"cut the territory into more than {MAX_H3_CELLS:,} cells; use "
                           f"{finest} or coarser", code="resolution_too_fine",
                           parameter=parameter, maximum=finest)


def parse_cell(cell: str) -> tuple[str, str | int]:
    """``h3:9`` -> ("h3", 9); ``grid:basic`` -> ("grid", "basic")."""
    kind, _, arg = cell.partition(":")
    if kind == "h3" and arg.isdigit() and 0 <= int(arg) <= 15:
        return "h3", int(arg)
    if kind == "grid" and arg:
        return "grid", arg
    raise InvalidInput(f"query parameter 'cell': {cell!r}; use h3:RES (0-15) or grid:LAYER",
                       parameter="cell")


def hotspot_report(conn: Connection, cell: str, start: datetime | None, end: datetime | None,
                   categories: Sequence[str] | None, alpha: float) -> dict[str, Any]:
    """Gi* with FDR on H3 cells or grids; the classes replace the stored hot spots."""
    kind, arg = parse_cell(cell)
    events = read_events(conn, start, end, categories)
    if kind == "h3":
        cells = hotspots.aggregate_h3(events, int(arg))
        ids = cells["cell"].tolist()
        stats = hotspots.gi_star(cells["count"].to_numpy(), ids, method="contiguity",
                                 alpha=alpha)
    else:
        grids = read_grids(conn, str(arg))
        cells = hotspots.aggregate_grids(events, grids)
        ids = cells["code"].tolist()
        stats = hotspots.gi_star(cells["count"].to_numpy(), cells, method="contiguity",
                                 alpha=alpha)
    out = gpd.GeoDataFrame({"cell": ids, "count": cells["count"].to_numpy(),
                            "z": stats["z"].to_numpy(), "p": stats["p"].to_numpy(),
                            "class": stats["class"].astype(int).to_numpy(),
                            "significant": stats["significant"].to_numpy()},
                           geometry=cells.geometry.to_numpy(), crs=cells.crs)
    method = f"gi_star:{cell}"
    conn.execute(text("DELETE FROM hotspot_cells WHERE method LIKE 'gi_star:%'"))
    conn.execute(text(
        "INSERT INTO hotspot_cells (method, cell, value, z, p, hot_class, geom) SELECT :m, c, v, "
        "z, p, k, ST_Multi(ST_GeomFromWKB(w, 4326)) FROM unnest(CAST(:c AS text[]), "
        "CAST(:v AS float8[]), CAST(:z AS float8[]), CAST(:p AS float8[]), CAST(:k AS int[]), "
        "CAST(:w AS bytea[])) AS t(c, v, z, p, k, w)"),
        {"m": method, "c": ids, "v": out["count"].astype(float).tolist(),
         "z": [None if not np.isfinite(v) else float(v) for v in out["z"]],
         "p": [None if not np.isfinite(v) else float(v) for v in out["p"]],
         "k": out["class"].tolist(), "w": [shapely.to_wkb(g) for g in out.geometry.to_crs(4326)]})
    summary = {str(k): int(v) for k, v in out["class"].value_counts().sort_index().items()}
    return {"method": "gi_star", "cell": cell, "events": int(out["count"].sum()),
            "alpha": alpha, "classes": summary, "cells": feature_collection(out)}


def as_utc(value: datetime | None) -> pd.Timestamp | None:
    """``value`` as a pandas Timestamp in UTC (a naive one is taken as UTC).

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> as_utc(datetime(2024, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))))
    Timestamp('2024-01-01 00:00:00+0000', tz='UTC')
    """
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def check_time_steps(step: str, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """422 unless ``step`` is a pandas frequency making at most ``MAX_TIME_STEPS`` steps.

    Only ``MAX_TIME_STEPS + 1`` steps are ever generated, whatever the window.

    Examples
    --------
    >>> t0, t1 = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-12-31", tz="UTC")
    >>> check_time_steps("W", t0, t1)
    >>> try:
    ...     check_time_steps("h", t0, t1)
    ... except InvalidInput as exc:
    ...     print(exc.code)
    too_many_steps
    """
    try:
        offset = pd.tseries.frequencies.to_offset(step)
        steps = pd.date_range(first.floor("D"), periods=MAX_TIME_STEPS + 1, freq=offset)
    except (ValueError, TypeError):
        raise InvalidInput(f"query parameter 'step': {step!r} is not a pandas frequency "
                           "such as W, D, 2W or MS", parameter="step") from None
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        return  # the steps run past any date: fewer than the maximum before ``last``
    if steps[-1] <= last or steps[-1] <= steps[0]:
        raise InvalidInput(f"query parameter 'step': {step!r} makes more than "
                           f"{MAX_TIME_STEPS} time steps over the events' time span (use a "
                           "longer step or a shorter window)", code="too_many_steps",
                           parameter="step")


def emerging_report(conn: Connection, resolution: int, step: str, start: datetime | None,
                    end: datetime | None, categories: Sequence[str] | None) -> dict[str, Any]:
    """Emerging hot spot patterns per H3 cell over time steps."""
    t0, t1 = as_utc(start), as_utc(end)
    events = read_events(conn, start, end, categories)
    check_time_steps(step, t0 if t0 is not None else events["reported_at"].min(),
                     t1 if t1 is not None else events["reported_at"].max())
    result = hotspots.emerging_hotspots(events, resolution=resolution, time_step=step,
                                        start=t0, end=t1)
    steps = [str(s) for s in result.attrs.get("time_steps", [])]
    patterns = {str(k): int(v) for k, v in result["pattern"].value_counts().items()}
    return {"resolution": resolution, "step": step, "time_steps": steps,
            "patterns": patterns, "cells": feature_collection(result)}


def anomaly_report(conn: Connection, layer: str, period: str, at: datetime | None,
                   method: str, by_category: bool, baseline: int | None) -> dict[str, Any]:
    """Grids (and categories) whose count in the period is abnormal against their own past."""
    read_grids(conn, layer)  # 404 for an unknown layer
    freq = {"day": "D", "week": "W", "month": "M"}[period]
    rows = conn.execute(text(
        "SELECT e.grids ->> :l AS grid, e.reported_at, c.code AS category FROM events e "
        "JOIN event_categories c ON c.id = e.category_id WHERE e.grids ? :l "
        "AND jsonb_typeof(e.grids -> :l) = 'string' "
        "AND (CAST(:at AS timestamptz) IS NULL OR e.reported_at < :at)"),
        {"l": layer, "at": at}).all()
    if not rows:
        raise NotFound(f"no events in grid layer {layer!r}", parameter="layer")
    frame = pd.DataFrame(rows, columns=["grid", "reported_at", "category"])
    stamps = pd.to_datetime(frame["reported_at"], utc=True).dt.tz_convert("Asia/Shanghai")
    frame["period"] = stamps.dt.tz_localize(None).dt.to_period(freq)
    keys = ["grid", "period"] + (["category"] if by_category else [])
    counts = frame.groupby(keys).size().rename("count").reset_index()
    alerts = anomalies.grid_anomalies(counts, method=method,  # type: ignore[arg-type]
                                      category_col="category" if by_category else None,
                                      baseline_periods=baseline)
    alerts = alerts.astype(object).where(alerts.notna(), None)
    records = [{k: (str(v) if isinstance(v, pd.Period) else v) for k, v in r.items()}
               for r in alerts.to_dict("records")]
    latest = counts["period"].max()
    return {"layer": layer, "period": period, "tested": str(latest), "method": method,
            "alerts": records}


def density_geotiff(conn: Connection, start: datetime | None, end: datetime | None,
                    categories: Sequence[str] | None, cell_size_m: float,
                    bandwidth_m: float) -> bytes:
    """Kernel density of events (per km²) as a GeoTIFF."""
    events = read_events(conn, start, end, categories)
    surface, transform, crs = hotspots.kernel_density(events, None, cell_size_m, bandwidth_m)
    buf = io.BytesIO()
    write_geotiff(buf, surface.astype("float32"), transform, crs)
    return buf.getvalue()

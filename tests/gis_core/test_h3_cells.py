"""The vectorised H3 binning gives the ids of h3's own per-point function on real reports."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest

from gis_core.errors import InvalidInput
from gis_core.hotspots import aggregate_h3
from gis_core.hotspots.cells import points_to_cells

DATA = Path("/work/shared/data/us_311")


def _reports() -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of every located 311 report of the three samples."""
    lat, lon = [], []
    for name in ("nyc311_sample_2018-10-21.csv", "la311_requests_2020_sample.csv",
                 "baltimore311_sample_2014_2019.csv"):
        frame = pd.read_csv(DATA / name, low_memory=False)
        cols = {c.strip().lower(): c for c in frame.columns}
        xy = frame[[cols["latitude"], cols["longitude"]]].apply(pd.to_numeric, errors="coerce")
        xy = xy.dropna()
        lat.append(xy.iloc[:, 0].to_numpy(float))
        lon.append(xy.iloc[:, 1].to_numpy(float))
    return np.concatenate(lat), np.concatenate(lon)


@pytest.mark.parametrize("resolution", [0, 5, 9, 12, 15])
def test_ids_equal_h3_point_by_point_on_311_reports(resolution: int) -> None:
    lat, lon = _reports()
    assert lat.size > 20_000
    expected = [h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon, lat, strict=True)]
    assert points_to_cells(lon, lat, resolution).tolist() == expected


def test_counts_per_cell_equal_a_count_of_h3_ids() -> None:
    lat, lon = _reports()
    events = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    cells = aggregate_h3(events, 8)
    expected = pd.Series([h3.latlng_to_cell(y, x, 8) for x, y in zip(lon, lat, strict=True)])
    counts = dict(zip(cells["cell"], cells["count"], strict=True))
    assert counts == expected.value_counts().to_dict()
    assert cells["cell"].tolist() == sorted(cells["cell"])


def test_empty_input_and_non_finite_coordinates() -> None:
    assert points_to_cells(np.array([]), np.array([]), 9).tolist() == []
    with pytest.raises(InvalidInput, match="finite"):
        points_to_cells(np.array([np.nan]), np.array([31.2]), 9)

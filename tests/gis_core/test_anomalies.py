from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gis_core.anomalies import grid_anomalies
from gis_core.errors import InvalidInput

WEEKS = [f"2024-W{w:02d}" for w in range(1, 13)]


def table(series: dict[str, list[int]]) -> pd.DataFrame:
    rows = [(g, WEEKS[i], c) for g, counts in series.items() for i, c in enumerate(counts) if c]
    return pd.DataFrame(rows, columns=["grid", "period", "count"])


SERIES = {
    "spike": [5, 6, 4, 5, 7, 5, 6, 4, 5, 6, 5, 25],
    "stable": [5, 6, 4, 5, 7, 5, 6, 4, 5, 6, 5, 7],
    "tiny": [0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 2],  # nearly empty baseline
    "busy": [100, 110, 95, 105, 98, 102, 107, 99, 101, 103, 97, 112],
}


@pytest.mark.parametrize("method", ["robust_z", "poisson"])
def test_spike_is_flagged_stable_and_tiny_grids_are_not(method: str) -> None:
    alerts = grid_anomalies(table(SERIES), method=method)  # type: ignore[arg-type]
    assert alerts["grid"].tolist() == ["spike"]
    row = alerts.iloc[0]
    assert row["period"] == "2024-W12"
    assert row["count"] == 25
    assert row["n_baseline"] == 11
    assert row["baseline_median"] == 5
    assert row["severity"] == "high"


def test_robust_z_figures_are_the_documented_ones() -> None:
    alerts = grid_anomalies(table(SERIES), threshold=3.0)
    row = alerts.set_index("grid").loc["spike"]
    base = np.array(SERIES["spike"][:-1], dtype=float)
    med = np.median(base)
    mad = np.median(np.abs(base - med))
    assert row["baseline_mad"] == mad
    assert row["z"] == pytest.approx((25 - med) / max(1.4826 * mad, np.sqrt(med)))
    assert np.isnan(row["p"])


def test_poisson_p_value_and_expected() -> None:
    alerts = grid_anomalies(table(SERIES), method="poisson")
    row = alerts.iloc[0]
    lam = np.mean(SERIES["spike"][:-1])
    assert row["expected"] == pytest.approx(lam)
    assert row["p"] == pytest.approx(stats.poisson.sf(24, lam))


def test_tiny_baseline_does_not_spam_even_at_low_thresholds() -> None:
    # 0 -> 2 events is a large relative jump but stays under min_count
    counts = table({"tiny": SERIES["tiny"]})
    assert grid_anomalies(counts, threshold=1.0, periods=WEEKS).empty
    assert grid_anomalies(counts, method="poisson", threshold=0.05, periods=WEEKS).empty
    # once the count reaches min_count it may alert
    more = table({"tiny": [*SERIES["tiny"][:-1], 6]})
    assert grid_anomalies(more, periods=WEEKS)["grid"].tolist() == ["tiny"]
    with pytest.raises(InvalidInput, match="baseline"):
        grid_anomalies(counts)  # only 3 periods have rows
    with pytest.raises(InvalidInput, match="periods"):
        grid_anomalies(counts, periods=WEEKS[3:])


def test_earlier_period_baseline_window_and_drops() -> None:
    s = {"g": [40, 42, 38, 40, 120, 40, 39, 41, 40, 0, 40, 40]}
    counts = table(s)
    assert grid_anomalies(counts, period="2024-W05")["count"].tolist() == [120]
    # the spike at W05 is not in the baseline of W12 when baseline_periods=5
    assert grid_anomalies(counts, period="2024-W12", baseline_periods=5).empty
    drops = grid_anomalies(counts, period="2024-W10", direction="both", periods=WEEKS)
    assert drops["direction"].tolist() == ["down"]
    assert drops["count"].tolist() == [0]
    assert grid_anomalies(counts, period="2024-W10", periods=WEEKS).empty
    with pytest.raises(InvalidInput, match="period"):
        grid_anomalies(counts, period="2024-W10")  # no row and no periods list


def test_per_category_series() -> None:
    df = table(SERIES)
    df["category"] = "noise"
    extra = df[df.grid == "stable"].assign(category="litter")
    extra.loc[extra.period == "2024-W12", "count"] = 40
    alerts = grid_anomalies(pd.concat([df, extra]), category_col="category")
    got = sorted(zip(alerts["grid"], alerts["category"], strict=True))
    assert got == [("spike", "noise"), ("stable", "litter")]


def test_severity_order_and_bad_parameters() -> None:
    s = {"a": [5] * 11 + [11], "b": [5] * 11 + [40]}
    alerts = grid_anomalies(table(s), threshold=2.0)
    assert alerts["grid"].tolist() == ["b", "a"]
    assert alerts["severity"].tolist() == ["high", "low"]
    counts = table(SERIES)
    with pytest.raises(InvalidInput, match="method"):
        grid_anomalies(counts, method="zscore")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="threshold"):
        grid_anomalies(counts, method="poisson", threshold=2)
    with pytest.raises(InvalidInput, match="baseline"):
        grid_anomalies(counts, period="2024-W02")
    with pytest.raises(InvalidInput, match="column"):
        grid_anomalies(counts.rename(columns={"count": "n"}))

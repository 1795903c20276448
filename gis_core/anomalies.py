"""Grid anomaly alerts (网格异动预警): this period's count against the grid's own past.

Each series is one grid (or one grid and category) over the periods present in
the input, missing periods counting zero. The *baseline* of the period under
test is the ``baseline_periods`` periods before it (default: all earlier ones;
at least 3 are needed).

``method="robust_z"``
    ``z = (count - median) / scale`` with ``scale = max(1.4826 * MAD,
    sqrt(max(median, 1)))``: the median absolute deviation scaled to a normal
    sd, floored by the Poisson sd of the median so that a flat or near-empty
    baseline (MAD = 0) does not turn one extra event into an alert. Alert when
    ``z >= threshold`` (default 3.5, Iglewicz and Hoaglin's cut-off).
    Severity: ``high`` from ``2 * threshold``, ``medium`` from
    ``1.5 * threshold``, else ``low``.
``method="poisson"``
    ``expected = max(mean of the baseline, min_expected)`` and
    ``p = P(X >= count)`` for ``X ~ Poisson(expected)``. Alert when
    ``p < threshold`` (default 0.001). Severity: ``high`` below
    ``threshold / 100``, ``medium`` below ``threshold / 10``, else ``low``.

In both methods an alert also needs ``count >= min_count`` (default 3), which
keeps grids with a tiny baseline from alerting on one or two events. With
``direction="both"`` drops are reported too (robust: ``z <= -threshold``;
Poisson: ``P(X <= count) < threshold``), with ``direction="down"`` in the output.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from gis_core.errors import InvalidInput

__all__ = ["grid_anomalies"]

_DEFAULT_THRESHOLD = {"robust_z": 3.5, "poisson": 0.001}
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def _series(counts: pd.DataFrame, keys: list[str], period_col: str, count_col: str) -> pd.DataFrame:
    table = counts.pivot_table(
        index=keys, columns=period_col, values=count_col, aggfunc="sum", fill_value=0
    )
    return table.sort_index(axis=1)


def _check(counts: pd.DataFrame, cols: list[str], method: str, direction: str) -> None:
    if not isinstance(counts, pd.DataFrame):
        raise InvalidInput("counts must be a DataFrame", parameter="counts")
    missing = [c for c in cols if c not in counts]
    if missing:
        raise InvalidInput(f"counts lacks the column(s) {missing}", parameter="counts")
    if method not in _DEFAULT_THRESHOLD:
        raise InvalidInput("method must be 'robust_z' or 'poisson'", parameter="method")
    if direction not in ("up", "both"):
        raise InvalidInput("direction must be 'up' or 'both'", parameter="direction")


def _robust(now: np.ndarray, base: np.ndarray, thr: float) -> dict[str, np.ndarray]:
    med = np.median(base, axis=1)
    mad = np.median(np.abs(base - med[:, None]), axis=1)
    scale = np.maximum(1.4826 * mad, np.sqrt(np.maximum(med, 1.0)))
    z = (now - med) / scale
    sev = np.select([np.abs(z) >= 2 * thr, np.abs(z) >= 1.5 * thr], ["high", "medium"], "low")
    return {
        "expected": med,
        "baseline_median": med,
        "baseline_mad": mad,
        "baseline_mean": base.mean(axis=1),
        "z": z,
        "p": np.full(now.shape, np.nan),
        "up": z >= thr,
        "down": z <= -thr,
        "severity": sev,
    }


def _poisson(
    now: np.ndarray, base: np.ndarray, thr: float, min_expected: float
) -> dict[str, np.ndarray]:
    mean = base.mean(axis=1)
    lam = np.maximum(mean, min_expected)
    p_up = stats.poisson.sf(now - 1, lam)
    p_down = stats.poisson.cdf(now, lam)
    up = p_up < thr
    p = np.where(now >= lam, p_up, p_down)
    sev = np.select([p < thr / 100, p < thr / 10], ["high", "medium"], "low")
    med = np.median(base, axis=1)
    return {
        "expected": lam,
        "baseline_median": med,
        "baseline_mad": np.median(np.abs(base - med[:, None]), axis=1),
        "baseline_mean": mean,
        "z": (now - lam) / np.sqrt(lam),
        "p": p,
        "up": up,
        "down": (p_down < thr) & ~up,
        "severity": sev,
    }


def grid_anomalies(
    counts: pd.DataFrame,
    period: Any = None,
    method: Literal["robust_z", "poisson"] = "robust_z",
    threshold: float | None = None,
    *,
    grid_col: str = "grid",
    period_col: str = "period",
    count_col: str = "count",
    category_col: str | None = None,
    periods: list[Any] | None = None,
    baseline_periods: int | None = None,
    min_count: int = 3,
    min_expected: float = 0.5,
    direction: Literal["up", "both"] = "up",
) -> pd.DataFrame:
    """Alerts for grids (and categories) whose count this period is abnormal.

    Parameters
    ----------
    counts
        Long table: one row per grid, period (and category) with a count;
        absent rows count zero. Periods must sort in time order (dates,
        ``pd.Period`` or strings such as ``"2024-W05"``).
    period
        The period to test (default: the latest in ``counts``).
    method
        ``"robust_z"`` or ``"poisson"`` (see the module docstring).
    threshold
        z cut-off for ``robust_z`` (default 3.5), p cut-off for ``poisson`` (0.001).
    grid_col, period_col, count_col
        Column names.
    category_col
        Optional category column: one series per grid and category.
    periods
        All periods in time order (default: those present in ``counts``);
        give them when a period may have no row at all.
    baseline_periods
        How many earlier periods form the baseline (default all, minimum 3).
    min_count
        Smallest count that can alert.
    min_expected
        Floor of the Poisson mean.
    direction
        ``"up"`` for rises only, ``"both"`` for rises and drops.

    Returns
    -------
    pandas.DataFrame
        One row per alert: the keys, ``period``, ``count``, ``expected``,
        ``baseline_median``, ``baseline_mad``, ``baseline_mean``,
        ``n_baseline``, ``z``, ``p`` (Poisson only), ``method``,
        ``direction`` and ``severity``; most severe first.

    Examples
    --------
    >>> df = pd.DataFrame({"grid": ["A"] * 6 + ["B"] * 6, "period": list(range(6)) * 2,
    ...                    "count": [4, 5, 4, 6, 5, 30, 4, 5, 4, 6, 5, 6]})
    >>> grid_anomalies(df)[["grid", "count", "severity"]].values.tolist()
    [['A', 30, 'high']]
    """
    keys = [grid_col] + ([category_col] if category_col else [])
    _check(counts, [*keys, period_col, count_col], method, direction)
    thr = float(threshold if threshold is not None else _DEFAULT_THRESHOLD[method])
    if not thr > 0 or (method == "poisson" and not thr < 1):
        raise InvalidInput("threshold must be > 0 (and < 1 for poisson)", parameter="threshold")
    if (counts[count_col] < 0).any():
        raise InvalidInput("counts must be >= 0", parameter="counts")
    table = _series(counts, keys, period_col, count_col)
    if periods is not None:
        unknown = set(table.columns) - set(periods)
        if unknown:
            raise InvalidInput(
                f"counts has periods not in periods: {sorted(unknown)[:3]}", parameter="periods"
            )
        table = table.reindex(columns=list(periods), fill_value=0)
    periods = list(table.columns)
    if period is None:
        period = periods[-1]
    if period not in periods:
        raise InvalidInput(f"period {period!r} is not among the periods", parameter="period")
    pos = periods.index(period)
    start = 0 if baseline_periods is None else max(0, pos - int(baseline_periods))
    if pos - start < 3:
        raise InvalidInput(
            f"period {period!r} has {pos - start} earlier periods; the baseline needs >= 3",
            parameter="period",
        )
    values = table.to_numpy(dtype=float)
    now, base = values[:, pos], values[:, start:pos]
    res = (
        _robust(now, base, thr) if method == "robust_z" else _poisson(now, base, thr, min_expected)
    )
    up = res.pop("up") & (now >= min_count)
    down = res.pop("down") & (direction == "both")
    alert = up | down
    out = table.index.to_frame(index=False).loc[alert].reset_index(drop=True)
    out["period"] = period
    out["count"] = now[alert].astype(np.int64)
    for name, arr in res.items():
        out[name] = arr[alert]
    out["n_baseline"] = pos - start
    out["method"] = method
    out["direction"] = np.where(up[alert], "up", "down")
    rank = out["severity"].map(_SEVERITY_ORDER)
    order = np.lexsort((-np.abs(out["z"].to_numpy()), rank.to_numpy()))
    cols = [
        *keys,
        "period",
        "count",
        "expected",
        "baseline_median",
        "baseline_mad",
        "baseline_mean",
        "n_baseline",
        "z",
        "p",
        "method",
        "direction",
        "severity",
    ]
    return out.iloc[order][cols].reset_index(drop=True)

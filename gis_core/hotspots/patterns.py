"""The patterns of emerging hot spot analysis: Mann-Kendall trends and ArcGIS Pro's 17 outcomes.

From the z-scores of a location's time bins (:mod:`gis_core.hotspots.emerging` makes
them over a space-time cube) to its pattern: which bins are significant, the trend of
the z-scores, and the outcome by ArcGIS Pro's rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from gis_core.errors import InvalidInput
from gis_core.hotspots.gistar import fdr_cutoff
from gis_core.types import FloatArray, IntArray

__all__ = [
    "PATTERNS",
    "classify_pattern",
    "emerging_patterns",
    "mann_kendall",
]


#: The 17 outcomes of emerging hot spot analysis, in ArcGIS Pro's order.
PATTERNS: tuple[str, ...] = (
    "new_hot",
    "consecutive_hot",
    "intensifying_hot",
    "persistent_hot",
    "diminishing_hot",
    "sporadic_hot",
    "oscillating_hot",
    "historical_hot",
    "new_cold",
    "consecutive_cold",
    "intensifying_cold",
    "persistent_cold",
    "diminishing_cold",
    "sporadic_cold",
    "oscillating_cold",
    "historical_cold",
    "no_pattern",
)


def mann_kendall(series: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mann-Kendall trend test per row, with the tie correction of the variance.

    Parameters
    ----------
    series
        ``(locations, steps)`` array; each row is one time series.

    Returns
    -------
    tuple
        ``(z, p)``: continuity-corrected z (positive = increasing) and two-sided p.

    Examples
    --------
    >>> z, p = mann_kendall(np.array([[1.0, 2, 3, 4, 5, 6], [3, 1, 4, 1, 5, 9]]))
    >>> bool(p[0] < 0.01), bool(z[0] > 0)
    (True, True)
    """
    x = np.atleast_2d(np.asarray(series, dtype=float))
    n_loc, n = x.shape
    i, j = np.triu_indices(n, k=1)
    s = np.zeros(n_loc)
    step = max(1, 4_000_000 // max(1, i.size))
    for a in range(0, n_loc, step):
        s[a : a + step] = np.sign(x[a : a + step, j] - x[a : a + step, i]).sum(axis=1)
    xs = np.sort(x, axis=1)
    new_run = np.ones_like(xs, dtype=bool)
    new_run[:, 1:] = xs[:, 1:] != xs[:, :-1]
    run_id = np.cumsum(new_run.ravel()) - 1
    t = np.bincount(run_id).astype(float)
    owner = np.repeat(np.arange(n_loc), new_run.sum(axis=1))
    ties = np.bincount(owner, weights=t * (t - 1) * (2 * t + 5), minlength=n_loc)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    return z, p


def _trailing_run(flags: np.ndarray) -> IntArray:
    return np.asarray(np.cumprod(flags[:, ::-1], axis=1).sum(axis=1), dtype=np.int64)


def _family(
    hot: np.ndarray, cold: np.ndarray, up: np.ndarray, down: np.ndarray, suffix: str
) -> np.ndarray:
    """Patterns of one family (hot, or cold with the roles swapped); '' if none."""
    n = hot.shape[1]
    n_hot = hot.sum(axis=1)
    most = n_hot >= 0.9 * n
    final = hot[:, -1]
    run = _trailing_run(hot)
    any_cold = cold.any(axis=1)
    conds = [
        final & most & up,
        final & most & down,
        final & most,
        ~final & most,
        final & (n_hot == 1),
        final & (run >= 2) & (run == n_hot),
        final & any_cold,
        final,
    ]
    names = [
        "intensifying",
        "diminishing",
        "persistent",
        "historical",
        "new",
        "consecutive",
        "oscillating",
        "sporadic",
    ]
    return np.select(conds, [f"{m}_{suffix}" for m in names], default="")


def classify_pattern(
    significance: np.ndarray,
    trend_z: FloatArray | float,
    trend_p: FloatArray | float,
    trend_alpha: float = 0.05,
) -> np.ndarray:
    """Classify locations into ArcGIS Pro's emerging hot spot patterns.

    Parameters
    ----------
    significance
        ``(locations, steps)`` (or one series) of -1 (significant cold bin),
        0 (not significant) or +1 (significant hot bin), oldest step first.
    trend_z, trend_p
        Mann-Kendall z and p of each location's Gi* z series.
    trend_alpha
        Level at which the trend counts as significant.

    Returns
    -------
    numpy.ndarray
        One of :data:`PATTERNS` per location.

    Notes
    -----
    With ``n`` steps, ``H`` the significant hot bins and the final step last
    (cold patterns are the same with hot and cold swapped and the trend
    reversed; "increasing" for cold means the z series falls significantly):

    - intensifying: final hot, >= 90 % of steps hot, significant increasing trend;
    - diminishing: final hot, >= 90 % hot, significant decreasing trend;
    - persistent: final hot, >= 90 % hot, no significant trend;
    - historical: final *not* hot, >= 90 % hot;
    - new: final hot and no other step ever hot (< 90 % hot);
    - consecutive: one uninterrupted run of >= 2 hot steps ending at the final
      step, no hot step before the run, < 90 % hot;
    - oscillating: final hot, < 90 % hot, some earlier step significantly cold;
    - sporadic: final hot, < 90 % hot, never cold, on and off before;
    - no_pattern: none of the above.

    A location whose final step is hot is tested against the hot patterns,
    one whose final step is cold against the cold ones; otherwise only the
    historical patterns can apply. The rules are checked in the order above,
    so "new" and "consecutive" win over "oscillating" when a location was cold
    before its only hot run.

    Examples
    --------
    >>> classify_pattern(np.array([0, 0, 0, 1]), 1.0, 0.3).tolist()
    ['new_hot']
    """
    sig = np.atleast_2d(np.asarray(significance))
    if not np.isin(sig, (-1, 0, 1)).all():
        raise InvalidInput("significance must hold -1, 0 or 1", parameter="significance")
    tz = np.broadcast_to(np.asarray(trend_z, dtype=float), (sig.shape[0],))
    tp = np.broadcast_to(np.asarray(trend_p, dtype=float), (sig.shape[0],))
    trend = tp < trend_alpha
    hot, cold = sig == 1, sig == -1
    hot_pat = _family(hot, cold, trend & (tz > 0), trend & (tz < 0), "hot")
    cold_pat = _family(cold, hot, trend & (tz < 0), trend & (tz > 0), "cold")
    out = np.where(hot_pat != "", hot_pat, cold_pat)
    return np.where(out != "", out, "no_pattern").astype(object)


def emerging_patterns(z: FloatArray, alpha: float = 0.05, fdr: bool = True,
                      trend_alpha: float = 0.05) -> pd.DataFrame:
    """Patterns per location from the bins' z-scores (FDR over every bin given).

    Returns the columns of :func:`emerging_hotspots_cube`.
    """
    p = 2.0 * stats.norm.sf(np.abs(z))
    cut = fdr_cutoff(p.ravel(), alpha) if fdr else alpha
    sig_mask = p <= cut if fdr else p < cut
    sig = np.where(sig_mask, np.sign(z), 0).astype(np.int64)
    tz, tp = mann_kendall(z)
    return pd.DataFrame(
        {
            "pattern": classify_pattern(sig, tz, tp, trend_alpha),
            "trend_z": tz,
            "trend_p": tp,
            "n_hot": (sig == 1).sum(axis=1),
            "n_cold": (sig == -1).sum(axis=1),
            "final_z": z[:, -1],
        }
    )

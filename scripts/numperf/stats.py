"""Intervals and verdicts that include the variation between processes.

A case is measured in P independent fresh processes spread over the sweep; each process
yields one median time per call. Those P medians, on a log scale, are the independent
observations: their spread contains everything that differs from one process to the next
(address-space layout, BLAS thread placement, turbo and neighbours over the minutes of a
sweep) as well as the sampling noise inside each process. Intervals are Student-t
intervals on the mean log median, so they are exact for log-normal process medians and
honest with as few as 2-3 processes, where a bootstrap over processes can only ever see P
distinct values and covers far less than it claims.

A ratio of two cases measured in the same processes (interleaved rounds, one process per
pairing key) is *paired*: its interval is a t interval over the processes' log-ratios, so what
moves both sides of a process (its placement, a slow VM minute) cancels. Cases measured apart
get Welch's interval; a comparison across separate runs adds the runs' measured drift
(``drift_log_sd``, per run) to the variance.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import t as _t
from scipy.stats import trim_mean

CONFIDENCE = 0.95
#: Share cut from each end of a process's round-wise log-ratios before averaging them (the
#: interquartile mean): robust to the bursts that spoil a few samples, nearly as efficient as the mean.
ROUND_TRIM = 0.25
#: Default minimum relative difference worth a verdict (5%; config/stability.yaml uses 2%).
MIN_EFFECT = 0.05
VERDICTS = ("A faster", "B faster", "equivalent", "inconclusive")


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t with ``df`` (possibly fractional) degrees of freedom; two-sided
    critical values come from ``t_quantile(1 - alpha / 2, df)``."""
    return float(_t.ppf(p, df))


def process_medians(samples_by_process: list[list[float]]) -> np.ndarray:
    """The median time per call of each process (processes without samples are left out)."""
    return np.array([float(np.median(s)) for s in samples_by_process if len(s)])


def _log_mean_se(medians) -> tuple[float, float, int]:
    logs = np.log(np.asarray(medians, dtype=float))
    n = len(logs)
    se = float(np.std(logs, ddof=1) / math.sqrt(n)) if n >= 2 else math.nan
    return float(logs.mean()) if n else math.nan, se, n


def median_interval(medians, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Combined median time per call (geometric mean of process medians) and its interval.

    With one process there is no between-process spread to learn from: the interval is NaN.
    """
    mean, se, n = _log_mean_se(medians)
    if n == 0:
        return math.nan, math.nan, math.nan
    if n < 2:
        return math.exp(mean), math.nan, math.nan
    h = t_quantile(1 - (1 - confidence) / 2, n - 1) * se
    return math.exp(mean), math.exp(mean - h), math.exp(mean + h)


def paired_logs(medians_a, medians_b, keys_a, keys_b, samples_a=None, samples_b=None) -> np.ndarray:
    """Per-process log-ratios log(a/b) over the pairing keys both sides share (None never pairs).

    With the processes' samples (``samples_*``, in round order: sample r of every method of a process
    came from its round r), a process's log-ratio is the interquartile mean (``ROUND_TRIM``) over its
    rounds of the round's log-ratio, so a change of speed within the process (a slower minute, a
    frequency step) cancels round by round and a burst of noise that spoils a few rounds is cut;
    without them, or when the two took part in different rounds (a slow method joins fewer), the
    log-ratio of the two process medians, measured in the same process all the same.
    """
    b = {k: i for i, k in enumerate(keys_b or []) if k is not None}
    out = []
    for i, k in enumerate(keys_a or []):
        if k is None or k not in b or i >= len(medians_a):
            continue
        j = b[k]
        sa = samples_a[i] if samples_a is not None and i < len(samples_a) else None
        sb = samples_b[j] if samples_b is not None and j < len(samples_b) else None
        if sa is not None and sb is not None and len(sa) == len(sb) and len(sa):
            out.append(float(trim_mean(np.log(np.asarray(sa, float) / np.asarray(sb, float)), ROUND_TRIM)))
        else:
            out.append(math.log(medians_a[i] / medians_b[j]))
    return np.array(out)


def ratio_interval(medians_a, medians_b, confidence: float = CONFIDENCE, keys_a=None, keys_b=None,
                   drift_log_sd: float = 0.0, samples_a=None, samples_b=None) -> tuple[float, float, float]:
    """Ratio A/B of combined medians and its interval.

    Paired when at least two processes measured both sides (``keys_*``, one pairing key per
    process median): a t interval over the per-process log-ratios. Otherwise Welch's interval
    over both sets of processes, with ``2 * drift_log_sd**2`` added to its variance when the two
    sides come from separate runs (each run shifted by its own drift).
    """
    logs = paired_logs(medians_a, medians_b, keys_a, keys_b, samples_a, samples_b)
    if len(logs) >= 2:
        mean, sd = float(logs.mean()), float(np.std(logs, ddof=1))
        h = t_quantile(1 - (1 - confidence) / 2, len(logs) - 1) * sd / math.sqrt(len(logs))
        return math.exp(mean), math.exp(mean - h), math.exp(mean + h)
    ma, sa, na = _log_mean_se(medians_a)
    mb, sb, nb = _log_mean_se(medians_b)
    if na == 0 or nb == 0:
        return math.nan, math.nan, math.nan
    ratio = math.exp(ma - mb)
    if na < 2 or nb < 2:
        return ratio, math.nan, math.nan
    drift2 = 2 * drift_log_sd**2
    se2 = sa * sa + sb * sb
    if se2 + drift2 == 0:
        return ratio, ratio, ratio
    # Welch-Satterthwaite over the estimated parts; the drift is a measured constant
    df = (se2 + drift2) ** 2 / (sa**4 / (na - 1) + sb**4 / (nb - 1)) if se2 > 0 else math.inf
    h = t_quantile(1 - (1 - confidence) / 2, df) * math.sqrt(se2 + drift2)
    return ratio, ratio * math.exp(-h), ratio * math.exp(h)


def geomean_interval(ratios, lows=None, highs=None, confidence: float = CONFIDENCE,
                     extra_log_var: float = 0.0) -> tuple[float, float, float]:
    """Geometric mean of per-case ratios with a t interval over the cases.

    With a single case the summary is that case's own ratio and interval. ``extra_log_var`` is a
    variance every case shares (two runs' drift: it does not average out over cases).
    """
    logs = np.log(np.asarray(ratios, dtype=float))
    logs = logs[np.isfinite(logs)]
    if len(logs) == 0:
        return math.nan, math.nan, math.nan
    if len(logs) == 1:
        lo = float(lows[0]) if lows is not None else math.nan
        hi = float(highs[0]) if highs is not None else math.nan
        return float(math.exp(logs[0])), lo, hi
    mean, se = float(logs.mean()), float(np.std(logs, ddof=1) / math.sqrt(len(logs)))
    h = t_quantile(1 - (1 - confidence) / 2, len(logs) - 1) * math.sqrt(se * se + extra_log_var)
    return math.exp(mean), math.exp(mean - h), math.exp(mean + h)


def verdict(ratio: float, low: float, high: float, min_effect: float = MIN_EFFECT,
            labels: tuple[str, str] = ("A faster", "B faster")) -> str:
    """Verdict on a time ratio A/B.

    ``labels[0]`` (A faster) needs the interval below 1 and the ratio below 1/(1+min_effect);
    ``labels[1]`` the mirror image; ``equivalent`` needs the whole interval inside
    [1/(1+min_effect), 1+min_effect]; anything else, NaN intervals included, is inconclusive.
    """
    if not all(map(math.isfinite, (ratio, low, high))):
        return "inconclusive"
    bound = math.log1p(min_effect)
    log_ratio = math.log(ratio)
    if high < 1 and log_ratio < -bound:
        return labels[0]
    if low > 1 and log_ratio > bound:
        return labels[1]
    if math.log(low) >= -bound and math.log(high) <= bound:
        return "equivalent"
    return "inconclusive"


def resolvable_effect(low: float, high: float) -> float:
    """Half-width of an interval as a relative effect: smaller differences cannot be told apart."""
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0:
        return math.nan
    return math.expm1((math.log(high) - math.log(low)) / 2)

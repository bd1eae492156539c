"""Intervals cover at their nominal rate when processes differ; verdicts follow the rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from numperf import stats

#: A realistic case: 3 processes of 5 samples; each process shifted by a random effect
#: (placement, drift) larger than the noise inside it, and samples with a heavy right tail.
PROCESSES, SAMPLES, BETWEEN_SD, WITHIN_SD = 3, 5, 0.04, 0.01


def _simulated_case(rng, true_median: float, processes: int = PROCESSES) -> list[list[float]]:
    effects = rng.normal(0.0, BETWEEN_SD, processes)
    return [list(true_median * np.exp(e + rng.normal(0, WITHIN_SD, SAMPLES))
                 + rng.exponential(0.002 * true_median, SAMPLES) * (rng.random(SAMPLES) < 0.2))
            for e in effects]


@pytest.mark.parametrize("df", [1, 2, 3.7, 4, 10, 57.3])
def test_t_quantile_matches_scipy(df):
    for p in (0.9, 0.975, 0.995):
        assert stats.t_quantile(p, df) == pytest.approx(sps.t.ppf(p, df), rel=1e-5)


def test_median_interval_covers_the_true_median_at_about_the_nominal_rate():
    rng = np.random.default_rng(1)
    hits, trials = 0, 2000
    for _ in range(trials):
        # the true per-process median is 1.0 in the log-mean sense: the centre of the random effect
        medians = stats.process_medians(_simulated_case(rng, 1.0))
        _, lo, hi = stats.median_interval(medians)
        hits += lo <= 1.0 <= hi
    assert 0.92 <= hits / trials <= 0.985


def test_the_old_within_process_bootstrap_would_not_cover():
    """The interval numperf used before (bootstrap of one process's samples) covers far less."""
    rng = np.random.default_rng(2)
    hits, trials = 0, 400
    for _ in range(trials):
        samples = np.asarray(_simulated_case(rng, 1.0, processes=1)[0])
        boot = np.median(rng.choice(samples, size=(500, len(samples))), axis=1)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        hits += lo <= 1.0 <= hi
    assert hits / trials < 0.6


@pytest.mark.slow
def test_identical_work_rarely_gets_a_faster_verdict_and_differences_are_found():
    rng = np.random.default_rng(3)
    same, differ = [], []
    for _ in range(1000):
        a = stats.process_medians(_simulated_case(rng, 1.0))
        b = stats.process_medians(_simulated_case(rng, 1.0))
        same.append(stats.verdict(*stats.ratio_interval(a, b)))
        c = stats.process_medians(_simulated_case(rng, 1.5))
        differ.append(stats.verdict(*stats.ratio_interval(a, c)))
    faster = sum(v in ("A faster", "B faster") for v in same) / len(same)
    assert faster <= 0.05
    assert sum(v == "A faster" for v in differ) / len(differ) >= 0.9


def test_ratio_interval_is_exact_welch_on_log_medians():
    a, b = [1.0, 1.1, 0.95], [2.0, 2.1, 1.9, 2.05]
    ratio, lo, hi = stats.ratio_interval(a, b)
    la, lb = np.log(a), np.log(b)
    assert ratio == pytest.approx(math.exp(la.mean() - lb.mean()))
    res = sps.ttest_ind(la, lb, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert (lo, hi) == pytest.approx((math.exp(ci.low), math.exp(ci.high)), rel=1e-5)


def test_one_process_gives_no_interval_and_no_verdict():
    med, lo, hi = stats.median_interval([0.5])
    assert med == 0.5 and math.isnan(lo) and math.isnan(hi)
    ratio, lo, hi = stats.ratio_interval([0.5], [1.0, 1.1])
    assert ratio == pytest.approx(0.5 / math.sqrt(1.1)) and math.isnan(lo)
    assert stats.verdict(ratio, lo, hi) == "inconclusive"


@pytest.mark.parametrize(("ratio", "lo", "hi", "expected"), [
    (0.80, 0.75, 0.85, "A faster"),
    (1.25, 1.20, 1.30, "B faster"),
    (0.97, 0.94, 0.999, "inconclusive"),   # excludes 1, but the effect is below min_effect
    (1.00, 0.97, 1.03, "equivalent"),      # the whole interval within +-5%
    (1.00, 0.90, 1.10, "inconclusive"),
    (0.90, 0.80, 1.01, "inconclusive"),    # a large effect whose interval includes 1
])
def test_verdict_rules(ratio, lo, hi, expected):
    assert stats.verdict(ratio, lo, hi, min_effect=0.05) == expected


def test_geomean_interval_over_cases():
    ratios = [1.02, 0.98, 1.01, 0.99, 1.00, 1.03]
    geo, lo, hi = stats.geomean_interval(ratios)
    assert geo == pytest.approx(math.exp(np.mean(np.log(ratios))))
    assert lo < geo < hi and stats.verdict(geo, lo, hi, min_effect=0.05) == "equivalent"
    assert stats.geomean_interval([0.8], [0.7], [0.9]) == (pytest.approx(0.8), 0.7, 0.9)
    assert stats.resolvable_effect(0.9, 1.1) == pytest.approx(math.sqrt(1.1 / 0.9) - 1)


def _paired_processes(rng, ratio: float, processes: int, drift_sd: float = 0.02):
    """Process medians of two methods measured in the same processes: a process effect both share
    (placement, a slow VM minute; drifting over the sweep), a smaller one of each method's own, and
    within-process sampling noise; pairing keys name the process."""
    shared = rng.normal(0, 0.06, processes) + np.cumsum(rng.normal(0, drift_sd, processes))
    a = np.exp(shared + rng.normal(0, 0.015, processes) + rng.normal(0, 0.005, processes))
    b = ratio * np.exp(shared + rng.normal(0, 0.015, processes) + rng.normal(0, 0.005, processes))
    keys = [f"p{k}" for k in range(processes)]
    return list(b), list(a), keys


@pytest.mark.parametrize("processes", [3, 6, 10])
def test_the_paired_interval_covers_at_its_nominal_rate_with_process_effects_and_drift(processes):
    rng = np.random.default_rng(11)
    hits, trials = 0, 2000
    for _ in range(trials):
        b, a, keys = _paired_processes(rng, 1.03, processes)
        _, lo, hi = stats.ratio_interval(b, a, keys_a=keys, keys_b=keys)
        hits += lo <= 1.03 <= hi
    assert 0.93 <= hits / trials <= 0.97


def test_pairing_narrows_what_moves_both_sides_and_welch_ignores_keys_that_do_not_match():
    rng = np.random.default_rng(12)
    b, a, keys = _paired_processes(rng, 1.03, 10)
    paired = stats.resolvable_effect(*stats.ratio_interval(b, a, keys_a=keys, keys_b=keys)[1:])
    apart = stats.resolvable_effect(*stats.ratio_interval(b, a)[1:])
    assert paired < apart / 2
    other = [f"q{k}" for k in range(10)]  # other processes: nothing to pair
    assert stats.ratio_interval(b, a, keys_a=keys, keys_b=other) == stats.ratio_interval(b, a)
    assert len(stats.paired_logs(b, a, keys, [None] * 10)) == 0


def test_drift_between_runs_is_carried_into_unpaired_intervals():
    """Two separate runs of identical work, each shifted by its own drift: without the drift the
    Welch interval calls far too many of them different; with the drift's sd it covers."""
    rng = np.random.default_rng(13)
    run_sd, trials = 0.03, 2000
    miss_without = miss_with = 0
    for _ in range(trials):
        a = np.exp(rng.normal(0, run_sd) + rng.normal(0, 0.01, 5))
        b = np.exp(rng.normal(0, run_sd) + rng.normal(0, 0.01, 5))
        _, lo, hi = stats.ratio_interval(a, b)
        miss_without += not lo <= 1 <= hi
        _, lo, hi = stats.ratio_interval(a, b, drift_log_sd=run_sd)
        miss_with += not lo <= 1 <= hi
    assert miss_without / trials > 0.3
    assert miss_with / trials <= 0.06


def test_drift_widens_a_geometric_mean_that_averaging_over_cases_cannot_narrow():
    ratios = [1.01, 0.99, 1.0, 1.02, 0.98] * 4
    _, lo, hi = stats.geomean_interval(ratios)
    _, dlo, dhi = stats.geomean_interval(ratios, extra_log_var=2 * 0.03**2)
    assert dlo < lo and dhi > hi and stats.resolvable_effect(dlo, dhi) > 0.08

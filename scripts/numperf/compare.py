"""Compare two (host, backend) selections over the cases they share.

For every shared case (method, n, m, d, dtype, threads) the time ratio A/B of median times
gets a bootstrap confidence interval from the raw timing samples; a verdict is given only
where the interval excludes 1. A geometric mean over the shared cases summarizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from numperf import aggregate, record

CASE = ["method", "n", "m", "d", "dtype", "threads"]
BOOTSTRAP = 2000
CONFIDENCE = 0.95


def _samples(results: Path) -> pd.DataFrame:
    rows = []
    for path in aggregate.record_paths(results):
        rec = record.load_record(path)
        if rec["status"] != "ok":
            continue
        c = rec["case"]
        rows.append({"host_id": rec["host"]["host_id"], "backend": c["backend"],
                     "numpy_version": (rec.get("blas") or {}).get("numpy_version"),
                     "cpu_model": rec["host"]["cpu_model"],
                     **{k: c[k] for k in CASE}, "samples": rec["timing"]["samples_s"]})
    return pd.DataFrame(rows)


def resolve(samples: pd.DataFrame, selection: dict) -> tuple[str, str]:
    """(host_id, backend) of a selection; host_id may be omitted when only one host has the backend."""
    backend = selection["backend"]
    hosts = sorted(samples.loc[samples["backend"] == backend, "host_id"].unique()) if len(samples) else []
    host = selection.get("host_id")
    if host is None:
        if len(hosts) != 1:
            raise ValueError(f"backend {backend!r} has ok results from {len(hosts)} hosts "
                             f"({', '.join(hosts) or 'none'}); name host_id in the selection")
        host = hosts[0]
    elif host not in hosts:
        raise ValueError(f"no ok results for host {host!r} with backend {backend!r}; hosts with it: "
                         f"{', '.join(hosts) or 'none'}")
    return host, backend


def ratio_ci(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """Median(a)/median(b) and its percentile-bootstrap interval from resampled raw samples."""
    ia = rng.integers(0, len(a), size=(BOOTSTRAP, len(a)))
    ib = rng.integers(0, len(b), size=(BOOTSTRAP, len(b)))
    boot = np.median(a[ia], axis=1) / np.median(b[ib], axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.percentile(boot, [tail, 100 - tail])
    return float(np.median(a) / np.median(b)), float(lo), float(hi)


def compare(results: str | Path, a: dict, b: dict, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Per-case ratios A/B with intervals and verdicts, and a geometric-mean summary."""
    samples = _samples(Path(results))
    (ha, ba), (hb, bb) = resolve(samples, a), resolve(samples, b)
    sa = samples[(samples["host_id"] == ha) & (samples["backend"] == ba)]
    sb = samples[(samples["host_id"] == hb) & (samples["backend"] == bb)]
    shared = sa.merge(sb, on=CASE, suffixes=("_a", "_b"))
    rng = np.random.default_rng(seed)
    rows = []
    for _, r in shared.iterrows():
        ratio, lo, hi = ratio_ci(np.asarray(r["samples_a"]), np.asarray(r["samples_b"]), rng)
        verdict = "A faster" if hi < 1 else "B faster" if lo > 1 else "no clear difference"
        rows.append({**{k: r[k] for k in CASE}, "time_median_a_s": float(np.median(r["samples_a"])),
                     "time_median_b_s": float(np.median(r["samples_b"])), "time_ratio_a_over_b": ratio,
                     "ci_low": lo, "ci_high": hi, "verdict": verdict,
                     "numpy_version_a": r["numpy_version_a"], "numpy_version_b": r["numpy_version_b"]})
    table = pd.DataFrame(rows, columns=CASE + ["time_median_a_s", "time_median_b_s", "time_ratio_a_over_b",
                                               "ci_low", "ci_high", "verdict", "numpy_version_a",
                                               "numpy_version_b"])
    summary = {"a": f"{ha}/{ba}", "b": f"{hb}/{bb}", "shared_cases": len(table)}
    if len(table):
        logs = np.log(table["time_ratio_a_over_b"].to_numpy())
        boot = rng.choice(logs, size=(BOOTSTRAP, len(logs))).mean(axis=1)
        tail = (1 - CONFIDENCE) / 2 * 100
        summary.update(geomean_ratio_a_over_b=float(np.exp(logs.mean())),
                       geomean_ci=[float(np.exp(v)) for v in np.percentile(boot, [tail, 100 - tail])],
                       verdicts=table["verdict"].value_counts().to_dict(),
                       numpy_differs=bool((table["numpy_version_a"] != table["numpy_version_b"]).any()))
    return table, summary


def label(selection: dict) -> str:
    """A file-name-safe label for one side of a comparison."""
    return "@".join(filter(None, [selection["backend"], selection.get("host_id")]))

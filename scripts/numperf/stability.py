"""What this host can resolve, checked three ways on one config run twice (``make stability``).

- **Interleaved A/A**: every family's ``twins`` (the same code as its baseline, measured in the same
  processes) against the baseline; identical work should come out "equivalent" or "inconclusive".
- **Separate A/A**: the two runs, under two host labels, compared case by case as hosts are; their
  differences beyond the within-run intervals measure the machine's run-to-run *drift*, which every
  cross-run comparison then carries (``compare.measured_drift`` reads it back).
- **Planted effects**: every family's ``planted`` methods (its baseline plus busy work calibrated per
  process to a known share of its time) must be found slower.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from numperf import aggregate, compare, config, family, metadata, record, stats

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "workflow" / "Snakefile"
FASTER = ("A faster", "B faster", "faster", "slower")


def run_sweep(config_path: Path, workdir: Path, host_id: str, cores: str = "all") -> None:
    """One real Snakemake run of ``config_path`` in ``workdir`` with results labelled ``host_id``."""
    argv = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir),
            "--configfile", str(config_path), "--config", f"host_id={host_id}", "--cores", cores,
            "--quiet", "rules"]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the sweep for {host_id} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def _verdicts(table: pd.DataFrame, low: str, high: str) -> dict:
    """Share of rows called different, verdict counts and the median resolvable effect."""
    if table.empty:
        return {"cases": 0, "faster_fraction": math.nan, "median_resolvable_effect": math.nan, "verdicts": {}}
    effects = [stats.resolvable_effect(lo, hi) for lo, hi in zip(table[low], table[high], strict=True)]
    return {"cases": len(table), "faster_fraction": float(table["verdict"].isin(FASTER).mean()),
            "median_resolvable_effect": float(np.nanmedian(effects)),
            "verdicts": {str(k): int(v) for k, v in table["verdict"].value_counts().items()}}


def interleaved(speedup: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The twins' rows of ``speedup.csv`` (twin against its baseline, same processes)."""
    twins = {(name, m) for name, fam in family.registry().items() for m in fam.twins}
    rows = speedup[[(f, m) in twins for f, m in zip(speedup["family"], speedup["method"], strict=True)]]
    return rows, _verdicts(rows, "speedup_ci_low", "speedup_ci_high")


def planted(speedup: pd.DataFrame) -> list[dict]:
    """Per planted effect size: how many cases, and the share found slower than the baseline."""
    effects: dict[float, list[str]] = {}
    for name, fam in family.registry().items():
        for method, effect in fam.planted.items():
            effects.setdefault(float(effect), []).append((name, method))
    out = []
    for effect, methods in sorted(effects.items()):
        rows = speedup[[(f, m) in methods for f, m in zip(speedup["family"], speedup["method"], strict=True)]]
        found = rows["speedup_vs_baseline"].astype(float)
        some = len(rows) > 0
        out.append({"effect": effect, "cases": len(rows),
                    "detected_fraction": float((rows["verdict"] == "slower").mean()) if some else math.nan,
                    "median_measured_effect": float(np.median(1 / found - 1)) if some else math.nan,
                    "median_resolvable_effect": _verdicts(rows, "speedup_ci_low",
                                                          "speedup_ci_high")["median_resolvable_effect"]})
    return out


def drift(results: Path, a: dict, b: dict) -> dict:
    """Between-run component of log time (per run), by moments: the two runs' per-case log-ratios
    ``d`` spread by ``2 tau^2`` beyond their within-run variances ``se^2`` (common shift included)."""
    cases = compare.shared_processes(results, a, b)
    d, se2 = [], []
    for ma, mb in cases:
        la, lb = np.log(ma), np.log(mb)
        if len(la) >= 2 and len(lb) >= 2:
            d.append(la.mean() - lb.mean())
            se2.append(la.var(ddof=1) / len(la) + lb.var(ddof=1) / len(lb))
    if not d:
        return {"log_sd_per_run": None, "cases": 0}
    d, se2 = np.asarray(d), np.asarray(se2)
    tau2 = max(0.0, float(np.mean(d**2 - se2)) / 2)
    return {"log_sd_per_run": math.sqrt(tau2), "mean_log_shift": float(d.mean()), "cases": len(d),
            "measured_utc": datetime.now(UTC).isoformat(), "hosts": [a["host_id"], b["host_id"]]}


def separate(results: Path, hosts: list[str], backends: list[str], min_effect: float) -> tuple:
    """The two runs compared per backend, without and then with the drift they show; (table, summary)."""
    tables_, out = [], []
    for backend in backends:
        a, b = ({"backend": backend, "host_id": h} for h in hosts)
        try:
            raw, raw_sum = compare.compare(results, a, b, min_effect=min_effect, drift_log_sd=0.0)
        except ValueError as exc:  # a backend unavailable here has no ok rows on either side
            out.append({"backend": backend, "cases": 0, "note": str(exc)})
            continue
        measured = drift(results, a, b)
        tau = measured["log_sd_per_run"] or 0.0
        table, summary = compare.compare(results, a, b, min_effect=min_effect, drift_log_sd=tau,
                                         drift_source="measured by this stability run")
        tables_.append(table.assign(backend=backend))
        out.append({"backend": backend, **_verdicts(table, "ci_low", "ci_high"),
                    "without_drift": _verdicts(raw, "ci_low", "ci_high"), "drift": measured,
                    "geomean_ratio_a_over_b": summary["geomean_ratio_a_over_b"],
                    "geomean_ci": summary["geomean_ci"], "geomean_verdict": summary["geomean_verdict"]})
    table = pd.concat(tables_, ignore_index=True) if tables_ else pd.DataFrame()
    return table, out


def stability(config_path: str | Path, workdir: str | Path, label: str | None = None,
              cores: str = "all", fresh: bool = True) -> tuple[pd.DataFrame, dict]:
    """Run the config twice and the three checks; write ``stability.csv``/``.json`` in ``workdir``."""
    config_path, workdir = Path(config_path).resolve(), Path(workdir).resolve()
    cfg = config.load(config_path)
    label = label or metadata.host_id()
    hosts = [f"{label}-aa1", f"{label}-aa2"]
    workdir.mkdir(parents=True, exist_ok=True)
    for host in hosts:
        if fresh:
            shutil.rmtree(workdir / "results" / host, ignore_errors=True)
    for host in hosts:
        run_sweep(config_path, workdir, host, cores)
    results = workdir / "results"
    runs = aggregate.combine(aggregate.read_records(results)[0])
    speedup = aggregate.speedup_table(runs, config.baselines(cfg), cfg["min_effect"])
    speedup = speedup[speedup["host_id"].isin(hosts)]
    table, sep = separate(results, hosts, cfg["backends"], cfg["min_effect"])
    own = [s for s in sep if s.get("cases")]
    summary = {"config": str(config_path), "hosts": hosts, "processes": cfg["processes"],
               "max_processes": cfg["max_processes"], "target_resolution": cfg["target_resolution"],
               "min_effect": cfg["min_effect"], "host": metadata.host_info(),
               "interleaved": interleaved(speedup)[1], "separate": own[0] if own else {"cases": 0},
               "drift": own[0]["drift"] if own else {"log_sd_per_run": None},
               "planted": planted(speedup), "backends": sep}
    with record.atomic_write(workdir / "stability.csv") as fh:
        table.to_csv(fh, index=False)
    with record.atomic_write(workdir / "speedup.csv") as fh:
        speedup.to_csv(fh, index=False)
    record.write_json(workdir / "stability.json", summary)
    from numperf.plotting import stability as figure

    figure.plot(workdir)
    return table, summary


def _pct(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.1%}"


def summary_text(summary: dict) -> str:
    """The three checks in a few plain lines."""
    i, s, d = summary["interleaved"], summary["separate"], summary["drift"]
    lines = [f"Stability of {summary['host'].get('cpu_model', '?')} ({summary['hosts'][0]} and "
             f"{summary['hosts'][1]}: the same sweep twice), min_effect {summary['min_effect']:.0%}",
             f"  interleaved A/A (twin vs baseline, same processes): {i['cases']} cases, called different "
             f"{_pct(i['faster_fraction'])}, median resolvable effect {_pct(i['median_resolvable_effect'])}",
             f"  separate A/A (run 1 vs run 2): {s.get('cases', 0)} cases, called different "
             f"{_pct(s.get('faster_fraction'))} with the measured drift "
             f"({_pct((s.get('without_drift') or {}).get('faster_fraction'))} without), median resolvable "
             f"effect {_pct(s.get('median_resolvable_effect'))}",
             f"  drift between runs: {_pct(d.get('log_sd_per_run'))} of log time per run "
             f"(mean shift {_pct(d.get('mean_log_shift'))})"]
    for p in summary["planted"]:
        lines.append(f"  planted {p['effect']:.0%} slowdown: found in {_pct(p['detected_fraction'])} of "
                     f"{p['cases']} cases (median measured {_pct(p['median_measured_effect'])})")
    return "\n".join(lines)


"""Records (from this host and any copied in) -> one tidy table plus summary tables.

Layout read: ``<results>/<host_id>/<backend>/records/*.json`` and
``<results>/<host_id>/<backend>/calibration/t<threads>.json``. Every record is validated;
a corrupt or foreign file stops aggregation with its path and reason, or, with
``quarantine=True``, is moved aside and listed in ``quarantine.csv``. Nothing is dropped
silently.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from numperf import family as families
from numperf import record, stats, tables

#: An ok row is flagged noisy when, during the timed samples of any of its processes, other
#: processes used more than this fraction of the machine's CPU time (and at least the floor,
#: a few clock ticks, so that tick rounding over a short window cannot trigger it) ...
NOISY_OTHER_CPU_FRACTION = 0.10
NOISY_OTHER_CPU_FLOOR_S = 0.05
#: ... or the hypervisor stole more than this fraction ...
NOISY_STEAL_FRACTION = 0.05
#: ... or the robust spread of its per-call times inside a process (MAD / median, the median
#: over its processes) exceeds this. Preemptions are reported but do not flag a row: two BLAS
#: threads on two vCPUs are preempted a few hundred times per second on an idle machine.
NOISY_REL_DISPERSION = 0.10
#: Every table ``aggregate`` writes (results/tables/<name>.csv).
TABLES = tables.TABLES
#: Order in which a case's status is chosen when its processes disagree (worst first).
STATUS_SEVERITY = ("error", "oom", "timeout", "invalid", "skipped", "ok")

#: Columns that identify a case apart from its method and parameters (``param_columns``).
SETUP_KEYS = ["host_id", "backend", "family"]


class AggregationError(RuntimeError):
    """One or more result files could not be read; the message lists each path and reason."""


PARAM_PREFIX = "p_"
CHECK_PREFIX = "check_"


def family_view(df: pd.DataFrame, family: str) -> pd.DataFrame:
    """The rows of one family with its parameters as plain columns (``p_n`` -> ``n``) and the
    columns of other families' parameters dropped; a frame without ``family`` is returned as is."""
    if df is None or df.empty or "family" not in df.columns:
        return df
    try:
        declared = families.get(family).params
    except ValueError:
        declared = ()
    own = {p.name for p in declared}
    rows = df[df["family"].astype(str) == family]
    drop = [c for c in rows.columns if c.startswith(PARAM_PREFIX) and c[len(PARAM_PREFIX):] not in own]
    rows = rows.drop(columns=drop).rename(columns={f"{PARAM_PREFIX}{p}": p for p in own}).copy()
    for p in declared:  # a CSV column shared with other families' NaN reads back as float
        if p.kind == "int" and p.name in rows and rows[p.name].notna().all():
            rows[p.name] = rows[p.name].astype(np.int64)
    return rows


def record_paths(results: Path) -> list[Path]:
    """Every case record under ``results`` (all hosts, all backends)."""
    results = Path(results)
    # records/<case>/p<k>.json; a flat records/<case>.json is an older layout, read to be refused
    return sorted([*results.glob("*/*/records/*/p*.json"), *results.glob("*/*/records/*.json")])


def calibration_paths(results: Path) -> list[Path]:
    """Every family's calibration under ``results``: ``<host>/<backend>/calibration/<family>/t<k>.json``."""
    return sorted(Path(results).glob("*/*/calibration/*/t*.json"))


def hosts_table(results: Path) -> pd.DataFrame:
    """Per host probe (``<results>/<host>/host.json``): each backend, available or why not."""
    cols = ["host_id", "hostname", "cpu_model", "cores_logical", "mem_total_bytes", "backend",
            "available", "reason", "description"]
    rows = []
    for path in sorted(Path(results).glob("*/host.json")):
        try:
            probe = json.loads(path.read_text())
            host = probe["host"]
            rows += [{**{k: host.get(k) for k in cols[:5]}, "backend": b["label"],
                      "available": b["available"], "reason": b["reason"], "description": b["description"]}
                     for b in probe["backends"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AggregationError(f"{path}: not a valid host probe ({exc})") from None
    return pd.DataFrame(rows, columns=cols)


def _blas_pool(rec: dict) -> dict:
    pools = [p for p in (rec.get("blas") or {}).get("threadpool_info", []) if p.get("user_api") == "blas"]
    return pools[0] if pools else {}


def flatten(rec: dict, path: str | Path) -> dict:
    """One row per process record; ``combine`` turns a case's processes into one runs.csv row."""
    c, h, t, mem = rec["case"], rec["host"], rec.get("timing") or {}, rec["memory"]
    acc, th, blas, sched = rec.get("accuracy") or {}, rec.get("threads") or {}, rec.get("blas") or {}, \
        rec.get("scheduler") or {}
    pool, run, noise = _blas_pool(rec), rec["run"], rec.get("interference") or {}
    return {
        "host_id": h["host_id"], "hostname": h["hostname"], "cpu_model": h["cpu_model"],
        "cores_logical": h["cores_logical"], "backend": c["backend"],
        "blas_internal_api": pool.get("internal_api") or blas.get("verified_blas"),
        "blas_version": pool.get("version"), "blas_architecture": pool.get("architecture"),
        "verified_blas": blas.get("verified_blas"), "numpy_version": blas.get("numpy_version"),
        "openblas_coretype": rec["env"].get("OPENBLAS_CORETYPE"),
        "openblas_l2_size": rec["env"].get("OPENBLAS_L2_SIZE"),
        "family": c["family"], "method": c["method"], "dtype": c["dtype"], "threads": c["threads"],
        **{f"{PARAM_PREFIX}{k}": v for k, v in c["params"].items()},
        "threads_effective": th.get("effective"),
        "options": json.dumps(c.get("options_resolved") or c["options"], sort_keys=True),
        "processes": c["processes"], "process_index": c["process_index"],
        "isolation": (rec.get("pairing") or {}).get("mode"),
        "pair_key": (rec.get("pairing") or {}).get("process_uid"),
        "status": rec["status"], "reason": rec["reason"],
        "samples_s": t.get("samples_s", []), "loops": t.get("loops"),
        "peak_samples_bytes": mem.get("samples_peak_rss_bytes") or [],
        "traced_peak_bytes": mem.get("traced_peak_bytes"),
        "model_peak_bytes": mem["model"]["kernel_peak_bytes"],
        "model_total_peak_bytes": mem["model"]["peak_bytes"],
        "max_abs_error": acc.get("max_abs_error"), "max_rel_error": acc.get("max_rel_error"),
        **{f"{CHECK_PREFIX}{k}": v for k, v in ((rec.get("check") or {}).get("facts") or {}).items()},
        "flops": rec.get("flops"), "bytes_moved": rec.get("bytes_moved"),
        "interference_wall_s": noise.get("wall_s"), "cpu_capacity_s": noise.get("cpu_capacity_s"),
        "other_cpu_s": noise.get("other_cpu_s"), "steal_s": noise.get("steal_s"),
        "involuntary_switches": noise.get("involuntary_switches"),
        "slurm_job_id": sched.get("job_id"), "node": sched.get("node"),
        "cpus_allocated": sched.get("cpus_allocated"), "start_utc": run.get("start_utc"),
        "end_utc": run.get("end_utc"), "git_commit": run.get("git_commit"), "case_id": c["case_id"],
        "record_path": str(Path(path).parent if Path(path).name.startswith("p") else path),
    }


def _case_status(group: pd.DataFrame) -> tuple[str, str | None]:
    """A case's status: ok when every process is; otherwise the worst, naming its process."""
    if (group["status"] == "ok").all():
        return "ok", None
    worst = min(group["status"], key=STATUS_SEVERITY.index)
    bad = group[group["status"] == worst].iloc[0]
    if group["status"].nunique() == 1 and group["reason"].nunique(dropna=False) == 1:
        return worst, bad["reason"]
    return worst, f"process {bad['process_index']} of {bad['processes']}: {bad['reason']}"


def _mad(samples) -> float:
    """Median absolute deviation from the median: one slow sample of three (a first call's page
    faults) moves it little, unlike the IQR, which the median it qualifies also ignores."""
    x = np.asarray(samples, float)
    return float(np.median(np.abs(x - np.median(x))))


def _timing_columns(ok: pd.DataFrame) -> dict:
    """Median time per call with its between-process interval, order statistics, dispersion."""
    has = [len(s) > 0 for s in ok["samples_s"]]
    per_process = [list(s) for s in ok["samples_s"] if len(s)]
    if not per_process:
        return {}
    pair_keys = ok["pair_key"] if "pair_key" in ok else pd.Series([None] * len(ok), index=ok.index)
    keys = [k if isinstance(k, str) else None for k in pair_keys.to_numpy()[np.array(has, bool)]]
    medians = stats.process_medians(per_process)
    median, low, high = stats.median_interval(medians)
    pooled = np.concatenate(per_process)
    q1, q3 = np.percentile(pooled, [25, 75])
    mean, std = float(pooled.mean()), float(pooled.std(ddof=1)) if len(pooled) > 1 else 0.0
    return {
        "n_processes": len(per_process), "loops": int(np.median(ok["loops"].dropna())),
        "n_samples": len(pooled), "time_median_s": median, "time_ci_low_s": low, "time_ci_high_s": high,
        "time_resolvable_effect": stats.resolvable_effect(low, high),
        "time_min_s": float(pooled.min()), "time_mean_s": mean, "time_std_s": std,
        "time_q1_s": float(q1), "time_q3_s": float(q3), "time_iqr_s": float(q3 - q1),
        "time_cv": std / mean if mean > 0 else np.nan,
        "time_rel_dispersion": float(np.median([_mad(s) / np.median(s) for s in per_process])),
        "time_process_medians_s": json.dumps([float(v) for v in medians]),
        "time_process_keys": json.dumps(keys),
        "time_process_samples_s": json.dumps(per_process),
        "isolation": "+".join(sorted({m for m in ok.get("isolation", []) if isinstance(m, str)})) or None,
    }


def _interference_columns(ok: pd.DataFrame) -> dict:
    """The worst process's interference: other processes' CPU share, steal, preemptions."""
    cap = ok["cpu_capacity_s"].astype(float)
    wall = ok["interference_wall_s"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"other_cpu_fraction": float(np.nanmax((ok["other_cpu_s"] / cap).to_numpy(float), initial=0)),
                "steal_fraction": float(np.nanmax((ok["steal_s"] / cap).to_numpy(float), initial=0)),
                "involuntary_switches_per_s": float(np.nanmax(
                    (ok["involuntary_switches"] / wall).to_numpy(float), initial=0))}


def _noisy_reasons(ok: pd.DataFrame, timing: dict) -> list[str]:
    """Why a case's timings are doubtful, from measured interference and robust dispersion."""
    reasons = []
    for _, p in ok.iterrows():
        k, cap = f"process {p['process_index']}", p["cpu_capacity_s"] or 0.0
        if p["other_cpu_s"] is not None and p["other_cpu_s"] > max(NOISY_OTHER_CPU_FRACTION * cap,
                                                                   NOISY_OTHER_CPU_FLOOR_S):
            reasons.append(f"{k}: other processes used {p['other_cpu_s'] / cap:.0%} of the CPUs")
        steal_limit = max(NOISY_STEAL_FRACTION * cap, NOISY_OTHER_CPU_FLOOR_S)
        if p["steal_s"] is not None and p["steal_s"] > steal_limit:
            reasons.append(f"{k}: the hypervisor stole {p['steal_s'] / cap:.0%} of the CPUs")
    if timing.get("time_rel_dispersion", 0) > NOISY_REL_DISPERSION:
        reasons.append(f"per-call times spread inside a process: MAD/median "
                       f"{timing['time_rel_dispersion']:.2f} > {NOISY_REL_DISPERSION}")
    return reasons


def _per_second(amount, seconds: float) -> float:
    try:
        amount = float(amount)
    except (TypeError, ValueError):
        return np.nan
    return amount / seconds if np.isfinite(amount) and seconds > 0 else np.nan


def combine(procs: pd.DataFrame) -> pd.DataFrame:
    """One runs.csv row per case from its process rows (nothing dropped: every case gets a row)."""
    rows = []
    for _, group in procs.groupby(["host_id", "backend", "case_id"], sort=False):
        group = group.sort_values("process_index")
        first = group.iloc[0]
        status, reason = _case_status(group)
        ok = group[group["status"] == "ok"]
        timing = _timing_columns(ok)
        peaks = [b for lst in ok["peak_samples_bytes"] for b in lst]
        row = {k: first[k] for k in procs.columns if k not in (
            "samples_s", "peak_samples_bytes", "process_index", "status", "reason", "loops", "pair_key",
            "interference_wall_s", "cpu_capacity_s", "other_cpu_s", "steal_s", "involuntary_switches")}
        checked = group[group["traced_peak_bytes"].notna()]  # the process that ran the check
        row.update({
            "status": status, "reason": reason, "n_processes": 0, "loops": np.nan, "n_samples": 0,
            **timing, **(_interference_columns(ok) if len(ok) else {}),
            "peak_rss_bytes": int(np.median(peaks)) if peaks else np.nan,
            "peak_rss_max_bytes": int(max(peaks)) if peaks else np.nan,
            "traced_peak_bytes": checked["traced_peak_bytes"].iloc[0] if len(checked) else np.nan,
            "max_abs_error": checked["max_abs_error"].iloc[0] if len(checked) else np.nan,
            "max_rel_error": checked["max_rel_error"].iloc[0] if len(checked) else np.nan,
            "start_utc": group["start_utc"].min(), "end_utc": group["end_utc"].dropna().max(),
            "slurm_job_id": ",".join(str(j) for j in group["slurm_job_id"].dropna()) or None,
        })
        if len(checked):
            row.update({k: checked[k].iloc[0] for k in procs.columns if k.startswith(CHECK_PREFIX)})
        if "time_median_s" in timing:
            row["gflops"] = _per_second(row["flops"], timing["time_median_s"]) / 1e9
            row["gbytes_per_s"] = _per_second(row["bytes_moved"], timing["time_median_s"]) / 1e9
            row.update({k: timing[k] for k in ("n_processes", "loops", "n_samples")})
        reasons = _noisy_reasons(ok, timing) if status == "ok" else []
        row["noisy"], row["noisy_reason"] = bool(reasons), "; ".join(reasons) or None
        rows.append(row)
    return pd.DataFrame(rows)


def read_records(results: Path, quarantine: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All process records, one row each, and the table of quarantined files."""
    results = Path(results)
    rows, bad = [], []
    for path in record_paths(results):
        try:
            rows.append(flatten(record.load_record(path), path.relative_to(results)))
        except record.RecordError as exc:
            bad.append({"path": str(path), "reason": exc.reason})
    if bad and not quarantine:
        listing = "\n".join(f"  {b['path']}: {b['reason']}" for b in bad)
        raise AggregationError(f"{len(bad)} result file(s) are not valid numperf records:\n{listing}\n"
                               "Fix or remove them, or aggregate with --quarantine to move them aside.")
    for b in bad:
        src = Path(b["path"])
        dest = results / "quarantine" / src.relative_to(results)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src, dest)
        b["moved_to"] = str(dest)
    return pd.DataFrame(rows), pd.DataFrame(bad, columns=["path", "reason", "moved_to"])


def read_calibration(results: Path) -> pd.DataFrame:
    """Per (host, backend, family, threads): the family's calibrated rates, one column each."""
    rows = []
    for path in calibration_paths(results):
        try:
            cal = json.loads(path.read_text())
            rates = {k: cal.get(k) for k in families.get(cal["family"]).rates} \
                if cal["family"] in families.registry() else {}
            rows.append({k: cal[k] for k in ("host_id", "backend", "family", "threads")} | rates)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AggregationError(f"{path}: not a valid calibration file ({exc})") from None
    return pd.DataFrame(rows).reindex(columns=["host_id", "backend", "family", "threads",
                                               *{k for r in rows for k in r} - CALIBRATION_KEYS])


CALIBRATION_KEYS = {"host_id", "backend", "family", "threads"}


def add_roofline(runs: pd.DataFrame, cal: pd.DataFrame) -> pd.DataFrame:
    """``roofline_floor_s``: the family's floor for the case (``Family.floor``) from the best rates
    calibrated on the case's host at its thread count over every backend calibrated there, so the
    floor is the machine's, not the backend's: a slow BLAS shows as far from it. NaN where the
    family declares no floor or the host has no calibration."""
    floors = pd.Series(np.nan, index=runs.index)
    for name, rows in runs.groupby("family", sort=False):
        fam = families.registry().get(str(name))
        own = cal[cal["family"] == name] if "family" in cal else cal.iloc[0:0]
        if fam is None or fam.floor is None or own.empty:
            continue
        best = own.groupby(["host_id", "threads"])[list(fam.rates)].max()
        for i, r in rows.iterrows():
            key = (r["host_id"], r["threads"])
            if key not in best.index:
                continue
            rates = best.loc[key].to_dict()
            if any(pd.isna(v) for v in rates.values()):
                continue
            params = {p: r[f"{PARAM_PREFIX}{p}"] for p in fam.param_names}
            floors[i] = fam.floor(params, str(r["dtype"]), rates)
    runs = runs.assign(roofline_floor_s=floors.astype(float))
    runs["roofline_fraction"] = runs["roofline_floor_s"] / runs["time_median_s"]
    return runs


#: The columns a ratio needs of each side (``ratio_columns``): the combined median, the processes'
#: medians and their pairing keys.
TIMING = ["time_median_s", "time_process_medians_s", "time_process_keys", "time_process_samples_s"]


def _json_list(value) -> list:
    return json.loads(value) if isinstance(value, str) else []


def ratio_columns(df: pd.DataFrame, num: str, den: str, min_effect: float,
                  labels: tuple[str, str], drift_log_sd: float = 0.0) -> pd.DataFrame:
    """Time ratio ``num``/``den`` per row with its interval and a verdict.

    ``num`` and ``den`` are suffixes of the ``TIMING`` columns in ``df``; ``labels`` name the
    verdicts for a ratio below and above 1. Sides measured in the same processes (shared
    ``time_process_keys``) are paired (``paired_processes`` says over how many); others get
    Welch's interval, widened by ``drift_log_sd`` when they come from separate runs.
    """
    out = []
    none = pd.Series([None] * len(df), index=df.index)
    cols = [df[f"time_process_medians_s{num}"], df[f"time_process_medians_s{den}"]]
    cols += [df.get(f"{c}{side}", none) for c in ("time_process_keys", "time_process_samples_s")
             for side in (num, den)]
    for a, b, ka, kb, sa, sb in zip(*cols, strict=True):
        a, b = json.loads(a), json.loads(b)
        ka, kb, sa, sb = (_json_list(v) for v in (ka, kb, sa, sb))
        paired = len(stats.paired_logs(a, b, ka, kb))
        ratio, lo, hi = stats.ratio_interval(a, b, keys_a=ka, keys_b=kb, samples_a=sa or None,
                                             samples_b=sb or None,
                                             drift_log_sd=0.0 if paired >= 2 else drift_log_sd)
        out.append({"ratio": ratio, "ci_low": lo, "ci_high": hi,
                    "verdict": stats.verdict(ratio, lo, hi, min_effect, labels),
                    "paired_processes": paired if paired >= 2 else 0})
    return pd.DataFrame(out, index=df.index,
                        columns=["ratio", "ci_low", "ci_high", "verdict", "paired_processes"])


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return tables.ok_rows(runs)


def param_columns(df: pd.DataFrame) -> list[str]:
    """The ``p_<name>`` columns of a table, in order."""
    return [c for c in df.columns if c.startswith(PARAM_PREFIX)]


def _keys(df: pd.DataFrame, *extra: str) -> list[str]:
    return SETUP_KEYS + list(extra) + param_columns(df)


def _by_family(df: pd.DataFrame):
    """(family, its rows without other families' parameter columns, its key columns): merges and
    group-bys then never meet a parameter that a family does not have (all NaN in its rows)."""
    for fam, rows in df.groupby("family", sort=False):
        own = [c for c in param_columns(rows) if rows[c].notna().any()]
        yield fam, rows.drop(columns=[c for c in param_columns(rows) if c not in own]), own


def _concat(parts: list[pd.DataFrame], cols: list[str], sort: list[str]) -> pd.DataFrame:
    """Per-family parts as one table with the union of their parameter columns."""
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    params = [c for c in out.columns if c.startswith(PARAM_PREFIX)]
    ordered = [c for c in cols if not c.startswith(PARAM_PREFIX) or c in params]
    return out.reindex(columns=ordered).sort_values(sort, key=_sort_key).reset_index(drop=True)


def baseline_of(fam_name: str, measured, baselines: dict[str, str] | None = None) -> str | None:
    """The method a family's speedups divide by: the configured one (``baselines``), else the
    family's declared baseline when it was measured, else the first measured method in the
    family's order (so that a config leaving the baseline out still gets speedups)."""
    measured = set(map(str, measured))
    if (baselines or {}).get(fam_name):
        return baselines[fam_name]
    fam = families.registry().get(str(fam_name))
    if fam is None or fam.baseline is None:  # a family without a baseline has no speedups
        return None
    if fam.baseline in measured:
        return fam.baseline
    return next((m for m in fam.methods if m in measured), None)


def speedup_table(runs: pd.DataFrame, baselines: dict[str, str] | None = None,
                  min_effect: float = stats.MIN_EFFECT) -> pd.DataFrame:
    """Each method's speedup over its family's baseline method (``baseline_of``) on the same host,
    backend, dtype, threads and parameters, with the between-process interval and a verdict."""
    ok = _ok(runs)
    parts = []
    for fam_name, rows, own in _by_family(ok):
        base = baseline_of(fam_name, rows["method"], baselines)
        if not base:
            continue
        keys = SETUP_KEYS + ["dtype", "threads"] + own
        sel = keys + ["method", *TIMING]
        out = rows[sel].merge(rows[rows["method"] == base][sel].drop(columns="method"), on=keys,
                              suffixes=("", "_baseline"))
        if out.empty:
            continue
        r = ratio_columns(out, "_baseline", "", min_effect, ("slower", "faster"))
        out["baseline_method"] = base
        out["speedup_vs_baseline"], out["speedup_ci_low"], out["speedup_ci_high"] = r["ratio"], \
            r["ci_low"], r["ci_high"]
        out["verdict"], out["paired_processes"] = r["verdict"], r["paired_processes"]
        parts.append(out)
    keys = _keys(ok, "dtype", "threads")
    cols = keys + ["method", "baseline_method", "time_median_s", "time_median_s_baseline",
                   "speedup_vs_baseline", "speedup_ci_low", "speedup_ci_high", "verdict", "paired_processes"]
    return _concat(parts, cols, [*SETUP_KEYS, "dtype", "threads", "method"])


def _sort_key(col: pd.Series) -> pd.Series:
    """Sort mixed columns (numbers and text) without comparing str with float."""
    return col.map(lambda v: (0, v, "") if isinstance(v, (int, float, np.number)) else (1, 0, str(v)))


def scaling_table(runs: pd.DataFrame, min_effect: float = stats.MIN_EFFECT) -> pd.DataFrame:
    """Thread scaling: speedup over the 1-thread time with its interval, and parallel efficiency."""
    ok = _ok(runs)
    parts = []
    for _, rows, own in _by_family(ok):
        keys = SETUP_KEYS + ["method", "dtype"] + own
        cols = keys + TIMING
        out = rows[cols + ["threads"]].merge(rows[rows["threads"] == 1][cols], on=keys,
                                             suffixes=("", "_1thread"))
        if out.empty:
            continue
        r = ratio_columns(out, "_1thread", "", min_effect, ("slower", "faster"))
        out["speedup"], out["speedup_ci_low"], out["speedup_ci_high"] = r["ratio"], r["ci_low"], r["ci_high"]
        out["verdict"] = r["verdict"].where(out["threads"] != 1, "baseline")
        out["parallel_efficiency"] = out["speedup"] / out["threads"]
        parts.append(out)
    keys = _keys(ok, "method", "dtype")
    cols = keys + ["threads", "time_median_s", "time_median_s_1thread", "speedup", "speedup_ci_low",
                   "speedup_ci_high", "verdict", "parallel_efficiency"]
    return _concat(parts, cols, [*SETUP_KEYS, "method", "dtype", "threads"])


def memory_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Measured (peak RSS, tracemalloc) against modelled peak bytes above the baseline."""
    ok = runs[runs["status"] == "ok"]
    parts = []
    for _, rows, own in _by_family(ok):
        keys = SETUP_KEYS + ["method", "dtype"] + own
        out = rows.groupby(keys, as_index=False).agg(
            peak_rss_bytes=("peak_rss_bytes", "median"), traced_peak_bytes=("traced_peak_bytes", "median"),
            model_peak_bytes=("model_peak_bytes", "first"))
        parts.append(out)
    cols = _keys(ok, "method", "dtype") + ["peak_rss_bytes", "traced_peak_bytes", "model_peak_bytes"]
    out = _concat(parts, cols, [*SETUP_KEYS, "method", "dtype"])
    model = pd.to_numeric(out["model_peak_bytes"], errors="coerce").replace(0, np.nan)
    out["rss_over_model"] = pd.to_numeric(out["peak_rss_bytes"], errors="coerce") / model
    out["traced_over_model"] = pd.to_numeric(out["traced_peak_bytes"], errors="coerce") / model
    return out


def dtype_table(runs: pd.DataFrame, min_effect: float = stats.MIN_EFFECT) -> pd.DataFrame:
    """Each family's declared dtype pairs (a, b): the time ratio b / a with its interval and both
    errors, same case otherwise (columns named after the dtypes, e.g. ``float64_over_float32_time``)."""
    ok = _ok(runs)
    parts, named = [], []
    for fam_name, rows, own in _by_family(ok):
        fam = families.registry().get(str(fam_name))
        for a, b in fam.dtype_pairs if fam else ():
            keys = SETUP_KEYS + ["method", "threads"] + own
            cols = keys + TIMING + ["max_rel_error"]
            out = rows[rows["dtype"] == a][cols].merge(rows[rows["dtype"] == b][cols], on=keys,
                                                       suffixes=(f"_{a}", f"_{b}"))
            named += [f"{c}_{d}" for c in ("time_median_s", "max_rel_error") for d in (a, b)]
            named.append(f"{b}_over_{a}_time")
            if out.empty:
                continue
            r = ratio_columns(out, f"_{b}", f"_{a}", min_effect, (f"{b} faster", f"{a} faster"))
            out[f"{b}_over_{a}_time"], out["ci_low"] = r["ratio"], r["ci_low"]
            out["ci_high"], out["verdict"] = r["ci_high"], r["verdict"]
            parts.append(out)
    cols = _keys(ok, "method", "threads") + list(dict.fromkeys(named)) + ["ci_low", "ci_high", "verdict"]
    return _concat(parts, cols, [*SETUP_KEYS, "method", "threads"])


def failures_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Counts of every non-ok status, and of noisy ok rows, by host, backend and reason kind."""
    cols = ["host_id", "backend", "status", "reason_kind", "cases", "example_case", "example_reason"]
    bad = runs[(runs["status"] != "ok") | runs["noisy"]].copy()
    if bad.empty:
        return pd.DataFrame(columns=cols)
    bad["reason"] = bad["reason"].astype(object).where(bad["reason"].notna(), "")
    bad["reason_kind"] = bad["reason"].str.split(":").str[0]
    noisy = bad["status"] == "ok"
    bad.loc[noisy, "reason_kind"] = "noisy"
    bad.loc[noisy, "reason"] = "noisy: " + bad.loc[noisy, "noisy_reason"].astype(str)
    out = bad.groupby(["host_id", "backend", "status", "reason_kind"], as_index=False).agg(
        cases=("case_id", "size"), example_case=("case_id", "first"), example_reason=("reason", "first"))
    return out[cols]


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Atomically write a table as CSV (and parquet next to it for runs)."""
    with record.atomic_write(path) as fh:
        df.to_csv(fh, index=False)


def aggregate(results: str | Path, out: str | Path, quarantine: bool = False,
              baselines: dict[str, str] | None = None,
              min_effect: float = stats.MIN_EFFECT) -> dict[str, pd.DataFrame]:
    """Build and write every table; return them by name."""
    results, out = Path(results), Path(out)
    procs, bad = read_records(results, quarantine=quarantine)
    if procs.empty:
        raise AggregationError(f"no records found under {results}/<host>/<backend>/records/")
    runs = add_roofline(combine(procs), read_calibration(results))
    runs = runs.sort_values(["host_id", "backend", "family", "method", "dtype", "threads",
                             *param_columns(runs)], key=_sort_key)
    built = {"runs": runs.reset_index(drop=True), "speedup": speedup_table(runs, baselines, min_effect),
             "scaling": scaling_table(runs, min_effect), "memory": memory_table(runs),
             "dtype": dtype_table(runs, min_effect), "failures": failures_table(runs),
             "hosts": hosts_table(results), "quarantine": bad}
    for name, df in built.items():
        write_table(df, out / f"{name}.csv")
    with record.atomic_write(out / "runs.parquet", "wb") as fh:
        built["runs"].to_parquet(fh, index=False)
    return built

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

from numperf import methods, record

#: A row is flagged noisy when its timing CV or the 1-minute load per core exceeds these.
NOISY_CV = 0.10
NOISY_LOAD_PER_CORE = 1.0
#: Method whose time is the denominator of speedup.csv.
BASELINE_METHOD = "gemm_trick"

CASE_KEYS = ["host_id", "backend", "n", "m", "d", "dtype", "threads"]


class AggregationError(RuntimeError):
    """One or more result files could not be read; the message lists each path and reason."""


def record_paths(results: Path) -> list[Path]:
    """Every case record under ``results`` (all hosts, all backends)."""
    return sorted(Path(results).glob("*/*/records/*.json"))


def calibration_paths(results: Path) -> list[Path]:
    return sorted(Path(results).glob("*/*/calibration/t*.json"))


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
    """One row of runs.csv from one record (column meanings are documented in the README)."""
    c, h, t, mem = rec["case"], rec["host"], rec.get("timing") or {}, rec["memory"]
    acc, th, blas, sched = rec.get("accuracy") or {}, rec.get("threads") or {}, rec.get("blas") or {}, \
        rec.get("scheduler") or {}
    pool, run = _blas_pool(rec), rec["run"]
    load = (run.get("load_before") or [np.nan])[0]
    return {
        "host_id": h["host_id"], "hostname": h["hostname"], "cpu_model": h["cpu_model"],
        "cores_logical": h["cores_logical"], "backend": c["backend"],
        "blas_internal_api": pool.get("internal_api") or blas.get("verified_blas"),
        "blas_version": pool.get("version"), "blas_architecture": pool.get("architecture"),
        "verified_blas": blas.get("verified_blas"), "numpy_version": blas.get("numpy_version"),
        "openblas_coretype": rec["env"].get("OPENBLAS_CORETYPE"),
        "method": c["method"], "n": c["n"], "m": c["m"], "d": c["d"], "dtype": c["dtype"],
        "threads": c["threads"], "threads_effective": th.get("effective"),
        "params": json.dumps(c.get("params_resolved") or c["params"], sort_keys=True),
        "status": rec["status"], "reason": rec["reason"],
        "time_median_s": t.get("median_s"), "time_min_s": t.get("min_s"), "time_mean_s": t.get("mean_s"),
        "time_std_s": t.get("std_s"), "time_q1_s": t.get("q1_s"), "time_q3_s": t.get("q3_s"),
        "time_iqr_s": t.get("iqr_s"), "time_cv": t.get("cv"),
        "n_samples": len(t.get("samples_s", [])),
        "peak_rss_bytes": mem.get("peak_rss_bytes"), "peak_rss_max_bytes": mem.get("peak_rss_max_bytes"),
        "traced_peak_bytes": mem.get("traced_peak_bytes"),
        "model_peak_bytes": mem["model"]["kernel_peak_bytes"],
        "model_total_peak_bytes": mem["model"]["peak_bytes"],
        "max_abs_error": acc.get("max_abs_error"), "max_rel_error": acc.get("max_rel_error"),
        "flops": rec.get("flops"), "gflops": rec.get("gflops"),
        "load_before_1m": load, "slurm_job_id": sched.get("job_id"), "node": sched.get("node"),
        "cpus_allocated": sched.get("cpus_allocated"), "start_utc": run.get("start_utc"),
        "git_commit": run.get("git_commit"), "case_id": c["case_id"], "record_path": str(path),
    }


def read_records(results: Path, quarantine: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All records as the runs table, and the table of quarantined files."""
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
    runs = pd.DataFrame(rows)
    return runs, pd.DataFrame(bad, columns=["path", "reason", "moved_to"])


def read_calibration(results: Path) -> pd.DataFrame:
    """Per (host, backend, threads): measured DGEMM/SGEMM GFLOP/s and write bandwidth."""
    rows = []
    for path in calibration_paths(results):
        try:
            cal = json.loads(path.read_text())
            rows.append({k: cal[k] for k in ("host_id", "backend", "threads", "dgemm_gflops",
                                              "sgemm_gflops", "write_bandwidth_bytes_per_s")})
        except (OSError, ValueError, KeyError) as exc:
            raise AggregationError(f"{path}: not a valid calibration file ({exc})") from None
    return pd.DataFrame(rows, columns=["host_id", "backend", "threads", "dgemm_gflops", "sgemm_gflops",
                                       "write_bandwidth_bytes_per_s"])


def add_roofline(runs: pd.DataFrame, cal: pd.DataFrame) -> pd.DataFrame:
    """Roofline floor = max(GEMM flops at measured peak, output bytes at measured bandwidth)."""
    runs = runs.merge(cal, on=["host_id", "backend", "threads"], how="left")
    peak = np.where(runs["dtype"] == "float32", runs["sgemm_gflops"], runs["dgemm_gflops"]) * 1e9
    itemsize = np.where(runs["dtype"] == "float32", 4, 8)
    gemm_s = methods.gemm_flops(runs["n"], runs["m"], runs["d"]) / peak
    write_s = runs["n"] * runs["m"] * itemsize / runs["write_bandwidth_bytes_per_s"]
    with np.errstate(invalid="ignore"):  # no calibration for a host: NaN floor, kept as such
        runs["roofline_floor_s"] = np.fmax(gemm_s.to_numpy(float), write_s.to_numpy(float))
    runs["roofline_fraction"] = runs["roofline_floor_s"] / runs["time_median_s"]
    return runs.drop(columns=["dgemm_gflops", "sgemm_gflops", "write_bandwidth_bytes_per_s"])


def flag_noisy(runs: pd.DataFrame) -> pd.DataFrame:
    """Mark (never drop) ok rows whose samples or machine load make them doubtful."""
    load_per_core = runs["load_before_1m"] / runs["cores_logical"]
    runs["noisy"] = (runs["status"] == "ok") & ((runs["time_cv"] > NOISY_CV) |
                                                (load_per_core > NOISY_LOAD_PER_CORE))
    return runs


def speedup_table(runs: pd.DataFrame, baseline: str = BASELINE_METHOD) -> pd.DataFrame:
    """Each method's speedup over ``baseline`` on the same host, backend, size, dtype, threads."""
    ok = runs[runs["status"] == "ok"]
    base = ok[ok["method"] == baseline][CASE_KEYS + ["time_median_s"]]
    out = ok.merge(base, on=CASE_KEYS, suffixes=("", "_baseline"))
    out["baseline_method"] = baseline
    out["speedup_vs_baseline"] = out["time_median_s_baseline"] / out["time_median_s"]
    cols = CASE_KEYS + ["method", "baseline_method", "time_median_s", "time_median_s_baseline",
                        "speedup_vs_baseline"]
    return out[cols].sort_values(CASE_KEYS + ["method"]).reset_index(drop=True)


def scaling_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Thread scaling: speedup over the 1-thread time and parallel efficiency (speedup / threads)."""
    keys = ["host_id", "backend", "method", "n", "m", "d", "dtype"]
    ok = runs[runs["status"] == "ok"]
    one = ok[ok["threads"] == 1][keys + ["time_median_s"]]
    out = ok.merge(one, on=keys, suffixes=("", "_1thread"))
    out["speedup"] = out["time_median_s_1thread"] / out["time_median_s"]
    out["parallel_efficiency"] = out["speedup"] / out["threads"]
    cols = keys + ["threads", "time_median_s", "time_median_s_1thread", "speedup", "parallel_efficiency"]
    return out[cols].sort_values(keys + ["threads"]).reset_index(drop=True)


def memory_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Measured (peak RSS, tracemalloc) against modelled peak bytes above the baseline."""
    ok = runs[runs["status"] == "ok"]
    keys = ["host_id", "backend", "method", "n", "m", "d", "dtype"]
    out = ok.groupby(keys, as_index=False).agg(
        peak_rss_bytes=("peak_rss_bytes", "median"), traced_peak_bytes=("traced_peak_bytes", "median"),
        model_peak_bytes=("model_peak_bytes", "first"))
    out["rss_over_model"] = out["peak_rss_bytes"] / out["model_peak_bytes"]
    out["traced_over_model"] = out["traced_peak_bytes"] / out["model_peak_bytes"]
    return out


def dtype_table(runs: pd.DataFrame) -> pd.DataFrame:
    """float32 against float64: time ratio and both errors for the same case otherwise."""
    keys = ["host_id", "backend", "method", "n", "m", "d", "threads"]
    ok = runs[runs["status"] == "ok"]
    f32 = ok[ok["dtype"] == "float32"][keys + ["time_median_s", "max_rel_error"]]
    f64 = ok[ok["dtype"] == "float64"][keys + ["time_median_s", "max_rel_error"]]
    out = f32.merge(f64, on=keys, suffixes=("_float32", "_float64"))
    out["float64_over_float32_time"] = out["time_median_s_float64"] / out["time_median_s_float32"]
    return out.sort_values(keys).reset_index(drop=True)


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
    bad.loc[noisy, "reason"] = (f"noisy: timing CV > {NOISY_CV} or 1-minute load per core > "
                                f"{NOISY_LOAD_PER_CORE}")
    out = bad.groupby(["host_id", "backend", "status", "reason_kind"], as_index=False).agg(
        cases=("case_id", "size"), example_case=("case_id", "first"), example_reason=("reason", "first"))
    return out[cols]


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Atomically write a table as CSV (and parquet next to it for runs)."""
    with record.atomic_write(path) as fh:
        df.to_csv(fh, index=False)


def aggregate(results: str | Path, out: str | Path, quarantine: bool = False,
              baseline: str = BASELINE_METHOD) -> dict[str, pd.DataFrame]:
    """Build and write every table; return them by name."""
    results, out = Path(results), Path(out)
    runs, bad = read_records(results, quarantine=quarantine)
    if runs.empty:
        raise AggregationError(f"no records found under {results}/<host>/<backend>/records/")
    runs = flag_noisy(add_roofline(runs, read_calibration(results)))
    runs = runs.sort_values(["host_id", "backend", "method", "dtype", "threads", "n", "d"])
    tables = {"runs": runs.reset_index(drop=True), "speedup": speedup_table(runs, baseline),
              "scaling": scaling_table(runs), "memory": memory_table(runs), "dtype": dtype_table(runs),
              "failures": failures_table(runs), "hosts": hosts_table(results), "quarantine": bad}
    for name, df in tables.items():
        write_table(df, out / f"{name}.csv")
    with record.atomic_write(out / "runs.parquet", "wb") as fh:
        tables["runs"].to_parquet(fh, index=False)
    return tables

"""The key findings of a run, written from its tables for the first page of the report.

``numperf findings`` reads ``runs.csv`` and ``speedup.csv`` and writes reStructuredText that the
Snakemake report shows first (``workflow/report/workflow.rst`` includes it): per size and dtype
the fastest method with its speedup over the seed notebook's trick and the memory it saves, what
the BLAS backends changed when several were run, and how many cases ended how. Every number and
name comes from the tables; nothing here is about a particular run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from numperf import aggregate, measure, record

#: The seed notebook's trick: the reference every speedup and memory saving is against.
SEED_METHOD = "gemm_trick"
#: Below this, peak RSS cannot see allocations (they come from resident heap pages): use the model.
RSS_VISIBLE_BYTES = measure.RSS_VISIBLE_BYTES
#: Backend the others are compared with when several ran (the PyPI wheel), if present.
REFERENCE_BACKEND = "wheel"


def _lit(name) -> str:
    """An RST inline literal (method, backend and host names contain underscores)."""
    return f"``{name}``"


def _seconds(s: float) -> str:
    if not np.isfinite(s):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _mb(b: float) -> str:
    return f"{b / 1e6:.3g} MB" if b >= 1e5 else f"{b / 1e6:.2g} MB"


def _threads(t) -> str:
    return f"{int(t)} thread" + ("" if int(t) == 1 else "s")


def _peaks(*cases: pd.DataFrame) -> tuple[list[float], str]:
    """Peak memory of each case (median over its rows) and its kind: measured peak RSS when RSS can
    see every one of them, else the model for all, so that they are always compared like for like."""
    rss = [float(c["peak_rss_bytes"].median()) for c in cases]
    if all(np.isfinite(r) and r >= RSS_VISIBLE_BYTES for r in rss):
        return rss, "measured"
    return [float(c["model_peak_bytes"].median()) for c in cases], "model"


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows that measured a time (status ok)."""
    return runs[(runs["status"] == "ok") & runs["time_median_s"].notna()]


def fastest(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per host, size and dtype: the fastest (method, backend, threads), its speedup over the seed's
    trick at the same backend and thread count (interval and verdict when speedup.csv has them), and
    its peak memory against the trick's (distance family rows only)."""
    ok = ok_runs(aggregate.family_view(tables["runs"], "distances"))
    speed = aggregate.family_view(tables["speedup"], "distances")
    keys = ["host_id", "n", "m", "d", "dtype"]
    rows = []
    for key, g in ok.groupby(keys, sort=True):
        best = g.loc[g["time_median_s"].idxmin()]
        same = dict(zip(keys, key, strict=True)) | {"backend": best["backend"], "threads": best["threads"]}
        sel = speed
        for k, v in same.items():
            sel = sel[sel[k] == v]
        sel = sel[sel["method"] == best["method"]]
        row = {**dict(zip(keys, key, strict=True)), "method": best["method"], "backend": best["backend"],
               "threads": int(best["threads"]), "time_median_s": float(best["time_median_s"]),
               "speedup": np.nan, "ci_low": np.nan, "ci_high": np.nan, "verdict": ""}
        if len(sel):
            s = sel.iloc[0]
            row.update(speedup=float(s["speedup_vs_baseline"]),
                       ci_low=float(s.get("speedup_ci_low", np.nan)),
                       ci_high=float(s.get("speedup_ci_high", np.nan)),
                       verdict=str(s.get("verdict", "") if pd.notna(s.get("verdict")) else ""))
        case = g[(g["backend"] == best["backend"])]
        mine, trick = case[case["method"] == best["method"]], case[case["method"] == SEED_METHOD]
        if len(trick):
            (row["peak_bytes"], row["trick_peak_bytes"]), row["peak_kind"] = _peaks(mine, trick)
        else:
            ((row["peak_bytes"],), row["peak_kind"]), row["trick_peak_bytes"] = _peaks(mine), np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _winners(rows: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """The fastest row of each group."""
    return rows.loc[rows.groupby(groups)["time_median_s"].idxmin()]


def backend_effects(runs: pd.DataFrame) -> list[dict]:
    """For each backend other than the reference: geometric-mean time ratio against the reference
    over the cases both measured, its range, and in how many (size, dtype, threads) groups the
    fastest method differs from the reference's (distance family rows only)."""
    ok = ok_runs(aggregate.family_view(runs, "distances"))
    out = []
    for host, h in ok.groupby("host_id", sort=True):
        names = sorted(h["backend"].unique())
        if len(names) < 2:
            continue
        ref = REFERENCE_BACKEND if REFERENCE_BACKEND in names else names[0]
        keys = [k for k in ("method", "n", "m", "d", "dtype", "threads", "inputs") if k in h]
        base = h[h["backend"] == ref][keys + ["time_median_s"]]
        groups = [k for k in keys if k != "method"]
        winner_ref = _winners(h[h["backend"] == ref], groups)
        for b in names:
            if b == ref:
                continue
            both = h[h["backend"] == b][keys + ["time_median_s"]].merge(base, on=keys, suffixes=("", "_ref"))
            if both.empty:
                out.append({"host_id": host, "backend": b, "reference": ref, "shared_cases": 0})
                continue
            ratio = both["time_median_s"] / both["time_median_s_ref"]
            winner_b = _winners(h[h["backend"] == b], groups)
            w = winner_b[groups + ["method"]].merge(winner_ref[groups + ["method"]], on=groups,
                                                    suffixes=("", "_ref"))
            out.append({"host_id": host, "backend": b, "reference": ref, "shared_cases": len(both),
                        "geomean_ratio": float(np.exp(np.log(ratio).mean())),
                        "min_ratio": float(ratio.min()), "max_ratio": float(ratio.max()),
                        "groups": len(w), "winner_changed": int((w["method"] != w["method_ref"]).sum())})
    return out


def _speedup_text(r) -> str:
    if not np.isfinite(r["speedup"]):
        return f"n/a ({_lit(SEED_METHOD)} not measured here)"
    if r["method"] == SEED_METHOD:
        return "1× (the trick itself)"
    text = f"{r['speedup']:.2f}×"
    if np.isfinite(r["ci_low"]) and np.isfinite(r["ci_high"]):
        text += f" ({r['ci_low']:.2f}–{r['ci_high']:.2f})"
    return text + (f", {r['verdict']}" if r["verdict"] else "")


def _memory_text(r) -> str:
    if r["method"] == SEED_METHOD or not np.isfinite(r["trick_peak_bytes"]):
        return f"{_mb(r['peak_bytes'])} ({r['peak_kind']})"
    saved = r["trick_peak_bytes"] - r["peak_bytes"]
    kinds = r["peak_kind"]
    verb = "saves" if saved >= 0 else "needs"
    share = f" ({abs(saved) / r['trick_peak_bytes']:.0%})" if r["trick_peak_bytes"] else ""
    return (f"{_mb(r['peak_bytes'])} vs {_mb(r['trick_peak_bytes'])} ({kinds}): {verb} "
            f"{_mb(abs(saved))}{share}" + ("" if saved >= 0 else " more"))


def _list_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines += [f"   {'*' if i == 0 else ' '} - {cell}" for i, cell in enumerate(row)]
    return lines + [""]


def to_rst(tables: dict[str, pd.DataFrame]) -> str:
    """The findings as reStructuredText (sections underlined '=' and '-'): the distance family's
    fastest methods and backend effects, then every family's case counts."""
    all_runs = tables["runs"]
    tables = {k: aggregate.family_view(v, "distances") for k, v in tables.items()}
    runs = tables["runs"]
    ok = ok_runs(runs)
    out = ["Key findings", "============", ""]
    hosts = sorted(all_runs["host_id"].astype(str).unique())
    out += [f"Written by ``numperf findings`` from this run's tables (runs.csv, speedup.csv) for "
            f"host{'s' if len(hosts) > 1 else ''} {', '.join(map(_lit, hosts)) or 'none'}. Speedups are "
            f"against the seed notebook's trick ({_lit(SEED_METHOD)}) on the same backend and thread "
            "count; memory is the peak above the pre-call baseline.", ""]
    if ok_runs(all_runs).empty:
        return "\n".join(out + ["No case has status ok yet, so nothing was found: see failures.csv.", ""])
    if not ok.empty:
        out += _distance_findings(tables, runs, ok)
    out += _case_counts(all_runs)
    return "\n".join(out)


def _distance_findings(tables: dict[str, pd.DataFrame], runs: pd.DataFrame, ok: pd.DataFrame) -> list[str]:
    out = []
    best = fastest(tables)
    many_hosts = best["host_id"].nunique() > 1
    many_backends = ok["backend"].nunique() > 1
    out += ["Fastest method per size and dtype", "---------------------------------", ""]
    header = (["host"] if many_hosts else []) + [
        "N × M × D", "dtype", "fastest (median time)", f"speedup over {_lit(SEED_METHOD)}",
        f"peak memory vs {_lit(SEED_METHOD)}"]
    rows = []
    for _, r in best.iterrows():
        where = _threads(r["threads"]) + (f", {_lit(r['backend'])}" if many_backends else "")
        rows.append(([_lit(r["host_id"])] if many_hosts else []) + [
            f"{r['n']} × {r['m']} × {r['d']}", r["dtype"],
            f"{_lit(r['method'])}, {where} ({_seconds(r['time_median_s'])})", _speedup_text(r),
            _memory_text(r)])
    out += _list_table(header, rows)
    wins = best["method"].value_counts()
    out += [f"* {_lit(wins.index[0])} is the fastest in {wins.iloc[0]} of the {len(best)} size/dtype "
            f"groups" + ("." if len(wins) == 1 else
                        "; " + ", ".join(f"{_lit(m)} in {c}" for m, c in wins.iloc[1:].items()) + ".")]
    largest = best.sort_values(["n", "m", "d"]).iloc[-1]
    big = ok[(ok["host_id"] == largest["host_id"]) & (ok["n"] == largest["n"]) & (ok["m"] == largest["m"])
             & (ok["d"] == largest["d"]) & (ok["dtype"] == largest["dtype"])]
    names = list(big["method"].unique())
    values, kind = _peaks(*(big[big["method"] == m] for m in names))
    peaks = dict(zip(names, values, strict=True))
    low = min(peaks, key=peaks.get)
    if SEED_METHOD in peaks and low != SEED_METHOD:
        out.append(f"* Least memory at the largest size ({largest['n']} × {largest['m']} × {largest['d']}, "
                   f"{largest['dtype']}): {_lit(low)} with {_mb(peaks[low])} against {_lit(SEED_METHOD)}'s "
                   f"{_mb(peaks[SEED_METHOD])} ({kind}).")
    out.append("")
    effects = backend_effects(runs)
    if effects:
        out += ["What the BLAS backends changed", "------------------------------", ""]
        for e in effects:
            if not e["shared_cases"]:
                out.append(f"* {_lit(e['backend'])} shares no case with {_lit(e['reference'])}.")
                continue
            faster = "faster" if e["geomean_ratio"] < 1 else "slower"
            out.append(f"* {_lit(e['backend'])} against {_lit(e['reference'])}"
                       + (f" on {_lit(e['host_id'])}" if many_hosts else "")
                       + f": time ratio {e['geomean_ratio']:.2f} (geometric mean over {e['shared_cases']} "
                       f"shared cases, {faster}; range {e['min_ratio']:.2f}–{e['max_ratio']:.2f}); "
                       f"the fastest method differs in {e['winner_changed']} of {e['groups']} "
                       "size/dtype/thread groups.")
        out.append("")
    return out


def _case_counts(runs: pd.DataFrame) -> list[str]:
    """How many cases ended how, in all and per family."""
    ok = ok_runs(runs)
    counts = runs["status"].value_counts()
    noisy = int(_as_bool(ok["noisy"]).sum()) if "noisy" in ok else 0
    out = ["Cases", "-----", "",
           f"{len(runs)} cases: " + ", ".join(f"{counts[s]} {s}" for s in counts.index)
           + f"; {noisy} of the ok ones flagged noisy (see failures.csv and each row's reason).", ""]
    if "family" in runs and runs["family"].nunique() > 1:
        for fam, rows in runs.groupby("family", sort=False):
            c = rows["status"].value_counts()
            out.append(f"* {_lit(fam)}: {len(rows)} cases, " + ", ".join(f"{c[s]} {s}" for s in c.index))
        out.append("")
    return out


def _as_bool(series: pd.Series) -> pd.Series:
    """A CSV boolean column (True/False, 'True'/'False', blanks) as bools."""
    return series.map(lambda v: str(v).strip().lower() in ("true", "1", "1.0")).astype(bool)


def load_tables(tables_dir: str | Path) -> dict[str, pd.DataFrame]:
    """runs.csv and speedup.csv from ``tables_dir``; a missing one is an error naming it."""
    tables_dir = Path(tables_dir)
    missing = [str(tables_dir / f"{t}.csv") for t in ("runs", "speedup")
               if not (tables_dir / f"{t}.csv").exists()]
    if missing:
        raise FileNotFoundError("table(s) missing (run `numperf aggregate` first): " + ", ".join(missing))
    return {t: pd.read_csv(tables_dir / f"{t}.csv") for t in ("runs", "speedup")}


def write(tables_dir: str | Path, out_rst: str | Path) -> str:
    """Write the findings of the tables in ``tables_dir`` as RST, atomically; return the text."""
    text = to_rst(load_tables(tables_dir))
    with record.atomic_write(out_rst) as fh:
        fh.write(text)
    return text

"""The distance family's key findings for the report's first page (``numperf findings``): per size
and dtype the fastest method with its speedup over the family's baseline (``speedup.csv``'s
``baseline_method``: the seed notebook's trick unless the config chose another) and the memory it
saves, and what the BLAS backends changed when several were run. Every number comes from the
tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from numperf import aggregate, measure
from numperf import tables as tbl
from numperf.units import format_seconds

#: The family's declared baseline (the seed notebook's trick), used when speedup.csv names none.
SEED_METHOD = "gemm_trick"
#: Below this, peak RSS cannot see allocations (they come from resident heap pages): use the model.
RSS_VISIBLE_BYTES = measure.RSS_VISIBLE_BYTES
#: Backend the others are compared with when several ran (the PyPI wheel), if present.
REFERENCE_BACKEND = "wheel"
SIZE = ["n", "m", "d"]


def _lit(name) -> str:
    """An RST inline literal (method, backend and host names contain underscores)."""
    return f"``{name}``"


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


def baseline(speed: pd.DataFrame) -> str:
    """The method this run's distance speedups divide by."""
    if "baseline_method" in speed and speed["baseline_method"].notna().any():
        return str(speed["baseline_method"].dropna().iloc[0])
    return SEED_METHOD


def fastest(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per host, size and dtype: the fastest (method, backend, threads), its speedup over the
    baseline at the same backend and thread count (interval and verdict when speedup.csv has them),
    and its peak memory against the baseline's (distance family rows only)."""
    ok = tbl.ok_rows(aggregate.family_view(tables["runs"], "distances"))
    speed = aggregate.family_view(tables.get("speedup", pd.DataFrame()), "distances")
    base = baseline(speed)
    keys = ["host_id", *SIZE, "dtype"]
    rows = []
    for key, g in ok.groupby(keys, sort=True):
        best = g.loc[g["time_median_s"].idxmin()]
        same = dict(zip(keys, key, strict=True)) | {"backend": best["backend"], "threads": best["threads"]}
        sel = speed if {*same, "method"} <= set(speed.columns) else pd.DataFrame(columns=["method"])
        for k, v in same.items():
            sel = sel[sel[k] == v] if k in sel else sel
        sel = sel[sel["method"] == best["method"]]
        row = {**dict(zip(keys, key, strict=True)), "method": best["method"], "backend": best["backend"],
               "threads": int(best["threads"]), "time_median_s": float(best["time_median_s"]),
               "baseline": base, "speedup": np.nan, "ci_low": np.nan, "ci_high": np.nan, "verdict": ""}
        if len(sel):
            s = sel.iloc[0]
            row.update(speedup=float(s["speedup_vs_baseline"]),
                       ci_low=float(s.get("speedup_ci_low", np.nan)),
                       ci_high=float(s.get("speedup_ci_high", np.nan)),
                       verdict=str(s.get("verdict", "") if pd.notna(s.get("verdict")) else ""))
        case = g[(g["backend"] == best["backend"])]
        mine, other = case[case["method"] == best["method"]], case[case["method"] == base]
        if len(other):
            (row["peak_bytes"], row["baseline_peak_bytes"]), row["peak_kind"] = _peaks(mine, other)
        else:
            ((row["peak_bytes"],), row["peak_kind"]), row["baseline_peak_bytes"] = _peaks(mine), np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _winners(rows: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """The fastest row of each group."""
    return rows.loc[rows.groupby(groups)["time_median_s"].idxmin()]


def backend_effects(runs: pd.DataFrame) -> list[dict]:
    """For each backend other than the reference: geometric-mean time ratio against the reference
    over the cases both measured, its range, and in how many (size, dtype, threads) groups the
    fastest method differs from the reference's (distance family rows only)."""
    ok = tbl.ok_rows(aggregate.family_view(runs, "distances"))
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
        return f"n/a ({_lit(r['baseline'])} not measured here)"
    if r["method"] == r["baseline"]:
        return "1× (the baseline itself)"
    text = f"{r['speedup']:.2f}×"
    if np.isfinite(r["ci_low"]) and np.isfinite(r["ci_high"]):
        text += f" ({r['ci_low']:.2f}–{r['ci_high']:.2f})"
    return text + (f", {r['verdict']}" if r["verdict"] else "")


def _memory_text(r) -> str:
    if r["method"] == r["baseline"] or not np.isfinite(r["baseline_peak_bytes"]):
        return f"{_mb(r['peak_bytes'])} ({r['peak_kind']})"
    saved = r["baseline_peak_bytes"] - r["peak_bytes"]
    verb = "saves" if saved >= 0 else "needs"
    share = f" ({abs(saved) / r['baseline_peak_bytes']:.0%})" if r["baseline_peak_bytes"] else ""
    return (f"{_mb(r['peak_bytes'])} vs {_mb(r['baseline_peak_bytes'])} ({r['peak_kind']}): {verb} "
            f"{_mb(abs(saved))}{share}" + ("" if saved >= 0 else " more"))


def list_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """An RST list-table."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines += [f"   {'*' if i == 0 else ' '} - {cell}" for i, cell in enumerate(row)]
    return lines + [""]


def section(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The distance family's findings as RST lines (sub-sections underlined '-'): the fastest method
    per size and dtype, the least memory, what the backends changed. Empty when nothing ran ok."""
    view = {k: aggregate.family_view(v, "distances") for k, v in tables.items()}
    ok = tbl.ok_rows(view["runs"])
    if ok.empty:
        return []
    best = fastest(view)
    base = best["baseline"].iloc[0]
    many_hosts = best["host_id"].nunique() > 1
    many_backends = ok["backend"].nunique() > 1
    out = ["Fastest distance method per size and dtype", "------------------------------------------", ""]
    out += [f"Speedups are against {_lit(base)} on the same backend and thread count; memory is the peak "
            "above the pre-call baseline." + _baseline_note(base, ok), ""]
    header = (["host"] if many_hosts else []) + [
        "N × M × D", "dtype", "fastest (median time)", f"speedup over {_lit(base)}",
        f"peak memory vs {_lit(base)}"]
    rows = []
    for _, r in best.iterrows():
        where = _threads(r["threads"]) + (f", {_lit(r['backend'])}" if many_backends else "")
        rows.append(([_lit(r["host_id"])] if many_hosts else []) + [
            f"{r['n']} × {r['m']} × {r['d']}", r["dtype"],
            f"{_lit(r['method'])}, {where} ({format_seconds(r['time_median_s'])})", _speedup_text(r),
            _memory_text(r)])
    out += list_table(header, rows)
    wins = best["method"].value_counts()
    out += [f"* {_lit(wins.index[0])} is the fastest in {wins.iloc[0]} of the {len(best)} size/dtype "
            f"groups" + ("." if len(wins) == 1 else
                        "; " + ", ".join(f"{_lit(m)} in {c}" for m, c in wins.iloc[1:].items()) + ".")]
    out += _least_memory(ok, best, base) + [""] + _backend_lines(view["runs"], many_hosts)
    return out


def _baseline_note(base: str, ok: pd.DataFrame) -> str:
    """Says so when the family's own baseline was not run and another method stands in."""
    if base == SEED_METHOD or SEED_METHOD in set(ok["method"]):
        return ""
    return (f" The family's baseline {_lit(SEED_METHOD)} was not run, so the first configured method, "
            f"{_lit(base)}, serves as the baseline.")


def _least_memory(ok: pd.DataFrame, best: pd.DataFrame, base: str) -> list[str]:
    largest = best.sort_values(SIZE).iloc[-1]
    big = ok[(ok["host_id"] == largest["host_id"]) & (ok["n"] == largest["n"]) & (ok["m"] == largest["m"])
             & (ok["d"] == largest["d"]) & (ok["dtype"] == largest["dtype"])]
    names = list(big["method"].unique())
    values, kind = _peaks(*(big[big["method"] == m] for m in names))
    peaks = dict(zip(names, values, strict=True))
    low = min(peaks, key=peaks.get)
    if base not in peaks or low == base:
        return []
    return [f"* Least memory at the largest size ({largest['n']} × {largest['m']} × {largest['d']}, "
            f"{largest['dtype']}): {_lit(low)} with {_mb(peaks[low])} against {_lit(base)}'s "
            f"{_mb(peaks[base])} ({kind})."]


def _backend_lines(runs: pd.DataFrame, many_hosts: bool) -> list[str]:
    effects = backend_effects(runs)
    if not effects:
        return []
    out = ["What the BLAS backends changed", "------------------------------", ""]
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
    return out + [""]

"""Compare two (host, backend) selections over the cases they share.

For every shared case (family, method, dtype, threads and the family's parameters, the
``p_<name>`` columns) the time ratio A/B gets an
interval from the spread between each side's processes (numperf.stats) and a verdict that
needs both a clear interval and a difference of at least ``min_effect``; a geometric mean
over the shared cases, with its own interval and verdict, summarizes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from numperf import aggregate, stats, tables
from numperf.units import format_seconds

#: Columns that identify a case besides its ``p_<name>`` parameters.
CASE = ["family", "method", "dtype", "threads"]


def _cases(results: Path) -> pd.DataFrame:
    """The ok cases of every host and backend under ``results`` (one row per case)."""
    procs, _ = aggregate.read_records(results)
    if procs.empty:
        return pd.DataFrame(columns=["host_id", "backend", *CASE])
    runs = aggregate.combine(procs)
    return tables.ok_rows(runs)


def resolve(cases: pd.DataFrame, selection: dict) -> tuple[str, str]:
    """(host_id, backend) of a selection; host_id may be omitted when only one host has the backend."""
    backend = selection["backend"]
    hosts = sorted(cases.loc[cases["backend"] == backend, "host_id"].unique()) if len(cases) else []
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


RESULT_COLUMNS = ["time_median_a_s", "time_median_b_s", "time_ratio_a_over_b", "ci_low", "ci_high",
                  "verdict", "n_processes_a", "n_processes_b", "noisy_a", "noisy_b",
                  "numpy_version_a", "numpy_version_b"]


def compare(results: str | Path, a: dict, b: dict, min_effect: float = stats.MIN_EFFECT,
            drift_log_sd: float | None = None, drift_source: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Per-case ratios A/B with intervals and verdicts, and a geometric-mean summary.

    Two sides measured in separate runs (another host, or this host another day) differ also by the
    machine's run-to-run drift: ``drift_log_sd`` (the per-run standard deviation of log time, as
    ``make stability`` measures it; None: the one stored under ``results``, if any) is added to every
    unpaired ratio's variance, and the summary states it.
    """
    if drift_log_sd is None:
        drift_log_sd, drift_source = measured_drift(Path(results))
    cases = _cases(Path(results))
    (ha, ba), (hb, bb) = resolve(cases, a), resolve(cases, b)
    if ha == hb:  # one run: its processes' spread already holds the drift within it
        drift_log_sd, drift_source = 0.0, "not applied: both sides come from one run"
    shared = _shared(cases, (ha, ba), (hb, bb))
    columns = CASE + aggregate.param_columns(cases) + RESULT_COLUMNS
    if shared.empty:
        table = pd.DataFrame(columns=columns)
    else:
        r = aggregate.ratio_columns(shared, "_a", "_b", min_effect, ("A faster", "B faster"),
                                    drift_log_sd=drift_log_sd or 0.0)
        shared["time_ratio_a_over_b"], shared["ci_low"], shared["ci_high"] = r["ratio"], r["ci_low"], \
            r["ci_high"]
        shared["verdict"] = r["verdict"]
        table = shared.rename(columns={"time_median_s_a": "time_median_a_s",
                                       "time_median_s_b": "time_median_b_s"})
        table = table.reindex(columns=columns).sort_values(CASE,
                                                           key=aggregate._sort_key).reset_index(drop=True)
    summary = {"a": f"{ha}/{ba}", "b": f"{hb}/{bb}", "shared_cases": len(table), "min_effect": min_effect,
               "confidence": stats.CONFIDENCE, "drift_log_sd": drift_log_sd or 0.0,
               "drift_source": drift_source or "none measured: intervals assume no drift between runs"}
    if len(table):
        geo, lo, hi = stats.geomean_interval(table["time_ratio_a_over_b"], table["ci_low"], table["ci_high"],
                                             extra_log_var=2 * (drift_log_sd or 0.0) ** 2)
        counts = table["verdict"].value_counts()
        faster = int(counts.get("A faster", 0) + counts.get("B faster", 0))
        summary.update(geomean_ratio_a_over_b=geo, geomean_ci=[lo, hi],
                       geomean_verdict=stats.verdict(geo, lo, hi, min_effect),
                       verdicts={v: int(counts.get(v, 0)) for v in stats.VERDICTS},
                       faster_fraction=faster / len(table),
                       median_resolvable_effect=float(np.nanmedian(
                           [stats.resolvable_effect(lo_, hi_) for lo_, hi_ in
                            zip(table["ci_low"], table["ci_high"], strict=True)])),
                       geomean_resolvable_effect=stats.resolvable_effect(lo, hi),
                       numpy_differs=bool((table["numpy_version_a"] != table["numpy_version_b"]).any()))
    return table, summary


def _shared(cases: pd.DataFrame, a: tuple[str, str], b: tuple[str, str]) -> pd.DataFrame:
    """The cases both (host, backend) selections measured ok, side by side (suffixes _a, _b)."""
    parts = []
    for _, rows, own in aggregate._by_family(cases):
        keys = CASE + own
        keep = keys + aggregate.TIMING + ["n_processes", "noisy", "numpy_version"]
        sa = rows[(rows["host_id"] == a[0]) & (rows["backend"] == a[1])][keep]
        sb = rows[(rows["host_id"] == b[0]) & (rows["backend"] == b[1])][keep]
        parts.append(sa.merge(sb, on=keys, suffixes=("_a", "_b")))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def shared_processes(results: str | Path, a: dict, b: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per shared case: the process medians of side A and of side B."""
    cases = _cases(Path(results))
    shared = _shared(cases, resolve(cases, a), resolve(cases, b))
    if shared.empty:
        return []
    pairs = zip(shared["time_process_medians_s_a"], shared["time_process_medians_s_b"], strict=True)
    return [(np.array(json.loads(x)), np.array(json.loads(y))) for x, y in pairs]


def measured_drift(results: Path) -> tuple[float, str | None]:
    """The run-to-run drift ``make stability`` measured (``stability/stability.json`` beside or under
    ``results``): (per-run log-time standard deviation, where it came from); (0, None) if none."""
    for path in (results / "stability" / "stability.json", results.parent / "stability" / "stability.json",
                 results / "stability.json"):
        if path.exists():
            try:
                drift = json.loads(path.read_text()).get("drift") or {}
            except ValueError:
                continue
            if drift.get("log_sd_per_run") is not None:
                return float(drift["log_sd_per_run"]), f"{path} (measured {drift.get('measured_utc', '?')})"
    return 0.0, None


def label(selection: dict) -> str:
    """A file-name-safe label for one side of a comparison."""
    return "@".join(filter(None, [selection["backend"], selection.get("host_id")]))


def _sig3(x: float) -> str:
    """3 significant digits, trailing zeros kept: 9.90, 0.0612, 123."""
    return f"{x:#.3g}".rstrip(".")


def format_ratio(ratio: float, low: float, high: float) -> str:
    """A ratio with its interval, 3 significant digits: ``0.982 [0.951, 1.01]`` (``n/a`` if unknown)."""
    if not math.isfinite(ratio):
        return "n/a"
    interval = f"[{_sig3(low)}, {_sig3(high)}]" if math.isfinite(low) and math.isfinite(high) \
        else "[no interval]"
    return f"{_sig3(ratio)} {interval}"


def _value(v) -> str:
    """A parameter value as typed (a CSV column shared with NaN turns 200 into 200.0)."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _case_label(row: pd.Series, params: list[str]) -> str:
    """family, method, the parameters it has, dtype and threads: ``distances blocked n=200 float64 t1``."""
    own = [f"{c[len(aggregate.PARAM_PREFIX):]}={_value(row[c])}" for c in params if pd.notna(row[c])]
    return " ".join([row["family"], row["method"], *own, row["dtype"], f"t{int(row['threads'])}"])


def table_text(table: pd.DataFrame) -> str:
    """The per-case comparison as aligned columns: case, time A, time B, A/B with its interval, verdict."""
    params = aggregate.param_columns(table)
    head = ["case", "time A", "time B", f"A/B [{stats.CONFIDENCE:.0%} interval]", "verdict"]
    rows = [[_case_label(r, params), format_seconds(r["time_median_a_s"]),
             format_seconds(r["time_median_b_s"]),
             format_ratio(r["time_ratio_a_over_b"], r["ci_low"], r["ci_high"]), r["verdict"]]
            for _, r in table.iterrows()]
    widths = [max(len(line[i]) for line in [head, *rows]) for i in range(len(head))]
    align = ["<", ">", ">", "<", "<"]
    return "\n".join("  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(line, align, widths, strict=True))
                     .rstrip() for line in [head, *rows])


def _selection_text(side: str) -> str:
    host, _, backend = side.partition("/")
    return f"backend {backend} on host {host}"


def summary_text(summary: dict) -> str:
    """The comparison's summary in sentences: the two selections, the shared cases, the geometric
    mean with its interval and verdict, the verdict counts and which way the ratio points."""
    lines = [f"A is {_selection_text(summary['a'])}; B is {_selection_text(summary['b'])}; "
             f"{summary['shared_cases']} shared case(s) with ok results on both sides."]
    if summary["shared_cases"]:
        geo = format_ratio(summary["geomean_ratio_a_over_b"], *summary["geomean_ci"])
        lines.append(f"Geometric mean of the ratios: {geo} ({summary['confidence']:.0%} interval): "
                     f"{summary['geomean_verdict']}.")
        counts = ", ".join(f"{v} {summary['verdicts'][v]}" for v in stats.VERDICTS)
        effect = f"{100 * summary['min_effect']:g}%"
        lines.append(f"Verdicts per case: {counts} ('faster' needs an interval clear of 1 and a difference "
                     f"above {effect}, 'equivalent' an interval within {effect}).")
        lines.append(f"Run-to-run drift added to each unpaired interval: {summary['drift_log_sd']:.1%} "
                     f"per run ({summary['drift_source']}).")
        if summary.get("numpy_differs"):
            lines.append("The two sides ran different NumPy versions for some cases (numpy_version_a/_b).")
    lines.append("ratio = time A / time B: below 1 means A is faster.")
    return "\n".join(lines)

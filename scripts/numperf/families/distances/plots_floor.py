"""The distance family's figures of the exact fast methods: distance to the machine's floor, speedup
over scikit-learn, and the accuracy of every method on every input distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from numperf import aggregate
from numperf.families.distances import inputs
from numperf.family import FigureDecl
from numperf.plotting import (
    CI_TEXT,
    LEGEND_W,
    NOISY_TEXT,
    PANEL_H,
    PANEL_W,
    dtype_order,
    empty_panel,
    fit_ticks,
    grid,
    message,
    method_color,
    method_handles,
    method_order,
    no_ok_rows,
    ok_runs,
    ref_handle,
    ref_line,
    section,
    threads_label,
)

# ---- the exact fast methods (issue 11): distance to the floor, speedup over scikit-learn, accuracy


#: Columns that identify a distance case apart from its method (in the family's view).
DISTANCE_KEYS = ["host_id", "backend", "n", "m", "d", "dtype", "threads", "inputs"]
#: Target lines of the floor figures (issue 11): within 2x of the floor, 3x faster than scikit-learn.
FLOOR_TARGET, SKLEARN_TARGET, SKLEARN_TARGET_MAX_D = 2.0, 3.0, 64
#: Relative-error target of the exact float32 methods, and where exact zeros are drawn on a log axis.
REL_ERROR_TARGET, EXACT_FLOOR = 1e-6, 1e-17


def _inputs_of(df: pd.DataFrame) -> pd.Series:
    """The input distribution of each row (results from before the inputs axis are uniform)."""
    return df["inputs"].fillna("uniform").astype(str) if "inputs" in df else pd.Series("uniform", df.index)


def _uniform_only(df: pd.DataFrame) -> pd.DataFrame:
    """Timing figures compare methods on the seed's uniform data when it was measured."""
    uniform = _inputs_of(df) == "uniform"
    return df[uniform] if uniform.any() else df


def _size_panels(df: pd.DataFrame) -> list[tuple[int, int]]:
    return sorted({(int(n), int(d)) for n, d in zip(df["n"], df["d"], strict=True)})


def _bar_panels(fig, df: pd.DataFrame, n_bars: int) -> list[tuple]:
    """A grid of bar panels, one per (N, D) row and dtype column, wide enough for ``n_bars`` bars:
    (axes, (n, d), dtype, rows) each."""
    sizes, dtypes = _size_panels(df), dtype_order(df)
    axes = grid(fig, len(sizes), len(dtypes))
    fig.set_size_inches(len(dtypes) * max(PANEL_W, 0.45 * n_bars + 1.0) + LEGEND_W,
                        len(sizes) * (PANEL_H + 0.5) + 1.3)
    return [(axes[i, j], (n, d), dtype, df[(df["n"] == n) & (df["d"] == d) & (df["dtype"] == dtype)])
            for i, (n, d) in enumerate(sizes) for j, dtype in enumerate(dtypes)]


def _method_bars(ax, sub: pd.DataFrame, meths: list[str], value: str, lo=None, hi=None, label=None) -> None:
    """Bars per method (x) and thread count (side by side, lighter = fewer threads), log y axis;
    ``label(value)`` is written at the foot of each bar."""
    threads = sorted(sub["threads"].unique())
    width = 0.8 / max(1, len(threads))
    for k, meth in enumerate(meths):
        for t_i, t in enumerate(threads):
            g = sub[(sub["method"] == meth) & (sub["threads"] == t)]
            if g.empty or not np.isfinite(g[value]).any():
                continue
            r = g.iloc[0]
            x = k - 0.4 + width * (t_i + 0.5)
            alpha = 0.45 + 0.55 * (t_i + 1) / len(threads)
            noisy = bool(r.get("noisy", False))
            ax.bar(x, r[value], width, color="white" if noisy else method_color(meth), alpha=alpha,
                   edgecolor=method_color(meth), hatch="///" if noisy else None, lw=1.0)
            if lo is not None and np.isfinite(r[lo]) and np.isfinite(r[hi]):
                ax.errorbar(x, r[value], yerr=[[max(0.0, r[value] - r[lo])], [max(0.0, r[hi] - r[value])]],
                            fmt="none", ecolor="0.2", elinewidth=0.9, capsize=2)
            if label is not None:  # at the foot of the bar, clear of the error bars
                ax.annotate(label(r[value]), (x, 0.02), xycoords=("data", "axes fraction"), ha="center",
                            va="bottom", fontsize=6.5, color="0.1", rotation=90)
    ax.set_xticks(range(len(meths)))
    ax.set_xticklabels(meths, fontsize=8, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(meths) - 0.4)
    ax.set_xlabel("method")
    ax.grid(True, axis="y", which="both", alpha=0.25)


def _thread_handles(threads) -> list:
    threads = sorted(threads)
    return [Patch(fc="0.3", alpha=0.45 + 0.55 * (i + 1) / len(threads), label=threads_label(t))
            for i, t in enumerate(threads)]


def draw_floor_fraction(tables, fig):
    """roofline_fraction of every method as bars, one panel per (N, D) and dtype."""
    if msg := no_ok_rows(tables):
        message(fig, msg)
        return None, None
    rf = _uniform_only(ok_runs(tables)).dropna(subset=["roofline_fraction"])
    if rf.empty:
        message(fig, "No roofline fractions: the results have no calibration (<results>/<host>/<backend>/"
                      "calibration/t<threads>.json) for the measured thread counts.")
        return None, None
    meths = method_order(rf["method"])
    for ax, (n, d), dtype, sub in _bar_panels(fig, rf, len(meths)):
        sub = sub.groupby(["method", "threads"], as_index=False).agg(
            roofline_fraction=("roofline_fraction", "max"), noisy=("noisy", "any"))
        _method_bars(ax, sub, meths, "roofline_fraction", label=lambda v: f"{1 / v:.1f}×")
        ax.set_yscale("log")
        fit_ticks(ax, "y")
        ref_line(ax, 1.0, "floor")
        ax.axhline(1 / FLOOR_TARGET, color="0.3", lw=1.0, ls="--")
        ax.set_title(f"N=M={n}, D={d} · {dtype}", fontsize=10)
        ax.set_ylabel("floor / median time")
        if sub.empty:
            empty_panel(ax, "no calibrated rows here")
    handles = [section("bar shade"), *_thread_handles(rf["threads"].unique()),
               ref_handle("1 = at the floor"),
               Line2D([], [], color="0.3", lw=1.0, ls="--",
                      label=f"target: within {FLOOR_TARGET:g}× the floor")]
    if rf["noisy"].any():
        handles.append(Patch(fc="white", ec="0.3", hatch="///",
                             label=NOISY_TEXT.replace("hollow", "hatched")))
    return handles, rf


def sklearn_speedups(runs: pd.DataFrame) -> pd.DataFrame:
    """Per ok case: scikit-learn's time / the method's time in the same run, host, backend, size,
    dtype, threads and inputs, with the between-process interval (``aggregate.ratio_columns``)."""
    ok = runs[runs["status"] == "ok"]
    keys = [k for k in DISTANCE_KEYS if k in ok]
    if "time_process_medians_s" not in ok or not (ok["method"] == "sklearn").any():
        return pd.DataFrame(columns=[*keys, "method", "speedup", "ci_low", "ci_high"])
    cols = [*keys, "method", *[c for c in aggregate.TIMING[1:] if c in ok]]
    both = ok[cols].merge(ok[ok["method"] == "sklearn"][cols], on=keys, suffixes=("", "_sklearn"))
    both = both[both["method_sklearn"] != both["method"]] if "method_sklearn" in both else both
    r = aggregate.ratio_columns(both, "_sklearn", "", aggregate.stats.MIN_EFFECT, ("slower", "faster"))
    return both.assign(speedup=r["ratio"], ci_low=r["ci_low"], ci_high=r["ci_high"])


def draw_sklearn_speedup(tables, fig):
    """Bars of sklearn time / method time, one panel per (N, D) and dtype."""
    if msg := no_ok_rows(tables):
        message(fig, msg)
        return None, None
    runs = tables["runs"]
    sp = _uniform_only(sklearn_speedups(runs))
    if sp.empty:
        message(fig, "No speedups over scikit-learn: these results have no ok 'sklearn' rows to compare "
                      "with (add sklearn to the config's methods, and install scikit-learn).")
        return None, None
    meths = method_order(sp["method"])
    for ax, (n, d), dtype, sub in _bar_panels(fig, sp, len(meths)):
        _method_bars(ax, sub, meths, "speedup", "ci_low", "ci_high", label=lambda v: f"{v:.1f}×")
        ax.set_yscale("log")
        fit_ticks(ax, "y")
        ref_line(ax, 1.0)  # named in the legend: a label on the line can run into the bars' own
        if d <= SKLEARN_TARGET_MAX_D:
            ax.axhline(SKLEARN_TARGET, color="0.3", lw=1.0, ls="--")
        ax.set_title(f"N=M={n}, D={d} · {dtype}", fontsize=10)
        ax.set_ylabel("sklearn time / method time (×)")
    handles = [section("bar shade"), *_thread_handles(sp["threads"].unique()),
               ref_handle("1 = as fast as scikit-learn"),
               Line2D([], [], color="0.3", lw=1.0, ls="--", label=f"target: {SKLEARN_TARGET:g}× (D ≤ "
                      f"{SKLEARN_TARGET_MAX_D})"),
               Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT)]
    shown = runs[runs["status"] == "ok"]
    return handles, _uniform_only(shown[shown["method"].isin(meths + ["sklearn"])])


def draw_accuracy_inputs(tables, fig):
    """max_rel_error per method (colour) against the input distribution (x), one panel per dtype."""
    runs = tables["runs"]
    acc = runs[runs["status"].isin(["ok", "invalid"])].dropna(subset=["max_rel_error"]).copy()
    if acc.empty:
        message(fig, "No accuracy measurements: no case in runs.csv has status ok (or invalid) with a "
                      "max relative error, so there is nothing to plot.")
        return None, None
    acc["inputs"] = _inputs_of(acc)
    acc["inaccurate"] = acc["reason"].astype(str).str.contains("inaccurate:", regex=False)
    known = list(inputs.DISTRIBUTIONS)
    dists = [k for k in known if k in set(acc["inputs"])] + sorted(set(acc["inputs"]) - set(known))
    xpos = {k: i for i, k in enumerate(dists)}
    dtypes = dtype_order(acc)
    axes = grid(fig, 1, len(dtypes))
    fig.set_size_inches(len(dtypes) * max(PANEL_W, 1.6 * len(dists) + 1.5) + LEGEND_W + 0.6, PANEL_H + 2.0)
    meths = method_order(acc["method"])
    worst = acc.groupby(["dtype", "method", "inputs"], as_index=False).agg(
        err=("max_rel_error", "max"), bad=("inaccurate", "any"))
    for j, dtype in enumerate(dtypes):
        ax = axes[0, j]
        sub = worst[worst["dtype"] == dtype]
        for k, meth in enumerate(meths):
            g = sub[sub["method"] == meth].sort_values("inputs", key=lambda s: s.map(xpos))
            if g.empty:
                continue
            x = g["inputs"].map(xpos).to_numpy(float) + (k - (len(meths) - 1) / 2) * 0.04
            y = np.maximum(g["err"].to_numpy(float), EXACT_FLOOR)
            color = method_color(meth)
            ax.plot(x, y, color=color, lw=1.2, alpha=0.8)
            bad = g["bad"].to_numpy(bool)
            ax.plot(x[~bad], y[~bad], ls="none", marker="o", ms=5, color=color)
            ax.plot(x[bad], y[bad], ls="none", marker="X", ms=8, color=color, mec="0.1", mew=0.6)
        ax.set_yscale("log")
        fit_ticks(ax, "y")
        eps = float(np.finfo(dtype).eps) if dtype in ("float32", "float64") else None
        if eps:
            ref_line(ax, eps, f"{dtype} machine epsilon")
        if dtype == "float32":
            ax.axhline(REL_ERROR_TARGET, color="0.3", lw=1.0, ls="--")
        ax.set_xticks(range(len(dists)))
        ax.set_xticklabels(dists)
        ax.set_xlim(-0.5, len(dists) - 0.5)
        ax.set_xlabel("input distribution (numperf.inputs)")
        ax.set_ylabel("max relative error (worst over sizes, threads)")
        ax.set_title(dtype, fontsize=10)
        ax.grid(True, axis="y", which="major", alpha=0.3)
    handles = [section("method"), *method_handles(meths), section("marker"),
               Line2D([], [], color="0.3", marker="o", ls="none", label="within the bound (ok)"),
               Line2D([], [], color="0.3", marker="X", ls="none", ms=8, label="bound exceeded (invalid)"),
               ref_handle("machine epsilon"),
               Line2D([], [], color="0.3", lw=1.0, ls="--", label=f"float32 target {REL_ERROR_TARGET:g}"),
               section(f"errors of 0 drawn at {EXACT_FLOOR:g}")]
    return handles, acc


FIGURES = [
    FigureDecl("floor_fraction", "Distance to the machine's floor, per method",
        "Roofline floor / median time per method (uniform inputs; bars per BLAS thread count, one panel "
        "per size and dtype; the label is time / floor): 1 = at the floor of the host's best GEMM and "
        "write bandwidth, the dashed line is the target, within 2× the floor.",
        draw_floor_fraction, topic="Floor"),
    FigureDecl("sklearn_speedup", "Speedup over scikit-learn, same run and threads",
        "scikit-learn's euclidean_distances time / each method's time on the same case (uniform inputs, "
        "error bars: 95% interval between processes): above 1 = faster than scikit-learn; the dashed line "
        "is the 3× target for D ≤ 64.",
        draw_sklearn_speedup, topic="Floor"),
    FigureDecl("accuracy_inputs", "Accuracy of every method on every input distribution",
        "Max relative error against the long-double difference-first reference per method and input "
        "distribution (worst over sizes and threads; × = the case exceeded its rounding-error bound and "
        "is invalid; exact zeros drawn at the bottom): flat lines are methods the data cannot fool.",
        draw_accuracy_inputs, topic="Floor"),
]

"""The distance family's figures: time, thread scaling, memory against the model, float32 against
float64, and the fraction of the machine's floor, each against N per method."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from numperf.family import FigureDecl
from numperf.plotting import (
    CI_TEXT,
    MB,
    REF,
    dtype_order,
    empty_panel,
    fit_ticks,
    grid,
    host_backends,
    log_axes,
    message,
    method_color,
    method_handles,
    method_order,
    no_ok_rows,
    noisy_handle,
    ok_runs,
    ref_handle,
    ref_line,
    section,
    series,
    setup_label,
    style_handles,
    style_map,
    threads_label,
    value_ticks,
    with_noisy,
)


def draw_time_vs_n(tables, fig):
    """Time against N per method, one panel per dtype (columns) and host/backend (rows)."""
    if msg := no_ok_rows(tables):
        message(fig, msg)
        return None, None
    ok = ok_runs(tables).dropna(subset=["time_median_s"])
    setups, dtypes = host_backends(ok), dtype_order(ok)
    many_d = ok["d"].nunique() > 1
    ok["style"] = [(int(t), int(d)) for t, d in zip(ok["threads"], ok["d"], strict=True)]
    styles = style_map(sorted(ok["style"].unique()))
    axes = grid(fig, len(setups), len(dtypes))
    for i, setup in enumerate(setups):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = ok[(ok["host_id"] == setup[0]) & (ok["backend"] == setup[1]) & (ok["dtype"] == dtype)]
            for (meth, style), g in sub.groupby(["method", "style"], sort=False):
                series(ax, g["n"], g["time_median_s"], color=method_color(meth), ls=styles[style],
                        noisy=g["noisy"], ci=(g["time_ci_low_s"], g["time_ci_high_s"]))
            log_axes(ax)
            value_ticks(ax, sub["n"])
            ax.set_title(" · ".join(filter(None, [setup_label(setup, len(setups) > 1), dtype])), fontsize=10)
            ax.set_xlabel("N (rows of x and y)")
            ax.set_ylabel("median time per call (s)")
            if sub.empty:
                empty_panel(ax, f"no ok rows for {dtype} here")
    fmt = (lambda s: f"{threads_label(s[0])}, D={s[1]}") if many_d else (lambda s: threads_label(s[0]))
    handles = [section("method"), *method_handles(method_order(ok["method"])), section("line style"),
               *style_handles(styles, fmt)]
    handles += [Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT)]
    if ok["noisy"].any():
        handles.append(noisy_handle())
    return handles, ok


def draw_thread_scaling(tables, fig):
    """Speedup and efficiency against threads, per method (colour) and N (line style)."""
    if msg := no_ok_rows(tables):
        message(fig, msg)
        return None, None
    runs = ok_runs(tables)
    sc = tables["scaling"].dropna(subset=["speedup"])
    if sc.empty or sc["threads"].nunique() < 2:
        counts = sorted(runs["threads"].unique())
        message(fig, "Thread scaling needs the same case measured at 1 and at more BLAS threads; these "
                      f"results have thread count(s) {', '.join(map(str, counts))} only.")
        return None, runs
    keys = ["host_id", "backend", "method", "n", "m", "d", "dtype", "inputs"]
    sc = with_noisy(sc, runs, keys + ["threads"])
    sc = with_noisy(sc, runs, keys, fixed={"threads": 1}, col="noisy1")
    sc["noisy"] = sc["noisy"] | sc["noisy1"]
    setups, dtypes = host_backends(sc), dtype_order(sc)
    sizes = sorted({(int(n), int(d)) for n, d in zip(sc["n"], sc["d"], strict=True)}, reverse=True)
    styles = style_map(sizes)
    tmax = int(sc["threads"].max())
    axes = grid(fig, 2 * len(setups), len(dtypes))
    for i, setup in enumerate(setups):
        for j, dtype in enumerate(dtypes):
            top, bottom = axes[2 * i, j], axes[2 * i + 1, j]
            sub = sc[(sc["host_id"] == setup[0]) & (sc["backend"] == setup[1]) & (sc["dtype"] == dtype)]
            for (meth, n, d), g in sub.groupby(["method", "n", "d"], sort=False):
                kw = {"color": method_color(meth), "ls": styles[(int(n), int(d))], "noisy": g["noisy"]}
                series(top, g["threads"], g["speedup"], ci=(g["speedup_ci_low"], g["speedup_ci_high"]), **kw)
                series(bottom, g["threads"], g["parallel_efficiency"], **kw)
            ts = sorted(sub["threads"].unique()) or [1, tmax]
            top.plot([1, max(ts)], [1, max(ts)], **REF)
            ref_line(bottom, 1.0, "ideal")
            label = " · ".join(filter(None, [setup_label(setup, len(setups) > 1), dtype]))
            for ax, ylab in ((top, "speedup over 1 thread (×)"),
                             (bottom, "parallel efficiency (speedup / threads)")):
                fit_ticks(ax, "x", ts)
                ax.set_xlabel("BLAS threads")
                ax.set_ylabel(ylab)
                ax.set_title(label, fontsize=10)
                ax.grid(True, alpha=0.35)
                if sub.empty:
                    empty_panel(ax, f"no thread-scaling rows for {dtype} here")
            bottom.set_ylim(0, max(1.15, float(np.nanmax(sub["parallel_efficiency"], initial=0)) * 1.1))
            top.set_ylim(0, max(tmax, float(np.nanmax(sub["speedup"], initial=0))) * 1.1)
    many_d = len({d for _, d in sizes}) > 1
    handles = [section("method"), *method_handles(method_order(sc["method"])), section("line style"),
               *style_handles(styles, lambda s: f"N={s[0]}" + (f", D={s[1]}" if many_d else "")),
               ref_handle("ideal (speedup = threads)"),
               Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT)]
    if sc["noisy"].any():
        handles.append(noisy_handle())
    return handles, runs


def draw_memory_vs_n(tables, fig):
    """Peak RSS (markers, one per run) and the model (line) against N, per dtype and host/backend.

    ``noisy`` flags doubtful *timings* (CV, load), so memory markers are not drawn hollow.
    """
    if msg := no_ok_rows(tables):
        message(fig, msg)
        return None, None
    ok = ok_runs(tables)
    setups, dtypes = host_backends(ok), dtype_order(ok)
    axes = grid(fig, len(setups), len(dtypes))
    dropped = 0
    for i, setup in enumerate(setups):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = ok[(ok["host_id"] == setup[0]) & (ok["backend"] == setup[1]) & (ok["dtype"] == dtype)]
            for meth, g in sub.groupby("method", sort=False):
                color = method_color(meth)
                model = g.groupby(["n", "d"], as_index=False)["model_peak_bytes"].first()
                for _, gm in model.groupby("d"):
                    series(ax, gm["n"], gm["model_peak_bytes"] / MB, color=color, marker="", lw=1.3)
                rss = g["peak_rss_bytes"].astype(float)
                dropped += int((~(rss > 0)).sum())
                good = rss > 0
                ax.plot(g["n"][good], rss[good] / MB, ls="none", marker="o", ms=5, mfc=color, mec="white",
                        mew=0.6, alpha=0.85)
            log_axes(ax)
            value_ticks(ax, sub["n"])
            ax.set_title(" · ".join(filter(None, [setup_label(setup, len(setups) > 1), dtype])), fontsize=10)
            ax.set_xlabel("N (rows of x and y)")
            ax.set_ylabel("peak memory above baseline (MB)")
            if sub.empty:
                empty_panel(ax, f"no ok rows for {dtype} here")
    handles = [section("method"), *[Line2D([], [], color=method_color(m), lw=1.6, label=m)
                                     for m in method_order(ok["method"])],
               section("kind"), Line2D([], [], color="0.3", lw=1.3, label="modelled peak (line)"),
               Line2D([], [], color="0.3", marker="o", ls="none", label="measured peak RSS (marker;\n"
                      "one per run, all thread counts)")]
    if dropped:
        handles.append(section(f"{dropped} run(s) with no RSS growth\nnot shown (log axis)"))
    return handles, ok


def draw_precision(tables, fig):
    """Time ratio (per thread count) and max relative error (max over thread counts) against N."""
    if msg := no_ok_rows(tables):
        message(fig, msg)
        return None, None
    runs = ok_runs(tables)
    dt = tables["dtype"].dropna(subset=["float64_over_float32_time"])
    if dt.empty:
        message(fig, "The precision figure needs the same case measured in float32 and float64; these "
                      f"results hold {', '.join(dtype_order(runs))} only.")
        return None, runs
    keys = ["host_id", "backend", "method", "n", "m", "d", "threads", "inputs"]
    dt = with_noisy(dt, runs, keys, {"dtype": "float32"}, "n32")
    dt = with_noisy(dt, runs, keys, {"dtype": "float64"}, "n64")
    dt["noisy"] = dt["n32"] | dt["n64"]
    setups = host_backends(dt)
    styles = style_map(sorted(dt["threads"].unique()))
    dstyles = {"float32": "-", "float64": "--"}
    axes = grid(fig, len(setups), 2)
    for i, setup in enumerate(setups):
        left, right = axes[i]
        sub = dt[(dt["host_id"] == setup[0]) & (dt["backend"] == setup[1])]
        for (meth, t), g in sub.groupby(["method", "threads"], sort=False):
            series(left, g["n"], g["float64_over_float32_time"], color=method_color(meth), ls=styles[t],
                    noisy=g["noisy"], ci=(g["ci_low"], g["ci_high"]))
        ref_line(left, 1.0, "same speed")
        ref_line(left, 2.0, "float32 twice as fast")
        log_axes(left, y=False)
        value_ticks(left, sub["n"])
        left.set_ylim(0, max(2.4, float(np.nanmax(sub["float64_over_float32_time"], initial=0)) * 1.1))
        left.set_ylabel("float64 time / float32 time (×)")
        err = runs[(runs["host_id"] == setup[0]) & (runs["backend"] == setup[1])]
        err = err.groupby(["method", "dtype", "n"], as_index=False)["max_rel_error"].max()
        for (meth, dtype), g in err.groupby(["method", "dtype"], sort=False):
            series(right, g["n"], g["max_rel_error"], color=method_color(meth), ls=dstyles.get(dtype, ":"),
                    marker="s" if dtype == "float64" else "o")
        for dtype in dstyles:
            ref_line(right, float(np.finfo(dtype).eps), f"{dtype} machine epsilon")
        log_axes(right)
        value_ticks(right, err["n"])
        right.set_ylabel("max relative error (worst over threads)")
        prefix = setup_label(setup, len(setups) > 1)
        left.set_title(" · ".join(filter(None, [prefix, "time ratio"])), fontsize=10)
        right.set_title(" · ".join(filter(None, [prefix, "max relative error"])), fontsize=10)
        for ax in (left, right):
            ax.set_xlabel("N (rows of x and y)")
    handles = [section("method"), *method_handles(method_order(dt["method"])),
               section("left: line style"), *style_handles(styles, threads_label),
               ref_handle("reference (labelled in panel)"),
               Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT),
               section("right: line style"),
               *[Line2D([], [], color="0.2", ls=ls, marker="o" if d == "float32" else "s", label=d)
                 for d, ls in dstyles.items()]]
    if dt["noisy"].any():
        handles.append(noisy_handle())
    return handles, runs


def draw_roofline(tables, fig):
    """roofline_fraction against N per method; the floor comes from this host's own calibration."""
    if msg := no_ok_rows(tables):
        message(fig, msg)
        return None, None
    ok = ok_runs(tables)
    rf = ok.dropna(subset=["roofline_fraction"])
    if rf.empty:
        message(fig, "No roofline fractions: the results have no calibration (<results>/<host>/<backend>/"
                      "calibration/t<threads>.json) for the measured thread counts.")
        return None, ok
    setups, dtypes = host_backends(rf), dtype_order(rf)
    styles = style_map(sorted(rf["threads"].unique()))
    axes = grid(fig, len(setups), len(dtypes))
    for i, setup in enumerate(setups):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = rf[(rf["host_id"] == setup[0]) & (rf["backend"] == setup[1]) & (rf["dtype"] == dtype)]
            for (meth, t), g in sub.groupby(["method", "threads"], sort=False):
                series(ax, g["n"], g["roofline_fraction"], color=method_color(meth), ls=styles[t],
                        noisy=g["noisy"])
            ref_line(ax, 1.0, "machine floor")
            log_axes(ax)
            value_ticks(ax, sub["n"])
            ax.set_title(" · ".join(filter(None, [setup_label(setup, len(setups) > 1), dtype])), fontsize=10)
            ax.set_xlabel("N (rows of x and y)")
            ax.set_ylabel("roofline floor / median time (fraction)")
            if sub.empty:
                empty_panel(ax, f"no calibrated rows for {dtype} here")
    handles = [section("method"), *method_handles(method_order(rf["method"])), section("line style"),
               *style_handles(styles, threads_label),
               ref_handle("1.0 = at the machine's floor")]
    if rf["noisy"].any():
        handles.append(noisy_handle())
    missing = len(ok) - len(rf)
    if missing:
        handles.append(section(f"{missing} ok run(s) without calibration\nnot shown"))
    return handles, rf


FIGURES = [
    FigureDecl("time_vs_n", "Median time per call against problem size",
        "Median wall time per call against N (log-log, error bars: 95% interval between processes, one "
        "colour per method, one line style per BLAS thread count): lower is better, slope 2 = time ∝ N·M.",
        draw_time_vs_n, topic="Speed"),
    FigureDecl("thread_scaling", "Speedup and parallel efficiency against BLAS threads",
        "Speedup over 1 BLAS thread (upper panels) and parallel efficiency = speedup / threads (lower "
        "panels) per method and N: points on the pale ideal line scale perfectly, below 1 threads hurt.",
        draw_thread_scaling, topic="Threads"),
    FigureDecl("memory_vs_n", "Measured peak memory against the memory model",
        "Measured peak RSS above the baseline (markers) against the registry's modelled peak (lines) per "
        "method, log-log in MB: markers on their line confirm the model, markers well above it show "
        "memory the model misses.",
        draw_memory_vs_n, topic="Memory"),
    FigureDecl("precision", "float32 against float64: time and accuracy",
        "Left: float64 time / float32 time per method (above 1 = float32 is faster, 2 = the halved bytes "
        "fully pay off); right: max relative error per dtype against each dtype's machine epsilon.",
        draw_precision, topic="Precision"),
    FigureDecl("roofline", "Fraction of the machine's own floor reached",
        "Roofline floor / measured time per method against N (1.0 = as fast as one GEMM at the calibrated "
        "peak or writing the output at measured bandwidth, whichever is slower): higher is better.",
        draw_roofline, topic="Roofline"),
]

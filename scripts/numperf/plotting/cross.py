"""The figures that compare hosts and backends, for any family: each case is identified by its
family, method, dtype, threads and the family's own parameters (the ``p_<name>`` columns), so
nothing here knows what a family measures."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from numperf import aggregate, family
from numperf.plotting.panels import (
    empty_panel,
    grid,
    log_axes,
    message,
    no_ok_rows,
    ok_runs,
    series,
    value_ticks,
)
from numperf.plotting.registry import register
from numperf.plotting.style import (
    BACKEND_COLORS,
    CI_TEXT,
    LEGEND_W,
    NOISY_TEXT,
    PANEL_H,
    PANEL_W,
    dtype_order,
    method_color,
    method_handles,
    method_order,
    noisy_handle,
    ref_handle,
    ref_line,
    section,
    style_handles,
    style_map,
    threads_label,
)
from numperf.plotting.ticks import fit_ticks


def _value(v):
    """A parameter value as printed in a label (whole floats without '.0')."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def with_case_labels(ok: pd.DataFrame) -> pd.DataFrame:
    """``ok`` with ``item`` (the method, prefixed by its family when several are present), ``size``
    (the family's parameters that vary in these rows, as text) and ``size_key`` (their values, to
    sort by), and ``x`` (the family's first numeric parameter, when it varies; NaN otherwise)."""
    parts = []
    many = ok["family"].nunique() > 1
    for name, rows in ok.groupby("family", sort=False):
        fam = family.registry().get(str(name))
        params = [c for c in aggregate.param_columns(rows) if rows[c].notna().any()]
        varying = [c for c in params if rows[c].nunique() > 1]
        numeric = [f"p_{p.name}" for p in (fam.params if fam else ()) if p.kind in ("int", "float")]
        xcol = next((c for c in numeric if c in varying), None)
        rows = rows.assign(
            item=(f"{name}: " if many else "") + rows["method"].astype(str),
            size=[" ".join(f"{c[2:]}={_value(v)}" for c, v in zip(varying, vals, strict=True))
                  for vals in rows[varying].itertuples(index=False)] if varying else "",
            size_key=[tuple((0, v) if isinstance(v, int | float) else (1, str(v))
                            for v in vals)
                      for vals in rows[varying].itertuples(index=False)] if varying else [()] * len(rows),
            x=rows[xcol].astype(float) if xcol else np.nan,
            x_name=xcol[2:] if xcol else "")
        parts.append(rows)
    return pd.concat(parts) if parts else ok.assign(item=[], size=[], size_key=[], x=[], x_name=[])


def _reference_size(g: pd.DataFrame, group: str):
    """The size measured by the most ``group`` values (the largest such): the fairest common case."""
    counts = g.groupby("size_key")[group].nunique()
    return max(counts.index[counts == counts.max()])


@register("backends", "BLAS backends compared",
          "Median time of each method on each BLAS backend at the largest size every backend measured, per "
          "dtype and thread count (log scale): shorter bars are faster, and the method ranking can change "
          "between backends.")
def draw_backends(tables, fig):
    """Grouped bars: methods on the x axis, one bar per backend; rows host x threads, columns dtype."""
    if msg := no_ok_rows(tables):
        message(fig, msg)
        return None, None
    ok = with_case_labels(ok_runs(tables).dropna(subset=["time_median_s"]))
    spread = ok.groupby("item")["backend"].nunique()
    if (spread >= 2).any():  # methods measured on one backend only have nothing to compare
        ok = ok[ok["item"].isin(spread[spread >= 2].index)]
    backends = sorted(ok["backend"].astype(str).unique())
    if len(backends) < 2:
        message(fig, f"Only one backend in these results ({backends[0]}): run the sweep with more "
                      "entries under 'backends' in the config to compare BLAS libraries.")
        return None, ok
    colors = {b: BACKEND_COLORS[i % len(BACKEND_COLORS)] for i, b in enumerate(backends)}
    hosts, dtypes, threads = sorted(ok["host_id"].unique()), dtype_order(ok), sorted(ok["threads"].unique())
    rows = [(h, t) for h in hosts for t in threads]
    axes = grid(fig, len(rows), len(dtypes))
    panel_w = max(PANEL_W, 0.35 * len(backends) * ok["item"].nunique() + 1.2)
    fig.set_size_inches(len(dtypes) * panel_w + LEGEND_W, len(rows) * (PANEL_H + 0.4) + 1.3)
    width = 0.8 / len(backends)
    for i, (host, t) in enumerate(rows):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = ok[(ok["host_id"] == host) & (ok["threads"] == t) & (ok["dtype"] == dtype)]
            meths = _item_order(sub)
            sizes, lowest, missing = [], np.inf, []
            for k, meth in enumerate(meths):
                g = sub[sub["item"] == meth]
                key = _reference_size(g, "backend")
                g = g[g["size_key"] == key]
                sizes.append(g["size"].iloc[0])
                g = g.groupby("backend").agg(
                    time=("time_median_s", "median"), low=("time_ci_low_s", "min"),
                    high=("time_ci_high_s", "max"), noisy=("noisy", "any"))
                for b_i, b in enumerate(backends):
                    x = k - 0.4 + width * (b_i + 0.5)
                    if b not in g.index:
                        missing.append(x)
                        continue
                    r = g.loc[b]
                    lowest = min(lowest, r["low"] if np.isfinite(r["low"]) else r["time"])
                    ax.bar(x, r["time"], width, color="white" if r["noisy"] else colors[b],
                           edgecolor=colors[b], hatch="///" if r["noisy"] else None, lw=1.0)
                    if np.isfinite(r["low"]) and np.isfinite(r["high"]):
                        err = [[max(0.0, r["time"] - r["low"])], [max(0.0, r["high"] - r["time"])]]
                        ax.errorbar(x, r["time"], yerr=err, fmt="none", ecolor="0.25", elinewidth=0.8,
                                    capsize=2)
            ax.set_yscale("log")
            fit_ticks(ax, "y")
            if np.isfinite(lowest):
                ax.set_ylim(bottom=max(lowest, 1e-12) / 3)
            for x in missing:
                ax.text(x, 0.02, "not run", rotation=90, fontsize=6.5, color="0.4", ha="center", va="bottom",
                        transform=ax.get_xaxis_transform())
            same = len(set(sizes)) == 1
            ax.set_xticks(range(len(meths)))
            ax.set_xticklabels(meths if same else [f"{m} ({s})" for m, s in zip(meths, sizes, strict=True)],
                               fontsize=8, rotation=30, ha="right", rotation_mode="anchor")
            ax.grid(True, axis="y", which="both", alpha=0.25)
            ax.set_xlabel("method" + (f" (all at {sizes[0]})" if same and sizes and sizes[0]
                                      else "" if same else " (at the size shown)"))
            ax.set_ylabel("median time per call (s)")
            title = f"{dtype} · {threads_label(t)}"
            ax.set_title(f"{host} · {title}" if len(hosts) > 1 else title, fontsize=10)
            if sub.empty:
                empty_panel(ax, "no ok rows here")
    handles = [section("backend"), *[Patch(fc=colors[b], ec=colors[b], label=b) for b in backends],
               Line2D([], [], color="0.25", marker="|", ls="none", ms=8, label=CI_TEXT)]
    if ok["noisy"].any():
        handles.append(Patch(fc="white", ec="0.3", hatch="///",
                             label=NOISY_TEXT.replace("hollow", "hatched")))
    return handles, ok


@register("hosts", "Hosts compared",
          "Time on each host divided by the reference host's time for the identical case (same backend, "
          "family, method, parameters, dtype, threads), with its 95% interval: above 1 = slower.")
def draw_hosts(tables, fig):
    """Host-vs-host time ratio per method against the family's first varying numeric parameter (else per
    case); the reference host is the one with most ok rows."""
    if msg := no_ok_rows(tables):
        message(fig, msg)
        return None, None
    ok = ok_runs(tables).dropna(subset=["time_median_s"])
    counts = ok.groupby("host_id").size()
    if len(counts) < 2:
        r = ok.iloc[0]
        cores = f"{int(r['cores_logical'])} logical cores" if pd.notna(r["cores_logical"]) else "cores ?"
        message(fig, f"Only one host in these results ({r['host_id']}: {r['cpu_model']}, "
                      f"{cores}): copy another host's results/<host_id>/ "
                      "folder next to this one and re-aggregate to compare machines.")
        return None, ok
    ref = sorted(counts.index[counts == counts.max()])[0]
    keys = ["backend", "family", "method", "dtype", "threads", *aggregate.param_columns(ok)]
    base = ok[ok["host_id"] == ref][keys + ["time_median_s", "time_process_medians_s", "noisy"]]
    others = sorted(h for h in counts.index if h != ref)
    dtypes = dtype_order(ok)
    both = ok[ok["host_id"] != ref].merge(base, on=keys, suffixes=("", "_ref"))  # NaN keys match NaN
    if both.empty:
        message(fig, f"The hosts ({', '.join(counts.index)}) share no identical case (backend, family, "
                      "method, parameters, dtype, threads), so no time ratio can be formed.")
        return None, ok
    r = aggregate.ratio_columns(both, "", "_ref", aggregate.stats.MIN_EFFECT, ("faster", "slower"))
    both["ratio"], both["ci_low"], both["ci_high"] = r["ratio"], r["ci_low"], r["ci_high"]
    both["noisy"] = both["noisy"] | both["noisy_ref"].astype(bool)
    both = with_case_labels(both)
    both["x"] = both["x"].where(both["x"].notna(), both.groupby("item").cumcount() + 1.0)
    both["style"] = [(b, int(t)) for b, t in zip(both["backend"], both["threads"], strict=True)]
    styles = style_map(sorted(both["style"].unique()))
    many_b = both["backend"].nunique() > 1
    axes = grid(fig, len(others), len(dtypes))
    for i, host in enumerate(others):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = both[(both["host_id"] == host) & (both["dtype"] == dtype)]
            for (meth, style), g in sub.groupby(["method", "style"], sort=False):
                series(ax, g["x"], g["ratio"], color=method_color(meth), ls=styles[style], noisy=g["noisy"],
                       ci=(g["ci_low"], g["ci_high"]))
            ref_line(ax, 1.0, "same time")
            log_axes(ax)
            value_ticks(ax, sub["x"])
            ax.set_title(f"{host} vs {ref} · {dtype}", fontsize=10)
            names = sorted(set(sub["x_name"]) - {""})
            ax.set_xlabel(", ".join(names) or "case")
            ax.set_ylabel(f"time on {host} / time on {ref} (×)", fontsize=8)
            if sub.empty:
                empty_panel(ax, "no case in common here")
    fmt = (lambda s: f"{s[0]}, {threads_label(s[1])}") if many_b else (lambda s: threads_label(s[1]))
    handles = [section("method"), *method_handles(method_order(both["method"])), section("line style"),
               *style_handles(styles, fmt), ref_handle("1 = same time"),
               Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT)]
    if both["noisy"].any():
        handles.append(noisy_handle())
    shown = ok[ok["host_id"].isin([ref, *others])]
    return handles, shown


def _item_order(df: pd.DataFrame) -> list[str]:
    """Bar order: methods in registry order, each after its family's prefix when there is one."""
    order = {m: i for i, m in enumerate(method_order(df["method"]))}
    firsts = df.drop_duplicates("item")
    return list(firsts.sort_values("method", key=lambda s: s.map(order))["item"])

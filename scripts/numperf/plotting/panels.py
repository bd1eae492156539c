"""Panels and the one panel loop of figures: grids, message panels, series with intervals and
noisy markers, log axes, the footnote naming host, BLAS and numpy, and the facet helpers
``facet_lines`` / ``facet_bars`` that family figures draw with."""

from __future__ import annotations

import textwrap

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from numperf import family
from numperf.plotting.style import (
    CI_TEXT,
    LEGEND_W,
    NOISY_TEXT,
    PANEL_H,
    PANEL_W,
    host_backends,
    method_color,
    method_order,
    noisy_handle,
    ref_handle,
    ref_line,
    section,
    style_handles,
    style_map,
)
from numperf.plotting.ticks import fit_ticks
from numperf.tables import as_bool


def ok_runs(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``runs`` that measured something (status ok), with ``noisy`` as bool."""
    runs = data["runs"]
    ok = runs[runs["status"] == "ok"].copy()
    ok["noisy"] = as_bool(ok["noisy"]).to_numpy() if "noisy" in ok else False
    return ok


def with_noisy(df: pd.DataFrame, runs: pd.DataFrame, keys: list[str], fixed: dict | None = None,
                col: str = "noisy") -> pd.DataFrame:
    """Attach the noisy flag of the runs row matching ``keys`` (plus ``fixed`` values) to ``df``."""
    sel = runs
    for k, v in (fixed or {}).items():
        sel = sel[sel[k] == v]
    flags = sel.groupby(keys, as_index=False)["noisy"].any().rename(columns={"noisy": col})
    out = df.merge(flags, on=keys, how="left")
    out[col] = out[col].fillna(False).astype(bool)
    return out



def grid(fig, nrows: int, ncols: int, legend: bool = True):
    """A nrows x ncols grid of axes with the figure sized to match (2-D array of axes)."""
    fig.set_size_inches(ncols * PANEL_W + (LEGEND_W if legend else 0.4), nrows * PANEL_H + 1.3)
    return fig.subplots(nrows, ncols, squeeze=False)


def message(fig, text: str) -> None:
    """A single panel that explains why there is nothing to plot."""
    fig.set_size_inches(8, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(text, 70)), ha="center", va="center", fontsize=11,
            transform=ax.transAxes, bbox={"boxstyle": "round,pad=0.8", "fc": "#f4f4f4", "ec": "0.6"})


def empty_panel(ax, text: str) -> None:
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(text, 32)), ha="center", va="center", fontsize=9,
            color="0.35", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def series(ax, x, y, *, color, ls="-", noisy=None, yerr=None, ci=None, marker="o", ms=4.5,
            lw=1.4) -> None:
    """One line with markers: filled where clean, hollow where noisy; optional error bars, either
    symmetric (``yerr``) or an interval given as its (low, high) bounds (``ci``)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if ci is not None:
        lo, hi = (np.asarray(v, float) for v in ci)
        yerr = None
    else:
        lo = hi = None
    noisy = np.zeros(len(x), bool) if noisy is None else np.asarray(noisy, bool)
    keep = np.isfinite(x) & np.isfinite(y) & (y > 0)
    order = np.argsort(x[keep], kind="stable")
    x, y, noisy = x[keep][order], y[keep][order], noisy[keep][order]
    if not len(x):
        return
    ax.plot(x, y, ls=ls, color=color, lw=lw)
    if yerr is not None:
        err = np.asarray(yerr, float)[keep][order]
        err = np.where(np.isfinite(err), err, 0.0)
        ax.errorbar(x, y, yerr=[np.minimum(err, 0.9 * y), err], fmt="none", ecolor=color, elinewidth=0.9,
                    capsize=2.5, alpha=0.8)
    if lo is not None:
        lo, hi = lo[keep][order], hi[keep][order]
        below = np.where(np.isfinite(lo), np.clip(y - lo, 0, None), 0.0)
        above = np.where(np.isfinite(hi), np.clip(hi - y, 0, None), 0.0)
        ax.errorbar(x, y, yerr=[below, above], fmt="none", ecolor=color, elinewidth=0.9, capsize=2.5,
                    alpha=0.8)
    ax.plot(x[~noisy], y[~noisy], ls="none", marker=marker, color=color, ms=ms)
    ax.plot(x[noisy], y[noisy], ls="none", marker=marker, mfc="white", mec=color, mew=1.2, ms=ms)


def log_axes(ax, x=True, y=True) -> None:
    """Log scale on the chosen axes, with the shared fitting ticks and a light grid."""
    if x:
        ax.set_xscale("log")
        fit_ticks(ax, "x")
    if y:
        ax.set_yscale("log")
        fit_ticks(ax, "y")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)


def value_ticks(ax, ns) -> None:
    """Ticks at the measured N values themselves (labelled where they fit)."""
    ns = sorted({int(n) for n in ns if np.isfinite(n)})
    if ns:
        fit_ticks(ax, "x", ns)
        if len(ns) == 1:
            ax.set_xlim(ns[0] / 1.6, ns[0] * 1.6)



def footnote(tables: dict[str, pd.DataFrame], shown: pd.DataFrame | None, width_in: float) -> str:
    """Host, BLAS and numpy of every (host, backend) shown, plus how many cases were not ok."""
    runs = tables["runs"]
    src = shown if shown is not None and not shown.empty else runs[runs["status"] == "ok"]
    if src.empty:
        src = runs
    lines = []
    for host, rows in src.groupby("host_id", sort=True):
        first = rows.iloc[0]
        parts = []
        for backend, b in rows.groupby("backend", sort=True):
            b = b.dropna(subset=["blas_internal_api"]) if b["blas_internal_api"].notna().any() else b
            r = b.iloc[0]
            blas = " ".join(str(r[c]) for c in ("blas_internal_api", "blas_version") if pd.notna(r.get(c)))
            if pd.notna(r.get("blas_architecture")):
                blas += f" [{r['blas_architecture']}]"
            if pd.notna(r.get("openblas_coretype")):
                blas += f" OPENBLAS_CORETYPE={r['openblas_coretype']}"
            npv = f"numpy {r['numpy_version']}" if pd.notna(r.get("numpy_version")) else "numpy ?"
            parts.append(f"backend {backend}: {blas or 'BLAS unknown'}, {npv}")
        cores = first.get("cores_logical")
        cores = f"{int(cores)} logical cores" if pd.notna(cores) else "cores ?"
        lines.append(f"Host {host} ({first.get('cpu_model')}, {cores}) — " + "; ".join(parts))
    if runs.empty:
        tail = "No case of this figure's family is in these results."
    else:
        counts = runs["status"].value_counts()
        bad = ", ".join(f"{n} {s}" for s, n in counts.items() if s != "ok")
        tail = (f"Only status=ok rows are plotted; {len(runs) - counts.get('ok', 0)} of {len(runs)} case(s) "
                f"are not ok ({bad}): see failures.csv." if bad else
                f"All {len(runs)} case(s) shown here have status ok.")
    wrap = max(60, int(width_in * 17))
    return "\n".join(w for line in [*lines, tail] for w in textwrap.wrap(line, wrap))



def no_ok_rows(tables) -> str | None:
    runs = tables["runs"]
    if runs.empty:
        return "No results in runs.csv: nothing has been measured yet."
    if not (runs["status"] == "ok").any():
        return (f"None of the {len(runs)} case(s) in runs.csv has status ok (see failures.csv), "
                "so there is nothing to plot.")
    return None



def palette(values) -> dict:
    """Colours for the values of a line key: methods by their registry colour, others by position."""
    values = list(values)
    if all(str(v) in _all_method_names() for v in values):
        return {v: method_color(str(v)) for v in values}
    cmap = matplotlib.colormaps["tab10"]
    return {v: matplotlib.colors.to_hex(cmap(i % 10)) for i, v in enumerate(values)}


def _all_method_names() -> set[str]:
    return {m for fam in family.registry().values() for m in fam.methods}


def _panel_keys(df: pd.DataFrame, panels: tuple[str, ...]) -> tuple[list[str], list[tuple]]:
    """Panel columns (host · backend first when there are several) and their value tuples."""
    cols = (["host_id", "backend"] if len(host_backends(df)) > 1 else []) + [c for c in panels if c in df]
    keys = sorted({tuple(r) for r in df[cols].itertuples(index=False)}, key=lambda t: tuple(map(str, t))) \
        if cols else [()]
    return cols, keys


def _panel_title(cols: list[str], key: tuple) -> str:
    return " · ".join(f"{c}={v}" if c not in ("host_id", "backend", "dtype") else str(v)
                      for c, v in zip(cols, key, strict=True))


def facets(fig, df: pd.DataFrame, panels: tuple[str, ...], ncols: int) -> list[tuple]:
    """The panels of a family figure, one per value of ``panels`` (and per host · backend when there
    are several): (axes, title, rows) each; grid cells left over are hidden."""
    cols, keys = _panel_keys(df, panels)
    ncols = min(ncols, len(keys))
    nrows = -(-len(keys) // ncols)
    axes = grid(fig, nrows, ncols)
    for k in range(len(keys), nrows * ncols):
        axes[k // ncols, k % ncols].set_axis_off()
    out = []
    for k, key in enumerate(keys):
        sub = df
        for c, v in zip(cols, key, strict=True):
            sub = sub[sub[c] == v]
        out.append((axes[k // ncols, k % ncols], _panel_title(cols, key), sub))
    return out


def plottable(fig, df: pd.DataFrame, needed: list[str], what: str) -> pd.DataFrame | None:
    """The rows that have every ``needed`` value, with ``noisy`` as bool; None (and a message panel)
    when there are none."""
    df = df.dropna(subset=needed).copy()
    if df.empty:
        message(fig, f"No ok rows with {what}.")
        return None
    df["noisy"] = as_bool(df["noisy"]) if "noisy" in df else False
    return df


def facet_lines(fig, df: pd.DataFrame, *, x: str, y: str, xlabel: str, ylabel: str,
                panels: tuple[str, ...] = ("dtype",), lines: str = "method", styles: str | None = "threads",
                ci: tuple[str, str] | None = ("time_ci_low_s", "time_ci_high_s"), logx: bool = True,
                logy: bool = True, ncols: int = 3, ref: float | None = None, ref_label: str | None = None,
                style_label=None):
    """The one panel loop of family figures: ``y`` against ``x``, one panel per value of ``panels``
    (and per host · backend when there are several), one colour per ``lines`` value, one line style
    per ``styles`` value, hollow markers for noisy rows, error bars from the ``ci`` columns.
    Returns ``(legend_handles, shown_rows)`` for ``register``."""
    df = plottable(fig, df, [x, y], f"{y} to plot against {x}")
    if df is None:
        return None, None
    colours = palette(method_order(df[lines]) if lines == "method" else sorted(df[lines].unique()))
    style_values = sorted(df[styles].unique()) if styles else [None]
    line_styles = style_map(style_values)
    for ax, title, sub in facets(fig, df, panels, ncols):
        for (line, style), g in sub.groupby([lines, styles] if styles else [lines, lines], sort=False):
            series(ax, g[x], g[y], color=colours[line], ls=line_styles[style if styles else None],
                    noisy=g["noisy"], ci=(g[ci[0]], g[ci[1]]) if ci else None)
        if ref is not None:
            ref_line(ax, ref, ref_label)
        log_axes(ax, x=logx, y=logy)
        if not logx:
            ax.grid(True, alpha=0.35)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    handles = [section(lines), *[Line2D([], [], color=c, marker="o", ms=5, lw=1.6, label=str(v))
                                  for v, c in colours.items()]]
    if styles and len(style_values) > 1:
        handles += [section("line style"), *style_handles(line_styles, style_label or
                                                            (lambda v: f"{styles}={v}"))]
    if ci:
        handles.append(Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT))
    if ref is not None and ref_label:
        handles.append(ref_handle(ref_label))
    if df["noisy"].any():
        handles.append(noisy_handle())
    return handles, df


def facet_bars(fig, df: pd.DataFrame, *, category: str, value: str, ylabel: str,
               panels: tuple[str, ...] = ("dtype",), ci: tuple[str, str] | None = None, log: bool = True,
               ncols: int = 3, ref: float | None = None, ref_label: str | None = None,
               hue: str | None = None):
    """Bars of ``value`` per ``category`` (one bar group per category, one bar per ``hue`` value),
    one panel per value of ``panels``; hatched bars are noisy rows. Returns ``(handles, shown)``."""
    df = plottable(fig, df, [value], f"{value} to plot")
    if df is None:
        return None, None
    cats = method_order(df[category]) if category == "method" else sorted(df[category].unique(), key=str)
    hues = (method_order(df[hue]) if hue == "method" else sorted(df[hue].unique(),
                                                                 key=str)) if hue else [None]
    colours = palette(hues if hue else cats)
    width = 0.8 / len(hues)
    for ax, title, sub in facets(fig, df, panels, ncols):
        for h, hv in enumerate(hues):
            for i, cat in enumerate(cats):
                row = sub[(sub[category] == cat) & ((sub[hue] == hv) if hue else True)]
                if row.empty:
                    continue
                r = row.iloc[0]
                xpos = i - 0.4 + width * (h + 0.5)
                colour = colours[hv if hue else cat]
                ax.bar(xpos, r[value], width * 0.92, color=colour, hatch="//" if r["noisy"] else None,
                       edgecolor="white" if not r["noisy"] else "0.2", lw=0.6)
                if ci and np.isfinite(r[ci[0]]) and np.isfinite(r[ci[1]]):
                    ax.errorbar(xpos, r[value], yerr=[[max(r[value] - r[ci[0]], 0)],
                                                      [max(r[ci[1]] - r[value], 0)]],
                                fmt="none", ecolor="0.15", elinewidth=0.9, capsize=2.5)
        if ref is not None:
            ref_line(ax, ref, ref_label)
        ax.set_xticks(range(len(cats)), [str(c) for c in cats], rotation=30, ha="right", fontsize=8)
        if log:
            ax.set_yscale("log")
            fit_ticks(ax, "y")
        ax.grid(True, axis="y", alpha=0.35)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
    handles = [section(hue), *[Patch(color=colours[h], label=str(h)) for h in hues]] if hue else []
    if ci:
        handles.append(Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT))
    if df["noisy"].any():
        handles.append(Patch(facecolor="white", edgecolor="0.2", hatch="//", label=NOISY_TEXT))
    return handles or [section(" ")], df


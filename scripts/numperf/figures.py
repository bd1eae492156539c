"""Figures of the report, drawn from the aggregated CSV tables (matplotlib, Agg backend).

Every figure is one ``Figure`` entry in ``FIGURES``: its title, a one-line caption (the
Snakemake report caption) and a ``draw(tables, fig)`` function. Method order and colours
come from ``numperf.methods.METHODS``, so a newly registered method appears everywhere
by itself. Only rows with ``status == 'ok'`` are plotted; rows flagged ``noisy`` are drawn
with hollow markers (or hatched bars) and the legend says so. Every figure names the
host(s), BLAS and numpy it shows in a footnote taken from the data, and a figure
without plottable data draws a sentence saying why instead of failing.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.figure  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from numperf import aggregate, family, inputs, record  # noqa: E402

#: The CSV tables written by ``numperf.aggregate`` that the figures read.
TABLES = ("runs", "speedup", "scaling", "memory", "dtype", "failures")  # the ones figures read
CATEGORIES = ("Speed", "Threads", "Memory", "Precision", "Roofline", "Backends", "Floor")
DPI = 120
#: Size of one panel and the room kept for the legend column, in inches.
PANEL_W, PANEL_H, LEGEND_W = 4.0, 3.0, 2.3
LINESTYLES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 2))]
#: Colours for methods the registry does not know (results from an older or newer numperf): black
#: and tab10 colours the registry leaves unused while it has at most 7 methods.
FALLBACK_COLORS = ["#000000", "#bcbd22", "#17becf", "#7f7f7f"]
BACKEND_COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
                  "#8c8c8c", "#ccb974", "#64b5cd"]
NOISY_TEXT = ("hollow: noisy timing (other load,\n"
              f"steal or MAD/median > {aggregate.NOISY_REL_DISPERSION:.0%};\nsee noisy_reason)")
CI_TEXT = "error bar: 95% interval\n(between processes)"
#: Style of reference lines (ideal, 1.0, machine epsilon): wide and pale, unlike any data line.
REF = {"color": "0.55", "lw": 2.4, "alpha": 0.45, "ls": "-", "zorder": 0}
MB = 1e6
#: Columns that identify a distance case apart from its method (in the family's view).
DISTANCE_KEYS = ["host_id", "backend", "n", "m", "d", "dtype", "threads", "inputs"]


@dataclass(frozen=True)
class Figure:
    """One report figure: what it is called, what to look for, and how to draw it."""

    name: str
    title: str
    caption: str
    category: str
    draw: Callable[[dict[str, pd.DataFrame], matplotlib.figure.Figure], None]
    family: str = "distances"


FIGURES: dict[str, Figure] = {}


# --------------------------------------------------------------------------- tables


def load_tables(tables_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The aggregated CSV tables by name; a missing table is an error naming the file."""
    tables_dir = Path(tables_dir)
    missing = [f"{tables_dir / name}.csv" for name in TABLES if not (tables_dir / f"{name}.csv").exists()]
    if missing:
        raise FileNotFoundError("aggregated table(s) missing (run `aggregate` first): " + ", ".join(missing))
    return {name: pd.read_csv(tables_dir / f"{name}.csv") for name in TABLES}


def _as_bool(series: pd.Series) -> pd.Series:
    """A CSV boolean column (True/False, 'True'/'False', blanks) as plain bools."""
    return series.map(lambda v: str(v).strip().lower() in ("true", "1", "1.0")).astype(bool)


def ok_runs(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``runs`` that measured something (status ok), with ``noisy`` as bool."""
    runs = tables["runs"]
    ok = runs[runs["status"] == "ok"].copy()
    ok["noisy"] = _as_bool(ok["noisy"]) if "noisy" in ok else False
    return ok


def _with_noisy(df: pd.DataFrame, runs: pd.DataFrame, keys: list[str], fixed: dict | None = None,
                col: str = "noisy") -> pd.DataFrame:
    """Attach the noisy flag of the runs row matching ``keys`` (plus ``fixed`` values) to ``df``."""
    sel = runs
    for k, v in (fixed or {}).items():
        sel = sel[sel[k] == v]
    flags = sel.groupby(keys, as_index=False)["noisy"].any().rename(columns={"noisy": col})
    out = df.merge(flags, on=keys, how="left")
    out[col] = out[col].fillna(False).astype(bool)
    return out


# --------------------------------------------------------------------------- styling


def _registry_order() -> list[str]:
    """Every method of every family, family by family, in declaration order."""
    return [m for fam in family.registry().values() for m in fam.methods]


def method_order(names) -> list[str]:
    """Registry order first, then any method the registry does not know, alphabetically."""
    names = {str(n) for n in names}
    known = _registry_order()
    return [m for m in dict.fromkeys(known) if m in names] + sorted(names - set(known))


def method_color(name: str) -> str:
    """Stable colour of a method (by its position in its family); unknown methods get a fallback."""
    for fam in family.registry().values():
        if name in fam.methods:
            known = list(fam.methods)
            cmap = matplotlib.colormaps["tab10" if len(known) <= 10 else "tab20"]
            return matplotlib.colors.to_hex(cmap(known.index(name) % cmap.N))
    return FALLBACK_COLORS[sum(map(ord, name)) % len(FALLBACK_COLORS)]


def _method_handles(names) -> list:
    return [Line2D([], [], color=method_color(m), marker="o", ms=5, lw=1.6, label=m) for m in names]


def _style_map(values) -> dict:
    return {v: LINESTYLES[i % len(LINESTYLES)] for i, v in enumerate(values)}


def _style_handles(styles: dict, fmt=str) -> list:
    return [Line2D([], [], color="0.2", ls=ls, lw=1.4, label=fmt(v)) for v, ls in styles.items()]


def _noisy_handle() -> Line2D:
    return Line2D([], [], color="0.2", marker="o", mfc="white", ls="none", ms=5, label=NOISY_TEXT)


def _section(label: str) -> Line2D:
    """An invisible legend entry used as a heading (drawn bold)."""
    return Line2D([], [], ls="none", label=label, gid="section")


def _ref_handle(label: str) -> Line2D:
    return Line2D([], [], label=label, **REF)


def _ref_line(ax, y: float, text: str | None = None) -> None:
    """A horizontal reference line, optionally labelled at its right end."""
    ax.axhline(y, **REF)
    if text:
        ax.annotate(text, (0.99, y), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                    fontsize=7, color="0.35")


def _threads_label(t) -> str:
    return f"{int(t)} BLAS thread" + ("" if int(t) == 1 else "s")


def _setups(df: pd.DataFrame) -> list[tuple[str, str]]:
    """The (host, backend) pairs present, in a stable order."""
    return sorted({(str(h), str(b)) for h, b in zip(df["host_id"], df["backend"], strict=True)})


def _setup_label(setup, many: bool) -> str:
    return f"{setup[0]} · {setup[1]}" if many else ""


def _dtypes(df: pd.DataFrame) -> list[str]:
    return sorted(df["dtype"].astype(str).unique(), key=lambda d: (d != "float32", d))


# --------------------------------------------------------------------------- drawing helpers


def _grid(fig, nrows: int, ncols: int, legend: bool = True):
    """A nrows x ncols grid of axes with the figure sized to match (2-D array of axes)."""
    fig.set_size_inches(ncols * PANEL_W + (LEGEND_W if legend else 0.4), nrows * PANEL_H + 1.3)
    return fig.subplots(nrows, ncols, squeeze=False)


def _message(fig, text: str) -> None:
    """A single panel that explains why there is nothing to plot."""
    fig.set_size_inches(8, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(text, 70)), ha="center", va="center", fontsize=11,
            transform=ax.transAxes, bbox={"boxstyle": "round,pad=0.8", "fc": "#f4f4f4", "ec": "0.6"})


def _empty_panel(ax, text: str) -> None:
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(text, 32)), ha="center", va="center", fontsize=9,
            color="0.35", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _series(ax, x, y, *, color, ls="-", noisy=None, yerr=None, ci=None, marker="o", ms=4.5,
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


def _log_axes(ax, x=True, y=True) -> None:
    """Log scale on the chosen axes, with the shared fitting ticks and a light grid."""
    if x:
        ax.set_xscale("log")
        fit_ticks(ax, "x")
    if y:
        ax.set_yscale("log")
        fit_ticks(ax, "y")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)


def _n_ticks(ax, ns) -> None:
    """Ticks at the measured N values themselves (labelled where they fit)."""
    ns = sorted({int(n) for n in ns if np.isfinite(n)})
    if ns:
        fit_ticks(ax, "x", ns)
        if len(ns) == 1:
            ax.set_xlim(ns[0] / 1.6, ns[0] * 1.6)


# --------------------------------------------------------------------------- ticks
# One tick helper for every figure: ticks at given values (the measured N) or, on a log axis, at
# decades, 1-2-5 or 1..9 steps, whichever gives an axis of any span at least two; then a label
# on each tick whose text does not run into a neighbour's, decided at draw time from the axis'
# real length in pixels, so it holds at any figure size.

#: Minimum free space between two tick labels, in points.
TICK_GAP_PT = 3.0


def tick_text(v: float, power: bool = False) -> str:
    """A short tick label: plain (0.005, 250, 2500) or, with ``power``, m×10^k in mathtext."""
    if v == 0 or not np.isfinite(v):
        return f"{v:g}"
    if not power:
        return f"{v:.6g}"
    exp = int(np.floor(np.log10(abs(v)) + 1e-9))
    mant = float(f"{v / 10**exp:.3g}")
    return f"$10^{{{exp}}}$" if mant == 1 else f"${mant:g}{{\\times}}10^{{{exp}}}$"


def _roundness(v: float) -> int:
    """0 for powers of ten, 1 for 2·10^k and 5·10^k, 2 otherwise: rounder values keep their label."""
    if v <= 0:
        return 2
    mant = round(v / 10 ** np.floor(np.log10(v) + 1e-9), 6)
    return 0 if mant == 1 else 1 if mant in (2, 5) else 2


class LogTicks(matplotlib.ticker.Locator):
    """Log-axis ticks dense enough for any span: decades if at least three fall inside, else 1-2-5
    (three), else 1, 1.5, 2..9 per decade (two), else evenly spaced values (so even a factor of 1.1
    has some)."""

    def __call__(self):
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin, vmax):
        lo, hi = sorted((float(vmin), float(vmax)))
        if not (lo > 0 and np.isfinite(hi) and hi > lo):
            return []
        k0, k1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
        step = max(1, (k1 - k0) // 8)  # at most ~8 decades labelled
        for mants, least in (((1,), 3), ((1, 2, 5), 3), ((1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9), 2)):
            ticks = [m * 10.0**k for k in range(k0 - 1, k1 + 1) for m in mants
                     if len(mants) > 1 or (k - k0) % step == 0]
            if sum(lo <= t <= hi for t in ticks) >= least:
                return ticks
        return list(matplotlib.ticker.MaxNLocator(4).tick_values(lo, hi))


class FitFormatter(matplotlib.ticker.Formatter):
    """Tick labels that never overlap: a label whose text would run into a kept neighbour's is left
    empty (the tick mark stays). The axis ends and round values (10^k, then 2·10^k and 5·10^k) are
    kept first. Numbers print plainly unless the axis reaches below 0.001 or to 10^5 and beyond."""

    def __call__(self, x, pos=None):
        return tick_text(x)

    def format_ticks(self, values):
        values = np.asarray(values, float)
        lo, hi = sorted(self.axis.get_view_interval())
        inside = (values >= lo * (1 - 1e-9)) & (values <= hi * (1 + 1e-9)) & np.isfinite(values)
        seen = np.abs(values[inside & (values != 0)])
        power = bool(len(seen)) and (seen.min() < 1e-3 or seen.max() >= 1e5)
        texts = [tick_text(v, power) for v in values]
        keep = _fitting_labels(self.axis, values, texts, inside)
        return [t if k else "" for t, k in zip(texts, keep, strict=True)]


def _label_extent_px(axis, text: str, dpi: float) -> float:
    """Length a horizontal tick label takes along ``axis``, in pixels (width on x, height on y)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    size = matplotlib.rcParams[f"{axis.axis_name}tick.labelsize"]
    prop = FontProperties(size=size)
    if axis.axis_name == "y":
        return prop.get_size_in_points() * 1.2 * dpi / 72
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath="$" in text)
    return width * dpi / 72


def _fitting_labels(axis, values, texts, inside) -> list[bool]:
    """Which ticks keep their label so that no two labels overlap (greedy, ends and round values first)."""
    ax = axis.axes
    keep = [False] * len(values)
    idx = [i for i in range(len(values)) if inside[i]]
    if not idx:
        return keep
    scale = axis.get_transform()
    lo, hi = axis.get_view_interval()
    t = scale.transform(np.asarray([*values[idx], lo, hi], float).reshape(-1, 1)).ravel()
    length = ax.bbox.width if axis.axis_name == "x" else ax.bbox.height
    pos = dict(zip(idx, (t[:-2] - t[-2]) / (t[-1] - t[-2]) * length, strict=True))
    dpi = ax.figure.dpi
    ext = {i: _label_extent_px(axis, texts[i], dpi) for i in idx}
    gap = TICK_GAP_PT * dpi / 72
    by_pos = sorted(idx, key=pos.get)
    order = [by_pos[0], by_pos[-1], *sorted(by_pos[1:-1], key=lambda i: (_roundness(values[i]), pos[i]))]
    kept: list[int] = []
    for i in dict.fromkeys(order):
        if all(abs(pos[i] - pos[j]) >= (ext[i] + ext[j]) / 2 + gap for j in kept):
            kept.append(i)
            keep[i] = True
    return keep


def fit_ticks(ax, which: str, values=None) -> None:
    """The shared tick helper: major ticks at ``values`` (e.g. the measured N), or on a log axis
    ``LogTicks``, all labelled by ``FitFormatter``; minor ticks stay unlabelled."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    if values is not None:
        axis.set_major_locator(matplotlib.ticker.FixedLocator(sorted({float(v) for v in values})))
    elif axis.get_scale() == "log":
        axis.set_major_locator(LogTicks())
    axis.set_major_formatter(FitFormatter())
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _footnote(tables: dict[str, pd.DataFrame], shown: pd.DataFrame | None, width_in: float) -> str:
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
    bad = int((runs["status"] != "ok").sum())
    tail = f"Only status=ok rows are plotted; {bad} case(s) not ok are listed in failures.csv." if bad else \
        "All cases in these results have status ok."
    wrap = max(60, int(width_in * 17))
    return "\n".join(w for line in [*lines, tail] for w in textwrap.wrap(line, wrap))


def register(name: str, title: str, caption: str, category: str, family_name: str = "distances"):
    """Decorator: add a drawing function to ``FIGURES`` with the common title, footnote and legend.

    The wrapped function draws into ``fig`` from the rows of ``family_name`` only (its parameters as
    plain columns, ``aggregate.family_view``) and returns ``(legend_handles, shown_rows)``;
    ``shown_rows`` (runs rows that were plotted, or None) selects what the footnote names.
    """
    if category not in CATEGORIES and category != family_category(family_name):
        raise ValueError(f"unknown figure category {category!r}; allowed: {', '.join(CATEGORIES)} or the "
                         "family's own")
    if name in FIGURES:
        raise ValueError(f"figure {name!r} is declared twice")
    if "\n" in caption:
        raise ValueError("a figure caption must be one line")

    def deco(fn):
        def draw(tables: dict[str, pd.DataFrame], fig) -> None:
            fig.clear()
            fig.set_layout_engine("constrained")
            tables = {k: aggregate.family_view(v, family_name) for k, v in tables.items()}
            handles, shown = fn(tables, fig)
            if handles:
                # keep the (left-aligned) title clear of the legend column at the top right
                width, height = fig.get_size_inches()
                fig.set_size_inches(max(width, 0.13 * len(title) + LEGEND_W + 0.6), height)
                fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
                leg = fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False,
                                 handlelength=2.6)
                for handle, text in zip(handles, leg.get_texts(), strict=True):
                    if handle.get_gid() == "section":
                        text.set_fontweight("bold")
            else:
                fig.suptitle(title, fontsize=13, fontweight="bold")
            fig.supxlabel(_footnote(tables, shown, fig.get_size_inches()[0]), fontsize=7, color="0.3",
                          x=0.005, ha="left", multialignment="left")

        draw.__doc__ = fn.__doc__
        FIGURES[name] = Figure(name, title, caption, category, draw, family_name)
        return fn

    return deco


def family_category(name: str) -> str:
    """The report category of a family's own figures: its name, capitalised."""
    return name.capitalize()


def _no_ok_rows(tables) -> str | None:
    runs = tables["runs"]
    if runs.empty:
        return "No results in runs.csv: nothing has been measured yet."
    if not (runs["status"] == "ok").any():
        return (f"None of the {len(runs)} case(s) in runs.csv has status ok (see failures.csv), "
                "so there is nothing to plot.")
    return None


# --------------------------------------------------------------------------- figures


@register("time_vs_n", "Median time per call against problem size",
          "Median wall time per call against N (log-log, error bars: 95% interval between processes, one "
          "colour per method, one line style per BLAS thread count): lower is better, slope 2 = time ∝ N·M.",
          "Speed")
def draw_time_vs_n(tables, fig):
    """Time against N per method, one panel per dtype (columns) and host/backend (rows)."""
    if msg := _no_ok_rows(tables):
        _message(fig, msg)
        return None, None
    ok = ok_runs(tables).dropna(subset=["time_median_s"])
    setups, dtypes = _setups(ok), _dtypes(ok)
    many_d = ok["d"].nunique() > 1
    ok["style"] = [(int(t), int(d)) for t, d in zip(ok["threads"], ok["d"], strict=True)]
    styles = _style_map(sorted(ok["style"].unique()))
    axes = _grid(fig, len(setups), len(dtypes))
    for i, setup in enumerate(setups):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = ok[(ok["host_id"] == setup[0]) & (ok["backend"] == setup[1]) & (ok["dtype"] == dtype)]
            for (meth, style), g in sub.groupby(["method", "style"], sort=False):
                _series(ax, g["n"], g["time_median_s"], color=method_color(meth), ls=styles[style],
                        noisy=g["noisy"], ci=(g["time_ci_low_s"], g["time_ci_high_s"]))
            _log_axes(ax)
            _n_ticks(ax, sub["n"])
            ax.set_title(" · ".join(filter(None, [_setup_label(setup, len(setups) > 1), dtype])), fontsize=10)
            ax.set_xlabel("N (rows of x and y)")
            ax.set_ylabel("median time per call (s)")
            if sub.empty:
                _empty_panel(ax, f"no ok rows for {dtype} here")
    fmt = (lambda s: f"{_threads_label(s[0])}, D={s[1]}") if many_d else (lambda s: _threads_label(s[0]))
    handles = [_section("method"), *_method_handles(method_order(ok["method"])), _section("line style"),
               *_style_handles(styles, fmt)]
    handles += [Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT)]
    if ok["noisy"].any():
        handles.append(_noisy_handle())
    return handles, ok


@register("thread_scaling", "Speedup and parallel efficiency against BLAS threads",
          "Speedup over 1 BLAS thread (upper panels) and parallel efficiency = speedup / threads (lower "
          "panels) per method and N: points on the pale ideal line scale perfectly, below 1 threads hurt.",
          "Threads")
def draw_thread_scaling(tables, fig):
    """Speedup and efficiency against threads, per method (colour) and N (line style)."""
    if msg := _no_ok_rows(tables):
        _message(fig, msg)
        return None, None
    runs = ok_runs(tables)
    sc = tables["scaling"].dropna(subset=["speedup"])
    if sc.empty or sc["threads"].nunique() < 2:
        counts = sorted(runs["threads"].unique())
        _message(fig, "Thread scaling needs the same case measured at 1 and at more BLAS threads; these "
                      f"results have thread count(s) {', '.join(map(str, counts))} only.")
        return None, runs
    keys = ["host_id", "backend", "method", "n", "m", "d", "dtype", "inputs"]
    sc = _with_noisy(sc, runs, keys + ["threads"])
    sc = _with_noisy(sc, runs, keys, fixed={"threads": 1}, col="noisy1")
    sc["noisy"] = sc["noisy"] | sc["noisy1"]
    setups, dtypes = _setups(sc), _dtypes(sc)
    sizes = sorted({(int(n), int(d)) for n, d in zip(sc["n"], sc["d"], strict=True)}, reverse=True)
    styles = _style_map(sizes)
    tmax = int(sc["threads"].max())
    axes = _grid(fig, 2 * len(setups), len(dtypes))
    for i, setup in enumerate(setups):
        for j, dtype in enumerate(dtypes):
            top, bottom = axes[2 * i, j], axes[2 * i + 1, j]
            sub = sc[(sc["host_id"] == setup[0]) & (sc["backend"] == setup[1]) & (sc["dtype"] == dtype)]
            for (meth, n, d), g in sub.groupby(["method", "n", "d"], sort=False):
                kw = {"color": method_color(meth), "ls": styles[(int(n), int(d))], "noisy": g["noisy"]}
                _series(top, g["threads"], g["speedup"], ci=(g["speedup_ci_low"], g["speedup_ci_high"]), **kw)
                _series(bottom, g["threads"], g["parallel_efficiency"], **kw)
            ts = sorted(sub["threads"].unique()) or [1, tmax]
            top.plot([1, max(ts)], [1, max(ts)], **REF)
            _ref_line(bottom, 1.0, "ideal")
            label = " · ".join(filter(None, [_setup_label(setup, len(setups) > 1), dtype]))
            for ax, ylab in ((top, "speedup over 1 thread (×)"),
                             (bottom, "parallel efficiency (speedup / threads)")):
                fit_ticks(ax, "x", ts)
                ax.set_xlabel("BLAS threads")
                ax.set_ylabel(ylab)
                ax.set_title(label, fontsize=10)
                ax.grid(True, alpha=0.35)
                if sub.empty:
                    _empty_panel(ax, f"no thread-scaling rows for {dtype} here")
            bottom.set_ylim(0, max(1.15, float(np.nanmax(sub["parallel_efficiency"], initial=0)) * 1.1))
            top.set_ylim(0, max(tmax, float(np.nanmax(sub["speedup"], initial=0))) * 1.1)
    many_d = len({d for _, d in sizes}) > 1
    handles = [_section("method"), *_method_handles(method_order(sc["method"])), _section("line style"),
               *_style_handles(styles, lambda s: f"N={s[0]}" + (f", D={s[1]}" if many_d else "")),
               _ref_handle("ideal (speedup = threads)"),
               Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT)]
    if sc["noisy"].any():
        handles.append(_noisy_handle())
    return handles, runs


@register("memory_vs_n", "Measured peak memory against the memory model",
          "Measured peak RSS above the baseline (markers) against the registry's modelled peak (lines) per "
          "method, log-log in MB: markers on their line confirm the model, markers well above it show "
          "memory the model misses.", "Memory")
def draw_memory_vs_n(tables, fig):
    """Peak RSS (markers, one per run) and the model (line) against N, per dtype and host/backend.

    ``noisy`` flags doubtful *timings* (CV, load), so memory markers are not drawn hollow.
    """
    if msg := _no_ok_rows(tables):
        _message(fig, msg)
        return None, None
    ok = ok_runs(tables)
    setups, dtypes = _setups(ok), _dtypes(ok)
    axes = _grid(fig, len(setups), len(dtypes))
    dropped = 0
    for i, setup in enumerate(setups):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = ok[(ok["host_id"] == setup[0]) & (ok["backend"] == setup[1]) & (ok["dtype"] == dtype)]
            for meth, g in sub.groupby("method", sort=False):
                color = method_color(meth)
                model = g.groupby(["n", "d"], as_index=False)["model_peak_bytes"].first()
                for _, gm in model.groupby("d"):
                    _series(ax, gm["n"], gm["model_peak_bytes"] / MB, color=color, marker="", lw=1.3)
                rss = g["peak_rss_bytes"].astype(float)
                dropped += int((~(rss > 0)).sum())
                good = rss > 0
                ax.plot(g["n"][good], rss[good] / MB, ls="none", marker="o", ms=5, mfc=color, mec="white",
                        mew=0.6, alpha=0.85)
            _log_axes(ax)
            _n_ticks(ax, sub["n"])
            ax.set_title(" · ".join(filter(None, [_setup_label(setup, len(setups) > 1), dtype])), fontsize=10)
            ax.set_xlabel("N (rows of x and y)")
            ax.set_ylabel("peak memory above baseline (MB)")
            if sub.empty:
                _empty_panel(ax, f"no ok rows for {dtype} here")
    handles = [_section("method"), *[Line2D([], [], color=method_color(m), lw=1.6, label=m)
                                     for m in method_order(ok["method"])],
               _section("kind"), Line2D([], [], color="0.3", lw=1.3, label="modelled peak (line)"),
               Line2D([], [], color="0.3", marker="o", ls="none", label="measured peak RSS (marker;\n"
                      "one per run, all thread counts)")]
    if dropped:
        handles.append(_section(f"{dropped} run(s) with no RSS growth\nnot shown (log axis)"))
    return handles, ok


@register("precision", "float32 against float64: time and accuracy",
          "Left: float64 time / float32 time per method (above 1 = float32 is faster, 2 = the halved bytes "
          "fully pay off); right: max relative error per dtype against each dtype's machine epsilon.",
          "Precision")
def draw_precision(tables, fig):
    """Time ratio (per thread count) and max relative error (max over thread counts) against N."""
    if msg := _no_ok_rows(tables):
        _message(fig, msg)
        return None, None
    runs = ok_runs(tables)
    dt = tables["dtype"].dropna(subset=["float64_over_float32_time"])
    if dt.empty:
        _message(fig, "The precision figure needs the same case measured in float32 and float64; these "
                      f"results hold {', '.join(_dtypes(runs))} only.")
        return None, runs
    keys = ["host_id", "backend", "method", "n", "m", "d", "threads", "inputs"]
    dt = _with_noisy(dt, runs, keys, {"dtype": "float32"}, "n32")
    dt = _with_noisy(dt, runs, keys, {"dtype": "float64"}, "n64")
    dt["noisy"] = dt["n32"] | dt["n64"]
    setups = _setups(dt)
    styles = _style_map(sorted(dt["threads"].unique()))
    dstyles = {"float32": "-", "float64": "--"}
    axes = _grid(fig, len(setups), 2)
    for i, setup in enumerate(setups):
        left, right = axes[i]
        sub = dt[(dt["host_id"] == setup[0]) & (dt["backend"] == setup[1])]
        for (meth, t), g in sub.groupby(["method", "threads"], sort=False):
            _series(left, g["n"], g["float64_over_float32_time"], color=method_color(meth), ls=styles[t],
                    noisy=g["noisy"], ci=(g["ci_low"], g["ci_high"]))
        _ref_line(left, 1.0, "same speed")
        _ref_line(left, 2.0, "float32 twice as fast")
        _log_axes(left, y=False)
        _n_ticks(left, sub["n"])
        left.set_ylim(0, max(2.4, float(np.nanmax(sub["float64_over_float32_time"], initial=0)) * 1.1))
        left.set_ylabel("float64 time / float32 time (×)")
        err = runs[(runs["host_id"] == setup[0]) & (runs["backend"] == setup[1])]
        err = err.groupby(["method", "dtype", "n"], as_index=False)["max_rel_error"].max()
        for (meth, dtype), g in err.groupby(["method", "dtype"], sort=False):
            _series(right, g["n"], g["max_rel_error"], color=method_color(meth), ls=dstyles.get(dtype, ":"),
                    marker="s" if dtype == "float64" else "o")
        for dtype in dstyles:
            _ref_line(right, float(np.finfo(dtype).eps), f"{dtype} machine epsilon")
        _log_axes(right)
        _n_ticks(right, err["n"])
        right.set_ylabel("max relative error (worst over threads)")
        prefix = _setup_label(setup, len(setups) > 1)
        left.set_title(" · ".join(filter(None, [prefix, "time ratio"])), fontsize=10)
        right.set_title(" · ".join(filter(None, [prefix, "max relative error"])), fontsize=10)
        for ax in (left, right):
            ax.set_xlabel("N (rows of x and y)")
    handles = [_section("method"), *_method_handles(method_order(dt["method"])),
               _section("left: line style"), *_style_handles(styles, _threads_label),
               _ref_handle("reference (labelled in panel)"),
               Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT),
               _section("right: line style"),
               *[Line2D([], [], color="0.2", ls=ls, marker="o" if d == "float32" else "s", label=d)
                 for d, ls in dstyles.items()]]
    if dt["noisy"].any():
        handles.append(_noisy_handle())
    return handles, runs


@register("roofline", "Fraction of the machine's own floor reached",
          "Roofline floor / measured time per method against N (1.0 = as fast as one GEMM at the calibrated "
          "peak or writing the output at measured bandwidth, whichever is slower): higher is better.",
          "Roofline")
def draw_roofline(tables, fig):
    """roofline_fraction against N per method; the floor comes from this host's own calibration."""
    if msg := _no_ok_rows(tables):
        _message(fig, msg)
        return None, None
    ok = ok_runs(tables)
    rf = ok.dropna(subset=["roofline_fraction"])
    if rf.empty:
        _message(fig, "No roofline fractions: the results have no calibration (<results>/<host>/<backend>/"
                      "calibration/t<threads>.json) for the measured thread counts.")
        return None, ok
    setups, dtypes = _setups(rf), _dtypes(rf)
    styles = _style_map(sorted(rf["threads"].unique()))
    axes = _grid(fig, len(setups), len(dtypes))
    for i, setup in enumerate(setups):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = rf[(rf["host_id"] == setup[0]) & (rf["backend"] == setup[1]) & (rf["dtype"] == dtype)]
            for (meth, t), g in sub.groupby(["method", "threads"], sort=False):
                _series(ax, g["n"], g["roofline_fraction"], color=method_color(meth), ls=styles[t],
                        noisy=g["noisy"])
            _ref_line(ax, 1.0, "machine floor")
            _log_axes(ax)
            _n_ticks(ax, sub["n"])
            ax.set_title(" · ".join(filter(None, [_setup_label(setup, len(setups) > 1), dtype])), fontsize=10)
            ax.set_xlabel("N (rows of x and y)")
            ax.set_ylabel("roofline floor / median time (fraction)")
            if sub.empty:
                _empty_panel(ax, f"no calibrated rows for {dtype} here")
    handles = [_section("method"), *_method_handles(method_order(rf["method"])), _section("line style"),
               *_style_handles(styles, _threads_label),
               _ref_handle("1.0 = at the machine's floor")]
    if rf["noisy"].any():
        handles.append(_noisy_handle())
    missing = len(ok) - len(rf)
    if missing:
        handles.append(_section(f"{missing} ok run(s) without calibration\nnot shown"))
    return handles, rf


def _reference_size(g: pd.DataFrame, group: str) -> tuple[int, int]:
    """The (N, D) measured by the most ``group`` values (largest such N): the fairest common size."""
    counts = g.groupby(["n", "d"])[group].nunique()
    return max(counts.index[counts == counts.max()])


@register("backends", "BLAS backends compared",
          "Median time of each method on each BLAS backend at the largest N every backend measured, per "
          "dtype and thread count (log scale): shorter bars are faster, and the method ranking can change "
          "between backends.", "Backends")
def draw_backends(tables, fig):
    """Grouped bars: methods on the x axis, one bar per backend; rows host x threads, columns dtype."""
    if msg := _no_ok_rows(tables):
        _message(fig, msg)
        return None, None
    ok = ok_runs(tables).dropna(subset=["time_median_s"])
    spread = ok.groupby("method")["backend"].nunique()
    if (spread >= 2).any():  # methods measured on one backend only have nothing to compare
        ok = ok[ok["method"].isin(spread[spread >= 2].index)]
    backends = sorted(ok["backend"].astype(str).unique())
    if len(backends) < 2:
        _message(fig, f"Only one backend in these results ({backends[0]}): run the sweep with more "
                      "entries under 'backends' in the config to compare BLAS libraries.")
        return None, ok
    colors = {b: BACKEND_COLORS[i % len(BACKEND_COLORS)] for i, b in enumerate(backends)}
    hosts, dtypes, threads = sorted(ok["host_id"].unique()), _dtypes(ok), sorted(ok["threads"].unique())
    rows = [(h, t) for h in hosts for t in threads]
    axes = _grid(fig, len(rows), len(dtypes))
    panel_w = max(PANEL_W, 0.35 * len(backends) * ok["method"].nunique() + 1.2)
    fig.set_size_inches(len(dtypes) * panel_w + LEGEND_W, len(rows) * (PANEL_H + 0.4) + 1.3)
    width = 0.8 / len(backends)
    for i, (host, t) in enumerate(rows):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = ok[(ok["host_id"] == host) & (ok["threads"] == t) & (ok["dtype"] == dtype)]
            meths = method_order(sub["method"])
            sizes, lowest, missing = [], np.inf, []
            for k, meth in enumerate(meths):
                g = sub[sub["method"] == meth]
                n, d = _reference_size(g, "backend")
                sizes.append((n, d))
                g = g[(g["n"] == n) & (g["d"] == d)].groupby("backend").agg(
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
            ax.set_xticklabels(meths if same else [f"{m} (N={n})" for m, (n, _) in zip(meths, sizes,
                                                                                      strict=True)],
                               fontsize=8, rotation=30, ha="right", rotation_mode="anchor")
            ax.grid(True, axis="y", which="both", alpha=0.25)
            ax.set_xlabel("method" + (f" (all at N={sizes[0][0]}, D={sizes[0][1]})" if same and sizes
                                      else " (at the N shown)"))
            ax.set_ylabel("median time per call (s)")
            title = f"{dtype} · {_threads_label(t)}"
            ax.set_title(f"{host} · {title}" if len(hosts) > 1 else title, fontsize=10)
            if sub.empty:
                _empty_panel(ax, "no ok rows here")
    handles = [_section("backend"), *[Patch(fc=colors[b], ec=colors[b], label=b) for b in backends],
               Line2D([], [], color="0.25", marker="|", ls="none", ms=8, label=CI_TEXT)]
    if ok["noisy"].any():
        handles.append(Patch(fc="white", ec="0.3", hatch="///",
                             label=NOISY_TEXT.replace("hollow", "hatched")))
    return handles, ok


@register("hosts", "Hosts compared",
          "Time on each host divided by the reference host's time for the identical case (same backend, "
          "method, N, D, dtype, threads), with its 95% interval: above 1 = slower than the reference host.",
          "Backends")
def draw_hosts(tables, fig):
    """Host-vs-host time ratio per method against N; the reference host is the one with most ok rows."""
    if msg := _no_ok_rows(tables):
        _message(fig, msg)
        return None, None
    ok = ok_runs(tables).dropna(subset=["time_median_s"])
    counts = ok.groupby("host_id").size()
    if len(counts) < 2:
        r = ok.iloc[0]
        cores = f"{int(r['cores_logical'])} logical cores" if pd.notna(r["cores_logical"]) else "cores ?"
        _message(fig, f"Only one host in these results ({r['host_id']}: {r['cpu_model']}, "
                      f"{cores}): copy another host's results/<host_id>/ "
                      "folder next to this one and re-aggregate to compare machines.")
        return None, ok
    ref = sorted(counts.index[counts == counts.max()])[0]
    keys = ["backend", "method", "n", "m", "d", "dtype", "threads", "inputs"]
    base = ok[ok["host_id"] == ref][keys + ["time_median_s", "time_process_medians_s", "noisy"]]
    others = sorted(h for h in counts.index if h != ref)
    dtypes = _dtypes(ok)
    both = ok[ok["host_id"] != ref].merge(base, on=keys, suffixes=("", "_ref"))
    if both.empty:
        _message(fig, f"The hosts ({', '.join(counts.index)}) share no identical case (backend, method, N, "
                      "D, dtype, threads), so no time ratio can be formed.")
        return None, ok
    r = aggregate.ratio_columns(both, "", "_ref", aggregate.stats.MIN_EFFECT, ("faster", "slower"))
    both["ratio"], both["ci_low"], both["ci_high"] = r["ratio"], r["ci_low"], r["ci_high"]
    both["noisy"] = both["noisy"] | both["noisy_ref"].astype(bool)
    both["style"] = [(b, int(t)) for b, t in zip(both["backend"], both["threads"], strict=True)]
    styles = _style_map(sorted(both["style"].unique()))
    many_b = both["backend"].nunique() > 1
    axes = _grid(fig, len(others), len(dtypes))
    for i, host in enumerate(others):
        for j, dtype in enumerate(dtypes):
            ax = axes[i, j]
            sub = both[(both["host_id"] == host) & (both["dtype"] == dtype)]
            for (meth, style), g in sub.groupby(["method", "style"], sort=False):
                _series(ax, g["n"], g["ratio"], color=method_color(meth), ls=styles[style], noisy=g["noisy"],
                        ci=(g["ci_low"], g["ci_high"]))
            _ref_line(ax, 1.0, "same time")
            _log_axes(ax)
            _n_ticks(ax, sub["n"])
            ax.set_title(f"{host} vs {ref} · {dtype}", fontsize=10)
            ax.set_xlabel("N (rows of x and y)")
            ax.set_ylabel(f"time on {host} / time on {ref} (×)", fontsize=8)
            if sub.empty:
                _empty_panel(ax, "no case in common here")
    fmt = (lambda s: f"{s[0]}, {_threads_label(s[1])}") if many_b else (lambda s: _threads_label(s[1]))
    handles = [_section("method"), *_method_handles(method_order(both["method"])), _section("line style"),
               *_style_handles(styles, fmt), _ref_handle("1 = same time"),
               Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT)]
    if both["noisy"].any():
        handles.append(_noisy_handle())
    shown = ok[ok["host_id"].isin([ref, *others])]
    return handles, shown


# ---- the exact fast methods (issue 11): distance to the floor, speedup over scikit-learn, accuracy


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
    sizes, dtypes = _size_panels(df), _dtypes(df)
    axes = _grid(fig, len(sizes), len(dtypes))
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
    return [Patch(fc="0.3", alpha=0.45 + 0.55 * (i + 1) / len(threads), label=_threads_label(t))
            for i, t in enumerate(threads)]


@register("floor_fraction", "Distance to the machine's floor, per method",
          "Roofline floor / median time per method (uniform inputs; bars per BLAS thread count, one panel "
          "per size and dtype; the label is time / floor): 1 = at the floor of the host's best GEMM and "
          "write bandwidth, the dashed line is the target, within 2× the floor.", "Floor")
def draw_floor_fraction(tables, fig):
    """roofline_fraction of every method as bars, one panel per (N, D) and dtype."""
    if msg := _no_ok_rows(tables):
        _message(fig, msg)
        return None, None
    rf = _uniform_only(ok_runs(tables)).dropna(subset=["roofline_fraction"])
    if rf.empty:
        _message(fig, "No roofline fractions: the results have no calibration (<results>/<host>/<backend>/"
                      "calibration/t<threads>.json) for the measured thread counts.")
        return None, None
    meths = method_order(rf["method"])
    for ax, (n, d), dtype, sub in _bar_panels(fig, rf, len(meths)):
        sub = sub.groupby(["method", "threads"], as_index=False).agg(
            roofline_fraction=("roofline_fraction", "max"), noisy=("noisy", "any"))
        _method_bars(ax, sub, meths, "roofline_fraction", label=lambda v: f"{1 / v:.1f}×")
        ax.set_yscale("log")
        fit_ticks(ax, "y")
        _ref_line(ax, 1.0, "floor")
        ax.axhline(1 / FLOOR_TARGET, color="0.3", lw=1.0, ls="--")
        ax.set_title(f"N=M={n}, D={d} · {dtype}", fontsize=10)
        ax.set_ylabel("floor / median time")
        if sub.empty:
            _empty_panel(ax, "no calibrated rows here")
    handles = [_section("bar shade"), *_thread_handles(rf["threads"].unique()),
               _ref_handle("1 = at the floor"),
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
    cols = [*keys, "method", "time_process_medians_s"]
    both = ok[cols].merge(ok[ok["method"] == "sklearn"][cols], on=keys, suffixes=("", "_sklearn"))
    both = both[both["method_sklearn"] != both["method"]] if "method_sklearn" in both else both
    r = aggregate.ratio_columns(both, "_sklearn", "", aggregate.stats.MIN_EFFECT, ("slower", "faster"))
    return both.assign(speedup=r["ratio"], ci_low=r["ci_low"], ci_high=r["ci_high"])


@register("sklearn_speedup", "Speedup over scikit-learn, same run and threads",
          "scikit-learn's euclidean_distances time / each method's time on the same case (uniform inputs, "
          "error bars: 95% interval between processes): above 1 = faster than scikit-learn; the dashed line "
          "is the 3× target for D ≤ 64.", "Floor")
def draw_sklearn_speedup(tables, fig):
    """Bars of sklearn time / method time, one panel per (N, D) and dtype."""
    if msg := _no_ok_rows(tables):
        _message(fig, msg)
        return None, None
    runs = tables["runs"]
    sp = _uniform_only(sklearn_speedups(runs))
    if sp.empty:
        _message(fig, "No speedups over scikit-learn: these results have no ok 'sklearn' rows to compare "
                      "with (add sklearn to the config's methods, and install scikit-learn).")
        return None, None
    meths = method_order(sp["method"])
    for ax, (n, d), dtype, sub in _bar_panels(fig, sp, len(meths)):
        _method_bars(ax, sub, meths, "speedup", "ci_low", "ci_high", label=lambda v: f"{v:.1f}×")
        ax.set_yscale("log")
        fit_ticks(ax, "y")
        _ref_line(ax, 1.0)  # named in the legend: a label on the line can run into the bars' own
        if d <= SKLEARN_TARGET_MAX_D:
            ax.axhline(SKLEARN_TARGET, color="0.3", lw=1.0, ls="--")
        ax.set_title(f"N=M={n}, D={d} · {dtype}", fontsize=10)
        ax.set_ylabel("sklearn time / method time (×)")
    handles = [_section("bar shade"), *_thread_handles(sp["threads"].unique()),
               _ref_handle("1 = as fast as scikit-learn"),
               Line2D([], [], color="0.3", lw=1.0, ls="--", label=f"target: {SKLEARN_TARGET:g}× (D ≤ "
                      f"{SKLEARN_TARGET_MAX_D})"),
               Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT)]
    shown = runs[runs["status"] == "ok"]
    return handles, _uniform_only(shown[shown["method"].isin(meths + ["sklearn"])])


@register("accuracy_inputs", "Accuracy of every method on every input distribution",
          "Max relative error against the long-double difference-first reference per method and input "
          "distribution (worst over sizes and threads; × = the case exceeded its rounding-error bound and "
          "is invalid; exact zeros drawn at the bottom): flat lines are methods the data cannot fool.",
          "Floor")
def draw_accuracy_inputs(tables, fig):
    """max_rel_error per method (colour) against the input distribution (x), one panel per dtype."""
    runs = tables["runs"]
    acc = runs[runs["status"].isin(["ok", "invalid"])].dropna(subset=["max_rel_error"]).copy()
    if acc.empty:
        _message(fig, "No accuracy measurements: no case in runs.csv has status ok (or invalid) with a "
                      "max relative error, so there is nothing to plot.")
        return None, None
    acc["inputs"] = _inputs_of(acc)
    acc["inaccurate"] = acc["reason"].astype(str).str.contains("inaccurate:", regex=False)
    known = list(inputs.DISTRIBUTIONS)
    dists = [k for k in known if k in set(acc["inputs"])] + sorted(set(acc["inputs"]) - set(known))
    xpos = {k: i for i, k in enumerate(dists)}
    dtypes = _dtypes(acc)
    axes = _grid(fig, 1, len(dtypes))
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
            _ref_line(ax, eps, f"{dtype} machine epsilon")
        if dtype == "float32":
            ax.axhline(REL_ERROR_TARGET, color="0.3", lw=1.0, ls="--")
        ax.set_xticks(range(len(dists)))
        ax.set_xticklabels(dists)
        ax.set_xlim(-0.5, len(dists) - 0.5)
        ax.set_xlabel("input distribution (numperf.inputs)")
        ax.set_ylabel("max relative error (worst over sizes, threads)")
        ax.set_title(dtype, fontsize=10)
        ax.grid(True, axis="y", which="major", alpha=0.3)
    handles = [_section("method"), *_method_handles(meths), _section("marker"),
               Line2D([], [], color="0.3", marker="o", ls="none", label="within the bound (ok)"),
               Line2D([], [], color="0.3", marker="X", ls="none", ms=8, label="bound exceeded (invalid)"),
               _ref_handle("machine epsilon"),
               Line2D([], [], color="0.3", lw=1.0, ls="--", label=f"float32 target {REL_ERROR_TARGET:g}"),
               _section(f"errors of 0 drawn at {EXACT_FLOOR:g}")]
    return handles, acc


# --------------------------------------------------------------------------- shared facets


def _palette(values) -> dict:
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
    cols = (["host_id", "backend"] if len(_setups(df)) > 1 else []) + [c for c in panels if c in df]
    keys = sorted({tuple(r) for r in df[cols].itertuples(index=False)}, key=lambda t: tuple(map(str, t))) \
        if cols else [()]
    return cols, keys


def _panel_title(cols: list[str], key: tuple) -> str:
    return " · ".join(f"{c}={v}" if c not in ("host_id", "backend", "dtype") else str(v)
                      for c, v in zip(cols, key, strict=True))


def _facets(fig, df: pd.DataFrame, panels: tuple[str, ...], ncols: int) -> list[tuple]:
    """The panels of a family figure, one per value of ``panels`` (and per host · backend when there
    are several): (axes, title, rows) each; grid cells left over are hidden."""
    cols, keys = _panel_keys(df, panels)
    ncols = min(ncols, len(keys))
    nrows = -(-len(keys) // ncols)
    axes = _grid(fig, nrows, ncols)
    for k in range(len(keys), nrows * ncols):
        axes[k // ncols, k % ncols].set_axis_off()
    out = []
    for k, key in enumerate(keys):
        sub = df
        for c, v in zip(cols, key, strict=True):
            sub = sub[sub[c] == v]
        out.append((axes[k // ncols, k % ncols], _panel_title(cols, key), sub))
    return out


def _plottable(fig, df: pd.DataFrame, needed: list[str], what: str) -> pd.DataFrame | None:
    """The rows that have every ``needed`` value, with ``noisy`` as bool; None (and a message panel)
    when there are none."""
    df = df.dropna(subset=needed).copy()
    if df.empty:
        _message(fig, f"No ok rows with {what}.")
        return None
    df["noisy"] = _as_bool(df["noisy"]) if "noisy" in df else False
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
    df = _plottable(fig, df, [x, y], f"{y} to plot against {x}")
    if df is None:
        return None, None
    colours = _palette(method_order(df[lines]) if lines == "method" else sorted(df[lines].unique()))
    style_values = sorted(df[styles].unique()) if styles else [None]
    style_map = _style_map(style_values)
    for ax, title, sub in _facets(fig, df, panels, ncols):
        for (line, style), g in sub.groupby([lines, styles] if styles else [lines, lines], sort=False):
            _series(ax, g[x], g[y], color=colours[line], ls=style_map[style if styles else None],
                    noisy=g["noisy"], ci=(g[ci[0]], g[ci[1]]) if ci else None)
        if ref is not None:
            _ref_line(ax, ref, ref_label)
        _log_axes(ax, x=logx, y=logy)
        if not logx:
            ax.grid(True, alpha=0.35)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    handles = [_section(lines), *[Line2D([], [], color=c, marker="o", ms=5, lw=1.6, label=str(v))
                                  for v, c in colours.items()]]
    if styles and len(style_values) > 1:
        handles += [_section("line style"), *_style_handles(style_map, style_label or
                                                            (lambda v: f"{styles}={v}"))]
    if ci:
        handles.append(Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT))
    if ref is not None and ref_label:
        handles.append(_ref_handle(ref_label))
    if df["noisy"].any():
        handles.append(_noisy_handle())
    return handles, df


def facet_bars(fig, df: pd.DataFrame, *, category: str, value: str, ylabel: str,
               panels: tuple[str, ...] = ("dtype",), ci: tuple[str, str] | None = None, log: bool = True,
               ncols: int = 3, ref: float | None = None, ref_label: str | None = None,
               hue: str | None = None):
    """Bars of ``value`` per ``category`` (one bar group per category, one bar per ``hue`` value),
    one panel per value of ``panels``; hatched bars are noisy rows. Returns ``(handles, shown)``."""
    df = _plottable(fig, df, [value], f"{value} to plot")
    if df is None:
        return None, None
    cats = method_order(df[category]) if category == "method" else sorted(df[category].unique(), key=str)
    hues = (method_order(df[hue]) if hue == "method" else sorted(df[hue].unique(),
                                                                 key=str)) if hue else [None]
    colours = _palette(hues if hue else cats)
    width = 0.8 / len(hues)
    for ax, title, sub in _facets(fig, df, panels, ncols):
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
            _ref_line(ax, ref, ref_label)
        ax.set_xticks(range(len(cats)), [str(c) for c in cats], rotation=30, ha="right", fontsize=8)
        if log:
            ax.set_yscale("log")
            fit_ticks(ax, "y")
        ax.grid(True, axis="y", alpha=0.35)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
    handles = [_section(hue), *[Patch(color=colours[h], label=str(h)) for h in hues]] if hue else []
    if ci:
        handles.append(Line2D([], [], color="0.2", marker="|", ls="none", ms=8, label=CI_TEXT))
    if df["noisy"].any():
        handles.append(Patch(facecolor="white", edgecolor="0.2", hatch="//", label=NOISY_TEXT))
    return handles or [_section(" ")], df


# --------------------------------------------------------------------------- output


def draw(name: str, tables: dict[str, pd.DataFrame]) -> matplotlib.figure.Figure:
    """A new matplotlib figure with ``FIGURES[name]`` drawn from ``tables`` (not attached to pyplot)."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known figures: {', '.join(FIGURES)}")
    fig = matplotlib.figure.Figure()
    FIGURES[name].draw(tables, fig)
    return fig


def render(name: str, tables_dir: str | Path, out_png: str | Path, out_svg: str | Path | None = None) -> None:
    """Draw one figure from the CSV tables in ``tables_dir``; write PNG (and SVG) atomically."""
    fig = draw(name, load_tables(tables_dir))
    with record.atomic_write(out_png, "wb") as fh:
        fig.savefig(fh, format="png", dpi=DPI)
    if out_svg is not None:
        fig.set_layout_engine("none")  # keep the layout the PNG was drawn with; no second solve
        with record.atomic_write(out_svg, "wb") as fh:
            fig.savefig(fh, format="svg")


def _register_family_figures() -> None:
    """Every family's declared figures (``figures()`` in its module), drawn by the common decorator."""
    for name in family.registry():
        fn = getattr(family.module(name), "figures", None)
        for decl in fn() if fn else []:
            register(decl.name, decl.title, decl.caption, family_category(name), name)(decl.draw)


_register_family_figures()

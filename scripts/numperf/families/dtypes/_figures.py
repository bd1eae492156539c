"""The dtypes family's figures: elements and bytes per second of a sum and a scaling by two, one bar
per dtype ordered by bytes per element.

Analysis side: imported by ``numperf.families.dtypes.figures()``, never by a measuring child. The
draw functions import ``numperf.figures`` when they run: that module collects every family's
``figures()`` as it is imported.
"""

from __future__ import annotations

import numpy as np

from numperf.claims import Scope, ok_rows
from numperf.families.dtypes import THROUGHPUT_METHODS
from numperf.family import FigureDecl


def dtype_label(dtype: str) -> str:
    """``"1 B int8"``: sorts the dtypes by bytes per element, then by name."""
    return f"{np.dtype(dtype).itemsize} B {dtype}"


def _throughput_rows(tables: dict):
    runs = ok_rows(Scope(tables, "", None))
    if runs.empty or "method" not in runs:
        return runs
    runs = runs[runs["method"].isin(THROUGHPUT_METHODS)].copy()
    runs["dtype_label"] = runs["dtype"].astype(str).map(dtype_label)
    return runs


def _rate(runs, amount, name: str):
    """``name`` (amount per second) with its interval from the time interval."""
    return runs.assign(**{name: amount / runs["time_median_s"],
                          f"{name}_low": amount / runs["time_ci_high_s"],
                          f"{name}_high": amount / runs["time_ci_low_s"]})


def _panels(runs) -> tuple[str, ...]:
    """A panel per method and size, and per thread count only when several were measured."""
    return ("method", "elements") + (("threads",) if runs["threads"].nunique() > 1 else ())


def draw_throughput(tables: dict, fig):
    """Elements per second of sum and times_two, one bar per dtype."""
    from numperf import plotting as figures

    runs = _throughput_rows(tables)
    if runs.empty:
        figures.message(fig, "No ok sum or times_two rows of the dtypes family to plot.")
        return None, None
    runs = _rate(runs, runs["elements"].astype(float) / 1e9, "g_elements_per_s")
    return figures.facet_bars(fig, runs, category="dtype_label", value="g_elements_per_s",
                              ylabel="10⁹ elements per second", panels=_panels(runs),
                              ci=("g_elements_per_s_low", "g_elements_per_s_high"), log=False)


def draw_bandwidth(tables: dict, fig):
    """Bytes read and written per second of sum and times_two, one bar per dtype."""
    from numperf import plotting as figures

    runs = _throughput_rows(tables)
    if runs.empty or "bytes_moved" not in runs:
        figures.message(fig, "No ok sum or times_two rows with bytes moved to plot.")
        return None, None
    runs = _rate(runs, runs["bytes_moved"].astype(float) / 1e9, "gb_per_s")
    return figures.facet_bars(fig, runs, category="dtype_label", value="gb_per_s",
                              ylabel="GB/s (bytes read + written per second)", panels=_panels(runs),
                              ci=("gb_per_s_low", "gb_per_s_high"), log=False)


def figures() -> list[FigureDecl]:
    return [
        FigureDecl("dtypes_throughput", "Elements per second by dtype",
                   "Elements processed per second by np.sum and by scaling by two, one bar per dtype ordered "
                   "by bytes per element (error bars: 95% interval between processes): higher is faster.",
                   draw_throughput),
        FigureDecl("dtypes_bandwidth", "Memory traffic by dtype",
                   "Bytes read and written per second by np.sum and by scaling by two, one bar per dtype: "
                   "equal bars mean the operation runs at the memory's speed whatever the element width.",
                   draw_bandwidth),
    ]

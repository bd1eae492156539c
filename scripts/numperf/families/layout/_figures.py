"""The layout family's figures: time per item of a strided sum against the stride, and the time of
views against their copying counterparts against the array's size.

Analysis side: imported by ``numperf.families.layout.figures()``, never by a measuring child. The
draw functions import ``numperf.figures`` when they run: that module collects every family's
``figures()`` as it is imported.
"""

from __future__ import annotations

import numpy as np

from numperf.families.layout._claims import fact, mb
from numperf.family import FigureDecl

#: Panels of the view/copy figure: which methods each one compares.
VIEW_COPY_PANELS = {
    "ravel vs flatten": ("ravel", "flatten", "T_ravel"),
    "transpose vs reshape": ("transpose", "reshape", "T_reshape"),
    "slice vs fancy index": ("slice_rows", "fancy_rows"),
    "zero stride vs tile/repeat": ("repeat_strided", "repeat_tile", "repeat_np"),
}


def _ok(tables: dict):
    runs = tables.get("runs")
    if runs is None or runs.empty or "status" not in runs:
        return None
    return runs[(runs["status"] == "ok") & runs["time_median_s"].notna()]


def draw_strided(tables: dict, fig):
    """Time per summed item against the stride, one panel per element count (in / out of cache)."""
    from numperf import plotting as F

    runs = _ok(tables)
    df = runs[runs["method"] == "strided_sum"].copy() if runs is not None else None
    if df is None or df.empty:
        F.message(fig, "No strided_sum case has been measured (status ok): nothing to plot.")
        return None, None
    item = df["dtype"].map(lambda d: np.dtype(d).itemsize)
    rank = {n: i + 1 for i, n in enumerate(sorted(df["elements"].unique()))}  # panels sort by text
    df["summed"] = [f"({rank[n]}) {int(n):,} items, {mb(n * i)} contiguous"
                    for n, i in zip(df["elements"], item, strict=True)]
    per = 1e9 / df["elements"].astype(float)
    df["ns_per_item"] = df["time_median_s"] * per
    df["ns_low"], df["ns_high"] = df["time_ci_low_s"] * per, df["time_ci_high_s"] * per
    df = df.sort_values("elements")
    return F.facet_lines(fig, df, x="stride", y="ns_per_item", xlabel="stride k of x[::k] (items)",
                         ylabel="time per summed item (ns)", panels=("summed",), lines="dtype",
                         styles="threads", ci=("ns_low", "ns_high"), ncols=2)


def draw_view_copy(tables: dict, fig):
    """Time per call against the array's size for views and their copying counterparts."""
    from numperf import plotting as F

    runs = _ok(tables)
    panel = {m: name for name, meths in VIEW_COPY_PANELS.items() for m in meths}
    df = runs[runs["method"].isin(list(panel))].copy() if runs is not None else None
    if df is None or df.empty:
        F.message(fig, "No view or copy method (ravel, flatten, transpose, ...) has been measured "
                        "(status ok): nothing to plot.")
        return None, None
    df["ops"] = df["method"].map(panel)
    df["array_items"] = df["rows"].astype(float) * df["cols"].astype(float)
    facts = df["check_returns_view"] if "check_returns_view" in df else [None] * len(df)
    df["result"] = [{True: "view", False: "copy"}.get(fact(v), "view or copy?") for v in facts]
    return F.facet_lines(fig, df, x="array_items", y="time_median_s",
                         xlabel="rows × cols (items)", ylabel="time per call (s)",
                         panels=("ops", "order", "dtype"), lines="method", styles="result",
                         style_label=lambda v: f"result is a {v}" if "?" not in v else v, ncols=2)


def figures() -> list[FigureDecl]:
    return [
        FigureDecl("layout_strided_sum", "Strided sum: time per item against stride",
                   "Time per summed item of x[::k].sum() against the stride k at a fixed item "
                   "count, one panel per count (the seed's 20 000 in cache, a larger one out of "
                   "cache); error bars: 95% interval between processes.", draw_strided),
        FigureDecl("layout_view_copy", "Views against copies: time per call against size",
                   "Time per call against rows×cols for views (ravel, transpose, reshape, slicing, "
                   "zero stride) and the copies that give the same items (flatten, x.T.ravel, "
                   "a.T.reshape, fancy index, tile/repeat): a view's time stays flat, a copy's grows "
                   "with the size.", draw_view_copy),
    ]

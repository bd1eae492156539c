"""The layout family's claims: views against copies (check facts and tracemalloc's peak of one call),
the time of copies against views, the cost of a stride in and out of cache, and reductions along
either axis, each decided from runs.csv. ``CLAIMS``, at the end, declares them as data in the order of
claims.csv; the functions before it are their rules.

Analysis side: imported by ``numperf.families.layout.claims()`` (and the figures), never by a
measuring child.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

from numperf import aggregate, stats
from numperf.claims import (
    CONTRADICTS,
    SUPPORTS,
    UNDECIDED,
    Case,
    at_most,
    lower_supports,
    ok_rows,
    speed_ratio,
)
from numperf.families._claimkit import claim_maker, exact_case, ratio_case
from numperf.families.layout import CACHE_LINE_BYTES, NAME
from numperf.tables import as_bool

#: Transpose is O(1): time at the largest size / time at the smallest stays below this, ...
FLAT_BOUND = 1.5
#: ... when the sizes differ by at least this factor (an O(size) operation would grow by as much).
FLAT_MIN_GROWTH = 10
#: A view's call allocates no array data: tracemalloc's peak stays below this (object headers only).
VIEW_BYTES_BOUND = 16 * 1024
#: A copy allocates its result: tracemalloc's peak is at least (1 - this) of the result's bytes.
MEMORY_TOLERANCE = 0.10
KEYS = ["dtype", "threads", "elements", "stride", "rows", "cols", "order"]
#: (view, copy) pairs the seeds contrast, with the section that does.
TIME_PAIRS = (("ravel", "flatten"), ("transpose", "T_ravel"), ("transpose", "T_reshape"),
              ("slice_rows", "fancy_rows"), ("repeat_strided", "repeat_tile"),
              ("repeat_strided", "repeat_np"))
#: Verdicts of a time ratio num / den below and above 1: num costs less or more than den.
LESS_MORE = ("less", "more")


def fact(v) -> bool | None:
    """A boolean check fact read back from a CSV (tables.as_bool), None when it was not recorded."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
        return None
    return as_bool(v)


def _num(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def mb(b: float) -> str:
    """Bytes as text: MB from 100 kB on, else bytes."""
    if not math.isfinite(b):
        return "n/a"
    return f"{b / 1e6:.3g} MB" if b >= 1e5 else f"{b:.0f} B"


def _time_ratio(num, den, min_effect: float) -> tuple[float, float, float, str]:
    """time(num) / time(den) of two runs rows (of one method at two sizes or strides) with its
    between-process interval and verdict (LESS_MORE, equivalent, inconclusive): aggregate.ratio_columns,
    the computation of every time ratio in the tables."""
    pair = pd.DataFrame({f"{col}_{side}": [row.get(col)] for col in aggregate.TIMING[1:]
                         for side, row in (("num", num), ("den", den))})
    r = aggregate.ratio_columns(pair, "_num", "_den", min_effect, LESS_MORE).iloc[0]
    return float(r["ratio"]), float(r["ci_low"]), float(r["ci_high"]), str(r["verdict"])


def _shape_label(r) -> str:
    return f"{int(r['rows'])}×{int(r['cols'])} {r['order']} {r['dtype']}" + (
        f" t{int(r['threads'])}" if int(r["threads"]) != 1 else "")


def _rows(scope, method: str):
    runs = ok_rows(scope)
    return runs[runs["method"] == method] if not runs.empty else runs


# --- views against copies: facts and traced peaks ---------------------------------------------------

def _view_side(r) -> tuple[str, str]:
    """Outcome of 'this call returned a view and allocated no array data', with a note."""
    view, traced = fact(r.get("check_returns_view")), _num(r.get("traced_peak_bytes"))
    owned = _num(r.get("check_owned_bytes"))
    note = f"{r['method']}: {'view' if view else 'copy' if view is False else 'view?'}, traced {mb(traced)}"
    if view is False or (math.isfinite(owned) and owned > 0) or (math.isfinite(traced)
                                                                  and traced > VIEW_BYTES_BOUND):
        return CONTRADICTS, note
    if view and math.isfinite(traced):
        return SUPPORTS, note
    return UNDECIDED, note


def _copy_side(r) -> tuple[str, str, float]:
    """Outcome of 'this call copied: a new buffer of the result's size', a note, and traced / result."""
    view, traced = fact(r.get("check_returns_view")), _num(r.get("traced_peak_bytes"))
    need = _num(r.get("check_result_nbytes"))
    frac = traced / need if math.isfinite(traced) and need > 0 else math.nan
    note = (f"{r['method']}: {'view' if view else 'copy' if view is False else 'copy?'}, traced {mb(traced)}"
            f" = {frac:.3g}× its result")
    if view or (math.isfinite(frac) and frac < 1 - MEMORY_TOLERANCE):
        return CONTRADICTS, note, frac
    if view is False and math.isfinite(frac):
        return SUPPORTS, note, frac
    return UNDECIDED, note, frac


def _pair_cases(scope, view_method: str, copy_method: str, value: str = "copy") -> list:
    """Cases of 'view_method returns a view and allocates nothing, copy_method copies', per shape.

    ``value``: ``copy`` = the copy's traced peak / its result bytes (≈ 1 supports); ``view`` = the view's
    traced peak / the copy's result bytes (≈ 0 supports)."""
    views, copies = _rows(scope, view_method), _rows(scope, copy_method)
    if views.empty or copies.empty:
        return []
    on = [k for k in KEYS if k in views and k in copies]
    both = views.merge(copies, on=on, suffixes=("_v", "_c"))
    cases = []
    for _, r in both.sort_values(on).iterrows():
        rv = {**{k: r[k] for k in on}, **{c[:-2]: r[c] for c in r.index if c.endswith("_v")}}
        rc = {**{k: r[k] for k in on}, **{c[:-2]: r[c] for c in r.index if c.endswith("_c")}}
        vo, vnote = _view_side(rv)
        co, cnote, frac = _copy_side(rc)
        outcome = (CONTRADICTS if CONTRADICTS in (vo, co) else SUPPORTS if vo == co == SUPPORTS
                   else UNDECIDED)
        if value == "view":
            need = _num(rc.get("check_result_nbytes"))
            v = _num(rv.get("traced_peak_bytes")) / need if need > 0 else math.nan
        else:
            v = frac
        cases.append(exact_case(_shape_label(r), outcome, v, f"{view_method} / {copy_method}",
                                f"{vnote}; {cnote}"))
    return cases


def view_copy_cases(scope, pairs: tuple[tuple[str, str], ...], value: str = "copy") -> list:
    """``_pair_cases`` of every (view, copy) method pair of one claim, in order."""
    return [case for view, copy in pairs for case in _pair_cases(scope, view, copy, value)]


# --- time ------------------------------------------------------------------------------------------

def transpose_constant_time(scope) -> list:
    rows = _rows(scope, "transpose")
    cases = []
    if rows.empty:
        return cases
    for _, g in rows.groupby(["dtype", "threads", "order"], sort=True):
        g = g.assign(_cells=g["rows"] * g["cols"]).sort_values("_cells")
        small, large = g.iloc[0], g.iloc[-1]
        growth = large["_cells"] / small["_cells"]
        if growth < FLAT_MIN_GROWTH:
            continue
        r, lo, hi, verdict = _time_ratio(large, small, scope.min_effect)
        copied = [m for m in g.itertuples() if fact(getattr(m, "check_returns_view", None)) is False]
        outcome = CONTRADICTS if copied else at_most(lo, hi, FLAT_BOUND)
        label = f"{_shape_label(small)} → {int(large['rows'])}×{int(large['cols'])}"
        note = (f"size ×{growth:.3g} (an O(size) operation would grow as much); time "
                f"{small['time_median_s']:.3g} s → {large['time_median_s']:.3g} s, verdict {verdict}"
                + ("; a transpose returned a copy" if copied else ""))
        cases.append(Case(label, outcome, r, lo, hi, note=note))
    return cases


def copies_slower_than_views(scope) -> list:
    cases = []
    for view, copy in TIME_PAIRS:
        runs = _rows(scope, view)
        if runs.empty:
            continue
        on = [k for k in KEYS if k in runs]
        for _, r in speed_ratio(scope, view, copy, on=on).sort_values(on).iterrows():
            cases.append(ratio_case(r, _shape_label(r), f"{view} / {copy}",
                                    f"time {copy} / {view}; verdict {r['verdict']}"))
    return cases


def _strided(scope):
    runs = _rows(scope, "strided_sum")
    return runs.sort_values(["dtype", "threads", "elements", "stride"]) if not runs.empty else runs


def stride_cost_grows(scope) -> list:
    runs = _strided(scope)
    cases = []
    if runs.empty:
        return cases
    step_rule = {"more": SUPPORTS, "equivalent": SUPPORTS, "less": CONTRADICTS}  # never cheaper
    ends_rule = {"more": SUPPORTS, "equivalent": CONTRADICTS, "less": CONTRADICTS}  # really dearer
    for (dtype, threads, n), g in runs.groupby(["dtype", "threads", "elements"], sort=True):
        g = g.drop_duplicates("stride").sort_values("stride").to_dict("records")
        if len(g) < 2:
            continue
        pairs = [(g[i], g[i + 1], "step") for i in range(len(g) - 1)] if len(g) > 2 else []
        for a, b, kind in [*pairs, (g[0], g[-1], "ends")]:
            r, lo, hi, verdict = _time_ratio(b, a, scope.min_effect)
            rule = ends_rule if kind == "ends" else step_rule
            label = (f"{int(n):,} items {dtype}" + (f" t{int(threads)}" if int(threads) != 1 else "")
                     + f": k={int(a['stride'])} → {int(b['stride'])}")
            cases.append(Case(label, rule.get(verdict, UNDECIDED), r, lo, hi, f"{int(n):,} items",
                              f"{kind}; per-item time {a['time_median_s'] / n * 1e9:.3g} → "
                              f"{b['time_median_s'] / n * 1e9:.3g} ns, verdict {verdict}"))
    return cases


def strided_cost_out_of_cache(scope) -> list:
    runs = _strided(scope)
    cases = []
    if runs.empty:
        return cases
    runs = runs[runs["stride"] * runs["dtype"].map(lambda d: np.dtype(d).itemsize) >= CACHE_LINE_BYTES]
    for (dtype, _, k), g in runs.groupby(["dtype", "threads", "stride"], sort=True):
        g = g.drop_duplicates("elements").sort_values("elements")
        if len(g) < 2:
            continue
        small, large = g.iloc[0], g.iloc[-1]
        scale = float(small["elements"]) / float(large["elements"])  # time per item
        r, lo, hi, _ = _time_ratio(large, small, scope.min_effect)
        r, lo, hi = r * scale, lo * scale, hi * scale
        verdict = stats.verdict(r, lo, hi, scope.min_effect, LESS_MORE)
        outcome = {"more": SUPPORTS, "less": CONTRADICTS, "equivalent": CONTRADICTS}.get(verdict, UNDECIDED)
        n_small, n_large = int(small["elements"]), int(large["elements"])
        note = (f"cache lines touched {mb(n_small * CACHE_LINE_BYTES)} → {mb(n_large * CACHE_LINE_BYTES)}; "
                f"per-item time {small['time_median_s'] / n_small * 1e9:.3g} → "
                f"{large['time_median_s'] / n_large * 1e9:.3g} ns, verdict {verdict}")
        cases.append(Case(f"k={int(k)} {dtype}: {n_small:,} → {n_large:,} items", outcome, r, lo, hi,
                          f"k={int(k)}", note))
    return cases


def contiguous_axis_reduction_faster(scope) -> list:
    cases = []
    for order, fast, slow in (("C", "sum_rows", "sum_cols"), ("F", "sum_cols", "sum_rows")):
        runs = _rows(scope, fast)
        if runs.empty:
            continue
        on = [k for k in KEYS if k in runs]
        df = speed_ratio(scope, fast, slow, on=on)
        for _, r in df[df["order"].astype(str) == order].sort_values(on).iterrows():
            note = f"time {slow} / {fast} (contiguous axis: {fast}); verdict {r['verdict']}"
            cases.append(ratio_case(r, _shape_label(r), f"order {order}", note))
    return cases


# --- the claims ------------------------------------------------------------------------------------

_SPEED_RULE = ("Per case the verdict of the between-process interval of the time ratio (min_effect): "
               "{sup} supports; {con} contradicts; inconclusive leaves it undecided.")
_PAIR_RULE = ("Per shape (rows, cols, order, dtype), from the checks and tracemalloc's peak of one "
              "call: the {view} side supports when its result shares memory with the input "
              "(np.shares_memory), owns no bytes and the call's traced peak stays below "
              f"{VIEW_BYTES_BOUND // 1024} KiB (object headers only); the {{copy}} side supports when its "
              "result shares no memory and the traced peak is at least "
              f"{1 - MEMORY_TOLERANCE:.0%} of the result's bytes. Both support: the case supports; "
              "either contradicts (a view where a copy is claimed, a copy or an allocation where a view "
              "is): the case contradicts; a missing reading leaves it undecided.")

claim = claim_maker(NAME)


def _view_copy(id, seed, section, text, view: str, copy: str, pairs, value="copy", **fields):
    """A claim that a view allocates nothing and its counterparts copy (_PAIR_RULE, with the sides
    named ``view`` and ``copy``), decided on the (view, copy) method ``pairs``."""
    return claim(id, seed, section, text, rule=_PAIR_RULE.format(view=view, copy=copy),
                 cases=partial(view_copy_cases, pairs=pairs, value=value), **fields)


def _faster(id, seed, section, text, sup: str, con: str, **fields):
    """A claim that one way is faster than the other, from speed_ratio's verdicts (_SPEED_RULE)."""
    return claim(id, seed, section, text, rule=_SPEED_RULE.format(sup=sup, con=con), **fields)


#: The seeds' statements about memory layout, each with its rule (see the functions above).
CLAIMS = (
    claim("layout-transpose-constant-time", "002 000",
          "002 'An example: matrix transpose' and 'Strides' (nanoseconds for 1600 MB); 000 'Views vs "
          "Copys' (transpose is O(1))",
          "Transposing takes the same tiny time whatever the array's size: only shape and strides "
          "change, no data moves.",
          decided_by="runs.csv (method transpose: process medians at the smallest and largest "
                     "rows·cols; check_returns_view)",
          quantity="time at the largest size / time at the smallest", badness=lower_supports,
          rule=f"Per dtype, threads and order with transpose measured at sizes ≥ {FLAT_MIN_GROWTH}× "
               f"apart: the between-process interval of the time ratio largest/smallest. Its high end "
               f"at most {FLAT_BOUND:g} supports (an O(size) copy would grow with the size); its low end "
               f"above {FLAT_BOUND:g}, or a transpose that returned a copy, contradicts; otherwise "
               f"undecided.",
          needs=f"transpose measured at two sizes at least {FLAT_MIN_GROWTH}× apart",
          cases=transpose_constant_time),
    _view_copy("layout-ravel-view-flatten-copy", "001",
               "001 'Views vs Copies: Memory Management Deep Dive' (ravel tries a view, flatten always "
               "copies)",
               "ravel() of a C-ordered array is a view that allocates nothing, while flatten() always "
               "copies the whole array.",
               "ravel", "flatten", (("ravel", "flatten"),), select={"order": "C"},
               decided_by="runs.csv (methods ravel and flatten, order C: check_returns_view, "
                          "check_owned_bytes, check_result_nbytes, traced_peak_bytes)",
               quantity="flatten's traced peak / its result bytes",
               needs="ravel and flatten measured on the same C-ordered array"),
    _view_copy("layout-transposed-copies", "001 002",
               "001 'Performance Impact: When Views Become Copies' (x.T.ravel() must copy); 002 'A fast "
               "thing + a fast thing = a fast thing?' (a.T.reshape copies)",
               "A transpose is a view, but no longer C-contiguous: ravelling or reshaping it copies the "
               "whole array.",
               "transpose", "T_ravel or T_reshape",
               (("transpose", "T_ravel"), ("transpose", "T_reshape")), select={"order": "C"},
               decided_by="runs.csv (transpose against T_ravel and T_reshape, order C: view facts, "
                          "traced peaks)",
               quantity="the copy's traced peak / its result bytes",
               needs="transpose and T_ravel or T_reshape measured on the same C-ordered array"),
    _view_copy("layout-fancy-copies-slice-views", "002",
               "002 'Copy versus view' (a[[0, 2]] is not a view; slicing is)",
               "Selecting rows with an index list copies them, while selecting the same rows with a "
               "slice gives a view.",
               "slice", "fancy-index", (("slice_rows", "fancy_rows"),),
               decided_by="runs.csv (methods slice_rows and fancy_rows: view facts, traced peaks)",
               quantity="fancy_rows' traced peak / its result bytes",
               needs="slice_rows and fancy_rows measured on the same array"),
    _view_copy("layout-zero-stride-no-memory", "002 003",
               "002 'Exercises 3' solution (a zero stride repeats a value without more memory); 003 "
               "'Indexing scheme: strides' (as_strided with strides (0, 1))",
               "Repeating a vector with a zero stride (as_strided) allocates nothing, whereas np.tile "
               "and np.repeat materialise every repetition.",
               "as_strided", "tile / repeat",
               (("repeat_strided", "repeat_tile"), ("repeat_strided", "repeat_np")), value="view",
               badness=lower_supports,
               decided_by="runs.csv (repeat_strided against repeat_tile and repeat_np: view facts, "
                          "traced peaks)",
               quantity="as_strided's traced peak / the materialised result bytes",
               needs="repeat_strided and repeat_tile or repeat_np measured at the same shape"),
    _faster("layout-copies-slower-than-views", "001 002",
            "001 'Performance Impact: When Views Become Copies' (x.T and x.ravel() fast, x.T.ravel() "
            "and x.flatten() slow); 002 'NumPy tries to avoid copying data' and 'A fast thing + a fast "
            "thing' (copying takes time)",
            "Operations that copy (flatten, x.T.ravel(), a.T.reshape, fancy indexing, tile/repeat) are "
            "slower than the views that give the same items (ravel, transpose, slicing, zero strides).",
            "the view faster", "the view slower or equivalent", select={"order": "C"},
            decided_by="runs.csv process medians of each (view, copy) pair at the same shape "
                       "(claims.speed_ratio)",
            quantity="time of the copy / time of the view",
            needs="a view method and its copying counterpart measured at the same shape",
            cases=copies_slower_than_views),
    claim("layout-stride-cost-grows", "000 003",
          "000 'Strides' (the operations that jump least are the most cache-efficient); 003 'CPU cache "
          "effects' (20 000 items contiguous against x[::67])",
          "Summing the same number of items costs more the farther apart they lie: the per-item time "
          "never drops as the stride grows, and the largest stride is slower than the smallest.",
          decided_by="runs.csv (method strided_sum: process medians per element count across strides)",
          quantity="time at the larger stride / time at the smaller one (same item count)",
          rule="Per element count, dtype and threads, between-process intervals of time ratios: each "
               "step to the next larger stride supports when it costs more or is equivalent (within "
               "min_effect) and contradicts when it costs less; the ends (largest stride against "
               "smallest, e.g. 67 against 1) support when the larger stride costs more and contradict "
               "when it is equivalent or cheaper; inconclusive verdicts leave a case undecided.",
          needs="strided_sum measured at two or more strides with the same element count",
          cases=stride_cost_grows),
    claim("layout-strided-cost-out-of-cache", "003 000",
          "003 'CPU cache effects' (the stride penalty is a cache effect); 000 'Strides' (cache "
          "efficiency)",
          "Strided access costs more per item when the touched data no longer fits in cache than when "
          "it does.",
          decided_by="runs.csv (method strided_sum at the smallest and the largest element count, "
                     "strides whose items lie in different cache lines)",
          quantity="per-item time at the largest element count / at the smallest",
          rule=f"Per stride with stride·itemsize ≥ {CACHE_LINE_BYTES} B (one cache line per item), dtype "
               f"and threads: the between-process interval of the per-item time ratio between the "
               f"largest and the smallest element count; more supports; equivalent or less "
               f"contradicts; inconclusive is undecided.",
          needs=f"strided_sum measured at two element counts with a stride of ≥ {CACHE_LINE_BYTES} bytes",
          cases=strided_cost_out_of_cache),
    _faster("layout-contiguous-axis-reduction-faster", "000 001",
            "000 'Strides' (least jumping is most cache-efficient); 001 'Common Performance Pitfalls' "
            "(memory layout, C against Fortran order)",
            "Reducing along the contiguous axis (rows of a C array, columns of an F array) is faster "
            "than along the other axis.",
            "the contiguous axis faster", "the contiguous axis slower or equivalent",
            decided_by="runs.csv process medians of sum_rows and sum_cols on the same array "
                       "(claims.speed_ratio)",
            quantity="time along the strided axis / time along the contiguous axis",
            needs="sum_rows and sum_cols measured on the same array (C or F order)",
            cases=contiguous_axis_reduction_faster),
)

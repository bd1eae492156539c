"""The vectorize family's claims: each loop against its NumPy form (by a large factor or by the
verdict of the time ratio), and a Python list's memory against an array's (by sys.getsizeof, and with
the number objects it refers to), each decided from runs.csv. ``CLAIMS``, at the end, declares them as
data in the order of claims.csv; the functions before it are their rules.

Analysis side: imported by ``numperf.families.vectorize.claims()`` (and the figures), never by a
measuring child.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from numperf.claims import at_least, near, ok_rows, speed_ratio, within
from numperf.families._claimkit import claim_maker, exact_case, ratio_case
from numperf.families.vectorize import FAMILY_NAME, LOOP, VECTORIZED, _safe_shape

#: "Much, much faster" / "eliminate Python loops": the vectorised form beats the loop by this factor.
LARGE_FACTOR = 10.0
#: sys.getsizeof of a list is ~8 bytes per element, like the array's buffer: ratio within these bounds.
SHALLOW_RATIO_BOUNDS = (0.95, 1.15)
#: "Several times": a list with its number objects takes at least this many times the array's bytes.
SEVERAL = 3.0


def _size_label(r) -> str:
    n = int(r["elements"])
    if r["workload"] == "running_average":
        rows, cols = _safe_shape({"elements": n, "cols": int(r.get("cols") or 0)})
        return f"{rows}×{cols}"
    return f"{n:,}"


def _label(r) -> str:
    return f"{r['workload']} {_size_label(r)} {r['dtype']} t{int(r['threads'])}"


def _ratios(scope, workload: str):
    """Loop time / vectorised time per case of one workload (claims.speed_ratio: between-process
    interval and the verdict for the vectorised form)."""
    df = speed_ratio(scope, VECTORIZED, LOOP)
    if df.empty or "workload" not in df:
        return df.iloc[0:0]
    return df[df["workload"] == workload].sort_values(["dtype", "threads", "elements"])


def speed_cases(scope, workload: str, factor: float | None = None) -> list:
    """Per case of ``workload``: the vectorised form faster by the verdict, or (``factor``) by at
    least that factor over the whole interval."""
    out = []
    for _, r in _ratios(scope, workload).iterrows():
        outcome = None if factor is None else at_least(float(r["low"]), float(r["high"]), factor)
        out.append(ratio_case(r, _label(r), f"{workload} {r['dtype']}", f"verdict {r['verdict']}", outcome))
    return out


def _fact_rows(scope):
    """One runs row per (dtype, elements) of the multiply workload that carries the list facts."""
    runs = ok_rows(scope)
    col = "check_list_total_bytes"
    if runs.empty or col not in runs or "workload" not in runs:
        return runs.iloc[0:0] if not runs.empty else runs
    rows = runs[(runs["workload"] == "multiply") & runs[col].notna()]
    return rows.sort_values(["dtype", "elements", "method"]).drop_duplicates(["dtype", "elements"])


def shallow_cases(scope) -> list:
    """sys.getsizeof of the list / the array's nbytes, per dtype and size (exact facts)."""
    out = []
    for _, r in _fact_rows(scope).iterrows():
        v = float(r["check_list_getsizeof_bytes"]) / float(r["check_array_nbytes"])
        out.append(exact_case(f"multiply {int(r['elements']):,} {r['dtype']}",
                              within(v, v, *SHALLOW_RATIO_BOUNDS), v, str(r["dtype"]),
                              f"getsizeof {int(r['check_list_getsizeof_bytes']):,} B, nbytes "
                              f"{int(r['check_array_nbytes']):,} B"))
    return out


def deep_cases(scope) -> list:
    """Facts (list + number objects vs nbytes) and the measured peaks of the two multiply methods (the
    list comprehension's new list vs array * 2's new array), both at least SEVERAL times. The peaks are
    tracemalloc's: peak RSS under-reports Python objects, whose allocator (pymalloc) refills the resident
    arenas the previous call's list left behind."""
    out = []
    for _, r in _fact_rows(scope).iterrows():
        v = float(r["check_list_total_to_array_ratio"])
        out.append(exact_case(f"multiply {int(r['elements']):,} {r['dtype']} (sizes)",
                              at_least(v, v, SEVERAL), v, "sizes of the objects",
                              f"list + objects {int(r['check_list_total_bytes']):,} B vs nbytes "
                              f"{int(r['check_array_nbytes']):,} B"))
    runs = ok_rows(scope)
    if runs.empty or "workload" not in runs or "traced_peak_bytes" not in runs:
        return out
    mult = runs[runs["workload"] == "multiply"]
    keys = [k for k in ("dtype", "threads", "elements", "cols") if k in mult]
    cols = keys + ["traced_peak_bytes"]
    both = mult[mult["method"] == LOOP][cols].merge(mult[mult["method"] == VECTORIZED][cols], on=keys,
                                                    suffixes=("_list", "_array"))
    for _, r in both.sort_values(keys).iterrows():
        a, b = float(r["traced_peak_bytes_list"]), float(r["traced_peak_bytes_array"])
        if not (np.isfinite(a) and np.isfinite(b) and b > 0):
            continue
        ratio = a / b
        note = f"traced peak: list comprehension {a / 1e6:.3g} MB, array * 2 {b / 1e6:.3g} MB"
        out.append(exact_case(f"multiply {int(r['elements']):,} {r['dtype']} (measured)",
                              at_least(ratio, ratio, SEVERAL), ratio, "measured peaks", note))
    return out


# --- the claims ------------------------------------------------------------------------------------

claim = claim_maker(FAMILY_NAME)


def _factor_rule(interval: str) -> str:
    return (f"A case supports when the low end of the speedup's {interval} reaches {LARGE_FACTOR:g}, "
            f"contradicts when its high end stays below {LARGE_FACTOR:g}.")


def _verdict_rule(fast: str) -> str:
    return (f"A case supports when the verdict is 'faster' for {fast}; 'slower' or 'equivalent' "
            "contradicts; 'inconclusive' leaves it undecided.")


def _speed(id, seed, section, text, quantity: str, rule: str, workload: str, factor: float | None = None):
    """A claim that ``workload``'s vectorised form beats its loop (by ``factor`` when given)."""
    return claim(id, seed, section, text, quantity=quantity, rule=rule,
                 decided_by="runs.csv time_process_medians_s of python_loop and numpy_vectorized "
                            "(claims.speed_ratio)",
                 needs=f"python_loop and numpy_vectorized with workload {workload}",
                 cases=partial(speed_cases, workload=workload, factor=factor))


#: Seed 001's (and 002's) statements about loops, vectorisation and lists.
CLAIMS = (
    _speed("vectorize_exp_sin_large_factor", "001",
           "§2.3 Vectorization strategies (the golden rule: eliminate Python loops)",
           f"Computing exp(x) + sin(x) as one NumPy expression is at least {LARGE_FACTOR:g}× faster than "
           "a Python loop over the elements.",
           "loop time / vectorised time (×)", _factor_rule("95% between-process interval"),
           "exp_sin", LARGE_FACTOR),
    _speed("vectorize_where_beats_conditional_loop", "001", "§2.3 Exercise 4.1 (conditional operations)",
           "np.where replaces an element loop with an if/else and is faster than it.",
           "loop time / np.where time (×)", _verdict_rule("np.where"), "conditional"),
    _speed("vectorize_cumsum_beats_nested_loop", "001", "§2.3 Exercise 4.2 (cumulative operations)",
           "Row-wise running averages from np.cumsum are faster than a nested loop of np.mean over "
           "row prefixes.",
           "loop time / cumsum time (×)", _verdict_rule("cumsum"), "running_average"),
    _speed("vectorize_array_beats_list_comprehension", "001 002",
           "001 §1.1 (list comprehension vs NumPy: 'much, much faster'); 002 'NumPy can be really fast'",
           f"Doubling a NumPy array is at least {LARGE_FACTOR:g}× faster than a list comprehension "
           "doubling a Python list of the same numbers.",
           "list comprehension time / array time (×)", _factor_rule("interval"), "multiply",
           LARGE_FACTOR),
    claim("vectorize_list_getsizeof_like_array", "001",
          "§1.1 (memory of a list vs an array by sys.getsizeof)",
          "By sys.getsizeof, a Python list of N numbers takes about 8 bytes per element, like the "
          "array's buffer; the fixed overheads are negligible.",
          decided_by="runs.csv check_list_getsizeof_bytes and check_array_nbytes (multiply workload)",
          quantity="sys.getsizeof(list) / array nbytes", badness=near(1.0),
          rule=f"A case supports when the ratio lies within {SHALLOW_RATIO_BOUNDS[0]:g}–"
               f"{SHALLOW_RATIO_BOUNDS[1]:g}, contradicts otherwise (sizes are exact: no interval).",
          needs="the multiply workload (its check records the list facts)", cases=shallow_cases),
    claim("vectorize_list_objects_several_times_array", "001",
          "§1.1 note (sys.getsizeof does not count the objects a list refers to)",
          f"Counting the number objects it refers to, a Python list takes at least {SEVERAL:g}× the "
          "memory of the array holding the same values.",
          decided_by="runs.csv check_list_total_bytes / check_array_nbytes, and traced_peak_bytes of the "
                     "multiply workload's two methods",
          quantity="list bytes / array bytes (×)",
          rule=f"Two kinds of case, each supporting at {SEVERAL:g}× or more and contradicting below: the "
               "sizes of the objects (list + its distinct number objects vs nbytes) and tracemalloc's "
               "peak of one call (the list comprehension's new list vs array * 2's new array; peak RSS "
               "is not used: pymalloc refills arenas a previous call freed, so RSS under-reports the "
               "list). Both are deterministic: no interval.",
          needs="the multiply workload with both methods", cases=deep_cases),
)

"""Array creation: np.zeros, np.empty, np.ones, np.full and np.arange + reshape of one shape.

Seed 001 (§1.3, "Efficient array creation methods") times these five ways of making a 1000 x 1000
array and calls ``np.empty`` (uninitialised) the fastest; its next cell ("Data types and memory
usage") makes ``np.ones`` arrays of 5,000,000 elements in int8 ... float64 and reads their bytes. The
methods here are those five calls; ``empty`` is the family's baseline, so speedup.csv says how much
slower each initialising method is.

What the machine does matters: ``np.zeros`` asks the allocator for zeroed memory (calloc), which for
arrays above the allocator's mmap threshold (128 KiB in numperf's children) comes as fresh pages the
kernel zeroes lazily, on first touch, so the call itself may cost no more than ``np.empty``; the
check's facts and the memory figure (allocated bytes vs resident bytes) show it.

Top-level imports: stdlib and numpy only (a measuring child imports this module).
"""

from __future__ import annotations

import numpy as np

from numperf import measure, seeds
from numperf.family import Check, Family, FigureDecl, MemoryModel, Method, Param, Skip

FAMILY_NAME = "creation"
DTYPES = ("int8", "int16", "int32", "int64", "float32", "float64")
METHODS = ("zeros", "empty", "ones", "full", "arange_reshape")
#: Methods that write every element during the call (ones, full, arange): the initialising ones.
INITIALISING = ("ones", "full", "arange_reshape")
#: The seed's fill value for np.full (3 for integer dtypes: the value cast as NumPy would).
FILL_FLOAT = 3.14


def shape(params: dict) -> tuple[int, int]:
    return int(params["rows"]), int(params["cols"])


def elements(params: dict) -> int:
    rows, cols = shape(params)
    return rows * cols


def fill_value(dtype: str):
    return FILL_FLOAT if np.dtype(dtype).kind == "f" else int(FILL_FLOAT)


def _arange_skip(params: dict, dtype: str) -> str | None:
    """np.arange silently wraps around in a small integer dtype: refuse those cases."""
    dt = np.dtype(dtype)
    n = elements(params)
    if dt.kind == "i" and n - 1 > np.iinfo(dt).max:
        return (f"dtype_range: arange of {n:,} elements does not fit in {dtype} "
                f"(largest value {np.iinfo(dt).max:,}); use a wider dtype")
    if dt.kind == "f" and n - 1 > 2 ** (np.finfo(dt).nmant + 1):
        return f"dtype_range: {dtype} cannot hold every integer up to {n - 1:,}"
    return None


def setup(params: dict, dtype: str, rng, method: str | None = None) -> dict:
    """Nothing to build but the shape, dtype and fill value (the call itself is what is timed)."""
    why = _arange_skip(params, dtype)
    return {"shape": shape(params), "dtype": np.dtype(dtype), "fill": fill_value(dtype),
            "elements": elements(params), "arange_problem": why}


def _zeros(inp, threads=1):
    return np.zeros(inp["shape"], dtype=inp["dtype"])


def _empty(inp, threads=1):
    return np.empty(inp["shape"], dtype=inp["dtype"])


def _ones(inp, threads=1):
    return np.ones(inp["shape"], dtype=inp["dtype"])


def _full(inp, threads=1):
    return np.full(inp["shape"], inp["fill"], dtype=inp["dtype"])


def _arange_reshape(inp, threads=1):
    if inp["arange_problem"]:
        raise Skip(inp["arange_problem"])
    return np.arange(inp["elements"], dtype=inp["dtype"]).reshape(inp["shape"])


def _memory(params: dict, dtype: str, options: dict) -> MemoryModel:
    """One new array of elements x itemsize (reshape of the arange is a view: no second buffer)."""
    return MemoryModel(0, 0, elements(params) * np.dtype(dtype).itemsize)


def _bytes_moved(written: bool):
    def bytes_moved(params: dict, dtype: str) -> float:
        """Bytes the call must write (empty: none; zeros: all, though the allocator may defer it)."""
        return float(elements(params) * np.dtype(dtype).itemsize) if written else 0.0
    return bytes_moved


def expected(method: str, inputs: dict):
    """What every element must be (None for empty, whose contents are undefined)."""
    dt, n = inputs["dtype"], inputs["elements"]
    if method == "zeros":
        return np.zeros((), dtype=dt)
    if method == "ones":
        return np.ones((), dtype=dt)
    if method == "full":
        return np.array(inputs["fill"]).astype(dt)
    if method == "arange_reshape":
        return np.arange(n, dtype=np.float64 if dt.kind == "f" else np.int64).reshape(inputs["shape"])
    return None


def check(method: str, result, inputs: dict, params: dict, dtype: str, rng) -> Check:
    """Shape, dtype and values (zeros are 0, ones 1, full the fill value, arange 0..n-1 in row-major
    order); facts: whether the result is a view, owns its buffer, is C-contiguous, and its bytes."""
    facts = {"result_nbytes": int(getattr(result, "nbytes", 0)),
             "returns_view": bool(isinstance(result, np.ndarray) and result.base is not None),
             "owns_data": bool(isinstance(result, np.ndarray) and result.flags.owndata),
             "c_contiguous": bool(isinstance(result, np.ndarray) and result.flags.c_contiguous)}
    if not isinstance(result, np.ndarray):
        return Check(None, None, f"wrong_type: {type(result).__name__}, not an ndarray", facts)
    if result.shape != inputs["shape"] or result.dtype != inputs["dtype"]:
        return Check(None, None, f"wrong_array: {result.shape} {result.dtype}, expected "
                     f"{inputs['shape']} {inputs['dtype']}", facts)
    want = expected(method, inputs)
    if want is None:
        return Check(None, None, None, facts)
    diff = np.abs(result.astype(np.float64) - np.asarray(want, dtype=np.float64))
    abs_err = float(diff.max()) if diff.size else 0.0
    scale = np.maximum(np.abs(np.asarray(want, dtype=np.float64)), 1.0)
    rel_err = float((diff / scale).max()) if diff.size else 0.0
    failed = None if abs_err == 0 else (f"wrong_values: max abs error {abs_err:.3g} against the expected "
                                        f"{method} contents")
    return Check(abs_err, rel_err, failed, facts)


def _method(name: str, kernel, description: str, written: bool, skip=None) -> Method:
    return Method(name, kernel, _memory, description, bytes_moved=_bytes_moved(written),
                  skip=skip or (lambda params, dtype: None))


FAMILY = Family(
    name=FAMILY_NAME,
    description="array creation: np.zeros, np.empty, np.ones, np.full and np.arange + reshape, and an "
                "array's bytes by dtype",
    seeds=seeds.names("001", "000"),
    params=(
        Param("rows", "int", 1000, "rows of the created array", minimum=1, maximum=1_000_000),
        Param("cols", "int", 1000, "columns of the created array", minimum=1, maximum=1_000_000),
    ),
    dtypes=DTYPES,
    methods={
        "zeros": _method("zeros", _zeros, "np.zeros: zero-initialised (calloc: the OS may zero lazily)",
                         True),
        "empty": _method("empty", _empty, "np.empty: uninitialised", False),
        "ones": _method("ones", _ones, "np.ones: every element written", True),
        "full": _method("full", _full, "np.full with the seed's 3.14: every element written", True),
        "arange_reshape": _method("arange_reshape", _arange_reshape,
                                  "np.arange(rows*cols).reshape(rows, cols): the sequence, then a view",
                                  True, skip=_arange_skip),
    },
    setup=setup,
    check=check,
    baseline="empty",
)


# --- claims -----------------------------------------------------------------------------------------

#: Relative slack of the memory bounds (allocator headers, rounding), and an absolute one for pages.
MEMORY_TOLERANCE = 0.10
PAGE_SLACK_BYTES = 64 * 1024


def _label(r) -> str:
    return f"{int(r['rows'])}×{int(r['cols'])} {r['dtype']}"


def _nbytes(r) -> float:
    return float(int(r["rows"]) * int(r["cols"]) * np.dtype(str(r["dtype"])).itemsize)


def empty_vs(scope, others: tuple[str, ...]) -> list:
    """np.empty against each of ``others`` per dtype and shape, by the verdict of the time ratio."""
    from numperf.claims import speed_ratio
    from numperf.families._claimkit import ratio_case

    out = []
    for other in others:
        df = speed_ratio(scope, "empty", other)
        for _, r in df.sort_values([c for c in ("dtype", "rows", "cols") if c in df]).iterrows():
            out.append(ratio_case(r, f"empty vs {other} {_label(r)}", other, f"verdict {r['verdict']}"))
    return out


def _memory_rows(scope, methods: tuple[str, ...]):
    from numperf.claims import ok_rows

    runs = ok_rows(scope)
    if runs.empty:
        return runs
    return runs[runs["method"].isin(methods)].sort_values(["method", "dtype", "rows", "cols"])


def _itemsize_cases(scope):
    """Measured peak of ones and full (which touch every page, so RSS sees them) against
    elements x itemsize."""
    from numperf.claims import Case, peak_range, within

    out = []
    for _, r in _memory_rows(scope, ("ones", "full")).iterrows():
        got = peak_range(r)
        if got is None:
            continue
        want = _nbytes(r)
        lo_b = (1 - MEMORY_TOLERANCE) - PAGE_SLACK_BYTES / want
        hi_b = (1 + MEMORY_TOLERANCE) + PAGE_SLACK_BYTES / want
        low, high = got[0] / want, got[1] / want
        out.append(Case(f"{r['method']} {_label(r)}", within(low, high, lo_b, hi_b), low, low, high,
                        str(r["dtype"]), f"{got[2]} {got[0] / 1e6:.3g} MB vs {want / 1e6:.3g} MB "
                        f"({np.dtype(str(r['dtype'])).itemsize} B per element)"))
    return out


def _view_cases(scope):
    """arange + reshape: the reshape is a view (fact) and the call's peak is one buffer, not two."""
    from numperf.claims import CONTRADICTS, Case, at_most, peak_range
    from numperf.tables import as_bool

    out = []
    for _, r in _memory_rows(scope, ("arange_reshape",)).iterrows():
        got = peak_range(r)
        view = r.get("check_returns_view")
        is_view = as_bool(view) if view is not None else None
        if got is None:
            continue
        want = _nbytes(r)
        bound = 1 + MEMORY_TOLERANCE + PAGE_SLACK_BYTES / want
        low, high = got[0] / want, got[1] / want
        outcome = CONTRADICTS if is_view is False else at_most(low, high, bound)
        out.append(Case(f"arange_reshape {_label(r)}", outcome, low, low, high, str(r["dtype"]),
                        f"{got[2]} {got[0] / 1e6:.3g} MB vs one array {want / 1e6:.3g} MB; "
                        f"returns_view={is_view}"))
    return out


EMPTY_FASTER_RULE = ("A case supports when the verdict is 'faster' for np.empty; 'slower' or 'equivalent' "
                     "contradicts; 'inconclusive' leaves it undecided.")


def _empty_faster(id: str, section: str, text: str, quantity: str, others: tuple[str, ...], needs: str,
                  more_rule: str = ""):
    """Seed 001's claim that np.empty is faster than each of ``others`` (empty_vs)."""
    from functools import partial

    from numperf.families._claimkit import claim_maker

    return claim_maker(FAMILY_NAME)(
        id, "001", section, text, quantity=quantity, rule=EMPTY_FASTER_RULE + more_rule, needs=needs,
        decided_by="runs.csv time_process_medians_s of empty and the other creation methods "
                   "(claims.speed_ratio)",
        cases=partial(empty_vs, others=others))


def claims() -> list:
    """Seed 001's statements about creating arrays (and 000's about reshape views)."""
    from numperf.claims import lower_supports, near
    from numperf.families._claimkit import claim_maker

    claim = claim_maker(FAMILY_NAME)
    return [
        _empty_faster("creation_empty_beats_initialising", "§1.3 Efficient array creation methods",
                      "np.empty, which leaves the memory uninitialised, is faster than np.ones, np.full and "
                      "np.arange + reshape, which write every element.",
                      "other method's time / empty's time (×)", INITIALISING,
                      "empty and at least one of ones, full, arange_reshape"),
        _empty_faster("creation_empty_beats_zeros",
                      "§1.3 Efficient array creation methods ('uninitialised (fastest)')",
                      "np.empty is faster than np.zeros (the seed calls empty the fastest creation method).",
                      "zeros' time / empty's time (×)", ("zeros",), "empty and zeros",
                      " np.zeros gets zeroed memory from calloc; above the allocator's mmap threshold those "
                      "are fresh pages the kernel zeroes on first touch, so np.zeros can cost no more than "
                      "np.empty there: an 'equivalent' case is that finding."),
        claim("creation_bytes_follow_itemsize", "001", "§1.3 Data types and memory usage",
              "An array takes elements × itemsize bytes: the dtype sets its memory (1 byte per element "
              "for int8 up to 8 for int64 and float64).",
              decided_by="runs.csv peak_rss_bytes / peak_rss_max_bytes (traced_peak_bytes below 1 MB) of "
                         "ones and full",
              quantity="measured peak / (elements × itemsize)", badness=near(1.0),
              rule=f"A case supports when the measured peak's range (RSS median to max; tracemalloc below "
                   f"1 MB) lies within ±{MEMORY_TOLERANCE:.0%} (plus {PAGE_SLACK_BYTES // 1024} KiB of "
                   "pages) of elements × itemsize, contradicts when it lies entirely outside.",
              needs="ones or full in any dtype", cases=_itemsize_cases),
        claim("creation_arange_reshape_is_view", "001 000",
              "001 §1.3 (arange, then reshape) and §1.2 views vs copies; 000 'most reshapes only change "
              "the strides'",
              "Reshaping the fresh arange result is a view: arange + reshape allocates the array once, "
              "not twice.",
              decided_by="runs.csv check_returns_view and the measured peak (peak RSS, or traced_peak_bytes "
                         "below 1 MB) of arange_reshape",
              quantity="measured peak / one array's bytes", badness=lower_supports,
              rule=f"A case contradicts when the result is not a view; otherwise it supports when the peak's "
                   f"high end stays within one array (+{MEMORY_TOLERANCE:.0%} and "
                   f"{PAGE_SLACK_BYTES // 1024} KiB), contradicts when its low end exceeds that.",
              needs="arange_reshape", cases=_view_cases),
    ]


# --- figures ----------------------------------------------------------------------------------------

def _with_elements(df):
    df = df.copy()
    df["elements"] = df["rows"].astype(int) * df["cols"].astype(int)
    return df


def _draw_times(tables, fig):
    import pandas as pd

    from numperf import plotting as F

    runs = tables.get("runs", pd.DataFrame())
    if runs is None or runs.empty or "rows" not in runs:
        F.message(fig, "No creation case was measured.")
        return None, None
    ok = _with_elements(runs[(runs["status"] == "ok") & runs["time_median_s"].notna()])
    # a dtype measured with a single method (e.g. only ones, for its bytes) has nothing to compare
    per_dtype = ok.groupby("dtype")["method"].nunique()
    ok = ok[ok["dtype"].isin(per_dtype[per_dtype > 1].index)]
    if ok.empty:
        F.message(fig, "No dtype was measured with two or more creation methods.")
        return None, None
    return F.facet_lines(fig, ok, x="elements", y="time_median_s", xlabel="elements (rows × cols)",
                         ylabel="time per call (s)", panels=("dtype",), lines="method", styles=None)


MEASURES = ("elements × itemsize (allocated)", "tracemalloc peak of one call", "peak RSS (touched pages)")


def memory_frame(tables: dict):
    """Bytes per element of one call per method at each dtype's largest measured size: the model,
    tracemalloc's peak (allocated) and peak RSS (pages touched; only where RSS can see the array)."""
    import pandas as pd

    runs = tables.get("runs", pd.DataFrame())
    if runs is None or runs.empty or "rows" not in runs:
        return pd.DataFrame()
    ok = _with_elements(runs[runs["status"] == "ok"])
    if ok.empty:
        return pd.DataFrame()
    largest = ok.groupby(["host_id", "backend", "dtype"])["elements"].transform("max")
    ok = ok[ok["elements"] == largest]
    rows = []
    for _, r in ok.iterrows():
        n, want = float(r["elements"]), _nbytes(r)
        base = {"row": r.name, "host_id": r["host_id"], "backend": r["backend"], "method": r["method"],
                # the panel key goes in the dtype column, whose value titles a panel without "name="
                "dtype": f"{r['dtype']}, {int(r['rows'])}×{int(r['cols'])}",
                "noisy": False}  # bytes, not timings: the noisy flag does not apply
        values = [want, r.get("traced_peak_bytes"),
                  r.get("peak_rss_bytes") if want >= measure.RSS_VISIBLE_BYTES else None]
        rows += [{**base, "measure": m, "bytes_per_element": float(v) / n}
                 for m, v in zip(MEASURES, values, strict=True) if v is not None and pd.notna(v)]
    df = pd.DataFrame(rows)
    if not df.empty:
        df["measure"] = df["measure"].map(lambda m: f"{MEASURES.index(m) + 1}. {m}")
    return df


def _draw_memory(tables, fig):
    from numperf import plotting as F

    df = memory_frame(tables)
    if df.empty:
        F.message(fig, "No creation case was measured.")
        return None, None
    handles, _ = F.facet_bars(fig, df, category="method", value="bytes_per_element",
                              ylabel="bytes per element", panels=("dtype",), hue="measure", log=False)
    runs = tables["runs"]
    return handles, runs[(runs["status"] == "ok") & runs.index.isin(df["row"].unique())]


def figures() -> list:
    return [
        FigureDecl("creation_times", "Array creation time against size",
                   "Time of one np.zeros, np.empty, np.ones, np.full and np.arange + reshape call against "
                   "the number of elements, 95% between-process intervals.", _draw_times),
        FigureDecl("creation_memory", "Allocated vs touched memory of array creation",
                   "Bytes per element of one call at each dtype's largest size: allocated (model and "
                   "tracemalloc) vs resident (peak RSS); zeros and empty touch no page.", _draw_memory),
    ]

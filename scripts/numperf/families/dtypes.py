"""The dtypes family: one sum and one scaling in every integer and float width, and the seed's
promotion examples.

Seed 001 (§1.3) says the dtype you choose changes both the memory an array takes and the speed of
operations on it, and times ``np.sum`` and ``* 2.0`` in float32 against float64; seed 003 shows
which dtype NumPy gives when an int8 array meets a larger scalar, a float or a wider array. The
methods measure the first (``sum``, ``times_two``), the checks record the second as facts
(``check_promo_*``), which the claims compare with what the seeds printed: a statement that no longer
holds under this NumPy (NEP 50 changed the promotion of Python scalars in NumPy 2) fails, with the
dtype or error NumPy gave as its evidence.
"""

from __future__ import annotations

import numpy as np

from numperf import seeds
from numperf.family import Check, Family, FigureDecl, MemoryModel, Method, Param

NAME = "dtypes"
SEED_001, SEED_003 = seeds.names("001", "003")
FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("int8", "int16", "int32", "int64")
DTYPES = FLOAT_DTYPES + INT_DTYPES
#: Bytes per element of each dtype as the seed's memory table (001 §1.3) lists them.
SEED_ITEMSIZE = {"int8": 1, "int16": 2, "int32": 4, "int64": 8, "float32": 4, "float64": 8}
#: Integers are drawn from [0, INT_HIGH) so that twice the largest still fits in int8.
INT_HIGH = 50
#: Methods timed per element (the promotion examples are a correctness record, not a throughput).
THROUGHPUT_METHODS = ("sum", "times_two", "times_two_float")
#: The seed's int8 array (003, "Data types"): a float array [1, 2, 3, 4] cast to int8.
SEED_Y = (1.0, 2.0, 3.0, 4.0)
#: The seed's promotion examples (003, "Data types"): name -> (expression, dtype the seed printed,
#: the mathematically exact values of the expression for SEED_Y).
PROMOTION_EXAMPLES = {
    "plus_1": ("y + 1", "int8", (2, 3, 4, 5)),
    "plus_256": ("y + 256", "int16", (257, 258, 259, 260)),
    "plus_256_float": ("y + 256.0", "float64", (257, 258, 259, 260)),
    "plus_int32_array": ("y + np.array([256], dtype=np.int32)", "int32", (257, 258, 259, 260)),
    "assign_plus_1_5": ("y[:] = y + 1.5", "int8", (2, 3, 4, 5)),
}
#: What a promotion example may raise instead of returning an array (NumPy 2: OverflowError).
PROMOTION_ERRORS = (OverflowError, TypeError, ValueError)


def _itemsize(dtype: str) -> int:
    return int(np.dtype(dtype).itemsize)


def _is_float(dtype: str) -> bool:
    return np.dtype(dtype).kind == "f"


def _elements(params: dict) -> int:
    return int(params["elements"])


# --- inputs ----------------------------------------------------------------------------------------

def setup(params: dict, dtype: str, rng, method: str | None = None) -> dict:
    """The array of the case (floats in [0, 1) like ``np.random.rand``, integers in [0, INT_HIGH)),
    the scalar two of its own kind, and the seed's int8 array for the promotion examples."""
    n = _elements(params)
    if _is_float(dtype):
        a = rng.random(n).astype(dtype, copy=False)
        two = 2.0
    else:
        a = rng.integers(0, INT_HIGH, size=n, dtype=dtype)
        two = 2
    return {"a": a, "two": two, "seed_y": np.array(SEED_Y).astype(np.int8)}


# --- kernels ---------------------------------------------------------------------------------------

def _sum(inputs, threads=1):
    return np.sum(inputs["a"])


def _times_two(inputs, threads=1):
    """``a * 2.0`` for floats (the seed's expression), ``a * 2`` for integers: the result keeps the
    input's dtype, so every dtype reads and writes its own width."""
    return inputs["a"] * inputs["two"]


def _times_two_float(inputs, threads=1):
    """The seed's literal ``a * 2.0`` in every dtype: integers are promoted to float64."""
    return inputs["a"] * 2.0


def _assign(target, value):
    target[:] = value
    return target


def _promotion(inputs, threads=1) -> dict:
    """Every promotion example of seed 003 on its int8 array: the result array, or the exception
    NumPy raised instead. The array is copied first so that repeated calls see the same input."""
    y = inputs["seed_y"]
    examples = {
        "plus_1": lambda: y + 1,
        "plus_256": lambda: y + 256,
        "plus_256_float": lambda: y + 256.0,
        "plus_int32_array": lambda: y + np.array([256], dtype=np.int32),
        "assign_plus_1_5": lambda: _assign(y.copy(), y + 1.5),
    }
    out = {}
    for name, fn in examples.items():
        try:
            out[name] = fn()
        except PROMOTION_ERRORS as exc:
            out[name] = exc
    return out


# --- models ----------------------------------------------------------------------------------------

def _sum_buffer_bytes(dtype: str) -> int:
    """np.sum accumulates integers narrower than the default int in the default int, through a
    cast buffer of ``np.getbufsize()`` elements; floats are summed in place."""
    acc = np.sum(np.zeros(1, dtype=dtype)).dtype
    return int(np.getbufsize()) * acc.itemsize if acc != np.dtype(dtype) else 0


def _input_bytes(params: dict, dtype: str) -> int:
    return _elements(params) * _itemsize(dtype)


def _sum_memory(params, dtype, options) -> MemoryModel:
    return MemoryModel(_input_bytes(params, dtype), _sum_buffer_bytes(dtype), 0)


def _times_two_memory(params, dtype, options) -> MemoryModel:
    return MemoryModel(_input_bytes(params, dtype), 0, _input_bytes(params, dtype))


def _float_result_itemsize(dtype: str) -> int:
    return _itemsize(dtype) if _is_float(dtype) else 8


def _times_two_float_memory(params, dtype, options) -> MemoryModel:
    """Integers are cast to float64 through a buffer of ``np.getbufsize()`` elements."""
    buffer = 0 if _is_float(dtype) else int(np.getbufsize()) * 8
    return MemoryModel(_input_bytes(params, dtype), buffer, _elements(params) * _float_result_itemsize(dtype))


def _promotion_memory(params, dtype, options) -> MemoryModel:
    # five results of four elements each (and one int8 copy): a few hundred bytes at most
    return MemoryModel(len(SEED_Y), 0, 5 * len(SEED_Y) * 8)


def _per_element(params, dtype) -> float:
    return float(_elements(params))


def _promotion_skip(params: dict, dtype: str) -> str | None:
    if dtype != "int8":
        return "not_applicable: the seed's promotion examples start from an int8 array (run with int8)"
    return None


METHODS = {
    "sum": Method(
        "sum", _sum, _sum_memory,
        "np.sum(a): reads every element once (integers accumulate in the default int)",
        flops=_per_element, bytes_moved=lambda p, d: float(_input_bytes(p, d))),
    "times_two": Method(
        "times_two", _times_two, _times_two_memory,
        "a * 2.0 for floats, a * 2 for integers: a new array of the same dtype",
        flops=_per_element, bytes_moved=lambda p, d: float(2 * _input_bytes(p, d))),
    "times_two_float": Method(
        "times_two_float", _times_two_float, _times_two_float_memory,
        "a * 2.0 in every dtype (integers are promoted to float64)",
        flops=_per_element,
        bytes_moved=lambda p, d: float(_input_bytes(p, d) + _elements(p) * _float_result_itemsize(d))),
    "promotion_examples": Method(
        "promotion_examples", _promotion, _promotion_memory,
        "the seed's int8 promotion examples (y + 1, y + 256, y + 256.0, y + int32 array, y[:] = y + 1.5): "
        "a record of the dtypes NumPy gives, not a throughput",
        skip=_promotion_skip),
}


# --- check -----------------------------------------------------------------------------------------

def _sum_bound(n: int, eps: float, total_abs: float) -> float:
    """Absolute rounding bound of any summation order of n terms: gamma_(n-1) * sum |a_i|."""
    k = max(n - 1, 0) * eps
    return k / (1 - k) * total_abs if k < 1 else float("inf")


def _outcome(value) -> str:
    """The dtype an example gave, or the name of the exception it raised."""
    return type(value).__name__ if isinstance(value, BaseException) else str(value.dtype)


def promotion_facts(result: dict) -> tuple[dict, str | None]:
    """Per seed example: what NumPy gave (``promo_<name>``: dtype or exception), whether it is what
    the seed printed (``promo_<name>_as_seed``: dtype and values) and whether the values are exact
    (``promo_<name>_exact``, False when an array wrapped around); and a failure reason when the
    result does not hold every example."""
    missing = [k for k in PROMOTION_EXAMPLES if k not in result]
    if missing:
        return {}, f"incomplete: no result for the promotion example(s) {', '.join(missing)}"
    facts, same = {}, 0
    for name, (_, seed_dtype, exact) in PROMOTION_EXAMPLES.items():
        value = result[name]
        outcome = _outcome(value)
        is_array = isinstance(value, np.ndarray)
        values_exact = bool(is_array and value.shape == (len(exact),)
                            and np.array_equal(value.astype(np.float64), np.array(exact, dtype=np.float64)))
        as_seed = outcome == seed_dtype and values_exact
        same += as_seed
        facts[f"promo_{name}"] = outcome
        facts[f"promo_{name}_as_seed"] = as_seed
        facts[f"promo_{name}_exact"] = values_exact
    facts["promo_as_seed"] = f"{same} of {len(PROMOTION_EXAMPLES)}"
    return facts, None


def numpy_facts() -> dict:
    """What this NumPy calls its default integer (``np.dtype(int)``) and its bytes per element."""
    default = np.dtype(int)
    return {"numpy_version": np.__version__, "default_int": str(default),
            "default_int_itemsize": int(default.itemsize)}


def check(method: str, result, inputs: dict, params: dict, dtype: str, rng) -> Check:
    """Exact values for integers and for scaling by two; the rounding bound of a sum of n terms
    for float sums. Facts: dtypes and bytes per element of the input and the result."""
    facts = numpy_facts()
    if method == "promotion_examples":
        promo, failed = promotion_facts(result if isinstance(result, dict) else {})
        return Check(None, None, failed, {**facts, **promo})
    a = inputs["a"]
    facts.update(itemsize=int(a.itemsize), input_nbytes=int(a.nbytes), input_dtype=str(a.dtype))
    got = np.asarray(result)
    facts["result_dtype"] = str(got.dtype)
    if method == "sum":
        if _is_float(dtype):
            ref = np.sum(a, dtype=np.longdouble)
            bound = _sum_bound(a.size, float(np.finfo(dtype).eps), float(np.sum(np.abs(a), dtype=np.float64)))
        else:
            ref, bound = int(np.sum(a, dtype=np.int64)), 0.0
        abs_err = float(abs(np.longdouble(got[()]) - np.longdouble(ref)))
        rel_err = abs_err / abs(float(ref)) if float(ref) else abs_err
        facts["error_bound_abs"] = float(bound)
        failed = (f"inaccurate: |sum - reference| = {abs_err:.3g} exceeds the summation bound {bound:.3g}"
                  if not abs_err <= bound else None)
        return Check(abs_err, rel_err, failed, facts)
    want = a.astype(np.float64) * 2 if method == "times_two_float" or _is_float(dtype) \
        else a.astype(np.int64) * 2
    facts.update(result_nbytes=int(got.nbytes), result_itemsize=int(got.itemsize),
                 keeps_dtype=bool(got.dtype == a.dtype))
    if got.shape != a.shape:
        return Check(None, None, f"wrong shape: {got.shape} instead of {a.shape}", facts)
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    abs_err = float(diff.max()) if diff.size else 0.0
    rel_err = float((diff / np.maximum(np.abs(want), 1)).max()) if diff.size else 0.0
    failed = f"wrong values: max |result - 2a| = {abs_err:.3g} (scaling by two is exact)" if abs_err else None
    return Check(abs_err, rel_err, failed, facts)


FAMILY = Family(
    name=NAME,
    description="one sum and one scaling by two in float32, float64 and int8 to int64; the seed's "
                "int8 promotion examples as a record of NumPy's result dtypes",
    seeds=(SEED_001, SEED_003),
    params=(
        Param("elements", "int", 5_000_000, "elements of the array (the seed's 5 000 000)", minimum=1,
              maximum=2_000_000_000),
    ),
    dtypes=DTYPES,
    methods=METHODS,
    setup=setup,
    check=check,
    baseline=None,  # the methods do different work: they are compared across dtypes, not with each other
    optional_methods=("times_two_float",),
)


# --- figures ---------------------------------------------------------------------------------------

def dtype_label(dtype: str) -> str:
    """``"1 B int8"``: sorts the dtypes by bytes per element, then by name."""
    return f"{_itemsize(dtype)} B {dtype}"


def _throughput_rows(tables: dict):
    from numperf import claims as claims_mod

    runs = claims_mod.ok_rows(claims_mod.Scope(tables, "", None))
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
    from numperf import figures

    runs = _throughput_rows(tables)
    if runs.empty:
        figures._message(fig, "No ok sum or times_two rows of the dtypes family to plot.")
        return None, None
    runs = _rate(runs, runs["elements"].astype(float) / 1e9, "g_elements_per_s")
    return figures.facet_bars(fig, runs, category="dtype_label", value="g_elements_per_s",
                              ylabel="10⁹ elements per second", panels=_panels(runs),
                              ci=("g_elements_per_s_low", "g_elements_per_s_high"), log=False)


def draw_bandwidth(tables: dict, fig):
    from numperf import figures

    runs = _throughput_rows(tables)
    if runs.empty or "bytes_moved" not in runs:
        figures._message(fig, "No ok sum or times_two rows with bytes moved to plot.")
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


# --- claims ----------------------------------------------------------------------------------------

#: Relative slack of the measured memory of a result against elements x bytes per element.
MEMORY_TOLERANCE = 0.10
#: The labels of a dtype pair's verdict: (wide faster, narrow faster).
_PAIR = ("{wide} faster", "{narrow} faster")


def _count(n) -> str:
    """1e7 for 10 000 000, 5e6 for 5 000 000; other numbers in full."""
    n = int(n)
    mant, exp = f"{n:.0e}".split("e")
    return f"{mant}e{int(exp)}" if int(mant) * 10 ** int(exp) == n and n >= 1000 else f"{n:,}"


def _case_label(r, dtype: str | None = None) -> str:
    text = f"{r['method']} {_count(r['elements'])}"
    return text + (f" {dtype}" if dtype else "") + f" t{int(r['threads'])}"


def dtype_pairs(scope, wide: str, narrow: str, methods=THROUGHPUT_METHODS):
    """Per method, size and thread count measured in both dtypes: ``ratio`` = time in ``wide`` /
    time in ``narrow`` with its between-process interval (``low``, ``high``) and the verdict
    ("<narrow> faster", "<wide> faster", "equivalent" or "inconclusive")."""
    import pandas as pd

    from numperf import aggregate
    from numperf.claims import ok_rows

    runs = ok_rows(scope)
    cols = ["method", "elements", "threads", "ratio", "low", "high", "verdict"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    runs = runs[runs["method"].isin(methods)]
    on = ["method", "elements", "threads"]
    keep = on + ["time_process_medians_s"]
    both = runs[runs["dtype"] == wide][keep].merge(runs[runs["dtype"] == narrow][keep], on=on,
                                                   suffixes=("_wide", "_narrow"))
    if both.empty:
        return pd.DataFrame(columns=cols)
    labels = tuple(s.format(wide=wide, narrow=narrow) for s in _PAIR)
    r = aggregate.ratio_columns(both, "_wide", "_narrow", scope.min_effect, labels)
    out = both.assign(ratio=r["ratio"], low=r["ci_low"], high=r["ci_high"], verdict=r["verdict"])
    return out[cols].sort_values(on).reset_index(drop=True)


def _pair_cases(scope, wide: str, narrow: str, methods) -> list:
    from numperf.claims import Case, from_verdict

    df = dtype_pairs(scope, wide, narrow, methods)
    return [Case(f"{r['method']} {_count(r['elements'])} t{int(r['threads'])}: {wide}/{narrow}",
                 from_verdict(str(r["verdict"]), f"{narrow} faster", (f"{wide} faster", "equivalent")),
                 float(r["ratio"]), float(r["low"]), float(r["high"]), str(r["method"]),
                 f"verdict {r['verdict']}") for _, r in df.iterrows()]


def float32_faster(scope) -> list:
    # times_two is the seed's a * 2.0 for floats (times_two_float would count the same operation twice)
    return _pair_cases(scope, "float64", "float32", ("sum", "times_two"))


def smaller_int_faster(scope) -> list:
    cases = []
    for narrow, wide in zip(INT_DTYPES, INT_DTYPES[1:], strict=False):
        cases += _pair_cases(scope, wide, narrow, ("sum", "times_two"))
    return cases


def _fact_rows(scope, fact: str):
    """Runs rows (any status) that recorded ``check_<fact>``."""
    runs = scope.table("runs")
    col = f"check_{fact}"
    if runs.empty or col not in runs:
        return runs.iloc[0:0] if not runs.empty else runs
    return runs[runs[col].notna()]


def _exact(outcome: bool):
    from numperf.claims import CONTRADICTS, SUPPORTS

    return SUPPORTS if outcome else CONTRADICTS


def bytes_per_element(scope) -> list:
    from numperf.claims import Case

    cases = []
    rows = _fact_rows(scope, "itemsize")
    rows = rows[rows["dtype"].isin(list(SEED_ITEMSIZE))] if not rows.empty else rows
    for dtype in sorted(set(rows["dtype"]) if not rows.empty else (), key=lambda d: (SEED_ITEMSIZE[d], d)):
        g = rows[rows["dtype"] == dtype]
        size = float(g["check_itemsize"].iloc[0])
        same_size = bool((g["check_itemsize"].astype(float) == size).all())
        nbytes_ok = "check_input_nbytes" not in g or bool(
            (g["check_input_nbytes"].astype(float) == g["elements"].astype(float) * size).all())
        q = size / SEED_ITEMSIZE[dtype]
        cases.append(Case(str(dtype), _exact(size == SEED_ITEMSIZE[dtype] and same_size and nbytes_ok), q, q,
                          q, "dtypes", f"{size:g} B, seed: {SEED_ITEMSIZE[dtype]} B; nbytes = elements × "
                                       f"itemsize in every case: {'yes' if nbytes_ok else 'no'}"))
    rows = _fact_rows(scope, "default_int_itemsize")
    if not rows.empty:
        r = rows.iloc[0]
        size = float(r["check_default_int_itemsize"])
        q = size / 8
        cases.append(Case("default int (np.arange)", _exact(size == 8), q, q, q, "default int",
                          f"np.dtype(int) is {r.get('check_default_int', '?')}, {size:g} B; seed 001: 8 B "
                          f"per element"))
    return cases


def memory_follows_itemsize(scope) -> list:
    from numperf.claims import Case, ok_rows, peaks, within

    runs = ok_rows(scope)
    if runs.empty:
        return []
    cases = []
    band = (1 / (1 + MEMORY_TOLERANCE), 1 + MEMORY_TOLERANCE)
    for _, r in runs[runs["method"] == "times_two"].sort_values(["elements", "threads"]).iterrows():
        if r["dtype"] not in SEED_ITEMSIZE:
            continue
        got = peaks(r)
        if got is None:
            continue
        ((lo, hi),), kind = got
        want = float(r["elements"]) * SEED_ITEMSIZE[r["dtype"]]
        cases.append(Case(_case_label(r, str(r["dtype"])), within(lo / want, hi / want, *band), lo / want,
                          lo / want, hi / want, str(r["dtype"]),
                          f"{kind} {lo / 1e6:.3g} MB vs elements × {SEED_ITEMSIZE[r['dtype']]} B = "
                          f"{want / 1e6:.3g} MB"))
    return cases


def promotion_examples(scope) -> list:
    from numperf.claims import Case
    from numperf.tables import as_bool

    rows = _fact_rows(scope, "promo_as_seed")
    if rows.empty:
        return []
    r = rows.iloc[0]
    cases = []
    for name, (expr, seed_dtype, _) in PROMOTION_EXAMPLES.items():
        col = f"check_promo_{name}"
        if col not in r or r[col] != r[col]:
            continue
        same = as_bool(r.get(f"{col}_as_seed"))
        exact = as_bool(r.get(f"{col}_exact"))
        cases.append(Case(expr, _exact(same), 1.0 if same else 0.0, group="int8 y",
                          note=f"seed: {seed_dtype}; NumPy {r.get('check_numpy_version', '?')}: {r[col]}"
                               + ("" if exact or str(r[col]).endswith("Error") else ", values not exact")))
    return cases


def default_int_is_int32(scope) -> list:
    from numperf.claims import Case

    rows = _fact_rows(scope, "default_int")
    if rows.empty:
        return []
    r = rows.iloc[0]
    size = float(r["check_default_int_itemsize"])
    same = str(r["check_default_int"]) == "int32" and size == 4
    return [Case("np.dtype(int)", _exact(same), size, size, size,
                 note=f"NumPy {r.get('check_numpy_version', '?')}: {r['check_default_int']}, {size:g} B; "
                      f"seed 003: int32, 4 B")]


def claims() -> list:
    from numperf.claims import Claim, higher_supports, near

    def claim(**kw) -> Claim:
        return Claim(family=NAME, **kw)

    speed_rule = ("Per method, size and thread count, the between-process interval of the time ratio "
                  "{wide}/{narrow} and its verdict: {narrow} faster supports; {wide} faster or equivalent "
                  "(within min_effect) contradicts; inconclusive leaves it undecided.")
    return [
        claim(id="dtypes-float32-faster", seed=(SEED_001,),
              seed_section="001 §1.3 (data types and memory usage; exercise 2 times np.sum and * 2.0 in "
                           "float32 and float64)",
              text="Summing and scaling an array are faster in float32 than in float64: these operations "
                   "are limited by memory traffic, and float32 moves half the bytes.",
              decided_by="runs.csv process medians of sum and times_two (a * 2.0) in float32 and float64 at "
                         "the same size and threads",
              quantity="time float64 / time float32",
              rule=speed_rule.format(wide="float64", narrow="float32"),
              needs="sum or times_two measured in float32 and float64 at the same size and threads",
              cases=float32_faster),
        claim(id="dtypes-smaller-int-faster", seed=(SEED_001,),
              seed_section="001 §1.3 (the choice of data type changes memory use and speed)",
              text="The narrower the integer type, the faster each element is summed or scaled: int8 before "
                   "int16 before int32 before int64.",
              decided_by="runs.csv process medians of sum and times_two in neighbouring integer widths at "
                         "the same size and threads",
              quantity="time wider / time narrower (same number of elements)",
              rule="Per method, size, threads and neighbouring pair (int16/int8, int32/int16, int64/int32): "
                   "the between-process interval of the time ratio: the narrower type faster supports; the "
                   "wider faster or equivalent (within min_effect) contradicts; inconclusive leaves it "
                   "undecided.",
              needs="sum or times_two measured in two neighbouring integer widths at the same size and "
                    "threads",
              cases=smaller_int_faster),
        claim(id="dtypes-bytes-per-element", seed=(SEED_001,),
              seed_section="001 §1.3 (table of bytes per element: int8 1, int16 2, int32 4, int64 8, "
                           "float32 4, float64 8) and §1.1 (an np.arange array takes 8 bytes per element)",
              text="Each dtype takes the bytes per element the seed's table gives, an array's nbytes is its "
                   "elements times that, and NumPy's default integer takes 8 bytes.",
              decided_by="runs.csv check facts: check_itemsize, check_input_nbytes, "
                         "check_default_int_itemsize",
              quantity="bytes per element / the seed's bytes per element",
              badness=near(1.0),
              rule="Exact facts (no interval): per dtype, supports when its itemsize is the seed's and "
                   "nbytes = elements × itemsize in every case, contradicts otherwise; the default integer "
                   "(np.dtype(int), what np.arange makes) supports with 8 bytes, contradicts otherwise.",
              needs="any case of the dtypes family with a check",
              cases=bytes_per_element),
        claim(id="dtypes-memory-follows-itemsize", seed=(SEED_001,),
              seed_section="001 §1.3 (choosing the data type changes the memory an array uses)",
              text="A new array costs its elements times the dtype's bytes per element: scaling an array "
                   "allocates exactly that for its result.",
              decided_by="runs.csv peaks of times_two (peak_rss_bytes, peak_rss_max_bytes, "
                         "traced_peak_bytes)",
              quantity="measured peak / (elements × bytes per element)",
              badness=near(1.0),
              rule=f"Peak above the pre-call baseline: peak RSS (median to max over repetitions) where it is "
                   f"≥ 1 MB, else tracemalloc's peak. Per case: supports when the range lies inside "
                   f"[{1 / (1 + MEMORY_TOLERANCE):.3g}, {1 + MEMORY_TOLERANCE:.3g}], contradicts when "
                   f"entirely outside.",
              needs="times_two measured with a peak-memory reading",
              cases=memory_follows_itemsize),
        claim(id="dtypes-int8-promotion-as-seed", seed=(SEED_003,),
              seed_section="003 'Data types' (an int8 array plus 1, plus 256, plus 256.0, plus an int32 "
                           "array, and assigned y + 1.5)",
              text="NumPy promotes as the seed printed: int8 + 1 stays int8, int8 + 256 becomes int16, "
                   "int8 + 256.0 becomes float64, int8 + an int32 array becomes int32, and assigning "
                   "y + 1.5 back into y truncates to int8.",
              decided_by="runs.csv check facts of promotion_examples (check_promo_<example>, "
                         "check_promo_<example>_as_seed)",
              quantity="1 when NumPy's dtype and values are the seed's, 0 otherwise",
              badness=higher_supports,
              rule="Exact facts (no interval): per example, supports when this NumPy gives the seed's dtype "
                   "with the exact values; contradicts when it gives another dtype, wraps around or raises "
                   "(NumPy 2's NEP 50 rejects a Python int that does not fit the array's dtype).",
              needs="promotion_examples measured in int8",
              cases=promotion_examples),
        claim(id="dtypes-default-int-is-int32", seed=(SEED_003,),
              seed_section="003 'Data types' (np.dtype(int) printed as int32 with itemsize 4)",
              text="NumPy's default integer, np.dtype(int), is int32 and takes 4 bytes per element.",
              decided_by="runs.csv check facts check_default_int, check_default_int_itemsize",
              quantity="bytes per element of np.dtype(int)",
              badness=near(4.0),
              rule="Exact fact (no interval): supports when np.dtype(int) is int32 (4 bytes), contradicts "
                   "otherwise (NumPy 2 made the default integer 64-bit on every 64-bit platform; it was "
                   "int32 on Windows before).",
              needs="any case of the dtypes family with a check",
              cases=default_int_is_int32),
    ]

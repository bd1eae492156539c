"""The dtypes family: one sum and one scaling in every integer and float width, and the seed's
promotion examples.

Seed 001 (§1.3) says the dtype you choose changes both the memory an array takes and the speed of
operations on it, and times ``np.sum`` and ``* 2.0`` in float32 against float64; seed 003 shows
which dtype NumPy gives when an int8 array meets a larger scalar, a float or a wider array. The
methods measure the first (``sum``, ``times_two``), the checks record the second as facts
(``check_promo_*``), which the claims compare with what the seeds printed: a statement that no longer
holds under this NumPy (NEP 50 changed the promotion of Python scalars in NumPy 2) fails, with the
dtype or error NumPy gave as its evidence.

This package's ``__init__`` is the declaration a measuring child imports: stdlib and numpy only. The
claims (``_claims``) and figures (``_figures``) import pandas, matplotlib and numperf's analysis modules;
``claims()`` and ``figures()`` below import them on the analysis side only.
"""

from __future__ import annotations

import numpy as np

from numperf import seeds
from numperf.family import Check, Family, MemoryModel, Method, Param

NAME = "dtypes"
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
    return _elements(params) * np.dtype(dtype).itemsize


def _sum_memory(params, dtype, options) -> MemoryModel:
    return MemoryModel(_input_bytes(params, dtype), _sum_buffer_bytes(dtype), 0)


def _times_two_memory(params, dtype, options) -> MemoryModel:
    return MemoryModel(_input_bytes(params, dtype), 0, _input_bytes(params, dtype))


def _float_result_itemsize(dtype: str) -> int:
    return np.dtype(dtype).itemsize if _is_float(dtype) else 8


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
    seeds=seeds.names("001", "003"),
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
    dtype_pairs=(("float32", "float64"),),
)


def claims() -> list:
    """Seed 001's statements about dtypes, speed and memory and seed 003's about promotion
    (``_claims``; analysis side)."""
    from numperf.families.dtypes import _claims

    return list(_claims.CLAIMS)


def figures() -> list:
    """The throughput and bandwidth figures by dtype (``_figures``; analysis side)."""
    from numperf.families.dtypes import _figures

    return _figures.figures()

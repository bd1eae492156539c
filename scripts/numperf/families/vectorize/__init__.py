"""Vectorisation: a Python-level loop against the NumPy expression that replaces it.

Seed 001 (the course notebook) compares four loops with their vectorised forms, each a *workload*
here: ``exp_sin`` (an element loop computing exp(x) + sin(x) into a preallocated array, §2.3),
``conditional`` (an element loop with an if/else, vs ``np.where``, exercise 4.1),
``running_average`` (a nested loop of ``np.mean`` over row prefixes, vs ``np.cumsum``, exercise 4.2)
and ``multiply`` (a list comprehension doubling a Python list, vs ``array * 2``, §1.1). Each workload
has the two methods ``python_loop`` and ``numpy_vectorized``; ``python_loop`` is the family's
baseline, so speedup.csv holds the vectorisation speedup of every workload and size.

The Python list of the ``multiply`` workload is built in setup (outside the timed region), as in the
seed. Its memory is recorded by the check as facts (``check_list_*``): ``sys.getsizeof`` of the list
alone (the seed's number, pointers only), the number objects it refers to, and the array's
``nbytes``. Loops are the slow side of every claim, not a hang: ``LOOP_MAX_ELEMENTS`` refuses sizes
that would take minutes per call; the default sweep keeps one loop call at or below ~30 ms.

This package's ``__init__`` is the declaration a measuring child imports: stdlib and numpy only. The
claims (``_claims``) and figures (``_figures``) import pandas, matplotlib and numperf's analysis modules;
``claims()`` and ``figures()`` below import them on the analysis side only.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from numperf import seeds
from numperf.family import Check, Family, MemoryModel, Method, Param, Skip

FAMILY_NAME = "vectorize"
LOOP, VECTORIZED = "python_loop", "numpy_vectorized"
WORKLOADS = ("exp_sin", "conditional", "running_average", "multiply")
#: Largest loop the family runs (one Python-level iteration per element: ~0.2-0.5 µs each, and
#: ``running_average`` calls np.mean once per element): beyond this a call takes minutes.
LOOP_MAX_ELEMENTS = {"exp_sin": 2_000_000, "conditional": 5_000_000, "running_average": 1_000_000,
                     "multiply": 20_000_000}
#: Time limit proposed for this family's cases (config ``time_limit_s``): the paper sweep's largest
#: loop (500 x 500 running average, ~1 s a call) needs ~15 s per process.
LOOP_TIME_LIMIT_S = 120
#: NumPy reuses a temporary operand's buffer for the result ("temporary elision") from this size on.
ELIDE_MIN_BYTES = 256 * 1024
#: Relative error a result may have against the reference (scalar vs SIMD exp/sin, pairwise vs
#: running sums differ by a few ulp).
REL_TOLERANCE = 1e-10
#: Threshold of the conditional workload (the seed's).
THRESHOLD = 0.5
#: Bytes CPython (3.11, 64-bit) allocates for one float and one int below 2**30: a float is 24; an int
#: is 28 by sys.getsizeof but its allocation (what tracemalloc and RSS see) is 32.
FLOAT_OBJECT_BYTES = sys.getsizeof(1.5)
INT_OBJECT_BYTES = 32
LIST_HEADER_BYTES = sys.getsizeof([])


# --- shapes and sizes ---------------------------------------------------------------------------

def matrix_shape(params: dict) -> tuple[int, int]:
    """(rows, cols) of the running-average matrix: ``cols`` 0 means square (elements must be a square)."""
    n, cols = int(params["elements"]), int(params.get("cols") or 0)
    if cols == 0:
        side = math.isqrt(n)
        if side * side != n:
            raise ValueError(f"elements={n} is not a perfect square (cols=0 asks for a square matrix); "
                             f"give cols, a divisor of elements")
        return side, side
    if n % cols:
        raise ValueError(f"elements={n} is not a multiple of cols={cols}")
    return n // cols, cols


def _safe_shape(params: dict) -> tuple[int, int]:
    """matrix_shape for the models, which must not raise (the skip rule reports a bad shape)."""
    try:
        return matrix_shape(params)
    except ValueError:
        side = max(1, math.isqrt(int(params["elements"])))
        return side, side


def normalize(params: dict) -> dict:
    """running_average with cols 0 and a square number of elements: cols is the square's side."""
    if params.get("workload") == "running_average" and not params.get("cols"):
        side = math.isqrt(int(params["elements"]))
        if side * side == int(params["elements"]):
            return {**params, "cols": side}
    return params


def _shape_problem(params: dict, dtype: str) -> str | None:
    if params["workload"] != "running_average":
        return None
    try:
        matrix_shape(params)
    except ValueError as exc:
        return f"invalid_shape: {exc}"
    return None


def _dtype_problem(params: dict, dtype: str) -> str | None:
    if dtype != "float64" and params["workload"] != "multiply":
        return (f"dtype_unsupported: workload {params['workload']} is defined on float64 data in the seed; "
                f"int64 applies to the multiply workload only (list(range(n)) vs np.arange(n))")
    return None


def _vectorized_skip(params: dict, dtype: str) -> str | None:
    return _dtype_problem(params, dtype) or _shape_problem(params, dtype)


def _loop_skip(params: dict, dtype: str) -> str | None:
    why = _vectorized_skip(params, dtype)
    if why:
        return why
    limit = LOOP_MAX_ELEMENTS[params["workload"]]
    if int(params["elements"]) > limit:
        return (f"too_slow: a Python loop over {int(params['elements']):,} elements of {params['workload']} "
                f"would take minutes per call; at most {limit:,}")
    return None


def list_capacity(length: int) -> int:
    """Slots CPython 3.11 has allocated after appending ``length`` items one by one (list growth rule)."""
    allocated = 0
    while allocated < length:
        size = allocated + 1
        allocated = (size + (size >> 3) + 6) & ~3
    return allocated if length else 0


def number_object_bytes(dtype: str) -> int:
    """Bytes of one Python number object a list of this dtype's values holds."""
    return INT_OBJECT_BYTES if dtype == "int64" else FLOAT_OBJECT_BYTES


# --- inputs -------------------------------------------------------------------------------------

def setup(params: dict, dtype: str, rng, method: str | None = None) -> dict:
    """The workload's data: uniform floats (the seed's np.random.rand), the running-average matrix, or
    for ``multiply`` the array and the Python list of its values (int64: the seed's arange/range)."""
    workload, n = params["workload"], int(params["elements"])
    why = _vectorized_skip(params, dtype)
    if why:
        raise Skip(why)
    if workload == "running_average":
        return {"workload": workload, "matrix": rng.random(matrix_shape(params))}
    if workload == "multiply":
        array = np.arange(n, dtype=np.int64) if dtype == "int64" else rng.random(n)
        return {"workload": workload, "array": array, "list": array.tolist()}
    return {"workload": workload, "x": rng.random(n)}


# --- kernels (paraphrasing seed 001's formulations) -------------------------------------------------

def _exp_sin_loop(inp):
    x = inp["x"]
    out = np.empty_like(x)
    for k in range(len(x)):
        out[k] = np.exp(x[k]) + np.sin(x[k])
    return out


def _conditional_loop(inp):
    x = inp["x"]
    out = np.empty_like(x)
    for k in range(len(x)):
        if x[k] > THRESHOLD:
            out[k] = x[k] ** 2
        else:
            out[k] = 0.0
    return out


def _running_average_loop(inp):
    mat = inp["matrix"]
    out = np.empty_like(mat)
    rows, cols = mat.shape
    for r in range(rows):
        for c in range(cols):
            out[r, c] = np.mean(mat[r, :c + 1])
    return out


def _multiply_loop(inp):
    return [v * 2 for v in inp["list"]]


def _exp_sin_vectorized(inp):
    x = inp["x"]
    return np.exp(x) + np.sin(x)


def _conditional_vectorized(inp):
    x = inp["x"]
    return np.where(x > THRESHOLD, x ** 2, 0.0)


def _running_average_vectorized(inp):
    mat = inp["matrix"]
    return np.cumsum(mat, axis=1) / np.arange(1, mat.shape[1] + 1)


def _multiply_vectorized(inp):
    return inp["array"] * 2


LOOPS = {"exp_sin": _exp_sin_loop, "conditional": _conditional_loop,
         "running_average": _running_average_loop, "multiply": _multiply_loop}
VECTORIZED_KERNELS = {"exp_sin": _exp_sin_vectorized, "conditional": _conditional_vectorized,
                      "running_average": _running_average_vectorized, "multiply": _multiply_vectorized}


def python_loop(inputs, threads=1):
    """The seed's loop version of the workload (pure Python iteration; threads play no part)."""
    return LOOPS[inputs["workload"]](inputs)


def numpy_vectorized(inputs, threads=1):
    """The seed's vectorised version of the workload."""
    return VECTORIZED_KERNELS[inputs["workload"]](inputs)


# --- models -----------------------------------------------------------------------------------------

def list_result_bytes(n: int, dtype: str) -> int:
    """A list comprehension's result: header, grown pointer array and one new number object per item
    (ints up to 256 are shared by CPython, a handful)."""
    objects = n * number_object_bytes(dtype)
    if dtype == "int64":
        objects -= min(n, 129) * INT_OBJECT_BYTES  # 2*v <= 256 for v <= 128: cached small ints
    return LIST_HEADER_BYTES + 8 * list_capacity(n) + objects


def input_bytes(params: dict, dtype: str) -> int:
    n = int(params["elements"])
    if params["workload"] == "multiply":
        return n * np.dtype(dtype).itemsize + LIST_HEADER_BYTES + 8 * n + n * number_object_bytes(dtype)
    return n * 8


def loop_memory(params: dict, dtype: str, options: dict) -> MemoryModel:
    """The loop writes one result (an array, or for multiply a new list of new number objects); the
    per-element scalars it makes are freed as it goes."""
    n = int(params["elements"])
    out = list_result_bytes(n, dtype) if params["workload"] == "multiply" else n * 8
    return MemoryModel(input_bytes(params, dtype), 0, out)


def vectorized_memory(params: dict, dtype: str, options: dict) -> MemoryModel:
    """Temporaries of the NumPy expression: exp and sin each make an array (the sum reuses exp's
    buffer when NumPy can elide the temporary, from 256 KiB); np.where needs the mask and x**2;
    cumsum's result and the 1..cols divisor live while the quotient is written."""
    workload, n = params["workload"], int(params["elements"])
    n8 = n * 8
    elided = n8 >= ELIDE_MIN_BYTES
    if workload == "exp_sin":
        inter = n8 if elided else 2 * n8
    elif workload == "conditional":
        inter = n8 + n  # x ** 2 and the boolean mask
    elif workload == "running_average":
        _, cols = _safe_shape(params)
        inter = 8 * cols + n8  # the int64 divisor broadcasts: NumPy does not elide cumsum's buffer
    else:
        inter = 0
        n8 = n * np.dtype(dtype).itemsize
    return MemoryModel(input_bytes(params, dtype), inter, n8)


def _flops(method: str):
    def flops(params: dict, dtype: str) -> float | None:
        workload, n = params["workload"], int(params["elements"])
        if workload == "exp_sin":
            return None  # transcendental functions: no meaningful flop count
        if workload == "conditional":
            return float(2 * n)  # comparison and square
        if workload == "running_average":
            rows, cols = _safe_shape(params)
            if method == LOOP:  # each prefix mean sums its c+1 values and divides once
                return float(rows * (cols * (cols + 1) // 2 + cols))
            return float(2 * n)  # one add and one division per element
        return float(n)
    return flops


def _bytes_moved(params: dict, dtype: str) -> float:
    """The unavoidable traffic: the input read once and the result written once."""
    n = int(params["elements"])
    size = np.dtype(dtype).itemsize if params["workload"] == "multiply" else 8
    return float(2 * n * size)


# --- check ------------------------------------------------------------------------------------------

def reference(inputs: dict) -> np.ndarray:
    """The workload's result computed independently of both methods where it can be."""
    workload = inputs["workload"]
    if workload == "exp_sin":
        x = inputs["x"]
        return np.array([math.exp(v) + math.sin(v) for v in x.tolist()]) if x.size <= 200_000 \
            else np.exp(x) + np.sin(x)
    if workload == "conditional":
        x = inputs["x"]
        return np.square(x) * (x > THRESHOLD)
    if workload == "running_average":
        mat = inputs["matrix"].astype(np.longdouble)
        return (np.cumsum(mat, axis=1) / np.arange(1, mat.shape[1] + 1)).astype(np.float64)
    return inputs["array"] * 2


def deep_list_bytes(values: list) -> tuple[int, int]:
    """(sys.getsizeof of the list alone, bytes of the distinct objects it refers to)."""
    seen: set[int] = set()
    items = 0
    for v in values:
        if id(v) not in seen:
            seen.add(id(v))
            items += sys.getsizeof(v)
    return sys.getsizeof(values), items


def list_facts(values: list, array: np.ndarray) -> dict:
    """The seed's list-vs-array memory comparison: the list's own size (what sys.getsizeof says,
    pointers only), plus its number objects, against the array's buffer (nbytes)."""
    shallow, items = deep_list_bytes(values)
    total = shallow + items
    return {"list_getsizeof_bytes": int(shallow), "list_items_bytes": int(items),
            "list_total_bytes": int(total), "array_nbytes": int(array.nbytes),
            "array_getsizeof_bytes": int(sys.getsizeof(array)),
            "list_total_per_element_bytes": float(total / max(len(values), 1)),
            "list_total_to_array_ratio": float(total / max(array.nbytes, 1)),
            "list_getsizeof_to_array_ratio": float(shallow / max(array.nbytes, 1))}


def check(method: str, result, inputs: dict, params: dict, dtype: str, rng) -> Check:
    """The result against ``reference`` (a list is compared as an array); facts on the result and,
    for multiply, the list-vs-array memory of the inputs."""
    ref = reference(inputs)
    facts: dict = {"result_kind": type(result).__name__}
    if isinstance(result, list):
        shallow, items = deep_list_bytes(result)
        facts["result_bytes"] = int(shallow + items)
        got = np.asarray(result)
    else:
        got = np.asarray(result)
        facts["result_bytes"] = int(got.nbytes)
    if inputs["workload"] == "multiply":
        facts.update(list_facts(inputs["list"], inputs["array"]))
    if got.shape != ref.shape:
        return Check(None, None, f"wrong_shape: result shape {got.shape}, expected {ref.shape}", facts)
    if not np.issubdtype(got.dtype, np.number):
        return Check(None, None, f"wrong_type: result holds {got.dtype}, not numbers", facts)
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    abs_err = float(diff.max()) if diff.size else 0.0
    scale = np.maximum(np.abs(ref.astype(np.float64)), np.finfo(np.float64).tiny)
    rel_err = float((diff / scale).max()) if diff.size else 0.0
    failed = None
    if not np.all(np.isfinite(got)) or rel_err > REL_TOLERANCE:
        failed = f"wrong_result: max relative error {rel_err:.3g} > {REL_TOLERANCE:g} against the reference"
    return Check(abs_err, rel_err, failed, facts)


FAMILY = Family(
    name=FAMILY_NAME,
    description="Python loops against their vectorised NumPy forms (exp+sin, np.where, cumsum, "
                "array arithmetic vs a list comprehension) and a Python list's memory against an array's",
    seeds=seeds.names("001", "002"),
    params=(
        Param("workload", "str", "exp_sin", "which of the seed's loops: exp_sin, conditional, "
              "running_average or multiply", choices=WORKLOADS),
        Param("elements", "int", 10_000, "elements of the data (running_average: of the matrix)",
              minimum=1, maximum=200_000_000),
        Param("cols", "int", 0, "running_average: columns of the matrix (0: square, elements must be "
              "a perfect square)", minimum=0, maximum=10_000_000),
    ),
    dtypes=("float64", "int64"),
    methods={
        LOOP: Method(LOOP, python_loop, loop_memory,
                     "Python-level loop: element loop into a preallocated array, nested loop of np.mean, "
                     "or list comprehension", flops=_flops(LOOP), bytes_moved=_bytes_moved, skip=_loop_skip),
        VECTORIZED: Method(VECTORIZED, numpy_vectorized, vectorized_memory,
                           "one NumPy expression: np.exp(x) + np.sin(x), np.where, np.cumsum / arange, "
                           "array * 2", flops=_flops(VECTORIZED), bytes_moved=_bytes_moved,
                           skip=_vectorized_skip),
    },
    setup=setup,
    check=check,
    baseline=LOOP,
    normalize=normalize,
)


def claims() -> list:
    """Seed 001's (and 002's) statements about loops, vectorisation and lists (``_claims``; analysis
    side)."""
    from numperf.families.vectorize import _claims

    return list(_claims.CLAIMS)


def figures() -> list:
    """The speedup and list-memory figures (``_figures``; analysis side)."""
    from numperf.families.vectorize import _figures

    return _figures.figures()

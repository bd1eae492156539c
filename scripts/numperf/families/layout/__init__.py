"""Memory layout family: strides, cache effects, views against copies.

What the seed documents say about how an array's bytes are laid out, measured: summing ``x[::k]`` at a
fixed element count (003 "CPU cache effects", 000 "Strides"), reducing along either axis of C- and
F-ordered arrays (000, 001), ``ravel`` against ``flatten`` and ``x.T.ravel()`` (001), ``transpose`` and
``a.T.reshape`` (002), zero-stride repetition with ``as_strided`` against ``np.tile``/``np.repeat``
(002, 003), fancy indexing against slicing (002).

Every case builds, outside the timed region, the three inputs of the family from its parameters (a
1-D array of ``elements·stride`` items with its ``x[::stride]`` view, a ``rows × cols`` array in
``order``, a vector of ``rows`` items); a method uses one of them, and the parameters it does not use
keep their small defaults, so the unused inputs cost a few hundred kB. Values follow a periodic integer
pattern (exact in float32 and float64), filled in one pass, so references are exact and a 1 GB input
costs ~0.1 s, not the seconds of a random generator. Each check records whether the result shares
memory with its input (``returns_view``), its logical size (``result_nbytes``) and the bytes of the
buffer it owns (``owned_bytes``, 0 for a view).

This package's ``__init__`` is the declaration a measuring child imports: stdlib and numpy only. The
claims (``_claims``) and figures (``_figures``) import pandas, matplotlib and numperf's analysis modules;
``claims()`` and ``figures()`` below import them on the analysis side only.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from numperf import seeds
from numperf.family import Check, Family, MemoryModel, Method, Param

NAME = "layout"
#: Period of the value pattern (a prime below 2**16: every value and every row/column sum of the
#: sizes used here is an exact integer in float32 items and float64 sums).
PATTERN_PERIOD = 65521
#: Bytes of a cache line, for the traffic of a strided sum (one line per element from stride 8 on).
CACHE_LINE_BYTES = 64
#: At most this many positions of a large result are compared with the reference (all when fewer).
CHECK_POSITIONS = 100_000
#: Relative error allowed on a sum: exact in float64; float32's pairwise summation of positive items.
SUM_REL_TOLERANCE = {"float64": 1e-12, "float32": 1e-4}

# --- inputs ------------------------------------------------------------------------------------------


def pattern(n_items: int, dtype: str) -> np.ndarray:
    """``n_items`` values ``(i mod PATTERN_PERIOD) + 1``, written in one pass (every page touched, so
    that no lazily mapped zero page makes a strided read look cached)."""
    out = np.empty(n_items, dtype=dtype)
    base = np.arange(1, PATTERN_PERIOD + 1, dtype=dtype)
    full = n_items // PATTERN_PERIOD * PATTERN_PERIOD
    out[:full].reshape(-1, PATTERN_PERIOD)[:] = base
    out[full:] = base[: n_items - full]
    return out


def strided_sum_reference(elements: int, stride: int) -> int:
    """Exact sum of ``pattern(elements·stride)[::stride]``: the items are ``(j·stride mod P) + 1``,
    periodic in ``j`` with period ``P / gcd(stride, P)``."""
    p = PATTERN_PERIOD
    period = p // math.gcd(stride, p)
    one = np.arange(period, dtype=np.int64) * stride % p + 1
    full, rest = divmod(elements, period)
    return int(full * int(one.sum()) + int(one[:rest].sum()))


def needs(method: str | None) -> tuple[str, ...]:
    """The inputs a method reads: the strided sum x, the repetitions the vector v, every other method
    the matrix a (None: all of them)."""
    if method is None:
        return ("x", "a", "v")
    return ("x",) if method == "strided_sum" else ("v",) if method.startswith("repeat_") else ("a",)


def setup(params: dict, dtype: str, rng, method: str | None = None) -> dict:
    """The inputs ``method`` reads (built outside the timed region; ``rng`` is not needed: the values
    are a deterministic pattern)."""
    n, k = int(params["elements"]), int(params["stride"])
    rows, cols = int(params["rows"]), int(params["cols"])
    inputs = {"rows": rows, "cols": cols}
    if "x" in needs(method):
        x = pattern(n * k, dtype)
        inputs.update(x=x, y=x[::k])
    if "a" in needs(method):
        inputs.update(a=pattern(rows * cols, dtype).reshape((rows, cols), order=params["order"]),
                      idx=np.arange(0, rows, 2))
    if "v" in needs(method):
        inputs["v"] = pattern(rows, dtype)
    return inputs


# --- kernels -----------------------------------------------------------------------------------------

def _strided_sum(inputs, threads=1):
    return inputs["y"].sum()


def _sum_rows(inputs, threads=1):
    return inputs["a"].sum(axis=1)


def _sum_cols(inputs, threads=1):
    return inputs["a"].sum(axis=0)


def _ravel(inputs, threads=1):
    return inputs["a"].ravel()


def _flatten(inputs, threads=1):
    return inputs["a"].flatten()


def _t_ravel(inputs, threads=1):
    return inputs["a"].T.ravel()


def _transpose(inputs, threads=1):
    return inputs["a"].transpose()


def _reshape(inputs, threads=1):
    return inputs["a"].reshape(2 * inputs["rows"], inputs["cols"] // 2)


def _t_reshape(inputs, threads=1):
    return inputs["a"].T.reshape(2 * inputs["cols"], inputs["rows"] // 2)


def _fancy_rows(inputs, threads=1):
    return inputs["a"][inputs["idx"]]


def _slice_rows(inputs, threads=1):
    return inputs["a"][0:inputs["rows"]:2]


def _repeat_strided(inputs, threads=1):
    v = inputs["v"]
    return as_strided(v, shape=(v.size, inputs["cols"]), strides=(v.strides[0], 0), writeable=False)


def _repeat_tile(inputs, threads=1):
    return np.tile(inputs["v"][:, None], (1, inputs["cols"]))


def _repeat_np(inputs, threads=1):
    return np.repeat(inputs["v"][:, None], inputs["cols"], axis=1)


# --- models ------------------------------------------------------------------------------------------

def _cells(params: dict) -> int:
    return int(params["rows"]) * int(params["cols"])


def _half_rows(params: dict) -> int:
    return (int(params["rows"]) + 1) // 2


def _setup_bytes(params: dict, dtype: str, method: str | None) -> int:
    """Bytes of the inputs ``setup`` builds for ``method``."""
    sizes = {"x": int(params["elements"]) * int(params["stride"]) * np.dtype(dtype).itemsize,
             "a": _cells(params) * np.dtype(dtype).itemsize + _half_rows(params) * 8,
             "v": int(params["rows"]) * np.dtype(dtype).itemsize}
    return sum(sizes[name] for name in needs(method))


def _model(method: str, output_items):
    """A memory model: the inputs ``setup`` builds for ``method``, no intermediates,
    ``output_items(params)`` items of result (0 for a view)."""
    def model(params: dict, dtype: str, options: dict) -> MemoryModel:
        out = int(output_items(params)) * np.dtype(dtype).itemsize
        return MemoryModel(_setup_bytes(params, dtype, method), 0, out)
    return model


def _copy_traffic(items):
    """Bytes a copy moves: every result item read once and written once (None for a view)."""
    def traffic(params: dict, dtype: str) -> float | None:
        n = items(params)
        return 2.0 * n * np.dtype(dtype).itemsize if n else None
    return traffic


def _strided_traffic(params: dict, dtype: str) -> float:
    """Cache-line traffic of ``x[::k].sum()``: one line per element once ``k·itemsize`` reaches a line,
    else ``k·itemsize`` bytes per element."""
    step = int(params["stride"]) * np.dtype(dtype).itemsize
    return float(int(params["elements"]) * min(step, CACHE_LINE_BYTES))


def _even(param: str, what: str):
    def skip(params: dict, dtype: str) -> str | None:
        if int(params[param]) % 2:
            return f"bad_shape: {what} needs an even number of {param} (got {params[param]})"
        return None
    return skip


def _method(name, kernel, description, output_items, flops=None, traffic=None, skip=None):
    return Method(name=name, kernel=kernel, memory=_model(name, output_items), description=description,
                  flops=flops or (lambda params, dtype: None),
                  bytes_moved=traffic or (lambda params, dtype: None),
                  skip=skip or (lambda params, dtype: None))


def _repeat_traffic(params: dict, dtype: str) -> float:
    """Bytes a materialised repetition moves: the vector read, every result item written."""
    item = np.dtype(dtype).itemsize
    return float(_cells(params) * item + int(params["rows"]) * item)


def _zero(params: dict) -> int:
    return 0


def _copy_unless(order: str):
    """Result items of an operation that is a view when ``a`` is in ``order`` (or is one row or one
    column, contiguous both ways) and a full copy otherwise: ravel and reshape need a C array,
    ``a.T.ravel()`` and ``a.T.reshape`` an F array."""
    def items(params: dict) -> int:
        flat = int(params["rows"]) == 1 or int(params["cols"]) == 1
        return 0 if flat or params["order"] == order else _cells(params)
    return items


METHODS = {m.name: m for m in (
    _method("strided_sum", _strided_sum, "sum of x[::stride]: `elements` items, `stride` items apart",
            _zero, flops=lambda p, d: float(p["elements"]), traffic=_strided_traffic),
    _method("sum_rows", _sum_rows, "a.sum(axis=1): one sum per row (contiguous axis of a C array)",
            lambda p: int(p["rows"]), flops=lambda p, d: float(_cells(p)),
            traffic=lambda p, d: float(_cells(p) * np.dtype(d).itemsize)),
    _method("sum_cols", _sum_cols, "a.sum(axis=0): one sum per column (contiguous axis of an F array)",
            lambda p: int(p["cols"]), flops=lambda p, d: float(_cells(p)),
            traffic=lambda p, d: float(_cells(p) * np.dtype(d).itemsize)),
    _method("ravel", _ravel, "a.ravel(): a view when a is C-contiguous, else a copy", _copy_unless("C"),
            traffic=_copy_traffic(_copy_unless("C"))),
    _method("flatten", _flatten, "a.flatten(): always a copy", _cells, traffic=_copy_traffic(_cells)),
    _method("T_ravel", _t_ravel, "a.T.ravel(): the transpose of a C array is not C-contiguous, a copy",
            _copy_unless("F"), traffic=_copy_traffic(_copy_unless("F"))),
    _method("transpose", _transpose, "a.transpose(): shape and strides reversed, a view", _zero),
    _method("reshape", _reshape, "a.reshape(2·rows, cols/2): new strides, a view of a C array",
            _copy_unless("C"), traffic=_copy_traffic(_copy_unless("C")),
            skip=_even("cols", "a.reshape(2·rows, cols/2)")),
    _method("T_reshape", _t_reshape, "a.T.reshape(2·cols, rows/2): transpose then reshape, a copy of a "
            "C array", _copy_unless("F"), traffic=_copy_traffic(_copy_unless("F")),
            skip=_even("rows", "a.T.reshape(2·cols, rows/2)")),
    _method("fancy_rows", _fancy_rows, "a[[0, 2, 4, ...]]: every other row by an index list, a copy",
            lambda p: _half_rows(p) * int(p["cols"]),
            traffic=_copy_traffic(lambda p: _half_rows(p) * int(p["cols"]))),
    _method("slice_rows", _slice_rows, "a[0:rows:2]: the same rows by a slice, a view", _zero),
    _method("repeat_strided", _repeat_strided,
            "as_strided(v, (rows, cols), strides (itemsize, 0)): each item repeated cols times, a view",
            _zero),
    _method("repeat_tile", _repeat_tile, "np.tile(v[:, None], (1, cols)): the same repetition, materialised",
            _cells, traffic=_repeat_traffic),
    _method("repeat_np", _repeat_np, "np.repeat(v[:, None], cols, axis=1): the same, materialised", _cells,
            traffic=_repeat_traffic),
)}

#: The 2-D methods whose result is an array made from ``a`` (or ``v``): source positions of its items.
VIEW_COPY_METHODS = ("ravel", "flatten", "T_ravel", "transpose", "reshape", "T_reshape", "fancy_rows",
                     "slice_rows", "repeat_strided", "repeat_tile", "repeat_np")


# --- check -------------------------------------------------------------------------------------------

def _expected_shape(method: str, rows: int, cols: int) -> tuple:
    return {"ravel": (rows * cols,), "flatten": (rows * cols,), "T_ravel": (rows * cols,),
            "transpose": (cols, rows), "reshape": (2 * rows, cols // 2), "T_reshape": (2 * cols, rows // 2),
            "fancy_rows": ((rows + 1) // 2, cols), "slice_rows": ((rows + 1) // 2, cols),
            "sum_rows": (rows,), "sum_cols": (cols,)}.get(method, (rows, cols))


def _source(method: str, flat: np.ndarray, shape: tuple, rows: int, cols: int):
    """(i, j) in ``a`` (or i in ``v``) of the result items at C-order positions ``flat``."""
    if method in ("ravel", "flatten", "reshape"):
        return flat // cols, flat % cols
    if method in ("T_ravel", "T_reshape"):
        return flat % rows, flat // rows
    p, q = np.unravel_index(flat, shape)
    if method == "transpose":
        return q, p
    if method in ("fancy_rows", "slice_rows"):
        return 2 * p, q
    return (p,)  # repeat_*: item (i, j) is v[i]


def _shares(result, source) -> bool:
    """``np.shares_memory`` (bounded work; the overlap of bounds when that is too hard)."""
    try:
        return bool(np.shares_memory(result, source, max_work=10**6))
    except np.exceptions.TooHardError:
        return bool(np.may_share_memory(result, source))


def _owned_bytes(result: np.ndarray, view: bool) -> int:
    """Bytes of the buffer a result holds on its own: 0 for a view of the input, else the size of the
    array that owns its data (a copy may be a view of a fresh, larger buffer)."""
    if view:
        return 0
    root = result
    while isinstance(root.base, np.ndarray):
        root = root.base
    return int(root.nbytes)


def _array_facts(result, source) -> dict:
    view = _shares(result, source)
    return {"returns_view": view, "result_nbytes": int(result.nbytes),
            "owned_bytes": _owned_bytes(result, view), "c_contiguous": bool(result.flags.c_contiguous)}


def check(method: str, result, inputs: dict, params: dict, dtype: str, rng) -> Check:
    """Compare a result with an exact reference (positions sampled when large); record view facts."""
    rows, cols = inputs["rows"], inputs["cols"]
    if method == "strided_sum":
        n, k = int(params["elements"]), int(params["stride"])
        ref = strided_sum_reference(n, k)
        err = abs(float(result) - ref)
        rel = err / ref
        facts = {"returns_view": False, "result_nbytes": int(np.asarray(result).nbytes),
                 "stride_bytes": k * inputs["x"].itemsize, "span_bytes": int(inputs["x"].nbytes)}
        bad = rel > SUM_REL_TOLERANCE[dtype]
        why = f"sum {float(result)!r} != exact {ref} (rel. error {rel:.2g})"
        return Check(err, rel, why if bad else None, facts)
    if not isinstance(result, np.ndarray):
        return Check(failed=f"expected an ndarray, got {type(result).__name__}")
    shape = _expected_shape(method, rows, cols)
    if result.shape != shape:
        return Check(failed=f"shape {result.shape}, expected {shape}",
                     facts=_array_facts(result, inputs["a"]))
    if method in ("sum_rows", "sum_cols"):
        ref = np.asarray(inputs["a"], dtype=np.int64).sum(axis=1 if method == "sum_rows" else 0)
        got = np.asarray(result, dtype=np.float64)
        err = float(np.max(np.abs(got - ref))) if ref.size else 0.0
        rel = float(np.max(np.abs(got - ref) / ref)) if ref.size else 0.0
        bad = rel > SUM_REL_TOLERANCE[dtype]
        return Check(err, rel, f"sums differ from the exact ones (rel. error {rel:.2g})" if bad else None,
                     _array_facts(result, inputs["a"]))
    source = inputs["v"] if method.startswith("repeat_") else inputs["a"]
    facts = _array_facts(result, source)
    size = result.size
    flat = (np.arange(size) if size <= CHECK_POSITIONS
            else np.random.default_rng(0).integers(0, size, CHECK_POSITIONS))
    got = result[np.unravel_index(flat, result.shape)]
    want = source[_source(method, flat, result.shape, rows, cols)]
    diff = np.abs(got.astype(np.float64) - want)
    err = float(diff.max()) if size else 0.0
    rel = float((diff / np.abs(want)).max()) if size else 0.0
    failed = None if err == 0 else f"{int(np.sum(got != want))} of {flat.size} checked items differ"
    return Check(err, rel, failed, facts)


# --- the family --------------------------------------------------------------------------------------

FAMILY = Family(
    name=NAME,
    description="Memory layout: strided sums in and out of cache, reductions along either axis of C and F "
                "arrays, views against copies (ravel, flatten, transpose, reshape, indexing, zero strides).",
    seeds=seeds.names("000", "001", "002", "003"),
    params=(
        Param("elements", "int", 20_000, "strided_sum: number of summed items (the seed's 20 000)",
              minimum=1, maximum=10**9),
        Param("stride", "int", 1, "strided_sum: items between two summed items (x[::stride])",
              minimum=1, maximum=4096),
        Param("rows", "int", 100, "2-D methods: rows of a (and items of the repeated vector)",
              minimum=1, maximum=10**9),
        Param("cols", "int", 200, "2-D methods: columns of a (and repetitions of each item)",
              minimum=1, maximum=10**9),
        Param("order", "str", "C", "2-D methods: memory order of a (C: rows contiguous, F: columns)",
              choices=("C", "F")),
    ),
    dtypes=("float64", "float32"),
    methods=METHODS,
    setup=setup,
    check=check,
    baseline="ravel",
    optional_methods=("reshape", "repeat_np"),
)


def claims() -> list:
    """The seeds' statements about memory layout, each with its rule (``_claims``; analysis side)."""
    from numperf.families.layout import _claims

    return list(_claims.CLAIMS)


def figures() -> list:
    """The strided-sum and view/copy figures (``_figures``; analysis side)."""
    from numperf.families.layout import _figures

    return _figures.figures()

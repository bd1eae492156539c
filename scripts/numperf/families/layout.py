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

Imports: stdlib and numpy only (a measuring child imports this module); the claims and figures import
pandas, matplotlib and numperf's analysis modules inside ``claims()`` and ``figures()``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from numperf import seeds
from numperf.family import Check, Family, FigureDecl, MemoryModel, Method, Param

NAME = "layout"
SEED_000, SEED_001, SEED_002, SEED_003 = seeds.names("000", "001", "002", "003")
#: Period of the value pattern (a prime below 2**16: every value and every row/column sum of the
#: sizes used here is an exact integer in float32 items and float64 sums).
PATTERN_PERIOD = 65521
#: Bytes of a cache line, for the traffic of a strided sum (one line per element from stride 8 on).
CACHE_LINE_BYTES = 64
#: At most this many positions of a large result are compared with the reference (all when fewer).
CHECK_POSITIONS = 100_000
#: Relative error allowed on a sum: exact in float64; float32's pairwise summation of positive items.
SUM_REL_TOLERANCE = {"float64": 1e-12, "float32": 1e-4}
ITEMSIZE = {"float64": 8, "float32": 4}

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

def _item(dtype: str) -> int:
    return ITEMSIZE[dtype]


def _cells(params: dict) -> int:
    return int(params["rows"]) * int(params["cols"])


def _half_rows(params: dict) -> int:
    return (int(params["rows"]) + 1) // 2


def _setup_bytes(params: dict, dtype: str, method: str | None) -> int:
    """Bytes of the inputs ``setup`` builds for ``method``."""
    sizes = {"x": int(params["elements"]) * int(params["stride"]) * _item(dtype),
             "a": _cells(params) * _item(dtype) + _half_rows(params) * 8,
             "v": int(params["rows"]) * _item(dtype)}
    return sum(sizes[name] for name in needs(method))


def _model(method: str, output_items):
    """A memory model: the inputs ``setup`` builds for ``method``, no intermediates,
    ``output_items(params)`` items of result (0 for a view)."""
    def model(params: dict, dtype: str, options: dict) -> MemoryModel:
        return MemoryModel(_setup_bytes(params, dtype, method), 0, int(output_items(params)) * _item(dtype))
    return model


def _copy_traffic(items):
    """Bytes a copy moves: every result item read once and written once (None for a view)."""
    def traffic(params: dict, dtype: str) -> float | None:
        n = items(params)
        return 2.0 * n * _item(dtype) if n else None
    return traffic


def _strided_traffic(params: dict, dtype: str) -> float:
    """Cache-line traffic of ``x[::k].sum()``: one line per element once ``k·itemsize`` reaches a line,
    else ``k·itemsize`` bytes per element."""
    return float(int(params["elements"]) * min(int(params["stride"]) * _item(dtype), CACHE_LINE_BYTES))


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
            traffic=lambda p, d: float(_cells(p) * _item(d))),
    _method("sum_cols", _sum_cols, "a.sum(axis=0): one sum per column (contiguous axis of an F array)",
            lambda p: int(p["cols"]), flops=lambda p, d: float(_cells(p)),
            traffic=lambda p, d: float(_cells(p) * _item(d))),
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
            _cells, traffic=lambda p, d: float(_cells(p) * _item(d) + int(p["rows"]) * _item(d))),
    _method("repeat_np", _repeat_np, "np.repeat(v[:, None], cols, axis=1): the same, materialised", _cells,
            traffic=lambda p, d: float(_cells(p) * _item(d) + int(p["rows"]) * _item(d))),
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
    seeds=(SEED_000, SEED_001, SEED_002, SEED_003),
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


# --- claims ------------------------------------------------------------------------------------------

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


def _fact(v) -> bool | None:
    """A boolean check fact read back from a CSV (tables.as_bool), None when it was not recorded."""
    from numperf.tables import as_bool

    if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
        return None
    return as_bool(v)


def _num(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _medians(v) -> list:
    import json

    return json.loads(v) if isinstance(v, str) else list(v)


def _ratio(num, den, scale: float, min_effect: float) -> tuple[float, float, float, str]:
    """time(num)/time(den)·scale with its between-process interval and a verdict: ``less`` or ``more``
    (num costs less or more than den), ``equivalent`` or ``inconclusive``."""
    from numperf import stats

    r, lo, hi = stats.ratio_interval(_medians(num["time_process_medians_s"]),
                                     _medians(den["time_process_medians_s"]))
    r, lo, hi = r * scale, lo * scale, hi * scale
    return r, lo, hi, stats.verdict(r, lo, hi, min_effect, ("less", "more"))


def _mb(b: float) -> str:
    if not math.isfinite(b):
        return "n/a"
    return f"{b / 1e6:.3g} MB" if b >= 1e5 else f"{b:.0f} B"


def _shape_label(r) -> str:
    return f"{int(r['rows'])}×{int(r['cols'])} {r['order']} {r['dtype']}" + (
        f" t{int(r['threads'])}" if int(r["threads"]) != 1 else "")


def _rows(scope, method: str):
    from numperf.claims import ok_rows

    runs = ok_rows(scope)
    return runs[runs["method"] == method] if not runs.empty else runs


def _view_side(r) -> tuple[str, str]:
    """Outcome of 'this call returned a view and allocated no array data', with a note."""
    from numperf.claims import CONTRADICTS, SUPPORTS, UNDECIDED

    view, traced = _fact(r.get("check_returns_view")), _num(r.get("traced_peak_bytes"))
    owned = _num(r.get("check_owned_bytes"))
    note = f"{r['method']}: {'view' if view else 'copy' if view is False else 'view?'}, traced {_mb(traced)}"
    if view is False or (math.isfinite(owned) and owned > 0) or (math.isfinite(traced)
                                                                  and traced > VIEW_BYTES_BOUND):
        return CONTRADICTS, note
    if view and math.isfinite(traced):
        return SUPPORTS, note
    return UNDECIDED, note


def _copy_side(r) -> tuple[str, str, float]:
    """Outcome of 'this call copied: a new buffer of the result's size', a note, and traced / result."""
    from numperf.claims import CONTRADICTS, SUPPORTS, UNDECIDED

    view, traced = _fact(r.get("check_returns_view")), _num(r.get("traced_peak_bytes"))
    need = _num(r.get("check_result_nbytes"))
    frac = traced / need if math.isfinite(traced) and need > 0 else math.nan
    note = (f"{r['method']}: {'view' if view else 'copy' if view is False else 'copy?'}, traced {_mb(traced)}"
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
    from numperf.claims import CONTRADICTS, SUPPORTS, UNDECIDED, Case

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
        cases.append(Case(_shape_label(r), outcome, v, v, v, f"{view_method} / {copy_method}",
                          f"{vnote}; {cnote}"))
    return cases


def transpose_constant_time(scope) -> list:
    from numperf.claims import CONTRADICTS, Case, at_most

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
        r, lo, hi, verdict = _ratio(large, small, 1.0, scope.min_effect)
        copied = [m for m in g.itertuples() if _fact(getattr(m, "check_returns_view", None)) is False]
        outcome = CONTRADICTS if copied else at_most(lo, hi, FLAT_BOUND)
        label = f"{_shape_label(small)} → {int(large['rows'])}×{int(large['cols'])}"
        note = (f"size ×{growth:.3g} (an O(size) operation would grow as much); time "
                f"{small['time_median_s']:.3g} s → {large['time_median_s']:.3g} s, verdict {verdict}"
                + ("; a transpose returned a copy" if copied else ""))
        cases.append(Case(label, outcome, r, lo, hi, note=note))
    return cases


def ravel_view_flatten_copy(scope) -> list:
    return _pair_cases(scope, "ravel", "flatten")


def transposed_copies(scope) -> list:
    return _pair_cases(scope, "transpose", "T_ravel") + _pair_cases(scope, "transpose", "T_reshape")


def fancy_copies_slice_views(scope) -> list:
    return _pair_cases(scope, "slice_rows", "fancy_rows")


def zero_stride_no_memory(scope) -> list:
    return (_pair_cases(scope, "repeat_strided", "repeat_tile", value="view")
            + _pair_cases(scope, "repeat_strided", "repeat_np", value="view"))


def copies_slower_than_views(scope) -> list:
    from numperf.claims import Case, from_verdict, speed_ratio

    cases = []
    for view, copy in TIME_PAIRS:
        runs = _rows(scope, view)
        if runs.empty:
            continue
        on = [k for k in KEYS if k in runs]
        for _, r in speed_ratio(scope, view, copy, on=on).sort_values(on).iterrows():
            outcome = from_verdict(str(r["verdict"]), "faster", ("slower", "equivalent"))
            cases.append(Case(_shape_label(r), outcome, float(r["speedup"]), float(r["low"]),
                              float(r["high"]), f"{view} / {copy}",
                              f"time {copy} / {view}; verdict {r['verdict']}"))
    return cases


def _strided(scope):
    runs = _rows(scope, "strided_sum")
    return runs.sort_values(["dtype", "threads", "elements", "stride"]) if not runs.empty else runs


def stride_cost_grows(scope) -> list:
    from numperf.claims import CONTRADICTS, SUPPORTS, UNDECIDED, Case

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
            r, lo, hi, verdict = _ratio(b, a, 1.0, scope.min_effect)
            rule = ends_rule if kind == "ends" else step_rule
            label = (f"{int(n):,} items {dtype}" + (f" t{int(threads)}" if int(threads) != 1 else "")
                     + f": k={int(a['stride'])} → {int(b['stride'])}")
            cases.append(Case(label, rule.get(verdict, UNDECIDED), r, lo, hi, f"{int(n):,} items",
                              f"{kind}; per-item time {a['time_median_s'] / n * 1e9:.3g} → "
                              f"{b['time_median_s'] / n * 1e9:.3g} ns, verdict {verdict}"))
    return cases


def strided_cost_out_of_cache(scope) -> list:
    from numperf.claims import CONTRADICTS, SUPPORTS, UNDECIDED, Case

    runs = _strided(scope)
    cases = []
    if runs.empty:
        return cases
    runs = runs[runs["stride"] * runs["dtype"].map(ITEMSIZE) >= CACHE_LINE_BYTES]
    for (dtype, _, k), g in runs.groupby(["dtype", "threads", "stride"], sort=True):
        g = g.drop_duplicates("elements").sort_values("elements")
        if len(g) < 2:
            continue
        small, large = g.iloc[0], g.iloc[-1]
        scale = float(small["elements"]) / float(large["elements"])
        r, lo, hi, verdict = _ratio(large, small, scale, scope.min_effect)
        outcome = {"more": SUPPORTS, "less": CONTRADICTS, "equivalent": CONTRADICTS}.get(verdict, UNDECIDED)
        n_small, n_large = int(small["elements"]), int(large["elements"])
        note = (f"cache lines touched {_mb(n_small * CACHE_LINE_BYTES)} → {_mb(n_large * CACHE_LINE_BYTES)}; "
                f"per-item time {small['time_median_s'] / n_small * 1e9:.3g} → "
                f"{large['time_median_s'] / n_large * 1e9:.3g} ns, verdict {verdict}")
        cases.append(Case(f"k={int(k)} {dtype}: {n_small:,} → {n_large:,} items", outcome, r, lo, hi,
                          f"k={int(k)}", note))
    return cases


def contiguous_axis_reduction_faster(scope) -> list:
    from numperf.claims import Case, from_verdict, speed_ratio

    cases = []
    for order, fast, slow in (("C", "sum_rows", "sum_cols"), ("F", "sum_cols", "sum_rows")):
        runs = _rows(scope, fast)
        if runs.empty:
            continue
        on = [k for k in KEYS if k in runs]
        df = speed_ratio(scope, fast, slow, on=on)
        for _, r in df[df["order"].astype(str) == order].sort_values(on).iterrows():
            outcome = from_verdict(str(r["verdict"]), "faster", ("slower", "equivalent"))
            cases.append(Case(_shape_label(r), outcome, float(r["speedup"]), float(r["low"]),
                              float(r["high"]), f"order {order}",
                              f"time {slow} / {fast} (contiguous axis: {fast}); verdict {r['verdict']}"))
    return cases


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


def claims() -> list:
    """The seeds' statements about memory layout, each with its rule (see the functions above)."""
    from numperf.claims import Claim, higher_supports, lower_supports

    def claim(**kw):
        return Claim(family=NAME, **kw)

    return [
        claim(id="layout-transpose-constant-time", seed=(SEED_002, SEED_000),
              seed_section="002 'An example: matrix transpose' and 'Strides' (nanoseconds for "
                           "1600 MB); 000 'Views vs Copys' (transpose is O(1))",
              text="Transposing takes the same tiny time whatever the array's size: only shape and "
                   "strides change, no data moves.",
              decided_by="runs.csv (method transpose: process medians at the smallest and largest "
                         "rows·cols; check_returns_view)",
              quantity="time at the largest size / time at the smallest",
              badness=lower_supports,
              rule=f"Per dtype, threads and order with transpose measured at sizes ≥ "
                   f"{FLAT_MIN_GROWTH}× apart: the between-process interval of the time ratio "
                   f"largest/smallest. Its high end at most {FLAT_BOUND:g} supports (an O(size) copy "
                   f"would grow with the size); its low end above {FLAT_BOUND:g}, or a transpose that "
                   f"returned a copy, contradicts; otherwise undecided.",
              needs=f"transpose measured at two sizes at least {FLAT_MIN_GROWTH}× apart",
              cases=transpose_constant_time),
        claim(id="layout-ravel-view-flatten-copy", seed=(SEED_001,),
              seed_section="001 'Views vs Copies: Memory Management Deep Dive' (ravel tries a view, "
                           "flatten always copies)",
              text="ravel() of a C-ordered array is a view that allocates nothing, while flatten() "
                   "always copies the whole array.",
              decided_by="runs.csv (methods ravel and flatten, order C: check_returns_view, "
                         "check_owned_bytes, check_result_nbytes, traced_peak_bytes)",
              quantity="flatten's traced peak / its result bytes",
              badness=higher_supports, select={"order": "C"},
              rule=_PAIR_RULE.format(view="ravel", copy="flatten"),
              needs="ravel and flatten measured on the same C-ordered array",
              cases=ravel_view_flatten_copy),
        claim(id="layout-transposed-copies", seed=(SEED_001, SEED_002),
              seed_section="001 'Performance Impact: When Views Become Copies' (x.T.ravel() must "
                           "copy); 002 'A fast thing + a fast thing = a fast thing?' (a.T.reshape "
                           "copies)",
              text="A transpose is a view, but no longer C-contiguous: ravelling or reshaping it "
                   "copies the whole array.",
              decided_by="runs.csv (transpose against T_ravel and T_reshape, order C: view facts, "
                         "traced peaks)",
              quantity="the copy's traced peak / its result bytes",
              badness=higher_supports, select={"order": "C"},
              rule=_PAIR_RULE.format(view="transpose", copy="T_ravel or T_reshape"),
              needs="transpose and T_ravel or T_reshape measured on the same C-ordered array",
              cases=transposed_copies),
        claim(id="layout-fancy-copies-slice-views", seed=(SEED_002,),
              seed_section="002 'Copy versus view' (a[[0, 2]] is not a view; slicing is)",
              text="Selecting rows with an index list copies them, while selecting the same rows "
                   "with a slice gives a view.",
              decided_by="runs.csv (methods slice_rows and fancy_rows: view facts, traced peaks)",
              quantity="fancy_rows' traced peak / its result bytes",
              badness=higher_supports,
              rule=_PAIR_RULE.format(view="slice", copy="fancy-index"),
              needs="slice_rows and fancy_rows measured on the same array",
              cases=fancy_copies_slice_views),
        claim(id="layout-zero-stride-no-memory", seed=(SEED_002, SEED_003),
              seed_section="002 'Exercises 3' solution (a zero stride repeats a value without more "
                           "memory); 003 'Indexing scheme: strides' (as_strided with strides (0, 1))",
              text="Repeating a vector with a zero stride (as_strided) allocates nothing, whereas "
                   "np.tile and np.repeat materialise every repetition.",
              decided_by="runs.csv (repeat_strided against repeat_tile and repeat_np: view facts, "
                         "traced peaks)",
              quantity="as_strided's traced peak / the materialised result bytes",
              badness=lower_supports,
              rule=_PAIR_RULE.format(view="as_strided", copy="tile / repeat"),
              needs="repeat_strided and repeat_tile or repeat_np measured at the same shape",
              cases=zero_stride_no_memory),
        claim(id="layout-copies-slower-than-views", seed=(SEED_001, SEED_002),
              seed_section="001 'Performance Impact: When Views Become Copies' (x.T and x.ravel() "
                           "fast, x.T.ravel() and x.flatten() slow); 002 'NumPy tries to avoid copying "
                           "data' and 'A fast thing + a fast thing' (copying takes time)",
              text="Operations that copy (flatten, x.T.ravel(), a.T.reshape, fancy indexing, "
                   "tile/repeat) are slower than the views that give the same items (ravel, "
                   "transpose, slicing, zero strides).",
              decided_by="runs.csv process medians of each (view, copy) pair at the same shape "
                         "(claims.speed_ratio)",
              quantity="time of the copy / time of the view",
              badness=higher_supports, select={"order": "C"},
              rule=_SPEED_RULE.format(sup="the view faster", con="the view slower or equivalent"),
              needs="a view method and its copying counterpart measured at the same shape",
              cases=copies_slower_than_views),
        claim(id="layout-stride-cost-grows", seed=(SEED_000, SEED_003),
              seed_section="000 'Strides' (the operations that jump least are the most "
                           "cache-efficient); 003 'CPU cache effects' (20 000 items contiguous against "
                           "x[::67])",
              text="Summing the same number of items costs more the farther apart they lie: the "
                   "per-item time never drops as the stride grows, and the largest stride is slower "
                   "than the smallest.",
              decided_by="runs.csv (method strided_sum: process medians per element count across "
                         "strides)",
              quantity="time at the larger stride / time at the smaller one (same item count)",
              badness=higher_supports,
              rule="Per element count, dtype and threads, between-process intervals of time ratios: "
                   "each step to the next larger stride supports when it costs more or is equivalent "
                   "(within min_effect) and contradicts when it costs less; the ends (largest stride "
                   "against smallest, e.g. 67 against 1) support when the larger stride costs more "
                   "and contradict when it is equivalent or cheaper; inconclusive verdicts leave a "
                   "case undecided.",
              needs="strided_sum measured at two or more strides with the same element count",
              cases=stride_cost_grows),
        claim(id="layout-strided-cost-out-of-cache", seed=(SEED_003, SEED_000),
              seed_section="003 'CPU cache effects' (the stride penalty is a cache effect); 000 "
                           "'Strides' (cache efficiency)",
              text="Strided access costs more per item when the touched data no longer fits in "
                   "cache than when it does.",
              decided_by="runs.csv (method strided_sum at the smallest and the largest element count, "
                         "strides whose items lie in different cache lines)",
              quantity="per-item time at the largest element count / at the smallest",
              badness=higher_supports,
              rule=f"Per stride with stride·itemsize ≥ {CACHE_LINE_BYTES} B (one cache line per "
                   f"item), dtype and threads: the between-process interval of the per-item time "
                   f"ratio between the largest and the smallest element count; more supports; "
                   f"equivalent or less contradicts; inconclusive is undecided.",
              needs=f"strided_sum measured at two element counts with a stride of ≥ "
                    f"{CACHE_LINE_BYTES} bytes",
              cases=strided_cost_out_of_cache),
        claim(id="layout-contiguous-axis-reduction-faster", seed=(SEED_000, SEED_001),
              seed_section="000 'Strides' (least jumping is most cache-efficient); 001 'Common "
                           "Performance Pitfalls' (memory layout, C against Fortran order)",
              text="Reducing along the contiguous axis (rows of a C array, columns of an F array) is "
                   "faster than along the other axis.",
              decided_by="runs.csv process medians of sum_rows and sum_cols on the same array "
                         "(claims.speed_ratio)",
              quantity="time along the strided axis / time along the contiguous axis",
              badness=higher_supports,
              rule=_SPEED_RULE.format(sup="the contiguous axis faster",
                                      con="the contiguous axis slower or equivalent"),
              needs="sum_rows and sum_cols measured on the same array (C or F order)",
              cases=contiguous_axis_reduction_faster),
    ]


# --- figures -----------------------------------------------------------------------------------------

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
    from numperf import figures

    runs = _ok(tables)
    df = runs[runs["method"] == "strided_sum"].copy() if runs is not None else None
    if df is None or df.empty:
        figures._message(fig, "No strided_sum case has been measured (status ok): nothing to plot.")
        return None, None
    item = df["dtype"].map(ITEMSIZE).fillna(8)
    rank = {n: i + 1 for i, n in enumerate(sorted(df["elements"].unique()))}  # panels sort by text
    df["summed"] = [f"({rank[n]}) {int(n):,} items, {_mb(n * i)} contiguous"
                    for n, i in zip(df["elements"], item, strict=True)]
    per = 1e9 / df["elements"].astype(float)
    df["ns_per_item"] = df["time_median_s"] * per
    df["ns_low"], df["ns_high"] = df["time_ci_low_s"] * per, df["time_ci_high_s"] * per
    df = df.sort_values("elements")
    return figures.facet_lines(fig, df, x="stride", y="ns_per_item", xlabel="stride k of x[::k] (items)",
                               ylabel="time per summed item (ns)", panels=("summed",), lines="dtype",
                               styles="threads", ci=("ns_low", "ns_high"), ncols=2)


def draw_view_copy(tables: dict, fig):
    """Time per call against the array's size for views and their copying counterparts."""
    from numperf import figures

    runs = _ok(tables)
    panel = {m: name for name, meths in VIEW_COPY_PANELS.items() for m in meths}
    df = runs[runs["method"].isin(list(panel))].copy() if runs is not None else None
    if df is None or df.empty:
        figures._message(fig, "No view or copy method (ravel, flatten, transpose, ...) has been measured "
                              "(status ok): nothing to plot.")
        return None, None
    df["ops"] = df["method"].map(panel)
    df["array_items"] = df["rows"].astype(float) * df["cols"].astype(float)
    facts = df["check_returns_view"] if "check_returns_view" in df else [None] * len(df)
    df["result"] = [{True: "view", False: "copy"}.get(_fact(v), "view or copy?") for v in facts]
    return figures.facet_lines(fig, df, x="array_items", y="time_median_s",
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

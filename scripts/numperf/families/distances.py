"""The pairwise Euclidean distance family: N x M distances between x (N x D) and y (M x D).

Its methods (kernels with their memory models and flop counts) live in ``numperf.methods``; this
module declares the family to the core: parameters, inputs, the accuracy check against a
difference-first long-double reference with the GEMM trick's rounding bound, figures and claims.
"""

from __future__ import annotations

from numperf import inputs as distributions
from numperf import methods as registry
from numperf.family import Check, Family, FigureDecl, Method, Param


def _nmd(params: dict) -> tuple[int, int, int]:
    return int(params["n"]), int(params["m"] or params["n"]), int(params["d"])


def _itemsize(dtype: str) -> int:
    return 4 if dtype == "float32" else 8


def _adapt(m: registry.Method) -> Method:
    """The core's view of a distance method: inputs are (x, y); sizes come from the parameters."""

    def kernel(xy, threads=1, **options):
        return m.kernel(xy[0], xy[1], threads=threads, **options)

    def resolve(options, params, dtype):
        n, mm, d = _nmd(params)
        return m.resolve_params(options, n, mm, d, _itemsize(dtype))

    def memory(params, dtype, options):
        n, mm, d = _nmd(params)
        return m.memory(n, mm, d, _itemsize(dtype), resolve(options, params, dtype))

    def flops(params, dtype):
        return m.flops(*_nmd(params))

    def bytes_moved(params, dtype):
        n, mm, d = _nmd(params)
        return float((n * d + mm * d + n * mm) * _itemsize(dtype))

    options = tuple(Param(k, "int", int(m.defaults.get(k, 0)), f"{m.name} option {k} (0: automatic)",
                          minimum=0) for k in m.params)
    return Method(m.name, kernel, memory, m.description, flops=flops, bytes_moved=bytes_moved,
                  requires=m.requires, options=options, resolve=resolve)


def setup(params: dict, dtype: str, rng, method: str | None = None):
    """x and y drawn from the case's input distribution, cast to its dtype."""
    n, m, d = _nmd(params)
    return distributions.make(params["inputs"], rng, n, m, d, dtype)


def error_bound(x2, y2, ref, d: int, eps: float):
    """Elementwise bound on |computed - true| distance for the GEMM-trick family.

    The squared distance ||x||^2 + ||y||^2 - 2 x.y carries a rounding error of at most
    about delta = (D + 4) eps (||x||^2 + ||y||^2) (dot-product error bound plus the
    additions); through the square root that is delta / (2 d), and never more than
    sqrt(delta) when d is near zero. Direct (difference-first) methods stay well inside.
    """
    import numpy as np

    delta = (d + 4) * eps * (x2[:, None] + y2[None, :])
    with np.errstate(divide="ignore"):
        through_sqrt = np.where(ref > 0, delta / (2 * ref), np.inf)
    return np.minimum(through_sqrt, np.sqrt(delta)) + 2 * eps * ref


def reference_rows(x, y, rows):
    """Exact-as-possible distances for the sampled rows: differences first, in long double."""
    import numpy as np

    xl = x[rows].astype(np.longdouble)
    yl = y.astype(np.longdouble)
    out = np.empty((len(rows), y.shape[0]), dtype=np.longdouble)
    for k in range(len(rows)):
        diff = xl[k] - yl
        out[k] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def accuracy(result, x, y, rows, eps: float) -> dict:
    """Max absolute/relative error of ``result`` on sampled rows, and whether any exceeds the bound.

    The bound is ``error_bound`` for the data shifted so that they start at the origin (by the
    per-coordinate minimum of x and y). Distances do not depend on where the origin is, so neither
    does the tolerated error: for data in [0, 1) it is the trick's own bound, while methods whose
    error grows with the distance from the origin (the plain trick on ``offset`` data) exceed it.
    """
    import numpy as np

    ref = reference_rows(x, y, rows)
    got = np.asarray(result[rows], dtype=np.longdouble)
    abs_err = np.abs(got - ref)
    rel_err = abs_err / np.where(ref > 0, ref, 1)
    lo = np.minimum(x.min(axis=0), y.min(axis=0)).astype(np.longdouble)
    xl, yl = x[rows].astype(np.longdouble) - lo, y.astype(np.longdouble) - lo
    bound = error_bound((xl * xl).sum(1), (yl * yl).sum(1), ref, x.shape[1], eps)
    return {"max_abs_error": float(abs_err.max()), "max_rel_error": float(rel_err.max()),
            "sample_rows": int(len(rows)), "bound_exceeded": int((abs_err > bound).sum())}


def check(method: str, result, xy, params: dict, dtype: str, rng) -> Check:
    """Sampled rows against the long-double reference, within the trick's rounding bound."""
    import numpy as np

    x, y = xy
    n = x.shape[0]
    rows = np.sort(rng.choice(n, size=min(n, int(params["accuracy_rows"])), replace=False))
    eps = float(np.finfo(np.result_type(np.dtype(dtype), result.dtype)).eps)
    acc = accuracy(result, x, y, rows, eps)
    failed = None
    if acc["bound_exceeded"]:
        failed = (f"inaccurate: {acc['bound_exceeded']} sampled entries exceed the rounding-error bound "
                  f"(max abs error {acc['max_abs_error']:.3g})")
    return Check(acc["max_abs_error"], acc["max_rel_error"], failed,
                 {"sample_rows": acc["sample_rows"], "bound_exceeded": acc["bound_exceeded"]})


def floor(params: dict, dtype: str, rates: dict) -> float:
    """max(2·N·M·D / best GEMM rate, N·M·itemsize / best write bandwidth): the GEMM the trick cannot
    avoid and the output it must write."""
    n, m, d = _nmd(params)
    peak = rates["sgemm_gflops" if dtype == "float32" else "dgemm_gflops"] * 1e9
    return max(2.0 * n * m * d / peak, n * m * _itemsize(dtype) / rates["write_bandwidth_bytes_per_s"])


def normalize(params: dict) -> dict:
    """m = 0 means a square case (m = n)."""
    return {**params, "m": int(params.get("m") or params["n"])}


FAMILY = Family(
    name="distances",
    description="pairwise Euclidean distances: broadcasting, einsum, the GEMM trick, chunked, "
                "blocked and tiled methods, scipy and scikit-learn as peers",
    seeds=("000_c604aae697236f53.txt", "001_0e0fca5a6ccca26f.txt", "002_966a0769f583f9c1.txt"),
    params=(
        Param("n", "int", 1000, "rows of x", minimum=1),
        Param("m", "int", 0, "rows of y (0: same as n)", minimum=0),
        Param("d", "int", 50, "columns (dimension) of x and y", minimum=1),
        Param("inputs", "str", "uniform", "how x and y are drawn",
              choices=tuple(distributions.DISTRIBUTIONS)),
        Param("accuracy_rows", "int", 32, "rows of the result checked against the reference", minimum=1),
    ),
    dtypes=("float32", "float64"),
    methods={name: _adapt(m) for name, m in registry.METHODS.items()},
    setup=setup,
    check=check,
    baseline="gemm_trick",
    optional_methods=("tiled_numba_plain",),
    normalize=normalize,
    floor=floor,
)


def figures() -> list[FigureDecl]:
    """The distance figures are registered by numperf.figures itself (the project's first family)."""
    return []


def claims() -> list:
    from numperf import distance_claims

    return list(distance_claims.CLAIMS)

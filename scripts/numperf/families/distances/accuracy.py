"""The distance family's correctness check: sampled rows against a difference-first long-double
reference, within the GEMM trick's rounding-error bound for data moved to the origin."""

from __future__ import annotations

import numpy as np

from numperf.family import Check


def error_bound(x2, y2, ref, d: int, eps: float):
    """Elementwise bound on |computed - true| distance for the GEMM-trick family.

    The squared distance ||x||^2 + ||y||^2 - 2 x.y carries a rounding error of at most
    about delta = (D + 4) eps (||x||^2 + ||y||^2) (dot-product error bound plus the
    additions); through the square root that is delta / (2 d), and never more than
    sqrt(delta) when d is near zero. Direct (difference-first) methods stay well inside.
    """
    delta = (d + 4) * eps * (x2[:, None] + y2[None, :])
    with np.errstate(divide="ignore"):
        through_sqrt = np.where(ref > 0, delta / (2 * ref), np.inf)
    return np.minimum(through_sqrt, np.sqrt(delta)) + 2 * eps * ref


def reference_rows(x, y, rows):
    """Exact-as-possible distances for the sampled rows: differences first, in long double."""
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

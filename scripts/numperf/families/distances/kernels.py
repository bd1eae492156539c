"""numba-compiled pieces of the ``tiled_numba`` methods (imported only when numba is installed).

numba compiles these loops to machine code the first time they meet a dtype, caches the result
on disk, and runs them without the GIL (``nogil``), so the tile workers of ``methods`` run them
in parallel from plain Python threads, next to single-threaded BLAS GEMMs. What numba buys over
NumPy here is fusion: each tile's epilogue (norms, clamp, square root, exactness check) is one
pass over memory that is still in cache, instead of one NumPy pass (and temporary) per step.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Fast-math subset for the epilogue: fused multiply-add and signed-zero freedom only (no
#: approximate square root, no assumption that NaN or Inf never occur).
_EPILOGUE_MATH = {"nsz", "contract"}
#: The difference-first recomputation may also reassociate its sum (vectorised, in float64).
_RECOMPUTE_MATH = {"nsz", "contract", "reassoc"}
#: The second look at a row re-tests the flag on the rounded distance, with this much slack so that
#: every entry the first pass flagged is found again.
_RETEST_SLACK = 1.001


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath=_RECOMPUTE_MATH)
def _exact_sq(x, y, i, j):
    """Squared distance of x[i] and y[j], differences first, summed in float64."""
    acc = 0.0
    for k in range(x.shape[1]):
        diff = np.float64(x[i, k]) - np.float64(y[j, k])
        acc += diff * diff
    return acc


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath=_EPILOGUE_MATH)
def _add_column_sums(src, acc):
    for r in range(src.shape[0]):
        for k in range(src.shape[1]):
            acc[k] += np.float64(src[r, k])


def column_sums(src) -> np.ndarray:
    """Sums of src's columns in float64 (``methods.common_centre``'s sums) in one vectorised pass:
    NumPy's float64 sum of a float32 array along axis 0 converts in buffers, 5x slower."""
    acc = np.zeros(src.shape[1])
    _add_column_sums(src, acc)
    return acc


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath=_EPILOGUE_MATH)
def centre_rows(src, r0, r1, centre, dst):
    """dst[:r1-r0] = src[r0:r1] - centre, rounded to dst's dtype (one vectorised pass, no sums)."""
    for r in range(r0, r1):
        for k in range(src.shape[1]):
            dst[r - r0, k] = dst.dtype.type(src[r, k] - centre[k])


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath=_RECOMPUTE_MATH)
def centred_norms(src, r0, r1, centre, norms):
    """norms[r] = ||src[r] - centre||^2 for r in [r0, r1): the centred values rounded as
    ``centre_rows`` rounds them (so they match what the GEMM sees), squared and summed in float64.
    The sum may be reassociated: that is what lets it vectorise (a sequential float64 sum costs
    one add latency per element, which made centring slower than the GEMM at D = 500)."""
    for r in range(r0, r1):
        acc = 0.0
        for k in range(src.shape[1]):
            v = np.float64(centre.dtype.type(src[r, k] - centre[k]))
            acc += v * v
        norms[r] = acc


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath=_EPILOGUE_MATH)
def epilogue(out, a, b, x, y, i0, i1, j0, j1, tau, exact):
    """Turn the GEMM tile out[i0:i1, j0:j1] (holding x_i . y_j) into distances, in place.

    One pass per row: d2 = a_i + b_j - 2 p, clamp at zero, square root, while counting the
    entries where d2 <= tau (a_i + b_j), i.e. where the subtraction may have cancelled most
    digits. Only rows with such entries get a second look, which recomputes them difference-first
    from the original x and y. Returns the number of recomputed entries.
    """
    zero = out.dtype.type(0)
    two = out.dtype.type(2)
    retest = tau * out.dtype.type(_RETEST_SLACK)
    recomputed = 0
    bj = b[j0:j1]  # a contiguous slice (not b[j0 + c]) lets LLVM vectorise the row loop
    for i in range(i0, i1):
        row = out[i, j0:j1]
        ai = a[i]
        flagged = 0
        for c in range(row.shape[0]):
            s = ai + bj[c]
            d2 = s - two * row[c]
            flagged += d2 <= tau * s
            row[c] = math.sqrt(max(d2, zero))
        if exact and flagged:
            for c in range(row.shape[0]):
                if row[c] * row[c] <= retest * (ai + bj[c]):
                    row[c] = math.sqrt(_exact_sq(x, y, i, j0 + c))
                    recomputed += 1
    return recomputed

"""Ours: the trick written into one preallocated output, block by cache-sized block of rows,
every step after the GEMM in place; ``blocked_parallel`` spreads the blocks over threads."""

from __future__ import annotations

import numpy as np

from numperf.families.distances.method import (
    BLOCK_TARGET_BYTES,
    distance_method,
    flops_gemm,
    input_bytes,
    pairwise,
    row_norms,
    single_threaded_blas,
)
from numperf.family import MemoryModel

ORDER = 20


def auto_block_rows(n: int, m: int, itemsize: int) -> int:
    """Rows per block so one block of output (rows x M) fits BLOCK_TARGET_BYTES."""
    return int(max(8, min(n, BLOCK_TARGET_BYTES // max(1, m * itemsize))))


def _block_steps(x, y, out, x2, y2, i0, rows):
    """One row block: GEMM straight into the output, then every step in place."""
    blk = out[i0 : i0 + rows]
    np.matmul(x[i0 : i0 + rows], y.T, out=blk)
    blk *= -2.0
    blk += x2[i0 : i0 + rows, np.newaxis]
    blk += y2
    np.maximum(blk, 0.0, out=blk)
    np.sqrt(blk, out=blk)


def _blocked_setup(x, y, block_rows):
    dtype = np.result_type(x, y)
    n, m = x.shape[0], y.shape[0]
    out = np.empty((n, m), dtype=dtype)
    return out, row_norms(x), row_norms(y), block_rows or auto_block_rows(n, m, dtype.itemsize)


@pairwise()
def blocked(x, y, block_rows=0, **_):
    """Preallocated output, GEMM written into each cache-sized row block, rest in place."""
    out, x2, y2, rows = _blocked_setup(x, y, block_rows)
    for i0 in range(0, x.shape[0], rows):
        _block_steps(x, y, out, x2, y2, i0, rows)
    return out


@pairwise()
def blocked_parallel(x, y, block_rows=0, threads=1, **_):
    """``blocked`` with its row blocks spread over ``threads`` Python threads.

    NumPy and BLAS release the GIL, so the in-place steps run in parallel too, not only the
    GEMM; each block's GEMM runs single-threaded meanwhile to avoid oversubscription.
    """
    from concurrent.futures import ThreadPoolExecutor

    out, x2, y2, rows = _blocked_setup(x, y, block_rows)
    starts = range(0, x.shape[0], rows)
    if threads <= 1 or len(starts) == 1:
        for i0 in starts:
            _block_steps(x, y, out, x2, y2, i0, rows)
        return out
    with single_threaded_blas(), ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(_block_steps, x, y, out, x2, y2, i0, rows) for i0 in starts]:
            future.result()
    return out


def _mem_blocked(n, m, d, s, p):
    return MemoryModel(input_bytes(n, m, d, s), (n + m) * s, n * m * s)


def _auto_rows(p, n, m, d, s):
    return {**p, "block_rows": p.get("block_rows") or auto_block_rows(n, m, s)}


METHODS = [
    distance_method("blocked", blocked, _mem_blocked, flops_gemm,
                    "GEMM into cache-sized blocks of a preallocated output, rest in place (ours)",
                    options={"block_rows": 0}, auto=_auto_rows),
    distance_method("blocked_parallel", blocked_parallel, _mem_blocked, flops_gemm,
                    "blocked, with row blocks spread over the case's threads (ours)",
                    options={"block_rows": 0}),
]

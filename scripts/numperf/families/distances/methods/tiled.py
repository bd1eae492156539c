"""Ours: the exact GEMM trick in cache-sized tiles over the case's threads (``tiled_numpy``), the
same with a numba-compiled epilogue (``tiled_numba``), and that without the exactness fix
(``tiled_numba_plain``), each with its memory model."""

from __future__ import annotations

import numpy as np

from numperf.families.distances.method import distance_method, flops_gemm, input_bytes, pairwise
from numperf.families.distances.tiling import (
    EXACT_TAU,
    RECOMPUTE_BYTES,
    auto_tile,
    common_centre,
    exact_rows_cols,
    numpy_tile,
    run_tiles,
    square_tile,
    work_dtype,
    y_in_output,
)
from numperf.family import MemoryModel

ORDER = 30
TILE_OPTIONS = {"block_rows": 0, "block_cols": 0}


def _auto_tile_params(p, n, m, d, itemsize):
    rows, cols = auto_tile(n, m, d, itemsize, p.get("block_rows", 0), p.get("block_cols", 0))
    return {**p, "block_rows": rows, "block_cols": cols}


def _auto_plain_params(p, n, m, d, itemsize):
    # no centred copies, so nothing to shrink the tiles for at large D
    return _auto_tile_params(p, n, m, 0, itemsize)


def _auto_numpy_params(p, n, m, d, itemsize):
    rows, cols = numpy_tile(n, m, d, itemsize, p.get("block_rows", 0), p.get("block_cols", 0))
    return {**p, "block_rows": rows, "block_cols": cols}



@pairwise(convert=False)
def tiled_numpy(x, y, threads=1, block_rows=0, block_cols=0, **_):
    """Ours, NumPy only: exact GEMM trick in cache-sized tiles spread over ``threads``.

    x and y are centred on their common mean block by block (so the trick cancels nothing
    far from the origin) into blocks augmented as [-2 x_c, a, 1] and [y_c, 1, b] (a, b: the
    centred squared norms), so each tile's GEMM (single-threaded BLAS, straight into the
    output) yields a + b - 2 x_c.y_c itself. Clamp and square root then run in place while the
    tile is in cache, and entries with d^2 <= EXACT_TAU (a + b), where the subtraction may
    have lost digits, are recomputed difference-first from the original data. ``y is x``
    gives an exact zero diagonal.
    """
    dt = work_dtype(x, y)
    (n, d), m = x.shape, y.shape[0]
    out = np.empty((n, m), dtype=dt)
    if not out.size:
        return out
    rows, cols = numpy_tile(n, m, d, dt.itemsize, block_rows, block_cols)
    centre = common_centre(x, y, dt)
    tau = dt.type(EXACT_TAU)

    def centred_norms(a):
        norms, buf = np.empty(a.shape[0], dtype=dt), np.empty((min(rows, a.shape[0]), d), dtype=dt)
        for r0 in range(0, a.shape[0], rows):
            blk = buf[: min(rows, a.shape[0] - r0)]
            np.subtract(a[r0:r0 + rows], centre, out=blk, casting="unsafe")
            np.einsum("ij,ij->i", blk, blk, out=norms[r0:r0 + rows])
        return norms

    a = centred_norms(x)
    b = a if y is x else centred_norms(y)

    def y_block(j0, j1, yb):
        np.subtract(y[j0:j1], centre, out=yb[:, :d], casting="unsafe")
        yb[:, d], yb[:, d + 1] = 1.0, b[j0:j1]
        return yb

    shared_y = y_block(0, m, np.empty((m, d + 2), dtype=dt)) if cols == m else None

    def work(tiles):
        xb = np.empty((rows, d + 2), dtype=dt)
        xb[:, d + 1] = 1.0
        yb = np.empty((cols, d + 2), dtype=dt) if shared_y is None else None
        flag = np.empty((rows, cols), dtype=bool)
        last = -1
        for i0, j0 in tiles:
            i1, j1 = min(n, i0 + rows), min(m, j0 + cols)
            xs, fl = xb[: i1 - i0], flag[: i1 - i0, : j1 - j0]
            if i0 != last:
                np.subtract(x[i0:i1], centre, out=xs[:, :d], casting="unsafe")
                xs[:, :d] *= -2.0
                xs[:, d] = a[i0:i1]
                last = i0
            ys = shared_y if shared_y is not None else y_block(j0, j1, yb[: j1 - j0])
            blk = out[i0:i1, j0:j1]
            np.matmul(xs, ys.T, out=blk)  # a_i + b_j - 2 x_c.y_c
            # candidates with a cheap per-row threshold, then the exact test on those only
            np.less_equal(blk, (tau * (a[i0:i1] + b[j0:j1].max()))[:, np.newaxis], out=fl)
            ii = jj = None
            if fl.any():
                ii, jj = np.divmod(np.flatnonzero(fl), j1 - j0)  # 2-D nonzero is ~10x slower
                keep = blk[ii, jj] <= tau * (a[i0 + ii] + b[j0 + jj])
                ii, jj = ii[keep], jj[keep]
            np.maximum(blk, 0.0, out=blk)
            np.sqrt(blk, out=blk)
            if ii is not None and len(ii):
                blk[ii, jj] = exact_rows_cols(x, y, i0 + ii, j0 + jj, dt)

    run_tiles(n, m, rows, cols, threads, work)
    return out


@pairwise(convert=False)
def tiled_numba(x, y, threads=1, block_rows=0, block_cols=0, exact=True, **_):
    """Ours, compiled epilogue: ``tiled_numpy`` with each tile's epilogue fused into one pass.

    numba-compiled, GIL-free loops (``numperf.fastkernels``) centre the blocks and, per tile
    row, form a_i + b_j - 2 p, clamp, take the square root and count the entries that need the
    difference-first recomputation, all while the tile is in cache. ``exact=False`` (method
    ``tiled_numba_plain``) skips centring and recomputation, to measure what exactness costs.
    """
    from numperf.families.distances import kernels as fk

    dt = work_dtype(x, y)
    (n, d), m = x.shape, y.shape[0]
    out = np.empty((n, m), dtype=dt)
    if not out.size:
        return out
    copy = exact or x.dtype != dt or y.dtype != dt  # plain float input: GEMM straight from x, y
    rows, cols = auto_tile(n, m, d if copy else 0, dt.itemsize, block_rows, block_cols)
    centre = common_centre(x, y, dt, fk.column_sums) if exact else np.zeros(d, dtype=dt)
    tau = dt.type(EXACT_TAU)
    # Squared norms of the centred rows, once, before the tiles (a vectorised pass over x and y).
    a = np.empty(n, dtype=dt)
    fk.centred_norms(x, 0, n, centre, a)
    b = a
    if y is not x:
        b = np.empty(m, dtype=dt)
        fk.centred_norms(y, 0, m, centre, b)

    tail = 0  # rows of the output that hold the centred y until they are computed, last
    shared_y = None
    if copy and cols == m:  # full-width panels: y centred once, read by every thread
        if y_in_output(n, m, d, rows, cols):
            tail = d
            shared_y = out[n - tail:].reshape(m, d)
        else:
            shared_y = np.empty((m, d), dtype=dt)
        fk.centre_rows(y, 0, m, centre, shared_y)

    def work_on(shared, rows, cols, end):
        def work(tiles):  # tiles of rows [.., end)
            xb = np.empty((rows, d), dtype=dt) if copy else None
            yb = np.empty((cols, d), dtype=dt) if copy and shared is None else None
            last = -1
            for i0, j0 in tiles:
                i1, j1 = min(end, i0 + rows), min(m, j0 + cols)
                if copy:
                    if i0 != last:
                        fk.centre_rows(x, i0, i1, centre, xb)
                        last = i0
                    if shared is None:
                        fk.centre_rows(y, j0, j1, centre, yb)
                    xs, ys = xb[: i1 - i0], (yb[: j1 - j0] if shared is None else shared)
                else:
                    xs, ys = x[i0:i1], y[j0:j1]
                np.matmul(xs, ys.T, out=out[i0:i1, j0:j1])
                fk.epilogue(out, a, b, x, y, i0, i1, j0, j1, tau, exact)
        return work

    run_tiles(n - tail, m, rows, cols, threads, work_on(shared_y, rows, cols, n - tail))
    if tail:  # the copy of y is no longer needed: its rows are computed in square tiles
        square = square_tile(n, m, d, dt.itemsize)
        run_tiles(n, m, *square, threads, work_on(None, *square, n), first_row=n - tail)
    return out


def tiled_numba_plain(xy, **options):
    """``tiled_numba`` without the exactness fix (the plain trick epilogue): its cost, measured."""
    return tiled_numba(xy, **{**options, "exact": False})


def _tile_scratch(n, m, d, s, p):
    # one thread's centred blocks; full-width panels add the shared y copy unless it lives in
    # the output, whose last rows are then computed in square tiles
    rows, cols = p.get("block_rows") or 0, p.get("block_cols") or 0
    if not (rows and cols):
        rows, cols = auto_tile(n, m, d, s, rows, cols)
    if y_in_output(n, m, d, rows, cols):
        return rows, cols, max(rows, sum(square_tile(n, m, d, s))) * d * s
    return rows, cols, (rows + cols) * d * s


def _mem_tiled_numba(n, m, d, s, p):
    # norms and one thread's scratch (each further thread adds its own centred x panel or pair of
    # blocks, within TILE_SCRATCH_FRACTION of the output; the model does not know the thread count).
    return MemoryModel(input_bytes(n, m, d, s), (n + m) * s + _tile_scratch(n, m, d, s, p)[2], n * m * s)


def _mem_tiled_numba_plain(n, m, d, s, p):
    # GEMM straight from x and y into the output: only the norms besides.
    return MemoryModel(input_bytes(n, m, d, s), (n + m) * s, n * m * s)


def _mem_tiled_numpy(n, m, d, s, p):
    # norms; the augmented centred blocks (D + 2 columns): y's is shared when the tiles are
    # full-width panels; one thread's candidate mask (a byte per tile entry) and the float64
    # differences of one recomputation batch (input rows, their copy, the difference)
    rows, cols = p.get("block_rows") or 0, p.get("block_cols") or 0
    if not (rows and cols):
        rows, cols = numpy_tile(n, m, d, s, rows, cols)
    blocks = (rows + cols) * (d + 2) * s
    return MemoryModel(input_bytes(n, m, d, s), (n + m) * s + blocks + rows * cols + 3 * RECOMPUTE_BYTES,
                       n * m * s)




METHODS = [
    distance_method("tiled_numpy", tiled_numpy, _mem_tiled_numpy, flops_gemm,
                    "exact trick (centred, cancelling entries recomputed) in L2-sized tiles over the "
                    "case's threads, NumPy epilogue (ours)", options=TILE_OPTIONS, auto=_auto_numpy_params),
    distance_method("tiled_numba", tiled_numba, _mem_tiled_numba, flops_gemm,
                    "tiled_numpy with the epilogue fused into one numba-compiled pass per tile (ours)",
                    options=TILE_OPTIONS, requires="numba", auto=_auto_tile_params),
    distance_method("tiled_numba_plain", tiled_numba_plain, _mem_tiled_numba_plain, flops_gemm,
                    "tiled_numba without the exactness fix, to measure its cost (ours, not exact)",
                    options=TILE_OPTIONS, requires="numba", auto=_auto_plain_params),
]

"""Tile geometry and the tile workers of the tiled distance methods (``methods/tiled.py``).

The output is cut into full-width row panels (small D: one shared centred copy of y) or square
tiles (large D), sized so that the scratch stays within a few percent of the output; worker
threads take panels or tiles from a shared iterator, each running single-threaded BLAS.
"""

from __future__ import annotations

import numpy as np

from numperf.families.distances.method import BLOCK_TARGET_BYTES, single_threaded_blas

#: ``tiled_*``: columns (rows of y) per square-ish tile (large D); rows come from BLOCK_TARGET_BYTES.
TILE_COLS = 512
#: ``tiled_*``: scratch budget as a fraction of the output, so the peak stays within 5% of it.
#: Full-width row panels share one centred copy of y between the threads and each thread holds
#: one centred x panel: (M + 2 rows) D must fit. Otherwise (large D) the tiles are squares and
#: each thread holds its own centred x and y blocks, (rows + cols) D per thread.
TILE_SCRATCH_FRACTION = 0.04
#: ``tiled_*`` square tiles: one thread's scratch budget (two threads: 4.4% of the output, which
#: with the norms keeps the peak within 5%).
TILE_THREAD_FRACTION = 0.022
#: ``tiled_*`` exactness: entries with d^2 <= EXACT_TAU (||x_c||^2 + ||y_c||^2) are recomputed
#: difference-first. Elsewhere the trick's relative error is about 4 u / EXACT_TAU (measured;
#: u = unit roundoff), i.e. below 5e-7 in float32.
EXACT_TAU = 0.5
#: ``tiled_numpy``: bytes of float64 differences recomputed at once (small: the temporaries stay in
#: cache and come from the heap, whatever the allocator's mmap threshold).
RECOMPUTE_BYTES = 1 << 16
#: ``tiled_*``: bytes of output per full-width row panel (long rows: one GEMM call and one
#: epilogue pass per panel; measured faster than 1 MB tiles at D = 50, although past L2).
PANEL_BYTES = 1 << 22


def square_tile(n: int, m: int, d: int, itemsize: int) -> tuple[int, int]:
    """Tiles of about BLOCK_TARGET_BYTES of output, shrunk to squares (the GEMM's best use of
    little memory) until one thread's centred x and y blocks fit TILE_THREAD_FRACTION."""
    cols = min(m, TILE_COLS)
    rows = max(16, BLOCK_TARGET_BYTES // (cols * itemsize))
    budget = TILE_THREAD_FRACTION * n * m
    if (rows + cols) * d > budget:
        side = max(32, int(budget / (2 * d)))
        rows, cols = min(rows, side), min(cols, side)
    return max(1, min(rows, n)), max(1, min(cols, m))


def _shared_y_fits(n: int, m: int, d: int, rows: int) -> bool:
    """Whether one centred copy of y and two threads' centred x panels fit the scratch budget."""
    return (m + 2 * rows) * d <= TILE_SCRATCH_FRACTION * n * m


def y_in_output(n: int, m: int, d: int, rows: int, cols: int) -> bool:
    """Whether full-width panels keep the centred copy of y in the output's last D rows (M x D
    elements: exactly D rows of M), which are computed last, in square tiles, once the copy is
    no longer needed. Chosen where a separate copy would not fit the scratch budget."""
    return cols == m and 0 < d <= n // 2 and not _shared_y_fits(n, m, d, rows)


def auto_tile(n: int, m: int, d: int, itemsize: int, block_rows: int = 0, block_cols: int = 0):
    """(rows, cols) of one ``tiled_*`` tile; ``cols == m`` means full-width row panels over one
    shared centred copy of y. Panels of about PANEL_BYTES where that copy fits the scratch budget
    (small D); at larger D, panels that keep the copy in the output (see ``y_in_output``), narrow
    enough for two threads' x panels to fit the budget; otherwise square tiles. Explicit sizes
    are taken as given."""
    if block_rows or block_cols:
        cols = int(block_cols or min(m, TILE_COLS))
        rows = int(block_rows or max(16, BLOCK_TARGET_BYTES // (cols * itemsize)))
        return max(1, min(rows, n)), max(1, min(cols, m))
    panel_rows = _even_rows(n, max(16, PANEL_BYTES // max(1, m * itemsize)))
    if _shared_y_fits(n, m, d, panel_rows):
        return panel_rows, max(1, m)
    rows = min(panel_rows, int(TILE_SCRATCH_FRACTION * n * m / (2 * d)))
    if rows >= 16 and y_in_output(n, m, d, rows, m):
        return _even_rows(n - d, rows), m
    return square_tile(n, m, d, itemsize)


def _even_rows(n: int, most: int) -> int:
    """Rows per panel, at most ``most``, splitting n rows into panels of equal size (so that
    threads taking panels in turn finish together: no short last panel)."""
    count = -(-n // max(1, most))
    return max(1, -(-n // count))


def numpy_tile(n: int, m: int, d: int, itemsize: int, block_rows: int = 0, block_cols: int = 0):
    """(rows, cols) of one ``tiled_numpy`` tile. NumPy pays per call and per row of a strided
    view, so it prefers full-width row panels of about PANEL_BYTES over one separate centred
    copy of y (blocks of D + 2 columns); where that copy alone exceeds TILE_THREAD_FRACTION of
    the output (its candidate masks take the rest of the budget), square tiles."""
    if block_rows or block_cols:
        return auto_tile(n, m, d + 2, itemsize, block_rows, block_cols)
    if (d + 2) * m > TILE_THREAD_FRACTION * n * m:
        return square_tile(n, m, d + 2, itemsize)
    return max(1, min(n, PANEL_BYTES // (m * itemsize))), m


def work_dtype(x, y) -> np.dtype:
    """Dtype the tiled methods compute and return in: float32 stays float32 (and float16 becomes
    float32), float64 stays float64, integers and booleans give float64 (never truncated)."""
    dt = np.result_type(x.dtype, y.dtype)
    if dt.kind in "biu":
        return np.dtype(np.float64)
    if dt.kind != "f" or dt.itemsize > 8:
        raise TypeError(f"tiled methods need real float32/float64 or integer inputs, got {dt}")
    return np.dtype(np.float32) if dt.itemsize < 4 else dt


def _column_sums(a) -> np.ndarray:
    return a.sum(axis=0, dtype=np.float64)


def common_centre(x, y, dt, column_sums=_column_sums):
    """Mean of all rows of x and y (float64 sums, by ``column_sums(a)``), in ``dt``: the origin
    the trick runs at."""
    total, count = column_sums(x), x.shape[0]
    if y is not x:
        total, count = total + column_sums(y), count + y.shape[0]
    return (total / max(count, 1)).astype(dt)


#: Tile worker pools by size, kept between calls (starting threads costs ~0.1 ms per call).
_POOLS: dict = {}


def run_tiles(n, m, rows, cols, threads, work, first_row=0):
    """Run ``work(tiles)`` on the row-major tiles of rows [first_row, n), shared by ``threads``
    worker threads."""
    from concurrent.futures import ThreadPoolExecutor

    bands = [[(i0, j0) for j0 in range(0, m, cols)] for i0 in range(first_row, n, rows)]
    tiles = [t for band in bands for t in band]
    workers = max(1, min(int(threads), len(tiles)))
    if workers == 1:
        work(tiles)
        return
    # Workers take the next row band (or, with few bands, the next tile) from a shared iterator
    # (atomic under the GIL): balanced when some tiles recompute more, and two threads rarely
    # write (and page-fault) the same rows at once.
    items = iter(bands if len(bands) >= 2 * workers else [[t] for t in tiles])

    def run():
        work(t for item in items for t in item)  # this worker's own generator over the shared items

    # The calling thread is one of the workers: one pool thread fewer to wake per call.
    helpers = workers - 1
    pool = _POOLS.get(helpers) or _POOLS.setdefault(helpers, ThreadPoolExecutor(helpers, "numperf-tiles"))
    with single_threaded_blas():
        futures = [pool.submit(run) for _ in range(helpers)]
        try:
            run()
        finally:  # the helpers finish (or fail) before BLAS gets its threads back
            for future in futures:
                future.result()


def exact_rows_cols(x, y, i, j, dt):
    """Distances of pairs (x[i[k]], y[j[k]]), differences first in float64, RECOMPUTE_BYTES at a time."""
    out = np.empty(len(i), dtype=dt)
    step = max(1, RECOMPUTE_BYTES // (8 * max(1, x.shape[1])))
    for k in range(0, len(i), step):
        diff = x[i[k:k + step]].astype(np.float64)
        diff -= y[j[k:k + step]]
        np.square(diff, out=diff)
        out[k:k + step] = np.sqrt(diff.sum(axis=1))
    return out



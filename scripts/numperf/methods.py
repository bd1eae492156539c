"""The distance-method registry: each kernel next to its memory model and flop count.

Adding a method means adding one ``Method`` entry here; the case runner, the sweep,
the tables, the figures and the report all iterate over ``METHODS``.

All kernels compute the full N x M Euclidean distance matrix between ``x`` (N x D)
and ``y`` (M x D) and return it in the input dtype (peers may return float64).
Imports stay numpy-only so the module also loads under Debian's numpy 1.24.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from numperf.family import MemoryModel  # noqa: F401 - the models below build it

#: Default row-block size of ``chunked`` (the seed notebook's chunk size).
DEFAULT_CHUNK_ROWS = 100
#: Bytes of output rows that ``blocked`` keeps hot per block (a typical L2 size).
BLOCK_TARGET_BYTES = 1 << 20
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


@dataclass(frozen=True)
class Method:
    """One distance method: kernel, memory model, flop count and what it needs."""

    name: str
    kernel: Callable[..., np.ndarray]
    memory: Callable[[int, int, int, int, dict], MemoryModel]
    flops: Callable[[int, int, int], float]
    description: str
    params: tuple[str, ...] = ()
    requires: str | None = None
    defaults: dict = field(default_factory=dict)
    #: fills automatic parameters (e.g. tile sizes) of a case: f(params, n, m, d, itemsize) -> params
    auto: Callable[[dict, int, int, int, int], dict] | None = None

    def available(self) -> bool:
        """True when the optional package this method needs can be imported."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def resolve_params(self, params: dict | None, n: int, m: int, d: int, itemsize: int) -> dict:
        """The method's own parameters with defaults filled in (others dropped)."""
        given = {k: v for k, v in (params or {}).items() if k in self.params and v}
        out = {**self.defaults, **given}
        if self.name == "blocked" and not out.get("block_rows"):
            out["block_rows"] = auto_block_rows(n, m, itemsize)
        if self.auto is not None:
            out = self.auto(out, n, m, d, itemsize)
        return out


def auto_block_rows(n: int, m: int, itemsize: int) -> int:
    """Rows per block so one block of output (rows x M) fits BLOCK_TARGET_BYTES."""
    return int(max(8, min(n, BLOCK_TARGET_BYTES // max(1, m * itemsize))))


# --------------------------------------------------------------------------- kernels


def _float_inputs(kernel):
    """Integer and boolean inputs become float64 copies first: NumPy would otherwise run the seed
    methods in wrapping integer arithmetic or truncate the distances into an integer output.
    Float inputs pass through untouched (no copy)."""

    @functools.wraps(kernel)
    def wrapped(x, y, **params):
        same = y is x
        x = x if x.dtype.kind in "fc" else x.astype(np.float64)
        y = x if same else (y if y.dtype.kind in "fc" else y.astype(np.float64))
        return kernel(x, y, **params)

    return wrapped


@_float_inputs
def broadcast(x, y, **_):
    """Seed notebook: full N x M x D difference array, squared, summed, sqrt."""
    diff = x[:, np.newaxis, :] - y[np.newaxis, :, :]
    d2 = (diff * diff).sum(axis=2)
    return np.sqrt(d2, out=d2)


@_float_inputs
def broadcast_einsum(x, y, **_):
    """Seed exercise 5: the same difference array, reduced with einsum (no squared copy)."""
    diff = x[:, np.newaxis, :] - y[np.newaxis, :, :]
    d2 = np.einsum("ijk,ijk->ij", diff, diff)
    return np.sqrt(d2, out=d2)


def _row_norms(a):
    return np.einsum("ij,ij->i", a, a)


@_float_inputs
def gemm_trick(x, y, **_):
    """Seed 'trick': ||x||^2 + ||y||^2 - 2 x.y with one GEMM, abs against round-off, sqrt."""
    x2 = _row_norms(x)[:, np.newaxis]
    y2 = _row_norms(y)[np.newaxis, :]
    xy = x @ y.T
    return np.sqrt(np.abs(x2 + y2 - 2.0 * xy))


@_float_inputs
def chunked(x, y, chunk_rows=DEFAULT_CHUNK_ROWS, **_):
    """Seed chunked trick: the trick on ``chunk_rows`` rows of x at a time."""
    out = np.empty((x.shape[0], y.shape[0]), dtype=np.result_type(x, y))
    y2 = _row_norms(y)[np.newaxis, :]
    for i0 in range(0, x.shape[0], chunk_rows):
        xc = x[i0 : i0 + chunk_rows]
        x2 = _row_norms(xc)[:, np.newaxis]
        out[i0 : i0 + chunk_rows] = np.sqrt(np.abs(x2 + y2 - 2.0 * (xc @ y.T)))
    return out


def _block_steps(x, y, out, x2, y2, i0, rows):
    """One row block of ``blocked``: GEMM straight into the output, then every step in place."""
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
    return out, _row_norms(x), _row_norms(y), block_rows or auto_block_rows(n, m, dtype.itemsize)


@_float_inputs
def blocked(x, y, block_rows=0, **_):
    """Ours: preallocated output, GEMM written into each cache-sized row block, rest in place."""
    out, x2, y2, rows = _blocked_setup(x, y, block_rows)
    for i0 in range(0, x.shape[0], rows):
        _block_steps(x, y, out, x2, y2, i0, rows)
    return out


_BLAS_CONTROL = []


@_float_inputs
def blocked_parallel(x, y, block_rows=0, threads=1, **_):
    """Ours: ``blocked`` with its row blocks spread over ``threads`` Python threads.

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
    if not _BLAS_CONTROL:  # scanning loaded libraries is slow: once per process
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROL.append(ThreadpoolController())
    with _BLAS_CONTROL[0].limit(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(_block_steps, x, y, out, x2, y2, i0, rows) for i0 in starts]:
            future.result()
    return out


# ---- tiled methods (issue 11): GEMM tiles, epilogue fused per tile, exact in float32


def _square_tile(n: int, m: int, d: int, itemsize: int) -> tuple[int, int]:
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
    return _square_tile(n, m, d, itemsize)


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
        return _square_tile(n, m, d + 2, itemsize)
    return max(1, min(n, PANEL_BYTES // (m * itemsize))), m


def _auto_tile_params(p, n, m, d, itemsize):
    rows, cols = auto_tile(n, m, d, itemsize, p.get("block_rows", 0), p.get("block_cols", 0))
    return {**p, "block_rows": rows, "block_cols": cols}


def _auto_plain_params(p, n, m, d, itemsize):
    # no centred copies, so nothing to shrink the tiles for at large D
    return _auto_tile_params(p, n, m, 0, itemsize)


def _auto_numpy_params(p, n, m, d, itemsize):
    rows, cols = numpy_tile(n, m, d, itemsize, p.get("block_rows", 0), p.get("block_cols", 0))
    return {**p, "block_rows": rows, "block_cols": cols}


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


def _single_threaded_blas():
    """Context limiting BLAS to one thread (the tile workers are the parallelism)."""
    if not _BLAS_CONTROL:  # scanning loaded libraries is slow: once per process
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROL.append(ThreadpoolController())
    return _BLAS_CONTROL[0].limit(limits=1, user_api="blas")


#: Tile worker pools by size, kept between calls (starting threads costs ~0.1 ms per call).
_POOLS: dict = {}


def _run_tiles(n, m, rows, cols, threads, work, first_row=0):
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
    with _single_threaded_blas():
        futures = [pool.submit(run) for _ in range(helpers)]
        try:
            run()
        finally:  # the helpers finish (or fail) before BLAS gets its threads back
            for future in futures:
                future.result()


def _exact_rows_cols(x, y, i, j, dt):
    """Distances of pairs (x[i[k]], y[j[k]]), differences first in float64, RECOMPUTE_BYTES at a time."""
    out = np.empty(len(i), dtype=dt)
    step = max(1, RECOMPUTE_BYTES // (8 * max(1, x.shape[1])))
    for k in range(0, len(i), step):
        diff = x[i[k:k + step]].astype(np.float64)
        diff -= y[j[k:k + step]]
        np.square(diff, out=diff)
        out[k:k + step] = np.sqrt(diff.sum(axis=1))
    return out


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
                blk[ii, jj] = _exact_rows_cols(x, y, i0 + ii, j0 + jj, dt)

    _run_tiles(n, m, rows, cols, threads, work)
    return out


def tiled_numba(x, y, threads=1, block_rows=0, block_cols=0, exact=True, **_):
    """Ours, compiled epilogue: ``tiled_numpy`` with each tile's epilogue fused into one pass.

    numba-compiled, GIL-free loops (``numperf.fastkernels``) centre the blocks and, per tile
    row, form a_i + b_j - 2 p, clamp, take the square root and count the entries that need the
    difference-first recomputation, all while the tile is in cache. ``exact=False`` (method
    ``tiled_numba_plain``) skips centring and recomputation, to measure what exactness costs.
    """
    from numperf import fastkernels as fk

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

    _run_tiles(n - tail, m, rows, cols, threads, work_on(shared_y, rows, cols, n - tail))
    if tail:  # the copy of y is no longer needed: its rows are computed in square tiles
        square = _square_tile(n, m, d, dt.itemsize)
        _run_tiles(n, m, *square, threads, work_on(None, *square, n), first_row=n - tail)
    return out


def tiled_numba_plain(x, y, **params):
    """``tiled_numba`` without the exactness fix (the plain trick epilogue): its cost, measured."""
    return tiled_numba(x, y, **{**params, "exact": False})


def scipy_cdist(x, y, **_):
    """Peer: scipy.spatial.distance.cdist (computes in float64)."""
    from scipy.spatial.distance import cdist

    return cdist(x, y, "euclidean")


def sklearn_euclidean(x, y, **_):
    """Peer: sklearn.metrics.pairwise.euclidean_distances (trick; float32 upcast in batches)."""
    from sklearn.metrics.pairwise import euclidean_distances

    return euclidean_distances(x, y)


# --------------------------------------------------------------------------- models
# n, m, d: sizes; s: itemsize in bytes; p: resolved method parameters.


def _inputs(n, m, d, s):
    return (n + m) * d * s


def _mem_broadcast(n, m, d, s, p):
    # diff and diff*diff are both alive while they are summed.
    return MemoryModel(_inputs(n, m, d, s), 2 * n * m * d * s, n * m * s)


def _mem_broadcast_einsum(n, m, d, s, p):
    return MemoryModel(_inputs(n, m, d, s), n * m * d * s, n * m * s)


def _mem_gemm_trick(n, m, d, s, p):
    # xy, x2+y2 and 2*xy are alive together; the subtraction reuses a temporary and
    # abs/sqrt produce the result (xy is freed only when the call returns).
    return MemoryModel(_inputs(n, m, d, s), 2 * n * m * s + (n + m) * s, n * m * s)


def _mem_chunked(n, m, d, s, p):
    # per chunk: the product (scaled in place) and x2 + y2 - ...; abs and sqrt reuse one of them
    c = min(n, p["chunk_rows"])
    return MemoryModel(_inputs(n, m, d, s), 2 * c * m * s + (n + m) * s, n * m * s)


def _mem_blocked(n, m, d, s, p):
    return MemoryModel(_inputs(n, m, d, s), (n + m) * s, n * m * s)


def _tile_scratch(n, m, d, s, p):
    # one thread's centred blocks; full-width panels add the shared y copy unless it lives in
    # the output, whose last rows are then computed in square tiles
    rows, cols = p.get("block_rows") or 0, p.get("block_cols") or 0
    if not (rows and cols):
        rows, cols = auto_tile(n, m, d, s, rows, cols)
    if y_in_output(n, m, d, rows, cols):
        return rows, cols, max(rows, sum(_square_tile(n, m, d, s))) * d * s
    return rows, cols, (rows + cols) * d * s


def _mem_tiled_numba(n, m, d, s, p):
    # norms and one thread's scratch (each further thread adds its own centred x panel or pair of
    # blocks, within TILE_SCRATCH_FRACTION of the output; the model does not know the thread count).
    return MemoryModel(_inputs(n, m, d, s), (n + m) * s + _tile_scratch(n, m, d, s, p)[2], n * m * s)


def _mem_tiled_numba_plain(n, m, d, s, p):
    # GEMM straight from x and y into the output: only the norms besides.
    return MemoryModel(_inputs(n, m, d, s), (n + m) * s, n * m * s)


def _mem_tiled_numpy(n, m, d, s, p):
    # norms; the augmented centred blocks (D + 2 columns): y's is shared when the tiles are
    # full-width panels; one thread's candidate mask (a byte per tile entry) and the float64
    # differences of one recomputation batch (input rows, their copy, the difference)
    rows, cols = p.get("block_rows") or 0, p.get("block_cols") or 0
    if not (rows and cols):
        rows, cols = numpy_tile(n, m, d, s, rows, cols)
    blocks = (rows + cols) * (d + 2) * s
    return MemoryModel(_inputs(n, m, d, s), (n + m) * s + blocks + rows * cols + 3 * RECOMPUTE_BYTES,
                       n * m * s)


def _mem_scipy(n, m, d, s, p):
    # cdist converts non-float64 inputs to float64 copies and returns float64.
    copies = 0 if s == 8 else (n + m) * d * 8
    return MemoryModel(_inputs(n, m, d, s), copies, n * m * 8)


def _mem_sklearn(n, m, d, s, p):
    if s == 8:  # the product is scaled, shifted, clipped and rooted in place.
        return MemoryModel(_inputs(n, m, d, s), (n + m) * s, n * m * s)
    # float32: upcast in batches of at most ~10 MB of float64 work memory.
    return MemoryModel(_inputs(n, m, d, s), 10 * 2**20 + (n + m) * 8, n * m * s)


def _flops_direct(n, m, d):
    return 3.0 * n * m * d + n * m  # subtract, square, add; sqrt


def _flops_gemm(n, m, d):
    return 2.0 * n * m * d + 2.0 * (n + m) * d + 5.0 * n * m


#: Every method numperf knows, in display order.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("broadcast", broadcast, _mem_broadcast, _flops_direct,
               "N x M x D difference array, squared, summed (seed notebook)"),
        Method("broadcast_einsum", broadcast_einsum, _mem_broadcast_einsum, _flops_direct,
               "difference array reduced with einsum (seed exercise 5)"),
        Method("gemm_trick", gemm_trick, _mem_gemm_trick, _flops_gemm,
               "||x||^2 + ||y||^2 - 2 x.y with one GEMM (seed trick)"),
        Method("chunked", chunked, _mem_chunked, _flops_gemm,
               "the trick on row chunks of x (seed chunked)", params=("chunk_rows",),
               defaults={"chunk_rows": DEFAULT_CHUNK_ROWS}),
        Method("blocked", blocked, _mem_blocked, _flops_gemm,
               "GEMM into cache-sized blocks of a preallocated output, rest in place (ours)",
               params=("block_rows",), defaults={"block_rows": 0}),
        Method("blocked_parallel", blocked_parallel, _mem_blocked, _flops_gemm,
               "blocked, with row blocks spread over the case's threads (ours)",
               params=("block_rows",), defaults={"block_rows": 0}),
        Method("tiled_numpy", tiled_numpy, _mem_tiled_numpy, _flops_gemm,
               "exact trick (centred, cancelling entries recomputed) in L2-sized tiles over the "
               "case's threads, NumPy epilogue (ours)", params=("block_rows", "block_cols"),
               defaults={"block_rows": 0, "block_cols": 0}, auto=_auto_numpy_params),
        Method("tiled_numba", tiled_numba, _mem_tiled_numba, _flops_gemm,
               "tiled_numpy with the epilogue fused into one numba-compiled pass per tile (ours)",
               params=("block_rows", "block_cols"), requires="numba",
               defaults={"block_rows": 0, "block_cols": 0}, auto=_auto_tile_params),
        Method("tiled_numba_plain", tiled_numba_plain, _mem_tiled_numba_plain, _flops_gemm,
               "tiled_numba without the exactness fix, to measure its cost (ours, not exact)",
               params=("block_rows", "block_cols"), requires="numba",
               defaults={"block_rows": 0, "block_cols": 0}, auto=_auto_plain_params),
        Method("scipy_cdist", scipy_cdist, _mem_scipy, _flops_direct,
               "scipy.spatial.distance.cdist (peer)", requires="scipy"),
        Method("sklearn", sklearn_euclidean, _mem_sklearn, _flops_gemm,
               "sklearn.metrics.pairwise.euclidean_distances (peer)", requires="sklearn"),
    )
}

#: Flops of the trick (one GEMM plus norms and epilogue); the roofline floor counts the GEMM's
#: 2·N·M·D only (``aggregate.add_roofline``).
gemm_flops = _flops_gemm


def get(name: str) -> Method:
    """Look a method up by name; the error lists the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known methods: {', '.join(METHODS)}") from None


def memory_model(name: str, n: int, m: int, d: int, dtype: str, params: dict | None = None) -> MemoryModel:
    """The registry's memory prediction for one case."""
    method = get(name)
    itemsize = np.dtype(dtype).itemsize
    return method.memory(n, m, d, itemsize, method.resolve_params(params, n, m, d, itemsize))


def seed_table(sizes=((100, 10), (500, 20), (1000, 50), (2000, 100))) -> list[dict]:
    """The seed notebook's memory table as it defines it, beside numperf's model of the same calls.

    The notebook (``analyze_memory_usage`` and its timing cell) hard-codes float64 and calls
    ``f(X, X)``: input = N·D·8 (x once; y is the same array), intermediate = N·N·D·8 (the
    difference array), output = N·N·8, peak = input + intermediate + output, amplification =
    intermediate / input, and the trick's peak = input + output. numperf's columns are what
    those same calls hold at their worst moment: the input plus the registry's
    ``kernel_peak_bytes`` (what peak RSS measures) for ``broadcast`` and ``gemm_trick``.
    Byte counts are exact; MB = 10**6 bytes.
    """
    rows = []
    for n, d in sizes:
        input_b, intermediate_b, output_b = n * d * 8, n * n * d * 8, n * n * 8
        rows.append({
            "N": n, "D": d,
            "input_MB": input_b / 1e6,
            "intermediate_MB": intermediate_b / 1e6,
            "output_MB": output_b / 1e6,
            "peak_MB": (input_b + intermediate_b + output_b) / 1e6,
            "amplification": intermediate_b / input_b,
            "trick_peak_MB": (input_b + output_b) / 1e6,
            "numperf_broadcast_peak_MB":
                (input_b + memory_model("broadcast", n, n, d, "float64").kernel_peak_bytes) / 1e6,
            "numperf_trick_peak_MB":
                (input_b + memory_model("gemm_trick", n, n, d, "float64").kernel_peak_bytes) / 1e6,
        })
    return rows

"""The distance-method registry: each kernel next to its memory model and flop count.

Adding a method means adding one ``Method`` entry here; the case runner, the sweep,
the tables, the figures and the report all iterate over ``METHODS``.

All kernels compute the full N x M Euclidean distance matrix between ``x`` (N x D)
and ``y`` (M x D) and return it in the input dtype (peers may return float64).
Imports stay numpy-only so the module also loads under Debian's numpy 1.24.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: Default row-block size of ``chunked`` (the seed notebook's chunk size).
DEFAULT_CHUNK_ROWS = 100
#: Bytes of output rows that ``blocked`` keeps hot per block (a typical L2 size).
BLOCK_TARGET_BYTES = 1 << 20


@dataclass(frozen=True)
class MemoryModel:
    """Predicted bytes of one call: inputs, transient intermediates and the result."""

    input_bytes: int
    intermediate_bytes: int
    output_bytes: int

    @property
    def peak_bytes(self) -> int:
        """Everything alive at the worst moment, inputs included (the seed's 'peak')."""
        return self.input_bytes + self.intermediate_bytes + self.output_bytes

    @property
    def kernel_peak_bytes(self) -> int:
        """Bytes the call adds above the caller's baseline (what peak RSS measures)."""
        return self.intermediate_bytes + self.output_bytes

    def as_dict(self) -> dict:
        return {
            "input_bytes": self.input_bytes,
            "intermediate_bytes": self.intermediate_bytes,
            "output_bytes": self.output_bytes,
            "peak_bytes": self.peak_bytes,
            "kernel_peak_bytes": self.kernel_peak_bytes,
        }


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

    def available(self) -> bool:
        """True when the optional package this method needs can be imported."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def resolve_params(self, params: dict | None, n: int, m: int, d: int, itemsize: int) -> dict:
        """The method's own parameters with defaults filled in (others dropped)."""
        given = {k: v for k, v in (params or {}).items() if k in self.params and v}
        out = {**self.defaults, **given}
        if self.name == "blocked" and not out.get("block_rows"):
            out["block_rows"] = auto_block_rows(n, m, itemsize)
        return out


def auto_block_rows(n: int, m: int, itemsize: int) -> int:
    """Rows per block so one block of output (rows x M) fits BLOCK_TARGET_BYTES."""
    return int(max(8, min(n, BLOCK_TARGET_BYTES // max(1, m * itemsize))))


# --------------------------------------------------------------------------- kernels


def broadcast(x, y, **_):
    """Seed notebook: full N x M x D difference array, squared, summed, sqrt."""
    diff = x[:, np.newaxis, :] - y[np.newaxis, :, :]
    d2 = (diff * diff).sum(axis=2)
    return np.sqrt(d2, out=d2)


def broadcast_einsum(x, y, **_):
    """Seed exercise 5: the same difference array, reduced with einsum (no squared copy)."""
    diff = x[:, np.newaxis, :] - y[np.newaxis, :, :]
    d2 = np.einsum("ijk,ijk->ij", diff, diff)
    return np.sqrt(d2, out=d2)


def _row_norms(a):
    return np.einsum("ij,ij->i", a, a)


def gemm_trick(x, y, **_):
    """Seed 'trick': ||x||^2 + ||y||^2 - 2 x.y with one GEMM, abs against round-off, sqrt."""
    x2 = _row_norms(x)[:, np.newaxis]
    y2 = _row_norms(y)[np.newaxis, :]
    xy = x @ y.T
    return np.sqrt(np.abs(x2 + y2 - 2.0 * xy))


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


def blocked(x, y, block_rows=0, **_):
    """Ours: preallocated output, GEMM written into each cache-sized row block, rest in place."""
    out, x2, y2, rows = _blocked_setup(x, y, block_rows)
    for i0 in range(0, x.shape[0], rows):
        _block_steps(x, y, out, x2, y2, i0, rows)
    return out


_BLAS_CONTROL = []


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
        Method("scipy_cdist", scipy_cdist, _mem_scipy, _flops_direct,
               "scipy.spatial.distance.cdist (peer)", requires="scipy"),
        Method("sklearn", sklearn_euclidean, _mem_sklearn, _flops_gemm,
               "sklearn.metrics.pairwise.euclidean_distances (peer)", requires="sklearn"),
    )
}

#: Flops of the minimal algorithm (one GEMM); the roofline floor is based on it.
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

"""The seed documents' distance methods: broadcasting, its einsum reduction, the GEMM trick and
the trick over row chunks, each with its memory model and flop count."""

from __future__ import annotations

import numpy as np

from numperf.families.distances.method import (
    distance_method,
    flops_direct,
    flops_gemm,
    input_bytes,
    pairwise,
    row_norms,
)
from numperf.family import MemoryModel

#: Position of these methods in the family's display order (lower first).
ORDER = 10
#: Default row-block size of ``chunked`` (the seed notebook's chunk size).
DEFAULT_CHUNK_ROWS = 100


@pairwise()
def broadcast(x, y, **_):
    """Seed notebook: full N x M x D difference array, squared, summed, sqrt."""
    diff = x[:, np.newaxis, :] - y[np.newaxis, :, :]
    d2 = (diff * diff).sum(axis=2)
    return np.sqrt(d2, out=d2)


@pairwise()
def broadcast_einsum(x, y, **_):
    """Seed exercise 5: the same difference array, reduced with einsum (no squared copy)."""
    diff = x[:, np.newaxis, :] - y[np.newaxis, :, :]
    d2 = np.einsum("ijk,ijk->ij", diff, diff)
    return np.sqrt(d2, out=d2)


@pairwise()
def gemm_trick(x, y, **_):
    """Seed 'trick': ||x||^2 + ||y||^2 - 2 x.y with one GEMM, abs against round-off, sqrt."""
    x2 = row_norms(x)[:, np.newaxis]
    y2 = row_norms(y)[np.newaxis, :]
    xy = x @ y.T
    return np.sqrt(np.abs(x2 + y2 - 2.0 * xy))


@pairwise()
def chunked(x, y, chunk_rows=DEFAULT_CHUNK_ROWS, **_):
    """Seed chunked trick: the trick on ``chunk_rows`` rows of x at a time."""
    out = np.empty((x.shape[0], y.shape[0]), dtype=np.result_type(x, y))
    y2 = row_norms(y)[np.newaxis, :]
    for i0 in range(0, x.shape[0], chunk_rows):
        xc = x[i0 : i0 + chunk_rows]
        x2 = row_norms(xc)[:, np.newaxis]
        out[i0 : i0 + chunk_rows] = np.sqrt(np.abs(x2 + y2 - 2.0 * (xc @ y.T)))
    return out


# n, m, d: sizes; s: itemsize in bytes; p: resolved options.

def _mem_broadcast(n, m, d, s, p):
    # diff and diff*diff are both alive while they are summed.
    return MemoryModel(input_bytes(n, m, d, s), 2 * n * m * d * s, n * m * s)


def _mem_broadcast_einsum(n, m, d, s, p):
    return MemoryModel(input_bytes(n, m, d, s), n * m * d * s, n * m * s)


def _mem_gemm_trick(n, m, d, s, p):
    # xy, x2+y2 and 2*xy are alive together; the subtraction reuses a temporary and
    # abs/sqrt produce the result (xy is freed only when the call returns).
    return MemoryModel(input_bytes(n, m, d, s), 2 * n * m * s + (n + m) * s, n * m * s)


def _mem_chunked(n, m, d, s, p):
    # per chunk: the product (scaled in place) and x2 + y2 - ...; abs and sqrt reuse one of them
    c = min(n, p["chunk_rows"])
    return MemoryModel(input_bytes(n, m, d, s), 2 * c * m * s + (n + m) * s, n * m * s)


METHODS = [
    distance_method("broadcast", broadcast, _mem_broadcast, flops_direct,
                    "N x M x D difference array, squared, summed (seed notebook)"),
    distance_method("broadcast_einsum", broadcast_einsum, _mem_broadcast_einsum, flops_direct,
                    "difference array reduced with einsum (seed exercise 5)"),
    distance_method("gemm_trick", gemm_trick, _mem_gemm_trick, flops_gemm,
                    "||x||^2 + ||y||^2 - 2 x.y with one GEMM (seed trick)"),
    distance_method("chunked", chunked, _mem_chunked, flops_gemm,
                    "the trick on row chunks of x (seed chunked)",
                    options={"chunk_rows": DEFAULT_CHUNK_ROWS}),
]

"""What every distance method shares: its sizes, its declaration, its inputs, its work counts.

A distance method is the core's own ``numperf.family.Method``: ``distance_method`` builds one from a
kernel ``f(x, y, threads=..., **options)``, a memory model ``f(n, m, d, itemsize, options)`` and a
flop count ``f(n, m, d)``, so that each method module writes its models in the sizes they are
about. Imports stay numpy-only (a measuring child imports them; Debian's numpy 1.24 included).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from numperf.family import MemoryModel, Method, Param

#: Bytes of output a block or tile keeps hot in cache (a typical L2 size).
BLOCK_TARGET_BYTES = 1 << 20


def sizes(params: dict) -> tuple[int, int, int]:
    """(N, M, D) of a case (M = 0 means a square case)."""
    return int(params["n"]), int(params["m"] or params["n"]), int(params["d"])


def itemsize(dtype: str) -> int:
    return np.dtype(dtype).itemsize


def pairwise(convert: bool = True):
    """Kernel decorator: the family's inputs are the pair (x, y); with ``convert``, integer and
    boolean inputs become float64 copies first (NumPy would otherwise compute the seed methods in
    wrapping integer arithmetic or truncate distances into an integer output). Float inputs pass
    through untouched (no copy)."""

    def wrap(kernel):
        @functools.wraps(kernel)
        def wrapped(xy, **options):
            x, y = xy
            if convert:
                same = y is x
                x = x if x.dtype.kind in "fc" else x.astype(np.float64)
                y = x if same else (y if y.dtype.kind in "fc" else y.astype(np.float64))
            return kernel(x, y, **options)

        return wrapped

    return wrap


def row_norms(a):
    """Squared norm of every row."""
    return np.einsum("ij,ij->i", a, a)


def input_bytes(n: int, m: int, d: int, s: int) -> int:
    return (n + m) * d * s


def flops_direct(n: int, m: int, d: int) -> float:
    """Difference-first: subtract, square, add per coordinate; one sqrt per pair."""
    return 3.0 * n * m * d + n * m


def flops_gemm(n: int, m: int, d: int) -> float:
    """The trick: one GEMM (2·N·M·D), the norms and the epilogue."""
    return 2.0 * n * m * d + 2.0 * (n + m) * d + 5.0 * n * m


_BLAS_CONTROL: list = []


def single_threaded_blas():
    """Context limiting BLAS to one thread (the method's own threads are the parallelism)."""
    if not _BLAS_CONTROL:  # scanning loaded libraries is slow: once per process
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROL.append(ThreadpoolController())
    return _BLAS_CONTROL[0].limit(limits=1, user_api="blas")


def distance_method(name: str, kernel: Callable, memory: Callable, flops: Callable, description: str,
                    options: dict | None = None, requires: str | None = None,
                    auto: Callable | None = None) -> Method:
    """A distance method as the core declares methods.

    ``memory(n, m, d, itemsize, options)`` returns a ``MemoryModel``; ``options`` maps each tuning
    option to its default (0: automatic); ``auto(options, n, m, d, itemsize)`` fills automatic ones.
    An option given as 0 takes its default.
    """
    defaults = dict(options or {})

    def resolve(given: dict, params: dict, dtype: str) -> dict:
        out = {**defaults, **{k: v for k, v in given.items() if k in defaults and v}}
        return auto(out, *sizes(params), itemsize(dtype)) if auto else out

    def model(params: dict, dtype: str, opts: dict) -> MemoryModel:
        return memory(*sizes(params), itemsize(dtype), resolve(opts, params, dtype))

    def bytes_moved(params: dict, dtype: str) -> float:
        n, m, d = sizes(params)
        return float((n * d + m * d + n * m) * itemsize(dtype))

    declared = tuple(Param(k, "int", int(v), f"{name} option {k} (0: automatic)", minimum=0)
                     for k, v in defaults.items())
    return Method(name, kernel, model, description, flops=lambda params, dtype: flops(*sizes(params)),
                  bytes_moved=bytes_moved, requires=requires, options=declared, resolve=resolve)

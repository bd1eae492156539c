"""The distance family's floor on a machine: the GEMM the trick cannot avoid and the output it
must write, at the host's own calibrated rates (``Family.calibrate`` / ``Family.floor``).

``calibrate(threads)`` runs in a child under the case's backend and thread count (``numperf
calibrate``), and measures DGEMM and SGEMM GFLOP/s and the write bandwidth of ``threads`` threads.
"""

from __future__ import annotations

from numperf import measure
from numperf.families.distances.method import itemsize, sizes

GEMM_N = 2000
BANDWIDTH_BYTES = 256 * 2**20
REPEATS = 5
#: The rates ``calibrate`` returns (columns of the calibration, the floor's inputs).
RATES = ("dgemm_gflops", "sgemm_gflops", "write_bandwidth_bytes_per_s")


def _gemm_gflops(dtype: str) -> dict:
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((GEMM_N, GEMM_N)).astype(dtype)
    b = rng.random((GEMM_N, GEMM_N)).astype(dtype)
    c = np.empty((GEMM_N, GEMM_N), dtype=dtype)
    raw = measure.timed_runs(lambda: np.matmul(a, b, out=c), REPEATS, warmup=1, memory_calls=0)
    stats = measure.summarize(raw["time_s"])
    return {"gflops": 2.0 * GEMM_N**3 / stats["median_s"] / 1e9, "time": stats}


def write_bandwidth(threads: int = 1) -> dict:
    """Bytes per second written by ``threads`` threads, each filling its own contiguous part of
    one buffer (``fill`` releases the GIL), as the case's threads write their parts of the output."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    buf = np.empty(BANDWIDTH_BYTES // 8)
    bounds = np.linspace(0, buf.size, threads + 1).astype(int)
    parts = [buf[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    with ThreadPoolExecutor(threads) as pool:
        def fill(value):
            for future in [pool.submit(part.fill, value) for part in parts]:
                future.result()

        fill(0.0)  # fault the pages in outside the timed region
        raw = measure.timed_runs(lambda: fill(1.0), REPEATS, warmup=1, memory_calls=0)
    stats = measure.summarize(raw["time_s"])
    return {"bytes_per_s": BANDWIDTH_BYTES / stats["median_s"], "threads": threads, "time": stats}


def calibrate(threads: int) -> dict:
    """The machine's GEMM and write ceilings with BLAS limited to ``threads`` (by the caller)."""
    d, s, bw = _gemm_gflops("float64"), _gemm_gflops("float32"), write_bandwidth(threads)
    return {"dgemm_gflops": d["gflops"], "sgemm_gflops": s["gflops"],
            "write_bandwidth_bytes_per_s": bw["bytes_per_s"], "write_threads": bw["threads"],
            "gemm_n": GEMM_N,
            "bandwidth_buffer_bytes": BANDWIDTH_BYTES,
            "timing": {"dgemm": d["time"], "sgemm": s["time"], "write": bw["time"]}}


def floor(params: dict, dtype: str, rates: dict) -> float:
    """max(2·N·M·D / best GEMM rate, N·M·itemsize / best write bandwidth)."""
    n, m, d = sizes(params)
    s = itemsize(dtype)
    peak = rates["sgemm_gflops" if s == 4 else "dgemm_gflops"] * 1e9
    return max(2.0 * n * m * d / peak, n * m * s / rates["write_bandwidth_bytes_per_s"])

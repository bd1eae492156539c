"""Per-host calibration: measured DGEMM/SGEMM GFLOP/s and memory write bandwidth.

These give each case its roofline floor on *this* machine with *this* BLAS and thread
count. Runs in a child under the selected backend, like a case:
``python -m numperf.calibrate THREADS RESULT.json``. Uses measure.timed_runs.
"""

from __future__ import annotations

import json
import os
import sys

from numperf import measure, metadata

GEMM_N = 2000
BANDWIDTH_BYTES = 256 * 2**20
REPEATS = 5


def _gemm_gflops(dtype: str, threads: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((GEMM_N, GEMM_N)).astype(dtype)
    b = rng.random((GEMM_N, GEMM_N)).astype(dtype)
    c = np.empty((GEMM_N, GEMM_N), dtype=dtype)
    raw = measure.timed_runs(lambda: np.matmul(a, b, out=c), REPEATS, warmup=1, memory_calls=0)
    stats = measure.summarize(raw["time_s"])
    return {"gflops": 2.0 * GEMM_N**3 / stats["median_s"] / 1e9, "time": stats}


def _write_bandwidth(threads: int = 1) -> dict:
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


def calibrate(threads: int, backend: str) -> dict:
    """Measure the machine's own ceilings for one backend and thread count."""
    import numpy  # noqa: F401 - load BLAS first: threadpool_limits only limits libraries already loaded
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        d, s = _gemm_gflops("float64", threads), _gemm_gflops("float32", threads)
        bw = _write_bandwidth(threads)
        info = threadpool_info()
    return {
        "schema": "numperf.calibration/1", "host_id": metadata.host_id(), "backend": backend,
        "threads": threads, "dgemm_gflops": d["gflops"], "sgemm_gflops": s["gflops"],
        "write_bandwidth_bytes_per_s": bw["bytes_per_s"], "write_threads": bw["threads"], "gemm_n": GEMM_N,
        "bandwidth_buffer_bytes": BANDWIDTH_BYTES, "timing": {"dgemm": d["time"], "sgemm": s["time"],
                                                              "write": bw["time"]},
        "threadpool_info": info, "host": metadata.host_info(), "env": metadata.blas_env(),
        "scheduler": metadata.scheduler_info(), "load_average": metadata.load_average(),
    }


def main(argv: list[str] | None = None) -> int:
    """Child entry point: ``python -m numperf.calibrate THREADS BACKEND RESULT.json``."""
    threads, backend, out = (argv if argv is not None else sys.argv[1:])[:3]
    result = calibrate(int(threads), backend)
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(result, fh, indent=1, default=float)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

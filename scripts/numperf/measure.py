"""The one place where numperf measures: wall time, peak resident memory, traced memory.

Peak memory uses Linux's resettable high-water mark: writing ``5`` to
``/proc/self/clear_refs`` sets ``VmHWM`` back to the current RSS, so ``VmHWM`` read after
the kernel minus the RSS at the reset is the kernel's own peak. ``ru_maxrss`` is not used:
it includes the parent's high-water mark inherited across exec, and before/after RSS
misses transient peaks. Stdlib and numpy only (also runs under Debian's Python).
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_bytes(field: str) -> int:
    with open(_STATUS) as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not found in {_STATUS}")


def rss_bytes() -> int:
    """Current resident set size of this process."""
    return _status_bytes("VmRSS")


def vm_size_bytes() -> int:
    """Current virtual address-space size of this process."""
    return _status_bytes("VmSize")


def reset_peak_rss() -> int:
    """Reset the kernel's RSS high-water mark; return the RSS it was reset to."""
    with open(_CLEAR_REFS, "w") as fh:
        fh.write("5")
    return _status_bytes("VmHWM")


def peak_rss_bytes() -> int:
    """The RSS high-water mark since the last reset (or process start)."""
    return _status_bytes("VmHWM")


def timed_runs(kernel: Callable[[], object], repeats: int, warmup: int) -> dict:
    """Run ``kernel`` warm-up times untimed, then ``repeats`` times, each timed and peak-measured.

    Returns raw samples: ``time_s`` (monotonic perf_counter) and ``peak_rss_bytes`` above
    the RSS just before each call. The result of each call stays alive until its peak is read.
    """
    for _ in range(warmup):
        kernel()
    times, peaks = [], []
    for _ in range(repeats):
        gc.collect()
        baseline = reset_peak_rss()
        t0 = time.perf_counter_ns()
        result = kernel()
        t1 = time.perf_counter_ns()
        peaks.append(max(0, peak_rss_bytes() - baseline))
        del result
        times.append((t1 - t0) / 1e9)
    return {"time_s": times, "peak_rss_bytes": peaks}


def traced_call(kernel: Callable[[], object]) -> tuple[int, object]:
    """One untimed call under tracemalloc (NumPy reports its buffers to it): (peak bytes, result)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = kernel()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, result


def summarize(samples: list[float]) -> dict:
    """Order statistics of timing samples: min, median, mean, std, quartiles, IQR, CV."""
    xs = sorted(samples)
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
        std = statistics.stdev(xs)
    else:
        q1 = q3 = xs[0]
        std = 0.0
    mean = statistics.fmean(xs)
    return {
        "min_s": xs[0],
        "median_s": statistics.median(xs),
        "mean_s": mean,
        "std_s": std,
        "q1_s": q1,
        "q3_s": q3,
        "iqr_s": q3 - q1,
        "max_s": xs[-1],
        "cv": std / mean if mean > 0 else 0.0,
    }

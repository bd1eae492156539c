"""The one place where numperf measures: time per call (calibrated loops), peak resident
memory, traced memory, and what else ran on the machine meanwhile.

Peak memory uses Linux's resettable high-water mark: writing ``5`` to
``/proc/self/clear_refs`` sets ``VmHWM`` back to the current RSS, so ``VmHWM`` read after
the kernel minus the RSS at the reset is the kernel's own peak. ``ru_maxrss`` is not used:
it includes the parent's high-water mark inherited across exec, and before/after RSS
misses transient peaks. Stdlib and numpy only (also runs under Debian's Python).
"""

from __future__ import annotations

import gc
import math
import os
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"
_PROC_STAT = "/proc/stat"


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


def cpu_snapshot() -> dict:
    """Machine-wide CPU ticks (``/proc/stat``) and this process's own CPU time, at one instant."""
    with open(_PROC_STAT) as fh:
        lines = fh.read().splitlines()
    fields = [int(v) for v in lines[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall_s": time.perf_counter(), "busy_ticks": user + nice + system + irq + softirq,
            "steal_ticks": steal, "cpus": sum(1 for ln in lines if ln[:3] == "cpu" and ln[3:4].isdigit()),
            "own_cpu_s": ru.ru_utime + ru.ru_stime, "involuntary_switches": ru.ru_nivcsw}


def interference(before: dict, after: dict) -> dict:
    """What else used the machine between two snapshots: other processes' CPU, steal, preemptions.

    ``other_cpu_s`` is the machine's busy CPU time minus this process's own (all its threads);
    ``cpu_capacity_s`` is wall time times CPUs. /proc/stat counts in clock ticks (usually
    10 ms), so readings over short windows carry about a tick of rounding.
    """
    tick = os.sysconf("SC_CLK_TCK")
    wall = after["wall_s"] - before["wall_s"]
    busy = (after["busy_ticks"] - before["busy_ticks"]) / tick
    own = after["own_cpu_s"] - before["own_cpu_s"]
    return {"wall_s": wall, "cpus": after["cpus"], "cpu_capacity_s": wall * after["cpus"],
            "own_cpu_s": own, "other_cpu_s": max(0.0, busy - own),
            "steal_s": (after["steal_ticks"] - before["steal_ticks"]) / tick,
            "involuntary_switches": after["involuntary_switches"] - before["involuntary_switches"],
            "clock_tick_s": 1 / tick}


def wait_for_quiet(max_wait_s: float = 3.0, window_s: float = 0.05, other_fraction: float = 0.05) -> float:
    """Wait until the rest of the machine is quiet (other processes' CPU below ``other_fraction`` of
    it over ``window_s``), at most ``max_wait_s``; return the seconds waited. A batch calls this
    before its cases: the scheduler that started it may still be busy with the previous job."""
    t0 = time.perf_counter()
    while True:
        before = cpu_snapshot()
        time.sleep(window_s)
        noise = interference(before, cpu_snapshot())
        waited = time.perf_counter() - t0
        if noise["other_cpu_s"] <= other_fraction * noise["cpu_capacity_s"] or waited >= max_wait_s:
            return waited


def _time_loop(kernel: Callable[[], object], loops: int) -> float:
    """Seconds for ``loops`` back-to-back calls (results dropped as they come)."""
    t0 = time.perf_counter_ns()
    for _ in range(loops):
        kernel()
    return (time.perf_counter_ns() - t0) / 1e9


def calibrate_loops(kernel: Callable[[], object], min_time_s: float, max_loops: int = 10**6,
                    estimate_s: float | None = None) -> int:
    """Calls per sample so that one sample lasts at least ``min_time_s`` (like timeit's autorange).

    ``estimate_s``, the time of one call already measured (the last warm-up), sets the first guess.
    """
    return _calibrate(kernel, min_time_s, max_loops, estimate_s)[0]


def _calibrate(kernel, min_time_s: float, max_loops: int = 10**6, estimate_s: float | None = None):
    """(loops, seconds of the last round): that round ran ``loops`` calls and reached the minimum
    time, so it is a complete sample."""
    loops = 1
    if estimate_s and estimate_s > 0:
        loops = int(min(max_loops, max(1, math.ceil(1.2 * min_time_s / estimate_s))))
    while True:
        elapsed = _time_loop(kernel, loops)
        if elapsed >= min_time_s or loops >= max_loops:
            return loops, elapsed
        # aim 20% above the minimum, at least doubling: few calibration rounds, no undershoot loop
        guess = loops * 1.2 * min_time_s / elapsed if elapsed > 0 else loops * 10
        loops = int(min(max_loops, max(2 * loops, math.ceil(guess))))


#: Below this, peak RSS cannot see a call's allocations (they come from heap pages that are already
#: resident); tracemalloc's peak is what measures them.
RSS_VISIBLE_BYTES = 1e6
#: glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: Allocations above this get fresh pages from the kernel, and go back to it when freed, during the
#: memory calls (so each call's peak RSS starts from the same baseline).
MEMORY_MMAP_THRESHOLD_BYTES = 128 * 1024
#: During timing: glibc's adaptive threshold at its 64-bit maximum, fixed (and the trim threshold
#: at twice that, as glibc pairs them). Arrays below 32 MiB are recycled from the heap, larger ones
#: come fresh from the kernel, in every case alike. Left adaptive, the threshold depends on what the
#: process freed before: gemm_trick at 250 x 250 x 50 in float64 faulted in fresh pages on every
#: call at 1 thread (0.95 ms) and not at 2 (0.25 ms); fixed, 0.30 and 0.25 ms.
TIMING_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024


def _libc():
    import ctypes

    return ctypes.CDLL(None)


def release_free_memory() -> None:
    """Give the allocator's free pages back to the kernel (heap chunks freed by earlier calls would
    otherwise be reused while resident, invisible to peak RSS)."""
    try:
        _libc().malloc_trim(0)
    except (OSError, AttributeError):
        pass


def fix_mmap_threshold(threshold_bytes: int = MEMORY_MMAP_THRESHOLD_BYTES,
                       trim_bytes: int | None = None) -> bool:
    """Switch glibc's allocator to a fixed mmap threshold and return freed memory to the kernel.

    Timing runs with TIMING_MMAP_THRESHOLD_BYTES: results up to 32 MiB are recycled from the heap, as
    in a program whose adaptive threshold has grown (a fixed 128 KiB threshold made such calls up to
    20x slower), but the same in every case. Peak RSS needs the opposite (reused resident pages are
    invisible to it), so the memory calls run with MEMORY_MMAP_THRESHOLD_BYTES. False where the C
    library has no mallopt (not glibc): the allocator then stays adaptive and peaks may read low.
    """
    try:
        libc = _libc()
        ok = libc.mallopt(M_MMAP_THRESHOLD, threshold_bytes) == 1
        libc.mallopt(M_TRIM_THRESHOLD, threshold_bytes if trim_bytes is None else trim_bytes)
        libc.malloc_trim(0)
        return ok
    except (OSError, AttributeError):
        return False


def freeze_survivors() -> None:
    """Collect once, then move every surviving object to the collector's permanent generation: the
    collections before the memory readings then walk only what the kernels allocate since, not the
    million objects that importing SciPy or scikit-learn leaves (each full collection cost 0.13 s
    in a distances process, 15 of them 2 s)."""
    gc.collect()
    gc.freeze()


def _warm_and_calibrate(kernel, warmup: int, min_time_s: float, loops: int | None):
    """Warm up, then settle the calls per sample: (loops, a first complete sample or None)."""
    last_s = None
    for _ in range(warmup):
        last_s = _time_loop(kernel, 1)
    if loops is not None:
        return loops, None
    if min_time_s <= 0:
        return 1, None
    first = None
    if last_s is not None and last_s >= min_time_s:
        # a slow warm-up suggests one call per sample; one more call confirms it (a first call can be
        # slow for reasons of its own: lazy imports, page faults) and, when it does, is the first
        # sample, so that slow kernels pay no extra call
        first = _time_loop(kernel, 1)
        if first >= min_time_s:
            return 1, first
    # the round that settles the loop count is a complete sample: it is the first one
    loops, elapsed = _calibrate(kernel, min_time_s, estimate_s=first or last_s)
    return loops, elapsed / loops


#: The most timed samples (rounds) one process takes of one kernel, whatever ``timed_s`` asks.
MAX_ROUNDS = 400


def rounds_for(repeats: int, timed_s: float, sample_s: float) -> int:
    """Samples (rounds) per process: ``repeats`` at least, more until ``timed_s`` seconds of samples
    lasting ``sample_s`` each, at most MAX_ROUNDS. Many short samples beat a few long ones on a noisy
    machine: a burst of noise then spoils a few samples, which a robust estimate discards."""
    if timed_s <= 0 or sample_s <= 0:
        return repeats
    return int(max(repeats, min(MAX_ROUNDS, math.ceil(timed_s / sample_s))))


def timed_runs(kernel: Callable[[], object], repeats: int, warmup: int, min_time_s: float = 0.0,
               loops: int | None = None, memory_calls: int = 3, trace: bool = False,
               trace_slow: bool = True, timed_s: float = 0.0) -> dict:
    """Warm up, calibrate loops, then take timed samples (``rounds_for``: ``repeats`` at least, more
    until ``timed_s`` seconds of them), then peak-memory readings.

    A sample runs the kernel ``loops`` times; ``time_s`` holds time per call (sample / loops). The
    garbage collector is run once before the samples and kept off during them. Memory readings and
    the traced call are ``memory_runs``'s. ``interference`` covers the timed samples.
    """
    timing_fixed = fix_mmap_threshold(TIMING_MMAP_THRESHOLD_BYTES, 2 * TIMING_MMAP_THRESHOLD_BYTES)
    gc_was_enabled = gc.isenabled()
    gc.collect()
    before = cpu_snapshot()
    try:
        gc.disable()
        loops, first = _warm_and_calibrate(kernel, warmup, min_time_s, loops)
        freeze_survivors()
        times = [_time_loop(kernel, loops) / loops if first is None else first]
        sample_s = times[0] * loops
        while len(times) < rounds_for(repeats, timed_s, sample_s):
            times.append(_time_loop(kernel, loops) / loops)
    finally:
        if gc_was_enabled:
            gc.enable()
    noise = interference(before, cpu_snapshot())
    return {"time_s": times, "loops": loops, "interference": noise,
            "timing_mmap_threshold_bytes": TIMING_MMAP_THRESHOLD_BYTES if timing_fixed else None,
            **memory_runs(kernel, loops, memory_calls, trace, trace_slow)}


def round_plan(wanted: dict[str, int]) -> list[list[str]]:
    """Which kernels take part in each round: as many rounds as the kernel that wants the most
    samples, and every other kernel spread evenly over them (a kernel wanting k of R rounds joins
    round r when floor((r + 1) k / R) > floor(r k / R)). Kernels that want as many samples join the
    same rounds, so their samples pair round by round."""
    total = max(wanted.values(), default=0)
    return [[n for n, k in wanted.items() if (r + 1) * k // total > r * k // total] for r in range(total)]


#: A kernel whose sample lasts more than this many times the point's median sample joins fewer rounds.
SLOW_SAMPLE_FACTOR = 4.0


def rounds_wanted(sample_s: dict[str, float], repeats: int, timed_s: float) -> dict[str, int]:
    """Samples per kernel of an interleaved point: ``timed_s`` of the median kernel's samples for
    every kernel, so that they all join every round and pair round by round, except the slow ones
    (samples over SLOW_SAMPLE_FACTOR times the median), which get their own ``timed_s`` of samples."""
    if not sample_s:
        return {}
    typical = statistics.median(sample_s.values())
    rounds = rounds_for(repeats, timed_s, typical)
    return {n: rounds if s <= SLOW_SAMPLE_FACTOR * typical else min(rounds, rounds_for(repeats, timed_s, s))
            for n, s in sample_s.items()}


def interleaved_runs(kernels: dict[str, Callable[[], object]], repeats: int, warmup: int,
                     min_time_s: float, loops: dict | None, order_rng, timed_s: float = 0.0) -> dict:
    """Time several kernels in one process, paired by round: each kernel is warmed up and its loops
    calibrated first (those samples are dropped), then rounds visit the kernels for one sample each,
    in a fresh random order drawn from ``order_rng`` (recorded in ``round_orders``). What moves the
    whole process (its placement, a slow minute of the VM) then moves every kernel alike, and no
    kernel always follows the same neighbour. Each kernel gets ``repeats`` samples at least and more
    until about ``timed_s`` seconds of them (``rounds_wanted``); a slow kernel joins fewer rounds
    (``round_plan``), so cheap kernels get many samples without paying for the slow one each time."""
    timing_fixed = fix_mmap_threshold(TIMING_MMAP_THRESHOLD_BYTES, 2 * TIMING_MMAP_THRESHOLD_BYTES)
    names = list(kernels)
    gc_was_enabled = gc.isenabled()
    gc.collect()
    counts, times, orders = {}, {n: [] for n in names}, []
    try:
        gc.disable()
        sample_s = {}
        for name in names:
            counts[name], first = _warm_and_calibrate(kernels[name], warmup, min_time_s,
                                                      (loops or {}).get(name))
            sample_s[name] = (first if first is not None else _time_loop(kernels[name], 1)) * counts[name]
        wanted = rounds_wanted(sample_s, repeats, timed_s)
        freeze_survivors()
        before = cpu_snapshot()
        for present in round_plan(wanted):
            order = [present[i] for i in order_rng.permutation(len(present))]
            orders.append(order)
            for name in order:
                times[name].append(_time_loop(kernels[name], counts[name]) / counts[name])
    finally:
        if gc_was_enabled:
            gc.enable()
    return {"time_s": times, "loops": counts, "round_orders": orders,
            "interference": interference(before, cpu_snapshot()),
            "timing_mmap_threshold_bytes": TIMING_MMAP_THRESHOLD_BYTES if timing_fixed else None}


def memory_runs(kernel: Callable[[], object], loops: int, memory_calls: int = 3, trace: bool = False,
                trace_slow: bool = True) -> dict:
    """Peak-RSS readings on single calls, with the allocator's mmap threshold fixed
    (``fix_mmap_threshold``): ``memory_calls`` of them, or, when one call fills a sample (``loops``
    1), one call with ``trace`` and none without. With ``trace``, one more call runs under
    tracemalloc; its peak (``traced_peak_bytes``) and its result (``result``, for the caller's check)
    are returned. With ``trace_slow`` False, a slow kernel skips the traced call and returns its
    memory call's result (for large allocations, which RSS measures, tracemalloc adds nothing but a
    call)."""
    fixed = fix_mmap_threshold()
    # a slow kernel is read once, and only in the process that also traces (its peak is a page
    # count, the same in every process); the traced call is never a reading: tracemalloc's own
    # bookkeeping (a record per live allocation) would inflate it
    calls = memory_calls if loops > 1 else (min(1, memory_calls) if trace else 0)
    tracing = trace and (loops > 1 or trace_slow or calls == 0)
    result, peaks = None, []
    gc.collect()
    for _ in range(calls):
        release_free_memory()
        baseline = reset_peak_rss()
        result = kernel()
        peaks.append(max(0, peak_rss_bytes() - baseline))
        if not (trace and not tracing):
            del result
            result = None
    traced = None
    if tracing:
        traced, result = traced_call(kernel)
    return {"peak_rss_bytes": peaks, "fixed_mmap_threshold": fixed, "traced_peak_bytes": traced,
            "result": result}


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

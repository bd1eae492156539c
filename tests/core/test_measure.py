"""The measurement module sees real allocations and not the parent's high-water mark."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from numperf import measure

ALLOC_BYTES = 400 * 10**6

CHILD = """
import json, resource, numpy as np
from numperf import measure
def kernel():
    tmp = np.ones({alloc} // 8)          # a 400 MB temporary, touched
    return float(tmp[::4096].sum())
raw = measure.timed_runs(kernel, repeats=3, warmup=1)
print(json.dumps({{"peaks": raw["peak_rss_bytes"],
                  "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


@pytest.mark.slow
def test_peak_rss_sees_a_known_allocation_and_not_the_parents_high_water_mark():
    hog = np.ones(1_500_000_000 // 8)  # the parent holds 1.5 GB resident while the child runs
    env = {"PATH": "/usr/bin:/bin"}  # the default allocator: timed_runs fixes its threshold itself
    out = subprocess.run([sys.executable, "-c", CHILD.format(alloc=ALLOC_BYTES)], env=env,
                         capture_output=True, text=True, check=True, timeout=120)
    del hog
    res = json.loads(out.stdout)
    for peak in res["peaks"]:
        assert peak == pytest.approx(ALLOC_BYTES, rel=0.03)
    # the trap this design avoids: ru_maxrss carries the parent's 1.5 GB across exec
    assert res["ru_maxrss_bytes"] > 1.4e9


def test_peak_rss_resets_between_repetitions():
    # two timed calls of 1 MB (one sample of 2 loops), then three memory calls: 300, 50, 300 MB
    sizes = iter([10**6, 10**6, 300 * 10**6, 50 * 10**6, 300 * 10**6])
    raw = measure.timed_runs(lambda: np.ones(next(sizes) // 8), repeats=1, warmup=0, loops=2)
    big, small, again = raw["peak_rss_bytes"]
    assert big == pytest.approx(300e6, rel=0.05) and again == pytest.approx(300e6, rel=0.05)
    assert small == pytest.approx(50e6, rel=0.1)  # not hidden by the 300 MB before it
    assert raw["fixed_mmap_threshold"] is True


ALLOCATOR_CHILD = """
import json, resource, numpy as np
from numperf import measure
faults = []
def kernel():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    out = np.ones({items}) * 2.0         # two arrays of {items} doubles, written, freed
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return out
raw = measure.timed_runs(kernel, repeats=5, warmup=2, loops=1, memory_calls=0)
print(json.dumps({{"faults": faults[:7], "threshold": raw["timing_mmap_threshold_bytes"]}}))
"""


@pytest.mark.parametrize("items", [62_500, 1_000_000, 6 * 10**6])  # 0.5, 8 and 48 MB arrays
def test_timing_recycles_arrays_below_32_mib_whatever_was_freed_before(items):
    """With glibc's adaptive allocator, whether an array is recycled depends on what the process
    freed before (gemm_trick at 250 x 250 x 50 faulted in fresh pages every call at 1 thread, not at
    2). Timing fixes the threshold at 32 MiB: once the heap settles, arrays below it come back from
    the heap with no page faults; larger ones are fresh pages every call, in every case alike."""
    code = ALLOCATOR_CHILD.format(items=items)
    out = subprocess.run([sys.executable, "-c", code], env={"PATH": "/usr/bin:/bin"}, capture_output=True,
                         text=True, check=True, timeout=120)
    res = json.loads(out.stdout)
    assert res["threshold"] == measure.TIMING_MMAP_THRESHOLD_BYTES
    pages = 2 * items * 8 // 4096
    steady = res["faults"][4:]  # the heap settles within the first samples
    if items * 8 < measure.TIMING_MMAP_THRESHOLD_BYTES:
        assert max(steady) < 0.05 * pages, res
    else:
        assert min(steady) > 20, res  # fresh pages each call (transparent hugepages cut the count)


def test_traced_peak_counts_numpy_buffers():
    def kernel():
        a = np.ones(10**6)
        return a + 1.0  # operand and result alive together: 8 MB each

    peak, result = measure.traced_call(kernel)
    assert result.shape == (10**6,)
    assert peak == pytest.approx(16e6, rel=0.05)


def test_timing_samples_and_summary():
    raw = measure.timed_runs(lambda: sum(range(10000)), repeats=7, warmup=2)
    assert len(raw["time_s"]) == 7 and all(t > 0 for t in raw["time_s"])
    s = measure.summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median_s"] == 3.0 and s["min_s"] == 1.0 and s["max_s"] == 100.0
    assert s["q1_s"] == 2.0 and s["q3_s"] == 4.0 and s["iqr_s"] == 2.0
    assert s["cv"] == pytest.approx(s["std_s"] / s["mean_s"])


def test_samples_beyond_repeats_fill_the_timed_seconds_up_to_a_cap():
    assert measure.rounds_for(3, 0.0, 0.001) == 3  # no timed seconds: exactly repeats
    assert measure.rounds_for(3, 0.1, 0.01) == 10
    assert measure.rounds_for(30, 0.1, 0.01) == 30  # repeats is a floor
    assert measure.rounds_for(3, 5.0, 1e-6) == measure.MAX_ROUNDS
    a = np.random.default_rng(0).random(2000)
    raw = measure.timed_runs(lambda: np.sort(a), repeats=2, warmup=1, min_time_s=0.002, timed_s=0.05)
    assert len(raw["time_s"]) > 2
    assert 0.03 < sum(raw["time_s"]) * raw["loops"] < 0.5


def test_loop_calibration_reaches_the_minimum_sample_time():
    a = np.random.default_rng(0).random(2000)
    kernel = lambda: np.sort(a)  # noqa: E731 - tens of microseconds
    loops = measure.calibrate_loops(kernel, 0.02)
    assert loops > 1
    raw = measure.timed_runs(kernel, repeats=5, warmup=1, min_time_s=0.02)
    assert raw["loops"] >= 2
    # every sample lasted about the minimum (per-call time x loops; a later, warmer sample may run
    # faster than the calibration round it was sized by)
    assert all(t * raw["loops"] >= 0.02 * 0.5 for t in raw["time_s"])
    # memory is still read on single calls, after the timed loops
    assert len(raw["peak_rss_bytes"]) == 3


def test_slow_kernels_run_once_per_sample_and_one_extra_call_reads_the_peak():
    calls = []
    raw = measure.timed_runs(lambda: calls.append(1) or np.ones(100 * 10**6 // 8), repeats=3, warmup=0,
                             min_time_s=1e-6, trace=True)
    # the calibration round is the first sample: 3 timed calls in all, one memory call, one traced
    assert raw["loops"] == 1 and len(raw["time_s"]) == 3 and len(calls) == 5
    assert len(raw["peak_rss_bytes"]) == 1 and raw["peak_rss_bytes"][0] == pytest.approx(100e6, rel=0.1)
    assert raw["traced_peak_bytes"] == pytest.approx(100e6, rel=0.01) and raw["result"].size == 12_500_000
    # a slow kernel with large allocations is not traced: the memory call's result goes to the check
    calls.clear()
    raw = measure.timed_runs(lambda: calls.append(1) or np.ones(100 * 10**6 // 8), repeats=3, warmup=0,
                             min_time_s=1e-6, trace=True, trace_slow=False)
    assert len(calls) == 4 and raw["traced_peak_bytes"] is None and raw["result"].size == 12_500_000
    assert raw["peak_rss_bytes"][0] == pytest.approx(100e6, rel=0.1)
    # the other processes of a case read no memory for a slow kernel: no extra call
    calls.clear()
    raw = measure.timed_runs(lambda: calls.append(1) or np.ones(100 * 10**6 // 8), repeats=3, warmup=0,
                             min_time_s=1e-6)
    assert len(calls) == 3 and raw["peak_rss_bytes"] == [] and raw["traced_peak_bytes"] is None


def test_a_slow_first_call_does_not_pass_for_a_slow_kernel():
    """A warm-up slowed by one-time work (lazy imports, first page faults) must not leave a 1 ms
    kernel at one call per sample: the confirmation call catches it and loops are calibrated."""
    state = {"first": True}

    def kernel():
        if state.pop("first", False):
            time.sleep(0.05)
        time.sleep(0.001)

    raw = measure.timed_runs(kernel, repeats=3, warmup=1, min_time_s=0.02)
    assert raw["loops"] > 5
    assert all(t * raw["loops"] >= 0.02 for t in raw["time_s"])


BUSY = "import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass\n"


def _spin(seconds: float):
    return subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=seconds)])


def test_interference_sees_a_real_busy_process():
    """A busy loop in another process shows up as other processes' CPU time, not as ours."""
    busy = _spin(3.0)
    try:
        time.sleep(0.3)  # let it start spinning
        before = measure.cpu_snapshot()
        time.sleep(1.0)  # this process idles: whatever is busy is someone else
        noise = measure.interference(before, measure.cpu_snapshot())
    finally:
        busy.kill()
        busy.wait()
    assert noise["own_cpu_s"] < 0.1
    # the spinning process alone used about one CPU-second of the window
    assert noise["other_cpu_s"] >= 0.8
    assert noise["other_cpu_s"] / noise["cpu_capacity_s"] >= 0.8 / noise["cpus"]


@pytest.mark.slow
def test_a_case_measured_beside_a_busy_process_is_flagged_noisy_with_the_reason(run_case):
    from numperf import aggregate

    args = ("--family", "distances", "--method", "gemm_trick", "--param", "n=600", "--param", "d=50",
            "--repeats", "5", "--min-sample-time-s", "0.1", "--processes", "2")
    busy = _spin(30.0)
    try:
        time.sleep(0.3)
        contaminated = run_case(*args, "--process", "0")
    finally:
        busy.kill()
        busy.wait()
    noise = contaminated["interference"]
    assert noise["other_cpu_s"] / noise["cpu_capacity_s"] > aggregate.NOISY_OTHER_CPU_FRACTION
    procs = pd.DataFrame([aggregate.flatten(contaminated, "p0.json")])
    row = aggregate.combine(procs).iloc[0]
    assert row["status"] == "ok" and row["noisy"]
    assert "process 0: other processes used" in row["noisy_reason"]
    assert row["other_cpu_fraction"] > aggregate.NOISY_OTHER_CPU_FRACTION

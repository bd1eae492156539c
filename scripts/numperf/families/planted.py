"""Planted effects: numperf's own proof that it resolves small differences and invents none.

``reference`` is a plain kernel (a GEMM, a sum or an element-wise exp); ``same`` runs the very same
function (an A/A twin: never to be called different); ``planted_<k>`` runs it and then busy-waits
for k% of the kernel's time, calibrated afresh in every process, so its true slowdown is known and
must be found. ``neighbour`` is a 2-thread GEMM that shares their processes: its idle BLAS threads
may spin into the next method's time, and randomised round orders must keep that from biasing the
twin. ``make stability`` runs this family (config/stability.yaml).

Top-level imports: stdlib and numpy only (a measuring child imports this module).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from numperf.family import Check, Family, MemoryModel, Method, Param

FAMILY_NAME = "planted"
WORKS = ("sum", "gemm", "exp")
#: planted method -> extra cost as a share of the kernel's time
EFFECTS = {"planted_1": 0.01, "planted_2": 0.02, "planted_3": 0.03, "planted_5": 0.05}
#: the neighbour's GEMM size and thread count
NEIGHBOUR_N, NEIGHBOUR_THREADS = 256, 2
#: the per-process calibration of the planted cost: at least this many calls and seconds
CALIBRATION_CALLS, CALIBRATION_S = 5, 0.05


def _arrays(params: dict, dtype: str, rng) -> dict:
    n, work = int(params["n"]), params["work"]
    if work == "gemm":
        a, b = (rng.random((n, n)).astype(dtype) for _ in range(2))
        return {"a": a, "b": b}
    x = rng.random(n).astype(dtype)
    return {"x": x, "out": np.empty_like(x)}


def work(inputs: dict):
    """The reference computation (``reference`` and ``same`` both call exactly this)."""
    if "a" in inputs:
        return inputs["a"] @ inputs["b"]
    if inputs["work"] == "exp":
        return np.exp(inputs["x"], out=inputs["out"])
    return inputs["x"].sum()


def calibrate_extra(inputs: dict, effect: float) -> tuple[float, float]:
    """(median seconds of one ``work`` call in this process, ``effect`` times it)."""
    work(inputs)  # warm
    times, t_end = [], time.perf_counter() + CALIBRATION_S
    while len(times) < CALIBRATION_CALLS or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        work(inputs)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return median, effect * median


def setup(params: dict, dtype: str, rng, method: str | None = None) -> dict:
    """The inputs every method reads (the same for all: ``shared_setup``), the kernel's time in this
    process and each planted method's busy time, and the neighbour's matrices."""
    inputs = {"work": params["work"], **_arrays(params, dtype, rng)}
    inputs["calibration_s"], _ = calibrate_extra(inputs, 0.0)
    inputs["extra_s"] = {m: e * inputs["calibration_s"] for m, e in EFFECTS.items()}
    inputs["na"], inputs["nb"] = (rng.random((NEIGHBOUR_N, NEIGHBOUR_N)) for _ in range(2))
    return inputs


def _reference(inputs: dict, threads: int = 1):
    return work(inputs)


def _planted(method: str):
    def kernel(inputs: dict, threads: int = 1):
        result = work(inputs)
        deadline = time.perf_counter() + inputs["extra_s"][method]
        while time.perf_counter() < deadline:  # busy, as real extra work would be: no sleep
            pass
        return result
    return kernel


def _neighbour(inputs: dict, threads: int = 1):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(NEIGHBOUR_THREADS, user_api="blas"):
        inputs["na"] @ inputs["nb"]
    return work(inputs)


def _memory(params: dict, dtype: str, options: dict) -> MemoryModel:
    n, item = int(params["n"]), np.dtype(dtype).itemsize
    if params["work"] == "gemm":
        return MemoryModel(2 * n * n * item, 0, n * n * item)
    return MemoryModel(2 * n * item, 0, 0 if params["work"] == "exp" else item)


def _flops(params: dict, dtype: str) -> float:
    n = int(params["n"])
    return 2.0 * n**3 if params["work"] == "gemm" else float(n)


def _bytes_moved(params: dict, dtype: str) -> float:
    n, item = int(params["n"]), np.dtype(dtype).itemsize
    return {"gemm": 3.0 * n * n * item, "sum": 1.0 * n * item, "exp": 2.0 * n * item}[params["work"]]


def check(method: str, result, inputs: dict, params: dict, dtype: str, rng) -> Check:
    """Every method returns exactly what ``work`` does; facts: the planted cost and its calibration."""
    want = np.array(work(inputs), copy=True)
    got = np.asarray(result)
    facts = {"planted_calibration_s": float(inputs["calibration_s"])}
    if method in EFFECTS:
        facts.update(planted_effect=EFFECTS[method], planted_extra_s=float(inputs["extra_s"][method]))
    if got.shape != want.shape:
        return Check(None, None, f"wrong_shape: {got.shape}, expected {want.shape}", facts)
    err = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)))) if want.size else 0.0
    return Check(err, err / max(1.0, float(np.max(np.abs(want)))),
                 None if err == 0 else f"wrong_values: max abs error {err:.3g}", facts)


def _method(name: str, kernel, description: str) -> Method:
    return Method(name, kernel, _memory, description, flops=_flops, bytes_moved=_bytes_moved)


FAMILY = Family(
    name=FAMILY_NAME,
    description="planted effects: a kernel, its identical twin and the kernel plus a known extra cost "
                "(numperf's resolution check)",
    seeds=(),
    params=(
        Param("work", "str", "sum", "the kernel: sum (memory-bound), gemm (BLAS), exp (element-wise)",
              choices=WORKS),
        Param("n", "int", 1_000_000, "elements (sum, exp) or the matrix order (gemm)", minimum=1,
              maximum=100_000_000),
    ),
    dtypes=("float64", "float32"),
    methods={
        "reference": _method("reference", _reference, "the kernel"),
        "same": _method("same", _reference, "the kernel again, by the same function (an A/A twin)"),
        **{m: _method(m, _planted(m), f"the kernel plus busy work of {e:.0%} of its time, calibrated "
                      "in each process") for m, e in EFFECTS.items()},
        "neighbour": _method("neighbour", _neighbour, f"a {NEIGHBOUR_THREADS}-thread GEMM, then the "
                             "kernel: threads differently from the others"),
    },
    setup=setup,
    check=check,
    baseline="reference",
    twins=("same",),
    shared_setup=True,
    planted=dict(EFFECTS),
)


def figures() -> list:
    """None of its own: ``make stability`` draws the planted effects (numperf.plotting.stability)."""
    return []


def claims() -> list:
    return []

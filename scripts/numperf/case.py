"""Run one case inside its own (child) process and write its raw result as JSON.

This is what the runner starts under the selected interpreter and BLAS:
``python -m numperf.case SPEC.json RESULT.json``. It generates the data outside the timed
region, pins and verifies BLAS threads, checks which BLAS is really loaded, guards the
address space, measures, checks accuracy, and always writes a result (status + reason).
Imports: stdlib, numpy and threadpoolctl only.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import UTC, datetime

from numperf import inputs, measure, metadata, methods

#: Address space allowed on top of the process's size when the guard is armed
#: (BLAS thread stacks and buffers allocated lazily, malloc arenas).
AS_SLACK_BYTES = 512 * 2**20


def error_bound(x2, y2, ref, d: int, eps: float):
    """Elementwise bound on |computed - true| distance for the GEMM-trick family.

    The squared distance ||x||^2 + ||y||^2 - 2 x.y carries a rounding error of at most
    about delta = (D + 4) eps (||x||^2 + ||y||^2) (dot-product error bound plus the
    additions); through the square root that is delta / (2 d), and never more than
    sqrt(delta) when d is near zero. Direct (difference-first) methods stay well inside.
    """
    import numpy as np

    delta = (d + 4) * eps * (x2[:, None] + y2[None, :])
    with np.errstate(divide="ignore"):
        through_sqrt = np.where(ref > 0, delta / (2 * ref), np.inf)
    return np.minimum(through_sqrt, np.sqrt(delta)) + 2 * eps * ref


def reference_rows(x, y, rows):
    """Exact-as-possible distances for the sampled rows: differences first, in long double."""
    import numpy as np

    xl = x[rows].astype(np.longdouble)
    yl = y.astype(np.longdouble)
    out = np.empty((len(rows), y.shape[0]), dtype=np.longdouble)
    for k in range(len(rows)):
        diff = xl[k] - yl
        out[k] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def accuracy(result, x, y, rows, eps: float) -> dict:
    """Max absolute/relative error of ``result`` on sampled rows, and whether any exceeds the bound.

    The bound is ``error_bound`` for the data shifted so that they start at the origin (by the
    per-coordinate minimum of x and y). Distances do not depend on where the origin is, so neither
    does the tolerated error: for data in [0, 1) it is the trick's own bound, while methods whose
    error grows with the distance from the origin (the plain trick on ``offset`` data) exceed it.
    """
    import numpy as np

    ref = reference_rows(x, y, rows)
    got = np.asarray(result[rows], dtype=np.longdouble)
    abs_err = np.abs(got - ref)
    rel_err = abs_err / np.where(ref > 0, ref, 1)
    lo = np.minimum(x.min(axis=0), y.min(axis=0)).astype(np.longdouble)
    xl, yl = x[rows].astype(np.longdouble) - lo, y.astype(np.longdouble) - lo
    bound = error_bound((xl * xl).sum(1), (yl * yl).sum(1), ref, x.shape[1], eps)
    return {
        "max_abs_error": float(abs_err.max()),
        "max_rel_error": float(rel_err.max()),
        "sample_rows": int(len(rows)),
        "bound_exceeded": int((abs_err > bound).sum()),
        "reference": "difference-first, long double",
        "bound": "GEMM-trick rounding bound of the data shifted to start at the origin",
    }


def _blas_threads(info: list[dict]) -> int | None:
    counts = {p["num_threads"] for p in info if p.get("user_api") == "blas"}
    return counts.pop() if len(counts) == 1 else (max(counts) if counts else None)


def _verify_backend(label: str, info: list[dict]) -> dict:
    try:
        from numperf import backends
    except ImportError:  # pragma: no cover - backends ships with the package
        return {"verified_blas": None, "backend_ok": True, "backend_reason": None, "mapped_libraries": []}
    mapped = backends.mapped_blas_libraries()
    return {**backends.verify(label, info, mapped), "mapped_libraries": mapped}


def _guard_address_space(limit_bytes: int) -> int | None:
    """Cap the address space at current size + limit so a blow-up raises MemoryError here."""
    if not limit_bytes:
        return None
    cap = measure.vm_size_bytes() + int(limit_bytes) + AS_SLACK_BYTES
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return cap


def run(spec: dict) -> dict:
    """Measure the case described by ``spec``; return the child's part of the record."""
    out = {"start_utc": datetime.now(UTC).isoformat()}
    try:
        out.update(_measure(spec))
    except MemoryError as exc:
        out.update(status="oom", reason=f"MemoryError: {exc or 'allocation failed'}")
    except Exception as exc:  # noqa: BLE001 - every failure must become a row
        out.update(status="error", reason=f"{type(exc).__name__}: {exc}")
    out["end_utc"] = datetime.now(UTC).isoformat()
    out.setdefault("host", metadata.host_info())
    out["env"] = metadata.blas_env()
    out["scheduler"] = metadata.scheduler_info()
    return out


def _measure(spec: dict) -> dict:
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    method = methods.get(spec["method"])
    n, m, d, dtype = spec["n"], spec["m"], spec["d"], np.dtype(spec["dtype"])
    rec: dict = {"host": metadata.host_info(), "numpy": metadata.numpy_info()}
    if not method.available():
        rec.update(status="skipped", reason=f"peer_unavailable: {method.requires} is not importable "
                   f"by {sys.executable}", threadpool_info=threadpool_info())
        return rec
    params = method.resolve_params(spec.get("params"), n, m, d, dtype.itemsize)
    rec["params"] = params

    rng = np.random.default_rng(spec["seed"])
    x, y = inputs.make(spec.get("inputs", "uniform"), rng, n, m, d, dtype)
    checks = spec.get("process_index", 0) == 0  # data are identical in every process: check once

    threads = spec["threads"]
    with threadpool_limits(limits=threads, user_api="blas"):
        np.dot(x[: min(n, 64)], y[: min(m, 64)].T)  # load BLAS, start its threads
        info = threadpool_info()
        rec["threadpool_info"] = info
        effective = _blas_threads(info)
        rec["threads"] = {"requested": threads, "effective": effective,
                          "ok": effective is None or effective == threads}
        rec["blas"] = _verify_backend(spec["backend"], info)
        rec["guard_address_space_bytes"] = _guard_address_space(spec.get("mem_limit_bytes", 0))

        kernel = lambda: method.kernel(x, y, threads=threads, **params)  # noqa: E731
        raw = measure.timed_runs(kernel, spec["repeats"], spec["warmup"],
                                 min_time_s=spec.get("min_sample_time_s", 0.0), loops=spec.get("loops"))
        rec["traced_peak_bytes"] = None
        if checks:
            traced, result = measure.traced_call(kernel)
            rows = np.sort(rng.choice(n, size=min(n, spec["accuracy_rows"]), replace=False))
            eps = float(np.finfo(np.result_type(dtype, result.dtype)).eps)
            rec["accuracy"] = accuracy(result, x, y, rows, eps)
            rec["traced_peak_bytes"] = traced
            del result
    rec["samples_time_s"] = raw["time_s"]
    rec["loops"] = raw["loops"]
    rec["interference"] = raw["interference"]
    rec["samples_peak_rss_bytes"] = raw["peak_rss_bytes"]
    rec.update(_judge(rec))
    return rec


def _judge(rec: dict) -> dict:
    """Status of a finished measurement: invalid on thread/backend mismatch or wrong results."""
    if not rec["threads"]["ok"]:
        t = rec["threads"]
        return {"status": "invalid", "reason": f"thread_mismatch: requested {t['requested']}, "
                f"BLAS reports {t['effective']}"}
    if not rec["blas"]["backend_ok"]:
        return {"status": "invalid", "reason": rec["blas"]["backend_reason"]}
    if rec.get("accuracy") and rec["accuracy"]["bound_exceeded"]:
        a = rec["accuracy"]
        return {"status": "invalid", "reason": f"inaccurate: {a['bound_exceeded']} sampled entries "
                f"exceed the rounding-error bound (max abs error {a['max_abs_error']:.3g})"}
    return {"status": "ok", "reason": None}


def main(argv: list[str] | None = None) -> int:
    """Child entry point: ``python -m numperf.case SPEC.json RESULT.json``."""
    spec_path, result_path = (argv if argv is not None else sys.argv[1:])[:2]
    with open(spec_path) as fh:
        spec = json.load(fh)
    t0 = time.perf_counter()
    result = run(spec)
    result["child_wall_s"] = time.perf_counter() - t0
    tmp = f"{result_path}.tmp{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(result, fh, default=float)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

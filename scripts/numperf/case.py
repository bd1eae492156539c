"""Run one case inside its own (child) process and write its raw result as JSON.

This is what the runner starts under the selected interpreter and BLAS:
``python -m numperf.case SPEC.json RESULT.json``. It asks the case's family for its inputs
outside the timed region, pins and verifies BLAS threads, checks which BLAS is really loaded,
guards the address space, measures, lets the family check the result, and always writes a
result (status + reason). Imports: stdlib, numpy, threadpoolctl and the family's module only.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import UTC, datetime

from numperf import family, measure, metadata

#: A slow kernel (one call per sample) gets a traced call only when its modelled allocations are
#: below this: larger ones are measured by peak RSS, and tracing them would cost one more slow call.
TRACE_SLOW_BELOW_BYTES = 64 * 10**6
#: Address space allowed on top of the process's size when the guard is armed
#: (BLAS thread stacks and buffers allocated lazily, malloc arenas).
AS_SLACK_BYTES = 512 * 2**20


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


def _prepare(spec: dict, rng, shared: list | None = None) -> tuple[dict, object]:
    """The child's record so far and the case's kernel (None when it ended before timing: skipped).
    ``shared`` (``Family.shared_setup``) holds the point's inputs once one case has built them."""
    from threadpoolctl import threadpool_info

    fam = family.get(spec["family"])
    method = fam.method(spec["method"])
    checks = spec.get("process_index", 0) == 0  # inputs are identical in every process: check once
    rec: dict = {"host": metadata.host_info(), "numpy": metadata.numpy_info(build_info=checks)}
    if not method.available():
        rec.update(status="skipped", reason=f"peer_unavailable: {method.requires} is not importable "
                   f"by {sys.executable}", threadpool_info=threadpool_info())
        return rec, None
    options = method.resolve_options(spec.get("options"), spec["params"], spec["dtype"])
    rec["options"] = options
    try:
        if shared:
            inputs = shared[0]
        else:
            inputs = fam.setup(spec["params"], spec["dtype"], rng,
                               None if shared is not None else spec["method"])
            if shared is not None:
                shared.append(inputs)
    except family.Skip as why:
        rec.update(status="skipped", reason=str(why), threadpool_info=threadpool_info())
        return rec, None
    rec["_inputs"] = inputs
    return rec, lambda: method.kernel(inputs, threads=spec["threads"], **options)


def _pin_threads(rec: dict, spec: dict) -> None:
    """Load BLAS, read back its thread count and library (every family: BLAS is what threads pin)."""
    import numpy as np
    from threadpoolctl import threadpool_info

    warm = np.ones((64, 64))
    np.dot(warm, warm)
    info = threadpool_info()
    rec["threadpool_info"] = info
    effective = _blas_threads(info)
    rec["threads"] = {"requested": spec["threads"], "effective": effective,
                      "ok": effective is None or effective == spec["threads"]}
    rec["blas"] = _verify_backend(spec["backend"], info)


def _finish(spec: dict, rec: dict, kernel, timing: dict, rng) -> dict:
    """Memory readings and the check of a timed case (its samples in ``timing``); the child's record."""
    fam = family.get(spec["family"])
    method = fam.method(spec["method"])
    checks = spec.get("process_index", 0) == 0
    model = method.memory(spec["params"], spec["dtype"], rec["options"])
    mem = measure.memory_runs(kernel, timing["loops"], trace=checks,
                              trace_slow=model.kernel_peak_bytes < TRACE_SLOW_BELOW_BYTES)
    inputs = rec.pop("_inputs")
    rec["traced_peak_bytes"] = mem["traced_peak_bytes"]
    if checks:  # the traced memory call's result
        found = fam.check(method.name, mem.pop("result"), inputs, spec["params"], spec["dtype"], rng)
        rec["accuracy"] = {"max_abs_error": found.max_abs_error, "max_rel_error": found.max_rel_error}
        rec["check"] = {"failed": found.failed, "facts": dict(found.facts)}
    rec["samples_time_s"] = timing["time_s"]
    rec["loops"] = timing["loops"]
    rec["interference"] = timing["interference"]
    rec["samples_peak_rss_bytes"] = mem["peak_rss_bytes"]
    rec["fixed_mmap_threshold"] = mem["fixed_mmap_threshold"]
    rec["timing_mmap_threshold_bytes"] = timing["timing_mmap_threshold_bytes"]
    rec.update(_judge(rec))
    return rec


def _measure(spec: dict) -> dict:
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(spec["seed"])
    rec, kernel = _prepare(spec, rng)
    if kernel is None:
        return rec
    with threadpool_limits(limits=spec["threads"], user_api="blas"):
        _pin_threads(rec, spec)
        rec["guard_address_space_bytes"] = _guard_address_space(spec.get("mem_limit_bytes", 0))
        raw = measure.timed_runs(kernel, spec["repeats"], spec["warmup"],
                                 min_time_s=spec.get("min_sample_time_s", 0.0), loops=spec.get("loops"),
                                 memory_calls=0, timed_s=spec.get("timed_s_per_process", 0.0))
        return _finish(spec, rec, kernel, raw, rng)


def run_group(specs: list[dict], pairing: dict) -> list[dict]:
    """Measure the cases of one point (same family, parameters, dtype, threads, backend, seed) in
    this one process, interleaved by round (``measure.interleaved_runs``); each gets its own record,
    with the group's ``pairing`` (its id, the methods, the seeded round orders)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    first = specs[0]
    outs, live = [], {}
    shared = [] if family.get(first["family"]).shared_setup else None
    for spec in specs:
        out = {"start_utc": datetime.now(UTC).isoformat()}
        rng = np.random.default_rng(spec["seed"])  # the same inputs as an isolated process builds
        try:
            rec, kernel = _prepare(spec, rng, shared)
            out.update(rec)
            if kernel is not None:
                live[spec["method"]] = (spec, out, kernel, rng)
        except Exception as exc:  # noqa: BLE001 - every failure must become a row
            out.update(status="error", reason=f"{type(exc).__name__}: {exc}")
        outs.append(out)
    with threadpool_limits(limits=first["threads"], user_api="blas"):
        for spec, out, _, _ in live.values():
            _pin_threads(out, spec)
        limit = sum(s.get("mem_limit_bytes", 0) for s in specs)
        guard = _guard_address_space(limit)
        order_rng = np.random.default_rng([first["seed"], first.get("process_index", 0), pairing["seed"]])
        raw = measure.interleaved_runs({m: k for m, (_, _, k, _) in live.items()}, first["repeats"],
                                       first["warmup"], first.get("min_sample_time_s", 0.0),
                                       None if first.get("loops") is None else dict.fromkeys(live,
                                                                                          first["loops"]),
                                       order_rng, first.get("timed_s_per_process", 0.0))
        for name, (spec, out, kernel, rng) in live.items():
            out["guard_address_space_bytes"] = guard
            timing = {**raw, "time_s": raw["time_s"][name], "loops": raw["loops"][name]}
            try:
                _finish(spec, out, kernel, timing, rng)
            except MemoryError as exc:
                out.update(status="oom", reason=f"MemoryError: {exc or 'allocation failed'}")
            except Exception as exc:  # noqa: BLE001
                out.update(status="error", reason=f"{type(exc).__name__}: {exc}")
    info = {**pairing, "mode": "interleaved", "methods": list(live), "round_orders": raw["round_orders"],
            "shared_inputs": shared is not None}
    for out in outs:
        out.pop("_inputs", None)
        out["pairing"] = info
        out["end_utc"] = datetime.now(UTC).isoformat()
        out.setdefault("host", metadata.host_info())
        out["env"] = metadata.blas_env()
        out["scheduler"] = metadata.scheduler_info()
    return outs


def _judge(rec: dict) -> dict:
    """Status of a finished measurement: invalid on thread/backend mismatch or wrong results."""
    if not rec["threads"]["ok"]:
        t = rec["threads"]
        return {"status": "invalid", "reason": f"thread_mismatch: requested {t['requested']}, "
                f"BLAS reports {t['effective']}"}
    if not rec["blas"]["backend_ok"]:
        return {"status": "invalid", "reason": rec["blas"]["backend_reason"]}
    if rec.get("check") and rec["check"]["failed"]:
        return {"status": "invalid", "reason": rec["check"]["failed"]}
    return {"status": "ok", "reason": None}


def main(argv: list[str] | None = None) -> int:
    """Child entry point: ``python -m numperf.case SPEC.json RESULT.json``."""
    spec_path, result_path = (argv if argv is not None else sys.argv[1:])[:2]
    with open(spec_path) as fh:
        spec = json.load(fh)
    t0 = time.perf_counter()
    if "group" in spec:
        result = {"results": run_group(spec["group"], spec["pairing"])}
    else:
        result = run(spec)
    result["child_wall_s"] = time.perf_counter() - t0
    tmp = f"{result_path}.tmp{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(result, fh, default=float)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Parent side of one case: validate it, decide whether it may run, launch the measuring
child under the selected BLAS backend with time and memory guards, and turn whatever
happens (result, MemoryError, kernel kill, timeout, crash) into one validated record.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
import zlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from numperf import RECORD_SCHEMA, __version__, family, measure, metadata, record

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the scripts/ directory
#: Upper bound of the per-sample minimum time (a sample is meant to last milliseconds).
MAX_SAMPLE_TIME_S = 10.0
#: How the methods of one point are measured: together in interleaved rounds, or each alone.
ISOLATION_MODES = ("interleaved", "process")


@dataclass
class CaseSpec:
    """Everything that defines one case of one family; its ``case_id`` names its record folder.

    ``params`` are the family's declared parameters (missing ones take their defaults), ``options``
    the method's own tuning parameters. Nothing here knows what a family computes.
    """

    family: str
    method: str
    params: dict = field(default_factory=dict)
    #: "" = the family's first declared dtype
    dtype: str = ""
    threads: int = 1
    backend: str = "wheel"
    repeats: int = 3
    warmup: int = 1
    seed: int = 0
    #: independent fresh processes that measure this case (each writes its own record)
    processes: int = 3
    #: the most processes adaptive replication may give it (0: ``processes``)
    max_processes: int = 0
    #: "interleaved": the methods of a point share each process, paired by round; "process": one each
    isolation: str = "interleaved"
    #: a timed sample repeats the kernel until it lasts at least this long
    min_sample_time_s: float = 0.005
    #: calls per sample; None = calibrated from min_sample_time_s
    loops: int | None = None
    #: seconds of timed samples per method and process: rounds beyond ``repeats`` until then
    timed_s_per_process: float = 0.15
    options: dict = field(default_factory=dict)
    time_limit_s: float = 300.0
    mem_budget_bytes: int = 0
    #: address-space allowance of the kernel in the child (0: the budget)
    mem_limit_bytes: int = 0

    def __post_init__(self):
        fam = family.get(self.family)  # unknown family: ValueError listing the known ones
        fam.method(self.method)
        unknown = sorted(set(self.params) - set(fam.param_names))
        if unknown:
            raise ValueError(f"{self.family}: unknown parameter(s) {', '.join(unknown)}; allowed: "
                             f"{', '.join(fam.param_names)}")
        full = {p.name: self.params.get(p.name, p.default) for p in fam.params}
        self.params = fam.normalize(full)
        self.dtype = self.dtype or fam.dtypes[0]
        known = {p.name for p in fam.method(self.method).options}
        self.options = {k: v for k, v in self.options.items() if k in known and v is not None}
        self.validate()

    @property
    def family_spec(self) -> family.Family:
        return family.get(self.family)

    @property
    def method_spec(self) -> family.Method:
        return self.family_spec.method(self.method)

    def validate(self) -> None:
        """Refuse impossible values, naming the argument and what is allowed."""
        fam = self.family_spec
        for p in fam.params:
            why = p.problem(self.params[p.name])
            if why:
                raise ValueError(f"{self.family}.{p.name}: {why}")
        for p in self.method_spec.options:
            if p.name in self.options and (why := p.problem(self.options[p.name])):
                raise ValueError(f"method_params.{self.method}.{p.name}: {why}")
        for key in ("threads", "repeats", "processes"):
            value = getattr(self, key)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        if self.isolation not in ISOLATION_MODES:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATION_MODES)}, got {self.isolation!r}")
        if self.max_processes and self.max_processes < self.processes:
            raise ValueError(f"max_processes ({self.max_processes}) must be 0 or at least processes "
                             f"({self.processes})")
        if self.warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {self.warmup!r}")
        if self.dtype not in fam.dtypes:
            raise ValueError(f"dtype {self.dtype!r} is not supported by family {self.family}; allowed: "
                             f"{', '.join(fam.dtypes)}")
        if self.loops is not None and (not isinstance(self.loops, int) or self.loops < 1):
            raise ValueError(f"loops must be a positive integer or None (calibrated), got {self.loops!r}")
        if not 0 <= self.min_sample_time_s <= MAX_SAMPLE_TIME_S:
            raise ValueError(f"min_sample_time_s must be between 0 and {MAX_SAMPLE_TIME_S} s, "
                             f"got {self.min_sample_time_s!r}")
        if not 0 <= self.timed_s_per_process <= MAX_SAMPLE_TIME_S:
            raise ValueError(f"timed_s_per_process must be between 0 and {MAX_SAMPLE_TIME_S} s, "
                             f"got {self.timed_s_per_process!r}")
        if not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s must be > 0, got {self.time_limit_s!r}")
        for key in ("mem_budget_bytes", "mem_limit_bytes"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)!r}")
        from numperf import backends

        backends.get(self.backend)  # unknown labels: ValueError listing the known ones

    @property
    def process_cap(self) -> int:
        """How many processes may measure this case (its planned ones, or more when replicated)."""
        return max(self.processes, self.max_processes)

    @property
    def point_id(self) -> str:
        """The case id without the method and its options: the cases that one interleaving process
        measures together (same family, parameters, dtype, threads, backend)."""
        params = "_".join(f"{k}={_token(v)}" for k, v in self.params.items())
        return f"{self.family}_{params}_{self.dtype}_t{self.threads}_{self.backend}"

    def pairing_group(self) -> tuple:
        """What must be equal for two cases to share an interleaving process."""
        return (self.point_id, self.isolation, self.seed, self.repeats, self.warmup,
                self.min_sample_time_s, self.loops, self.timed_s_per_process)

    @property
    def case_id(self) -> str:
        """``<family>_<method>_<param>=<value>..._<dtype>_t<threads>_<backend>[_<option>=<value>...]``."""
        params = "_".join(f"{k}={_token(v)}" for k, v in self.params.items())
        extra = "".join(f"_{k}={_token(v)}" for k, v in sorted(self.options.items()))
        return f"{self.family}_{self.method}_{params}_{self.dtype}_t{self.threads}_{self.backend}{extra}"

    def resolved_options(self) -> dict:
        return self.method_spec.resolve_options(self.options, self.params, self.dtype)

    def model(self) -> family.MemoryModel:
        return self.method_spec.memory(self.params, self.dtype, self.resolved_options())

    def to_json(self) -> dict:
        """The spec as plain JSON (what the workflow's case files hold)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> CaseSpec:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _token(value) -> str:
    text = str(value).replace("/", "-").replace(" ", "")
    return text if not isinstance(value, bool) else text.lower()


def _base_record(spec: CaseSpec, process_index: int) -> dict:
    model = spec.model()
    method = spec.method_spec
    return {
        "schema": RECORD_SCHEMA,
        "numperf_version": __version__,
        "case": {"case_id": spec.case_id, **asdict(spec), "process_index": process_index},
        "status": None, "reason": None, "timing": None, "interference": None,
        "memory": {"model": model.as_dict(), "peak_rss_bytes": None, "peak_rss_max_bytes": None,
                   "samples_peak_rss_bytes": [], "traced_peak_bytes": None},
        "accuracy": None, "check": None, "threads": None, "blas": None, "pairing": None,
        "flops": method.flops(spec.params, spec.dtype), "gflops": None,
        "bytes_moved": method.bytes_moved(spec.params, spec.dtype),
        "host": None, "env": metadata.blas_env(), "scheduler": metadata.scheduler_info(),
        "run": {"start_utc": datetime.now(UTC).isoformat(),
                "git_commit": metadata.git_commit(PACKAGE_ROOT),
                "code_digest": metadata.package_digest(), "child_exit_code": None,
                "load_before": metadata.load_average()},
    }


def _merge_child(rec: dict, child: dict) -> None:
    rec["status"], rec["reason"] = child.get("status", "error"), child.get("reason")
    rec["host"] = child.get("host") or rec["host"]
    rec["env"] = child.get("env", rec["env"])
    rec["scheduler"] = child.get("scheduler", rec["scheduler"])
    if child.get("options") is not None:
        rec["case"]["options_resolved"] = child["options"]
    for key in ("accuracy", "check", "threads"):
        rec[key] = child.get(key)
    blas = dict(child.get("blas") or {})
    blas["threadpool_info"] = child.get("threadpool_info", [])
    numpy_info = child.get("numpy") or {}
    blas["numpy_version"] = numpy_info.get("version")
    blas["numpy_blas_build"] = numpy_info.get("blas_build")
    rec["blas"] = blas
    samples = child.get("samples_time_s")
    if samples:
        rec["timing"] = {"samples_s": samples, "loops": child.get("loops", 1), **measure.summarize(samples),
                         "mmap_threshold_bytes": child.get("timing_mmap_threshold_bytes")}
        if rec["flops"]:
            rec["gflops"] = rec["flops"] / rec["timing"]["median_s"] / 1e9
    rec["interference"] = child.get("interference")
    peaks = child.get("samples_peak_rss_bytes") or []
    if peaks:
        mem = rec["memory"]
        mem["samples_peak_rss_bytes"] = peaks
        mem["peak_rss_bytes"] = int(np.median(peaks))
        mem["peak_rss_max_bytes"] = int(max(peaks))
    rec["memory"]["traced_peak_bytes"] = child.get("traced_peak_bytes")
    rec["memory"]["guard_address_space_bytes"] = child.get("guard_address_space_bytes")
    rec["memory"]["fixed_mmap_threshold"] = child.get("fixed_mmap_threshold")
    for key in ("start_utc", "end_utc", "child_wall_s"):
        if key in child:
            rec["run"][key] = child[key]


def _classify_exit(code: int, stderr: str) -> tuple[str, str]:
    tail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if code < 0:
        sig = signal.Signals(-code).name
        if -code == signal.SIGKILL:
            return "oom", f"killed by {sig} (the kernel's or the scheduler's out-of-memory killer)"
        return "error", f"child died from {sig}" + (f": {tail}" if tail else "")
    if "MemoryError" in stderr:
        return "oom", f"MemoryError: {tail}"
    return "error", f"child exited with code {code} before writing a result" + (f": {tail}" if tail else "")


def child_environment(backend: str, threads: int) -> tuple[str | None, dict, str | None]:
    """Interpreter and environment for a child on ``backend``, or a reason it cannot run here."""
    from numperf import backends

    ok, why = backends.available(backend)
    if not ok:
        return None, {}, f"backend_unavailable: {backend}: {why}"
    python, env = backends.child_launch(backend, threads, dict(os.environ))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH", "")]))
    return python, env, None


def _precheck(spec: CaseSpec, skip_reason: str | None, allocated_cpus: int | None,
              process_index: int) -> tuple[dict, str | None, dict]:
    """The case's base record, ended (skipped or invalid) when it may not run here; else the
    interpreter and environment of its child."""
    if not 0 <= process_index < spec.process_cap:
        raise ValueError(f"process index must be in 0..{spec.process_cap - 1}, got {process_index}")
    rec = _base_record(spec, process_index)
    model = spec.model()
    reason = skip_reason
    if reason is None and spec.mem_budget_bytes and model.peak_bytes > spec.mem_budget_bytes:
        reason = (f"over_memory_budget: modelled peak {model.peak_bytes} bytes > "
                  f"budget {spec.mem_budget_bytes} bytes")
    if reason is None and allocated_cpus is not None and allocated_cpus < spec.threads:
        rec.update(status="invalid", reason=f"thread_allocation: the job was given {allocated_cpus} "
                   f"CPU(s) but the case needs {spec.threads}; not run")
    python, env = None, {}
    if reason is None and rec["status"] is None:
        python, env, reason = child_environment(spec.backend, spec.threads)
    if reason is not None:
        rec.update(status="skipped", reason=reason)
    return rec, python, env


def _complete(spec: CaseSpec, rec: dict) -> dict:
    rec["host"] = rec["host"] or metadata.host_info()
    rec["run"]["load_after"] = rec["run"].get("load_after") or metadata.load_average()
    rec["run"].setdefault("end_utc", datetime.now(UTC).isoformat())
    errors = record.validation_errors(rec)
    if errors:
        raise record.RecordError(spec.case_id, "runner built an invalid record: " + "; ".join(errors))
    return rec


def run_case(spec: CaseSpec, skip_reason: str | None = None, allocated_cpus: int | None = None,
             process_index: int = 0) -> dict:
    """Measure process ``process_index`` of a case in a fresh child of its own; return its validated
    record. Never raises for the case: every outcome (skip, failure, timeout) is a record."""
    rec, python, env = _precheck(spec, skip_reason, allocated_cpus, process_index)
    measured = rec["status"] is None
    if measured:
        _run_child(spec, rec, python, env, process_index)
    rec["pairing"] = {"mode": "process"} if measured else None
    return _complete(spec, rec)


def run_group(specs: list[CaseSpec], skip_reasons: list[str | None], allocated_cpus: int | None = None,
              process_index: int = 0) -> list[dict]:
    """Measure process ``process_index`` of the cases of one point (``CaseSpec.point_id``) in one
    fresh child, interleaved by round (``numperf.case.run_group``); return their validated records.

    Cases that may not run are recorded as such; fewer than two runnable ones are measured alone. When
    the shared child dies (a crash, the kernel's OOM killer, the time limit), each case is measured
    again in a child of its own, and its record says why.
    """
    checked = [_precheck(s, why, allocated_cpus, process_index) for s, why in zip(specs, skip_reasons,
                                                                                 strict=True)]
    live = [i for i, (rec, _, _) in enumerate(checked) if rec["status"] is None]
    if len(live) < 2:
        return [run_case(s, why, allocated_cpus, process_index) if i in live
                else _complete(s, {**checked[i][0], "pairing": None})
                for i, (s, why) in enumerate(zip(specs, skip_reasons, strict=True))]
    python, env = checked[live[0]][1], checked[live[0]][2]
    group = [specs[i] for i in live]
    pairing = {"group_id": group[0].point_id, "process_index": process_index,
               "process_uid": uuid.uuid4().hex, "seed": zlib.crc32(group[0].point_id.encode())}
    t0 = time.perf_counter()
    results, why = _run_group_child(group, python, env, process_index, pairing)
    wall = time.perf_counter() - t0
    out = [rec for rec, _, _ in checked]
    for i, spec in zip(live, group, strict=True):
        rec = out[i]
        if results is None:
            out[i] = run_case(spec, None, allocated_cpus, process_index)
            out[i]["run"]["group_fallback"] = why
            continue
        _merge_child(rec, results[spec.method])
        rec["pairing"] = results[spec.method]["pairing"]
        rec["run"]["launcher"] = {"python": python, "group": [s.method for s in group]}
        rec["run"]["wall_s"], rec["run"]["group_wall_s"] = wall / len(group), wall
    for rec in out:
        rec.setdefault("pairing", None)
    return [_complete(s, rec) for s, rec in zip(specs, out, strict=True)]


def _run_group_child(group: list[CaseSpec], python: str, env: dict, process_index: int,
                     pairing: dict) -> tuple[dict | None, str | None]:
    """Run one interleaving child for ``group``: ({method: child result}, None), or (None, why not)."""
    child = {"group": [{**asdict(s), "mem_limit_bytes": s.mem_limit_bytes or s.mem_budget_bytes,
                        "process_index": process_index} for s in group], "pairing": pairing}
    limit = sum(s.time_limit_s for s in group)
    with tempfile.TemporaryDirectory(prefix="numperf-group-") as tmp:
        spec_path, result_path = Path(tmp, "spec.json"), Path(tmp, "result.json")
        spec_path.write_text(json.dumps(child))
        proc = subprocess.Popen([python, "-s", "-m", "numperf.case", str(spec_path), str(result_path)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            _, stderr = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None, f"the shared child exceeded {limit:g} s; each case measured alone"
        if not result_path.exists():
            status, reason = _classify_exit(proc.returncode, stderr)
            return None, f"the shared child ended ({status}: {reason}); each case measured alone"
        data = json.loads(result_path.read_text())
    wall = data.get("child_wall_s")
    results = {}
    for spec, res in zip(group, data["results"], strict=True):
        res["child_wall_s"] = wall
        results[spec.method] = res
    return results, None


def _run_child(spec: CaseSpec, rec: dict, python: str, env: dict, process_index: int) -> None:
    child_spec = {**asdict(spec), "mem_limit_bytes": spec.mem_limit_bytes or spec.mem_budget_bytes,
                  "process_index": process_index}
    with tempfile.TemporaryDirectory(prefix="numperf-case-") as tmp:
        spec_path, result_path = Path(tmp, "spec.json"), Path(tmp, "result.json")
        spec_path.write_text(json.dumps(child_spec))
        argv = [python, "-s", "-m", "numperf.case", str(spec_path), str(result_path)]
        rec["run"]["launcher"] = {"python": python, "argv": argv[1:]}
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            _, stderr = proc.communicate(timeout=spec.time_limit_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
            timed_out = True
        rec["run"]["wall_s"] = time.perf_counter() - t0
        rec["run"]["child_exit_code"] = proc.returncode
        rec["run"]["child_stderr_tail"] = stderr[-2000:]
        if timed_out:
            rec.update(status="timeout", reason=f"exceeded the time limit of {spec.time_limit_s:g} s")
        elif result_path.exists():
            _merge_child(rec, json.loads(result_path.read_text()))
        else:
            status, reason = _classify_exit(proc.returncode, stderr)
            rec.update(status=status, reason=reason)


def write_record(rec: dict, out: str | os.PathLike) -> None:
    """Atomically write a record, refusing to overwrite one that came from another host."""
    out = Path(out)
    if out.exists():
        try:
            old = json.loads(out.read_text())
            old_host = (old.get("host") or {}).get("host_id")
        except (OSError, ValueError):
            old_host = None
        new_host = rec["host"]["host_id"]
        if old_host and old_host != new_host:
            raise record.RecordError(out, f"holds a record from host {old_host}; refusing to "
                                     f"overwrite it with one from {new_host}")
    record.write_json(out, rec)


def run_calibration(family_name: str, backend: str, threads: int, out: str | os.PathLike,
                    time_limit_s: float = 900) -> dict:
    """Measure a family's calibration rates in a child on ``backend``; write them atomically."""
    fam = family.get(family_name)
    if fam.calibrate is None:
        raise ValueError(f"family {fam.name} declares no calibration")
    python, env, reason = child_environment(backend, threads)
    cal = {"schema": "numperf.calibration/2", "family": fam.name, "host_id": metadata.host_id(),
           "backend": backend, "threads": threads, **dict.fromkeys(fam.rates), "status": "skipped",
           "reason": reason}
    if python is not None:
        with tempfile.TemporaryDirectory(prefix="numperf-cal-") as tmp:
            result = Path(tmp, "calibration.json")
            proc = subprocess.run([python, "-s", "-m", "numperf.calibrate", fam.name, str(threads), backend,
                                   str(result)], env=env, capture_output=True, text=True,
                                  timeout=time_limit_s)
            if proc.returncode != 0 or not result.exists():
                raise RuntimeError(f"calibration of {fam.name} on {backend} with {threads} thread(s) failed "
                                   f"(exit {proc.returncode}): {proc.stderr[-2000:]}")
            cal = {**json.loads(result.read_text()), "status": "ok", "reason": None}
    record.write_json(out, cal)
    return cal


def _compile_package() -> None:
    """Write the package's bytecode once per batch, so that no child recompiles it: each child imports
    numperf afresh, and where PYTHONDONTWRITEBYTECODE is set (some hosts set it) every child would
    compile every module from source again (about 40 ms a process). Best effort: a read-only tree
    only costs that time."""
    import compileall

    try:
        compileall.compile_dir(str(Path(__file__).resolve().parent), quiet=2)
    except OSError:
        pass


def reusable(path: Path, spec: CaseSpec, process_index: int) -> dict | None:
    """The record at ``path`` when it is valid and measured exactly this spec and process with this
    code (so adding cases to a batch does not re-measure the others, while changed code does
    re-measure them); None otherwise."""
    if not path.exists():
        return None
    try:
        old = record.load_record(path)
    except record.RecordError:
        return None
    case = dict(old["case"])
    if old.get("run", {}).get("code_digest") != metadata.package_digest():
        return None
    same = case.get("process_index") == process_index and all(
        case.get(k) == v for k, v in json.loads(json.dumps(asdict(spec))).items())
    return old if same else None


def units(items: list[dict]) -> list[list[tuple[dict, CaseSpec]]]:
    """The batch's cases as measuring units, in sweep order: the runnable cases of one point
    (``CaseSpec.pairing_group``) together when interleaved, every other case alone."""
    units: dict = {}
    for item in items:
        spec = CaseSpec.from_json(item["spec"])
        together = item["runs"] and item["skip_reason"] is None and spec.isolation == "interleaved"
        key = spec.pairing_group() if together else ("alone", spec.case_id)
        units.setdefault(key, []).append((item, spec))
    return list(units.values())


def measure_unit(unit: list[tuple[dict, CaseSpec]], process_index: int,
                 allocated_cpus: int | None = None) -> list[dict]:
    """Measure process ``process_index`` of one unit (``units``), reusing its records when every
    one of them is on disk for this exact spec and code; write each new record atomically. Returns
    the manifest rows."""
    paths = [Path(item["path"].format(process=process_index)) for item, _ in unit]
    t0 = time.perf_counter()
    old = [reusable(p, spec, process_index) for p, (_, spec) in zip(paths, unit, strict=True)]
    reused = all(r is not None for r in old)
    if reused:
        recs = old
    else:  # paired records must come from one process: a unit is measured whole or not at all
        recs = run_group([s for _, s in unit], [i["skip_reason"] for i, _ in unit], allocated_cpus,
                         process_index)
        for rec, path in zip(recs, paths, strict=True):
            write_record(rec, path)
    wall = (time.perf_counter() - t0) / len(unit)
    return [{"case_id": spec.case_id, "path": str(path), "status": rec["status"], "reason": rec["reason"],
             "reused": reused, "wall_s": wall,
             "rounds": len((rec.get("timing") or {}).get("samples_s") or []) or None}
            for rec, path, (_, spec) in zip(recs, paths, unit, strict=True)]


def unit_label(unit: list[tuple[dict, CaseSpec]]) -> str:
    """A unit for a person: ``distances n=1000 d=50 float32 t1 (8 methods)`` or the one method."""
    spec = unit[0][1]
    params = " ".join(f"{k}={v}" for k, v in spec.params.items())
    what = f"({len(unit)} methods)" if len(unit) > 1 else spec.method
    return " ".join(filter(None, [spec.family, what, params, spec.dtype, f"t{spec.threads}", spec.backend]))


def run_batch(cases: list[dict], process_index: int, out: str | os.PathLike,
              allocated_cpus: int | None = None, host_id: str | None = None, progress=None) -> dict:
    """Measure process ``process_index`` of every case in a batch (``measure_unit`` per unit), writing
    each record atomically as soon as it exists; then write the batch's manifest (what ran, how it
    ended). A unit whose valid records for this exact spec, measured by this code, are already on
    disk is reused, not re-measured.
    """
    if host_id:
        os.environ["NUMPERF_HOST_ID"] = host_id
    _compile_package()
    measure.wait_for_quiet()
    todo = [item for item in cases if process_index < (CaseSpec.from_json(item["spec"]).processes
                                                        if item["runs"] else 1)]
    rows = []
    for unit in units(todo):
        if progress:
            progress.start(f"process {process_index + 1}: {unit_label(unit)}")
        new = measure_unit(unit, process_index, allocated_cpus)
        rows += new
        if progress:
            statuses = sorted({r["status"] for r in new})
            progress.done(len(new), "reused" if all(r["reused"] for r in new) else "+".join(statuses),
                          rounds=max((r["rounds"] or 0 for r in new), default=0) or None)
    if progress:
        progress.finish()
    manifest = {"schema": "numperf.batch/1", "process_index": process_index, "cases": rows,
                "host_id": metadata.host_id(), "end_utc": datetime.now(UTC).isoformat()}
    record.write_json(out, manifest)
    return manifest

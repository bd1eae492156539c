"""Sweep configuration: validation (schema + meaning) and expansion into cases.

``load`` refuses a bad config before any job starts, with one line per problem naming
the key, the offending value and what is allowed. ``expand_cases`` turns a valid config
into the list of cases the workflow runs, each with its record path, its scheduler
resources and its exact ``numperf run-case`` arguments.
"""

from __future__ import annotations

import copy
import math
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from numperf import backends, inputs, metadata, methods
from numperf.runner import CaseSpec

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
#: Resident memory of an idle case process (interpreter, numpy, BLAS buffers), for mem_mb.
INTERPRETER_BASELINE_BYTES = 300 * 10**6
#: Safety margin on the modelled peak when asking a scheduler for memory.
MEM_MARGIN = 1.25
#: Deliberately pessimistic throughput used only to size runtime requests.
PESSIMISTIC_FLOPS_PER_S = 2e8
#: Folders numperf itself writes under results/; a host id must not collide with them.
RESERVED_HOST_IDS = metadata.RESERVED_HOST_IDS


class ConfigError(ValueError):
    """An invalid configuration; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "config"):
        self.problems = problems
        super().__init__(f"invalid {source}:\n" + "\n".join(f"  - {p}" for p in problems))


def _schema() -> dict:
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    schema["properties"]["methods"]["items"]["enum"] = list(methods.METHODS)
    schema["properties"]["backends"]["items"]["enum"] = list(backends.REGISTRY)
    schema["properties"]["inputs"]["items"]["enum"] = list(inputs.DISTRIBUTIONS)
    return schema


def _fill_defaults(cfg: dict, schema: dict) -> None:
    for key, prop in schema.get("properties", {}).items():
        if "default" in prop and key not in cfg:
            cfg[key] = copy.deepcopy(prop["default"])


def _path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _validator(schema: dict):
    """Draft 2020-12 with two stricter types, so a value that validates can also run: 7.0 is not
    an integer (it reaches argparse as '7.0') and nan/inf are not numbers (no time limit or budget
    can be infinite)."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many({
        "integer": lambda _, v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda _, v: (isinstance(v, int | float) and not isinstance(v, bool)
                                and math.isfinite(v)),
    })
    return jsonschema.validators.extend(base, type_checker=checker)(schema)


def _schema_problems(cfg: dict, schema: dict) -> list[str]:
    validator = _validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path))):
        if err.validator == "type" and isinstance(err.instance, float):
            kinds = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            what = "a whole number" if math.isfinite(err.instance) else "a finite number"
            allowed = " or ".join("finite number" if k == "number" else str(k) for k in kinds)
            problems.append(f"{_path(err)}: {err.instance!r} is not {what}; allowed: {allowed}")
        elif err.validator == "enum":
            allowed = ", ".join(map(str, err.validator_value))
            problems.append(f"{_path(err)}: {err.instance!r} is not allowed; allowed: {allowed}")
        elif err.validator == "additionalProperties":
            known = ", ".join(err.schema.get("properties", {})) or "(none)"
            problems.append(f"{_path(err)}: {err.message}; known keys: {known}")
        else:
            problems.append(f"{_path(err)}: {err.message}")
    return problems


def _exclusion_matches(rule: dict, spec: CaseSpec) -> bool:
    return all([
        rule.get("method", spec.method) == spec.method,
        rule.get("dtype", spec.dtype) == spec.dtype,
        rule.get("backend", spec.backend) == spec.backend,
        rule.get("threads", spec.threads) == spec.threads,
        rule.get("inputs", spec.inputs) == spec.inputs,
        spec.n > rule.get("n_above", -1),
        spec.d > rule.get("d_above", -1),
    ])


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask), which is what the scheduler can hand out."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _unrunnable_problems(cfg: dict, cases: list) -> list[str]:
    """Values the schema accepts but no run can use: reserved host ids, repeated sizes or
    comparisons, a comparison of a selection with itself, a budget that skips every case."""
    problems = []
    if cfg["host_id"] in RESERVED_HOST_IDS:
        problems.append(f"host_id: {cfg['host_id']!r} is a folder numperf writes under results/; allowed: "
                        f"any other label (not {', '.join(sorted(RESERVED_HOST_IDS))})")
    seen = {}
    for i, size in enumerate(cfg["sizes"]):
        key = (size["n"], size.get("m", size["n"]), size["d"])
        if key in seen:
            problems.append(f"sizes.{i}: {size} is the same case size as sizes.{seen[key]}; "
                            "allowed: each (n, m, d) once")
        seen.setdefault(key, i)
    labels = {}
    for i, comp in enumerate(cfg["comparisons"]):
        a, b = ({"host_id": None, **comp[s]} for s in ("a", "b"))
        if a == b:
            problems.append(f"comparisons.{i}: a and b are the same selection {comp['a']}; allowed: two "
                            "different (backend, host_id) selections")
        label = (tuple(sorted(a.items())), tuple(sorted(b.items())))
        if label in labels:
            problems.append(f"comparisons.{i}: repeats comparisons.{labels[label]}; allowed: each pair once")
        labels.setdefault(label, i)
    measured = [c for c in cases if c.skip_reason is None]
    budget = memory_budget_bytes(cfg)
    if measured and all(c.spec.model().peak_bytes > budget for c in measured):
        need = min(c.spec.model().peak_bytes for c in measured)
        if cfg["memory_budget_mb"] is not None:
            key, least = "memory_budget_mb", f"{math.ceil(need / 1e5) / 10:g}"
        else:
            key, least = "memory_budget_fraction", f"{need / metadata.mem_total_bytes():.2g}"
        problems.append(f"{key}: {cfg[key]} gives a budget of {budget / 1e6:.3g} MB, below the modelled "
                        f"peak of every case (smallest {need / 1e6:.3g} MB), so nothing would be measured; "
                        f"allowed: at least {least}")
    return problems


def _meaning_problems(cfg: dict) -> list[str]:
    problems = []
    sampling_s = cfg["min_sample_time_s"] * (cfg["repeats"] + cfg["warmup"] + 2)
    if sampling_s >= cfg["time_limit_s"]:
        problems.append(f"min_sample_time_s: {cfg['min_sample_time_s']} s per sample over {cfg['repeats']} "
                        f"repeats (+ warm-up and calibration) needs {sampling_s:g} s, not less than "
                        f"time_limit_s {cfg['time_limit_s']}; allowed: below "
                        f"{cfg['time_limit_s'] / (cfg['repeats'] + cfg['warmup'] + 2):.3g} s")
    cores = usable_cpus()
    if not cfg["allow_oversubscription"]:
        for t in cfg["threads"]:
            if t > cores:
                problems.append(f"threads: {t} exceeds the {cores} CPUs this process may use; "
                                f"allowed: 1..{cores} (set allow_oversubscription: true to measure "
                                "oversubscription)")
    ram = metadata.mem_total_bytes()
    if cfg["memory_budget_mb"] is not None and cfg["memory_budget_mb"] * 1e6 > ram:
        problems.append(f"memory_budget_mb: {cfg['memory_budget_mb']} exceeds physical memory "
                        f"({ram / 1e6:.0f} MB); allowed: up to {ram / 1e6:.0f}")
    for name, params in cfg["method_params"].items():
        if name not in methods.METHODS:
            problems.append(f"method_params.{name}: unknown method; known: {', '.join(methods.METHODS)}")
            continue
        for key in params:
            if key not in methods.METHODS[name].params:
                allowed = ", ".join(methods.METHODS[name].params) or "(none)"
                problems.append(f"method_params.{name}.{key}: {name} takes no such parameter; "
                                f"allowed: {allowed}")
    if cfg["baseline_method"] is None:
        cfg["baseline_method"] = "gemm_trick" if "gemm_trick" in cfg["methods"] else cfg["methods"][0]
    if cfg["baseline_method"] not in cfg["methods"]:
        problems.append(f"baseline_method: {cfg['baseline_method']!r} is not in methods; allowed: "
                        f"{', '.join(cfg['methods'])}")
    cases = []
    if not problems:
        try:
            cases = _cases(cfg, "check")
        except ValueError as exc:  # CaseSpec refuses what the schema cannot express
            problems.append(f"a case of this sweep cannot run: {exc}")
    specs = [c.spec for c in cases]
    problems += _unrunnable_problems(cfg, cases)
    for i, rule in enumerate(cfg["exclude"]):
        for key, allowed in (("method", cfg["methods"]), ("dtype", cfg["dtypes"]),
                             ("backend", cfg["backends"]), ("threads", cfg["threads"]),
                             ("inputs", cfg["inputs"])):
            if key in rule and rule[key] not in allowed:
                problems.append(f"exclude.{i}.{key}: {rule[key]!r} is not in the sweep, so this exclusion "
                                f"can never apply; the sweep has: {', '.join(map(str, allowed))}")
        if specs and not any(_exclusion_matches(rule, s) for s in specs):
            problems.append(f"exclude.{i}: {rule} matches no case of the sweep (impossible exclusion)")
    for i, comp in enumerate(cfg["comparisons"]):
        for side in ("a", "b"):
            if comp[side]["backend"] not in backends.REGISTRY:
                problems.append(f"comparisons.{i}.{side}.backend: {comp[side]['backend']!r} is not "
                                f"a known backend; known: {', '.join(backends.REGISTRY)}")
    return problems


def load(cfg: dict | str | os.PathLike, source: str | None = None) -> dict:
    """Validate a config (dict or YAML path) and return it with defaults filled in."""
    if not isinstance(cfg, dict):
        source = source or str(cfg)
        try:
            cfg = yaml.safe_load(Path(cfg).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError([f"cannot read it: {exc}"], source) from None
        if not isinstance(cfg, dict):
            raise ConfigError(["<top level>: must be a mapping of keys to values"], source)
    cfg = copy.deepcopy(cfg)
    schema = _schema()
    _fill_defaults(cfg, schema)
    problems = _schema_problems(cfg, schema)
    if not problems:
        problems = _meaning_problems(cfg)
    if problems:
        raise ConfigError(problems, source or "config")
    return cfg


def memory_budget_bytes(cfg: dict) -> int:
    """The per-case memory budget: configured MB, or a fraction of physical memory."""
    if cfg["memory_budget_mb"] is not None:
        return int(cfg["memory_budget_mb"] * 1e6)
    return int(cfg["memory_budget_fraction"] * metadata.mem_total_bytes())


@dataclass(frozen=True)
class Case:
    """One case of the sweep with everything the workflow needs to schedule it."""

    spec: CaseSpec
    host_id: str
    skip_reason: str | None
    mem_mb: int
    runtime_min: int
    path: str

    @property
    def case_id(self) -> str:
        return self.spec.case_id

    @property
    def process_paths(self) -> list[str]:
        """One record per measuring process; a case that is only recorded as skipped has one."""
        count = self.spec.processes if self.runs else 1
        return [self.path.format(process=k) for k in range(count)]

    @property
    def runs(self) -> bool:
        """False when the case is only recorded as skipped (excluded or over the memory budget)."""
        budget = self.spec.mem_budget_bytes
        return self.skip_reason is None and (not budget or self.spec.model().peak_bytes <= budget)

    @property
    def cli_args(self) -> str:
        """Shell-quoted ``numperf run-case`` arguments (no config string reaches a shell unquoted)."""
        s = self.spec
        args = ["--host-id", self.host_id, "--method", s.method, "--n", s.n, "--m", s.m, "--d", s.d,
                "--dtype", s.dtype, "--threads", s.threads, "--backend", s.backend, "--repeats", s.repeats,
                "--warmup", s.warmup, "--seed", s.seed, "--accuracy-rows", s.accuracy_rows,
                "--inputs", s.inputs, "--processes", s.processes,
                "--min-sample-time-s", s.min_sample_time_s,
                "--time-limit-s", s.time_limit_s, "--mem-budget-mb", s.mem_budget_bytes / 1e6]
        args += ["--loops", s.loops] if s.loops else []
        for key, value in sorted(s.params.items()):
            args += [f"--{key.replace('_', '-')}", value]
        if self.skip_reason:
            args += ["--skip-reason", self.skip_reason]
        return shlex.join(map(str, args))


def _cases(cfg: dict, host_id: str) -> list[Case]:
    budget = memory_budget_bytes(cfg)
    out = []
    for backend in cfg["backends"]:
        for size in cfg["sizes"]:
            for dtype in cfg["dtypes"]:
                for threads in cfg["threads"]:
                    for dist in cfg["inputs"]:
                        for method in cfg["methods"]:
                            out.append(_case(cfg, host_id, budget, backend, size, dtype, threads, dist,
                                             method))
    return out


def _case(cfg, host_id, budget, backend, size, dtype, threads, dist, method) -> Case:
    spec = CaseSpec(method=method, n=size["n"], m=size.get("m"), d=size["d"], dtype=dtype,
                    threads=threads, backend=backend, repeats=cfg["repeats"], warmup=cfg["warmup"],
                    seed=cfg["seed"], inputs=dist, processes=cfg["processes"],
                    min_sample_time_s=float(cfg["min_sample_time_s"]), loops=cfg["loops"],
                    params=dict(cfg["method_params"].get(method, {})),
                    accuracy_rows=cfg["accuracy_rows"], time_limit_s=float(cfg["time_limit_s"]),
                    mem_budget_bytes=budget)
    skip = None
    for rule in cfg["exclude"]:
        if _exclusion_matches(rule, spec):
            skip = "excluded: " + rule.get("reason", ", ".join(f"{k}={v}" for k, v in rule.items()))
            break
    model = spec.model()
    runs = model.peak_bytes <= budget and skip is None
    mem_mb = math.ceil((INTERPRETER_BASELINE_BYTES + (model.peak_bytes * MEM_MARGIN if runs else 0)) / 1e6)
    flops = methods.get(method).flops(spec.n, spec.m, spec.d)
    # one process: start-up, warm-up, loop calibration, samples of at least min_sample_time_s, checks
    expected_s = (30 + flops * (spec.repeats + spec.warmup + 4) / PESSIMISTIC_FLOPS_PER_S
                  + 2 * spec.repeats * spec.min_sample_time_s)
    runtime_min = max(2, math.ceil(min(expected_s, spec.time_limit_s + 60) / 60)) if runs else 2
    path = f"results/{host_id}/{backend}/records/{spec.case_id}/p{{process}}.json"
    return Case(spec, host_id, skip, mem_mb, runtime_min, path)


def expand_cases(cfg: dict, host_id: str) -> dict[str, Case]:
    """All cases of a validated config, keyed by case id, in sweep order."""
    return {c.case_id: c for c in _cases(cfg, host_id)}

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

from numperf import backends, metadata, methods
from numperf.runner import CaseSpec

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
#: Resident memory of an idle case process (interpreter, numpy, BLAS buffers), for mem_mb.
INTERPRETER_BASELINE_BYTES = 300 * 10**6
#: Safety margin on the modelled peak when asking a scheduler for memory.
MEM_MARGIN = 1.25
#: Deliberately pessimistic throughput used only to size runtime requests.
PESSIMISTIC_FLOPS_PER_S = 2e8


class ConfigError(ValueError):
    """An invalid configuration; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "config"):
        self.problems = problems
        super().__init__(f"invalid {source}:\n" + "\n".join(f"  - {p}" for p in problems))


def _schema() -> dict:
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    schema["properties"]["methods"]["items"]["enum"] = list(methods.METHODS)
    schema["properties"]["backends"]["items"]["enum"] = list(backends.REGISTRY)
    return schema


def _fill_defaults(cfg: dict, schema: dict) -> None:
    for key, prop in schema.get("properties", {}).items():
        if "default" in prop and key not in cfg:
            cfg[key] = copy.deepcopy(prop["default"])


def _path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _schema_problems(cfg: dict, schema: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path))):
        if err.validator == "enum":
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
        spec.n > rule.get("n_above", -1),
        spec.d > rule.get("d_above", -1),
    ])


def _meaning_problems(cfg: dict) -> list[str]:
    problems = []
    cores = os.cpu_count() or 1
    if not cfg["allow_oversubscription"]:
        for t in cfg["threads"]:
            if t > cores:
                problems.append(f"threads: {t} exceeds this machine's {cores} cores; allowed: 1..{cores} "
                                "(set allow_oversubscription: true to measure oversubscription)")
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
    specs = [c.spec for c in _cases(cfg, "check")] if not problems else []
    for i, rule in enumerate(cfg["exclude"]):
        for key, allowed in (("method", cfg["methods"]), ("dtype", cfg["dtypes"]),
                             ("backend", cfg["backends"]), ("threads", cfg["threads"])):
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
                "--time-limit-s", s.time_limit_s, "--mem-budget-mb", s.mem_budget_bytes / 1e6]
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
                    for method in cfg["methods"]:
                        out.append(_case(cfg, host_id, budget, backend, size, dtype, threads, method))
    return out


def _case(cfg, host_id, budget, backend, size, dtype, threads, method) -> Case:
    spec = CaseSpec(method=method, n=size["n"], m=size.get("m"), d=size["d"], dtype=dtype,
                    threads=threads, backend=backend, repeats=cfg["repeats"], warmup=cfg["warmup"],
                    seed=cfg["seed"], params=dict(cfg["method_params"].get(method, {})),
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
    expected_s = 30 + flops * (spec.repeats + spec.warmup + 2) / PESSIMISTIC_FLOPS_PER_S
    runtime_min = max(2, math.ceil(min(expected_s, spec.time_limit_s + 60) / 60)) if runs else 2
    path = f"results/{host_id}/{backend}/records/{spec.case_id}.json"
    return Case(spec, host_id, skip, mem_mb, runtime_min, path)


def expand_cases(cfg: dict, host_id: str) -> dict[str, Case]:
    """All cases of a validated config, keyed by case id, in sweep order."""
    return {c.case_id: c for c in _cases(cfg, host_id)}

"""Sweep configuration: validation (schema + meaning) and expansion into cases.

``load`` refuses a bad config before any job starts, with one line per problem naming
the key, the offending value and what is allowed. ``expand_cases`` turns a valid config
into the list of cases the workflow runs, each with its record path, its scheduler
resources and its exact ``numperf run-case`` arguments.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from numperf import backends, family, metadata
from numperf.runner import CaseSpec

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
#: Resident memory of an idle case process (interpreter, numpy, BLAS buffers), for mem_mb.
INTERPRETER_BASELINE_BYTES = 300 * 10**6
#: Safety margin on the modelled peak when asking a scheduler for memory.
MEM_MARGIN = 1.25
#: Deliberately pessimistic throughputs used only to size runtime requests.
PESSIMISTIC_FLOPS_PER_S = 2e8
PESSIMISTIC_BYTES_PER_S = 2e8
#: Folders numperf itself writes under results/; a host id must not collide with them.
RESERVED_HOST_IDS = metadata.RESERVED_HOST_IDS


class ConfigError(ValueError):
    """An invalid configuration; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "config"):
        self.problems = problems
        super().__init__(f"invalid {source}:\n" + "\n".join(f"  - {p}" for p in problems))


def _values(schema: dict) -> dict:
    """A parameter given as one value or as a list of values (crossed)."""
    return {"oneOf": [schema, {"type": "array", "minItems": 1, "uniqueItems": True, "items": schema}]}


def family_block_schema(fam: family.Family) -> dict:
    """The config block of one family, derived from its declaration."""
    params = {p.name: _values(p.schema()) for p in fam.params}
    methods = {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(fam.methods)}}
    dtypes = {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(fam.dtypes)}}
    threads = {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "integer",
                                                                              "minimum": 1}}
    numeric = [p for p in fam.params if p.kind in ("int", "float")]
    exclude = {"method": {"enum": list(fam.methods)}, "dtype": {"enum": list(fam.dtypes)},
               "backend": {"type": "string"}, "threads": {"type": "integer", "minimum": 1},
               "reason": {"type": "string"}, **{p.name: p.schema() for p in fam.params},
               **{f"{p.name}_above": {"type": "number"} for p in numeric}}
    options = {name: {"type": "object", "additionalProperties": False,
                      "properties": {o.name: o.schema() for o in m.options}}
               for name, m in fam.methods.items()}
    return {
        "type": "object", "additionalProperties": False, "description": fam.description,
        "properties": {
            "methods": methods,
            "dtypes": dtypes,
            "threads": threads,
            "grid": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False,
                "properties": {**params, "methods": methods, "dtypes": dtypes, "threads": threads}}},
            "method_params": {"type": "object", "additionalProperties": False, "properties": options},
            "exclude": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                   "minProperties": 1, "properties": exclude}},
            "baseline": {"enum": list(fam.methods)},
            **params,
        },
    }


def _schema() -> dict:
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    fams = family.registry()
    schema["properties"]["families"]["properties"] = {name: family_block_schema(f) for name,
                                                      f in fams.items()}
    schema["properties"]["dtypes"]["items"]["enum"] = sorted({d for f in fams.values() for d in f.dtypes})
    schema["properties"]["backends"]["items"]["enum"] = list(backends.REGISTRY)
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


def _describe(schema: dict) -> str:
    """What a (parameter) schema allows, in words."""
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    bounds = "".join(f" {op} {schema[k]:g}" for k, op in (("minimum", ">="), ("maximum", "<="))
                     if k in schema)
    kind = "a whole number" if schema.get("type") == "integer" else f"a {schema.get('type')}"
    return f"{kind}{bounds}"


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
        elif err.validator == "oneOf":
            one = _describe(err.validator_value[0])
            problems.append(f"{_path(err)}: {err.instance!r} is not allowed; allowed: {one}, or a list "
                            "of such values")
        elif err.validator == "additionalProperties":
            known = ", ".join(err.schema.get("properties", {})) or "(none)"
            problems.append(f"{_path(err)}: {err.message}; known keys: {known}")
        else:
            problems.append(f"{_path(err)}: {err.message}")
    return problems


def _exclusion_matches(rule: dict, spec: CaseSpec) -> bool:
    """All of the rule's fields match: equality for method, dtype, backend, threads and parameters;
    ``<param>_above`` for a parameter larger than the value."""
    for key, want in rule.items():
        if key == "reason":
            continue
        if key.endswith("_above") and key[: -len("_above")] in spec.params:
            if not spec.params[key[: -len("_above")]] > want:
                return False
        elif key in spec.params:
            if spec.params[key] != want:
                return False
        elif getattr(spec, key) != want:
            return False
    return True


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask), which is what the scheduler can hand out."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _unrunnable_problems(cfg: dict, cases: list) -> list[str]:
    """Values the schema accepts but no run can use: reserved host ids, repeated comparisons, a
    comparison of a selection with itself, a budget that skips every case."""
    problems = []
    if cfg["host_id"] in RESERVED_HOST_IDS:
        problems.append(f"host_id: {cfg['host_id']!r} is a folder numperf writes under results/; allowed: "
                        f"any other label (not {', '.join(sorted(RESERVED_HOST_IDS))})")
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


def _block_problems(cfg: dict, name: str, block: dict) -> list[str]:
    """What a family block's schema cannot say: dtypes left after filtering, method options, a
    baseline that is not run, exclusions that can never apply."""
    fam = family.get(name)
    key = f"families.{name}"
    problems = []
    if not block.get("dtypes") and cfg.get("dtypes") and not _block_dtypes(cfg, fam, block):
        problems.append(f"{key}.dtypes: none of the global dtypes ({', '.join(cfg['dtypes'])}) is one "
                        f"{name} accepts; set {key}.dtypes, allowed: {', '.join(fam.dtypes)}")
    methods = _block_methods(fam, block)
    if block.get("baseline") and block["baseline"] not in methods:
        problems.append(f"{key}.baseline: {block['baseline']!r} is not run by this block; allowed: "
                        f"{', '.join(methods)}")
    for i, rule in enumerate(block.get("exclude", [])):
        for k in rule:
            if k.endswith("_above") or k == "reason":
                continue
            if k == "method" and rule[k] not in methods:
                problems.append(f"{key}.exclude.{i}.method: {rule[k]!r} is not run by this block, so this "
                                f"exclusion can never apply; run: {', '.join(methods)}")
    return problems


def _block_dtypes(cfg: dict, fam: family.Family, block: dict) -> list[str]:
    """A block's dtypes: its own, else the global ones the family accepts, else the family's."""
    if block.get("dtypes"):
        return list(block["dtypes"])
    if cfg.get("dtypes"):
        return [d for d in cfg["dtypes"] if d in fam.dtypes]
    return list(fam.dtypes)


def _block_methods(fam: family.Family, block: dict) -> list[str]:
    return list(block.get("methods") or [m for m in fam.methods if m not in fam.optional_methods])


def _meaning_problems(cfg: dict) -> list[str]:
    problems = []
    sampling_s = cfg["min_sample_time_s"] * (cfg["repeats"] + cfg["warmup"] + 2)
    if sampling_s >= cfg["time_limit_s"]:
        problems.append(f"min_sample_time_s: {cfg['min_sample_time_s']} s per sample over {cfg['repeats']} "
                        f"repeats (+ warm-up and calibration) needs {sampling_s:g} s, not less than "
                        f"time_limit_s {cfg['time_limit_s']}; allowed: below "
                        f"{cfg['time_limit_s'] / (cfg['repeats'] + cfg['warmup'] + 2):.3g} s")
    cores = usable_cpus()
    threads = set(cfg["threads"]) | {t for b in cfg["families"].values() for t in b.get("threads", [])}
    if not cfg["allow_oversubscription"]:
        for t in sorted(threads):
            if t > cores:
                problems.append(f"threads: {t} exceeds the {cores} CPUs this process may use; "
                                f"allowed: 1..{cores} (set allow_oversubscription: true to measure "
                                "oversubscription)")
    ram = metadata.mem_total_bytes()
    if cfg["memory_budget_mb"] is not None and cfg["memory_budget_mb"] * 1e6 > ram:
        problems.append(f"memory_budget_mb: {cfg['memory_budget_mb']} exceeds physical memory "
                        f"({ram / 1e6:.0f} MB); allowed: up to {ram / 1e6:.0f}")
    for name, block in cfg["families"].items():
        problems += _block_problems(cfg, name, block)
    cases = []
    if not problems:
        try:
            cases = _cases(cfg, "check")
        except ValueError as exc:  # CaseSpec refuses what the schema cannot express
            problems.append(str(exc))
    problems += _unrunnable_problems(cfg, cases)
    for name, block in cfg["families"].items():
        specs = [c.spec for c in cases if c.spec.family == name]
        for i, rule in enumerate(block.get("exclude", [])):
            if specs and not any(_exclusion_matches(rule, s) for s in specs):
                problems.append(f"families.{name}.exclude.{i}: {rule} matches no case of the sweep "
                                "(impossible exclusion)")
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
    explicit_cap = "max_processes" in cfg
    schema = _schema()
    _fill_defaults(cfg, schema)
    problems = _schema_problems(cfg, schema)
    if not problems and explicit_cap and cfg["max_processes"] < cfg["processes"]:
        problems.append(f"max_processes: {cfg['max_processes']} is below processes ({cfg['processes']}); "
                        f"allowed: {cfg['processes']}..100 (equal to processes: no adaptive replication)")
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
class PlannedCase:
    """One case of the sweep with everything the workflow needs to schedule it."""

    spec: CaseSpec
    host_id: str
    skip_reason: str | None
    mem_mb: int
    runtime_s: float
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

    def to_json(self) -> dict:
        """What a batch of the workflow needs to run (or record as skipped) this case."""
        return {"case_id": self.case_id, "spec": self.spec.to_json(), "skip_reason": self.skip_reason,
                "path": self.path, "runs": self.runs}


def _point_values(fam: family.Family, block: dict, point: dict) -> list[dict]:
    """Every parameter combination of one grid point: block-level values, overridden by the point's,
    lists crossed."""
    values = {p: block[p] for p in fam.param_names if p in block}
    values.update({k: v for k, v in point.items() if k not in ("methods", "dtypes", "threads")})
    keys = list(values)
    lists = [v if isinstance(v, list) else [v] for v in values.values()]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*lists)]


def _cases(cfg: dict, host_id: str) -> list[PlannedCase]:
    budget = memory_budget_bytes(cfg)
    out, seen = [], {}
    for name, block in cfg["families"].items():
        fam = family.get(name)
        methods = _block_methods(fam, block)
        dtypes = _block_dtypes(cfg, fam, block)
        threads = block.get("threads") or cfg["threads"]
        for g, point in enumerate(block.get("grid") or [{}]):
            for params, backend, dtype, t in itertools.product(_point_values(fam, block, point),
                                                               cfg["backends"],
                                                               point.get("dtypes", dtypes),
                                                               point.get("threads", threads)):
                for method in point.get("methods", methods):
                    case = _case(cfg, host_id, budget, name, block, method, params, dtype, t, backend)
                    where = f"families.{name}.grid.{g}" if block.get("grid") else f"families.{name}"
                    if case.case_id in seen:
                        raise ValueError(f"{where}: repeats case {case.case_id} of {seen[case.case_id]}; "
                                         "allowed: each case once")
                    seen[case.case_id] = where
                    out.append(case)
    return out


def _case(cfg, host_id, budget, name, block, method, params, dtype, threads, backend) -> PlannedCase:
    try:
        spec = CaseSpec(family=name, method=method, params=params, dtype=dtype, threads=threads,
                        backend=backend, repeats=cfg["repeats"], warmup=cfg["warmup"], seed=cfg["seed"],
                        processes=cfg["processes"], max_processes=max(cfg["processes"], cfg["max_processes"]),
                        isolation=cfg["isolation"], min_sample_time_s=float(cfg["min_sample_time_s"]),
                        timed_s_per_process=float(cfg["timed_s_per_process"]),
                        loops=cfg["loops"], options=dict(block.get("method_params", {}).get(method, {})),
                        time_limit_s=float(cfg["time_limit_s"]), mem_budget_bytes=budget)
    except ValueError as exc:
        raise ValueError(f"families.{name}: {exc}") from None
    skip = None
    for rule in block.get("exclude", []):
        if _exclusion_matches(rule, spec):
            skip = "excluded: " + rule.get("reason", ", ".join(f"{k}={v}" for k, v in rule.items()))
            break
    meth = spec.method_spec
    skip = skip or meth.skip(spec.params, spec.dtype)
    model = spec.model()
    runs = model.peak_bytes <= budget and skip is None
    mem_mb = math.ceil((INTERPRETER_BASELINE_BYTES + (model.peak_bytes * MEM_MARGIN if runs else 0)) / 1e6)
    calls = spec.repeats + spec.warmup + 4
    work_s = ((meth.flops(spec.params, dtype) or 0) / PESSIMISTIC_FLOPS_PER_S
              + (meth.bytes_moved(spec.params, dtype) or 0) / PESSIMISTIC_BYTES_PER_S)
    # one process: start-up, warm-up, loop calibration, samples of at least min_sample_time_s, checks
    expected_s = (2 + work_s * calls + 2 * spec.repeats * spec.min_sample_time_s
                  + 2 * spec.timed_s_per_process)
    runtime_s = min(expected_s, spec.time_limit_s + 10) if runs else 1.0
    path = f"results/{host_id}/{backend}/records/{spec.case_id}/p{{process}}.json"
    return PlannedCase(spec, host_id, skip, mem_mb, runtime_s, path)


def expand_cases(cfg: dict, host_id: str) -> dict[str, PlannedCase]:
    """All cases of a validated config, keyed by case id, in sweep order."""
    return {c.case_id: c for c in _cases(cfg, host_id)}


def baselines(cfg: dict) -> dict[str, str]:
    """Per family of the config: the method speedup.csv divides by: the block's ``baseline``, else
    the family's declared one when the block runs it, else the block's first method (the report
    says so: ``numperf findings``)."""
    out = {}
    for name, block in cfg["families"].items():
        fam = family.get(name)
        methods = _block_methods(fam, block)
        base = block.get("baseline") or (fam.baseline if fam.baseline in methods or not fam.baseline
                                         else methods[0])
        if base:
            out[name] = base
    return out


def batch_id(case: PlannedCase) -> str:
    """The batch a case is measured in: its thread count (one job per backend, batch and round; a
    job's CPU request is its thread count, and every job costs the scheduler and a parent process,
    so the families share batches)."""
    return f"t{case.spec.threads}"


def batches(cases: dict[str, PlannedCase]) -> dict[tuple[str, str], list[PlannedCase]]:
    """Cases grouped by (backend, batch id), in sweep order."""
    out: dict[tuple[str, str], list[PlannedCase]] = {}
    for c in cases.values():
        out.setdefault((c.spec.backend, batch_id(c)), []).append(c)
    return out


def in_round(cases: list[PlannedCase], process: int) -> list[PlannedCase]:
    """The cases a batch's round ``process`` measures (skipped cases are recorded in round 0 only)."""
    return [c for c in cases if process < len(c.process_paths)]


def write_case_file(cases: list[dict], out: str | os.PathLike) -> None:
    """The case list of one batch as JSON (written atomically), for ``numperf run-batch``."""
    from numperf import record

    record.write_json(out, {"schema": "numperf.cases/1", "cases": cases})


def read_case_file(path: str | os.PathLike) -> list[dict]:
    data = json.loads(Path(path).read_text())
    if data.get("schema") != "numperf.cases/1":
        raise ValueError(f"{path}: not a numperf case list (schema {data.get('schema')!r})")
    return data["cases"]

"""Every valid config runs to a report: the analysis steps (tables, findings, claims, figures) over
configs that keep any subset of the families, methods, dtypes and threads of the default sweep.

Each generated config is validated and expanded by ``numperf.config`` like a real one. Every case's
result is computed and checked by its family in this process (``family.run_inline``: the real
kernels and checks, at the smallest size of each grid point); only the timings are made up, so
that hypothesis can try many configs in seconds. The process rows then go through the same
functions as records do (``aggregate.combine`` onwards).
"""

from __future__ import annotations

import copy
import json
import math

import matplotlib.figure
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numperf import aggregate, claims, config, family, findings, plotting
from tests.conftest import REPO

DEFAULT = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
HOST = "h1"
_CHECKS: dict[str, tuple] = {}


def _smallest(block: dict) -> dict:
    """The block with every list of parameter values cut to its first value (the small sizes)."""
    block = copy.deepcopy(block)
    for point in block.get("grid", []):
        for key, value in point.items():
            if isinstance(value, list) and key not in ("methods", "dtypes"):
                point[key] = value[:1]
    return block


def _restrict(name: str, methods: set, dtypes: set, threads: set) -> dict:
    """The default block of ``name`` keeping only these methods, dtypes and threads."""
    block = _smallest(DEFAULT["families"][name])
    fam = family.get(name)
    listed = block.get("methods") or [m for m in fam.methods if m not in fam.optional_methods]
    block["methods"] = [m for m in listed if m in methods] or listed[:1]
    points = []
    for point in block.get("grid", [{}]):
        keep = [m for m in point.get("methods", block["methods"]) if m in block["methods"]]
        if keep:
            points.append({**point, "methods": keep} if "methods" in point else point)
    block["grid"] = points or [{k: v for k, v in block["grid"][0].items() if k != "methods"}]
    own = block.get("dtypes") or [d for d in DEFAULT["dtypes"] if d in fam.dtypes]
    block["dtypes"] = [d for d in own if d in dtypes] or own[:1]
    for point in block["grid"]:
        if "dtypes" in point:
            point["dtypes"] = [d for d in point["dtypes"] if d in block["dtypes"]] or point["dtypes"][:1]
    block["threads"] = sorted(threads)
    block["exclude"] = [r for r in block.get("exclude", []) if r.get("method", block["methods"][0])
                        in block["methods"]]
    if not block["exclude"]:
        block.pop("exclude")
    return block


def _check(case) -> tuple:
    """(max_abs_error, max_rel_error, failed reason, facts) of one case, computed by its family."""
    spec = case.spec
    key = json.dumps([spec.family, spec.method, spec.params, spec.dtype], sort_keys=True, default=str)
    if key not in _CHECKS:
        try:
            _, found = family.run_inline(spec.family, spec.method, spec.params, spec.dtype, spec.threads)
            _CHECKS[key] = (found.max_abs_error, found.max_rel_error, found.failed, found.facts)
        except family.Skip as why:
            _CHECKS[key] = (None, None, f"skipped:{why}", {})
    return _CHECKS[key]


def _process_rows(cases) -> pd.DataFrame:
    """What ``aggregate.flatten`` makes of each process record, with made-up times."""
    rows = []
    for case in cases.values():
        spec, model = case.spec, case.spec.model()
        abs_err, rel_err, failed, facts = _check(case) if case.runs else (None, None, None, {})
        status = "skipped" if not case.runs or (failed or "").startswith("skipped:") else \
            "invalid" if failed else "ok"
        reason = case.skip_reason or (failed.removeprefix("skipped:") if failed else None)
        base = (1e-4 + (hash(spec.method) % 97) * 1e-5) / spec.threads
        for k in range(spec.processes if case.runs else 1):
            t = base * (1 + 0.01 * k)
            rows.append({
                "host_id": HOST, "hostname": "h", "cpu_model": "test CPU", "cores_logical": 2,
                "backend": spec.backend, "blas_internal_api": "openblas", "blas_version": "0.3",
                "blas_architecture": "Haswell", "verified_blas": "openblas", "numpy_version": "2",
                "openblas_coretype": None, "openblas_l2_size": None, "family": spec.family,
                "method": spec.method, "dtype": spec.dtype, "threads": spec.threads,
                **{f"p_{p}": v for p, v in spec.params.items()}, "threads_effective": spec.threads,
                "options": "{}", "processes": spec.processes, "process_index": k, "status": status,
                "reason": reason, "samples_s": [t, t * 1.02, t * 0.99] if status in ("ok", "invalid") else [],
                "loops": 1, "peak_samples_bytes": [model.kernel_peak_bytes] if status == "ok" else [],
                "traced_peak_bytes": model.kernel_peak_bytes if k == 0 and status == "ok" else None,
                "model_peak_bytes": model.kernel_peak_bytes, "model_total_peak_bytes": model.peak_bytes,
                "max_abs_error": abs_err, "max_rel_error": rel_err,
                **{f"check_{n}": v for n, v in facts.items()},
                "flops": spec.method_spec.flops(spec.params, spec.dtype),
                "bytes_moved": spec.method_spec.bytes_moved(spec.params, spec.dtype),
                "interference_wall_s": 1.0, "cpu_capacity_s": 2.0, "other_cpu_s": 0.0, "steal_s": 0.0,
                "involuntary_switches": 0, "slurm_job_id": None, "node": None, "cpus_allocated": None,
                "start_utc": "2026-01-01T00:00:00", "end_utc": "2026-01-01T00:00:01", "git_commit": None,
                "case_id": spec.case_id, "record_path": f"records/{spec.case_id}",
            })
    return pd.DataFrame(rows)


def _calibration(cases) -> pd.DataFrame:
    rows = [{"host_id": HOST, "backend": c.spec.backend, "family": c.spec.family, "threads": c.spec.threads,
             **dict.fromkeys(family.get(c.spec.family).rates, 1e10)} for c in cases.values()
            if family.get(c.spec.family).calibrate is not None]
    return pd.DataFrame(rows).drop_duplicates() if rows else pd.DataFrame(
        columns=["host_id", "backend", "family", "threads"])


def run_analysis(cfg: dict) -> dict:
    """Validate and expand ``cfg``, then build every table, the findings, the claims and every figure
    of its families; returns what was built."""
    cfg = config.load(cfg)
    cases = config.expand_cases(cfg, HOST)
    runs = aggregate.add_roofline(aggregate.combine(_process_rows(cases)), _calibration(cases))
    baselines = config.baselines(cfg)
    data = {"runs": runs, "speedup": aggregate.speedup_table(runs, baselines),
            "scaling": aggregate.scaling_table(runs), "memory": aggregate.memory_table(runs),
            "dtype": aggregate.dtype_table(runs), "failures": aggregate.failures_table(runs)}
    data = {k: pd.read_csv(pd.io.common.StringIO(v.to_csv(index=False))) if not v.empty else v
            for k, v in data.items()}  # as the readers see them: through CSV
    text = findings.to_rst(data)
    verdicts = claims.evaluate(data, claims=claims.registry(family.declared("claims", cfg["families"])))
    drawn = {}
    for name in plotting.for_families(cfg["families"]):
        fig = matplotlib.figure.Figure()
        plotting.FIGURES[name].draw(data, fig)
        drawn[name] = fig
    return {"cfg": cfg, "cases": cases, "tables": data, "findings": text, "claims": verdicts,
            "figures": drawn}


def _assert_report(out: dict) -> None:
    runs, cfg = out["tables"]["runs"], out["cfg"]
    assert len(runs) == len(out["cases"])  # every case is one row
    assert set(runs["family"]) == set(cfg["families"])
    speed = out["tables"]["speedup"]
    for name, base in config.baselines(cfg).items():
        ok = runs[(runs["family"] == name) & (runs["status"] == "ok")]
        if ok["method"].nunique() > 1 and base in set(ok["method"]):
            assert set(speed.loc[speed["family"] == name, "baseline_method"]) == {base}
    assert out["findings"].startswith("Key findings")
    assert set(out["claims"]["family"]) <= set(cfg["families"])
    assert set(out["claims"]["verdict"]) <= set(claims.VERDICTS)
    for name, fig in out["figures"].items():
        assert fig.get_suptitle(), name


def test_a_block_without_the_family_baseline_runs_to_a_report():
    """The issue's case: a distances block that leaves out gemm_trick (the family's baseline)."""
    cfg = {"families": {"distances": {"grid": [{"n": 120, "d": 8}, {"n": 300, "d": 8}],
                                      "methods": ["chunked", "blocked", "tiled_numba"]}}, "threads": [1]}
    out = run_analysis(cfg)
    _assert_report(out)
    assert set(out["tables"]["speedup"]["baseline_method"]) == {"chunked"}
    assert "not the family's baseline ``gemm_trick``" in out["findings"]
    assert "Fastest distance method" in out["findings"]


@st.composite
def configs(draw):
    """A config keeping a subset of the default sweep's families, methods, dtypes and threads."""
    names = draw(st.sets(st.sampled_from(sorted(DEFAULT["families"])), min_size=1, max_size=3))
    threads = draw(st.sets(st.sampled_from([1, 2]), min_size=1))
    blocks = {}
    for name in sorted(names):
        fam = family.get(name)
        methods = draw(st.sets(st.sampled_from(list(fam.methods)), min_size=1, max_size=4))
        dtypes = draw(st.sets(st.sampled_from(list(fam.dtypes)), min_size=1))
        blocks[name] = _restrict(name, methods, dtypes, threads)
    return {"families": blocks, "threads": sorted(threads), "processes": draw(st.sampled_from([2, 3]))}


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_any_subset_of_the_default_sweep_runs_to_a_report(cfg):
    out = run_analysis(cfg)
    _assert_report(out)
    assert all(math.isfinite(v) for v in out["tables"]["runs"]["time_median_s"].dropna())

"""The real Snakemake workflow on a tiny config in a temporary directory.

Most tests read the session's one run of config/tiny.yaml (``tiny_sweep`` in tests/conftest.py,
shared with the report's browser test); the one that re-runs snakemake there works on a copy of it
(``tiny_sweep_copy``), and two hosts merging make runs of their own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, run_numperf, snakemake

pytestmark = pytest.mark.slow  # every test here reads or makes a real snakemake run


def test_sweep_produces_tables_figures_and_a_row_per_case(tiny_sweep):
    work = tiny_sweep.work
    runs = pd.read_csv(work / "results" / "tables" / "runs.csv")
    # 2 sizes x 2 dtypes x 2 threads x 3 methods
    assert len(runs) == 24
    assert set(runs["method"]) == {"broadcast", "gemm_trick", "blocked"}
    assert set(runs["host_id"]) == {"testhost"}
    skipped = runs[runs["status"] == "skipped"]
    assert len(skipped) == 4 and skipped["reason"].str.startswith("excluded:").all()
    ok = runs[runs["status"] == "ok"]
    assert len(ok) == 20
    assert ok["time_median_s"].gt(0).all()
    # below ~1 MB, allocations come from heap pages that are already resident: RSS cannot see them
    big = ok[ok["model_peak_bytes"] > 1e6]
    assert len(big) >= 4 and big["peak_rss_bytes"].gt(0.5 * big["model_peak_bytes"]).all()
    assert ok["roofline_fraction"].between(0, 1.5).all()
    assert ok["blas_internal_api"].eq("openblas").all()
    # every ok case was measured by both of its processes; the interval brackets the median
    assert ok["n_processes"].eq(2).all() and ok["loops"].ge(1).all()
    assert (ok["time_ci_low_s"] <= ok["time_median_s"]).all()
    assert (ok["time_median_s"] <= ok["time_ci_high_s"]).all()
    assert {"time_rel_dispersion", "other_cpu_fraction", "steal_fraction", "noisy_reason"} <= set(runs)
    assert (ok["noisy"] == ok["noisy_reason"].notna()).all()
    for name in ("speedup", "scaling", "memory", "dtype", "failures"):
        assert (work / "results" / "tables" / f"{name}.csv").stat().st_size > 0
    hosts = pd.read_csv(work / "results" / "tables" / "hosts.csv")
    assert set(hosts["host_id"]) == {"testhost"} and "wheel" in set(hosts["backend"])
    assert hosts.loc[hosts["backend"] == "wheel", "available"].all()
    assert hosts.loc[~hosts["available"], "reason"].str.len().gt(0).all()
    scaling = pd.read_csv(work / "results" / "tables" / "scaling.csv")
    assert set(scaling["threads"]) == {1, 2}
    assert (work / "results" / "tables" / "runs.parquet").exists()
    from numperf import plotting as figures

    for name in figures.for_families(["distances"]):  # tiny runs the distances only
        fig = figures.FIGURES[name]
        assert (work / "results" / "figures" / f"{name}.svg").exists()
        if fig.family == "distances":
            assert (work / "results" / "figures" / f"{name}.png").stat().st_size > 10_000


def test_processes_run_in_rounds_spread_over_the_sweep(tiny_sweep):
    work = tiny_sweep.work
    records = work / "results" / "testhost" / "wheel" / "records"
    starts = {}
    for path in records.glob("*/p*.json"):
        rec = json.loads(path.read_text())
        if rec["status"] != "skipped":
            starts.setdefault(rec["case"]["process_index"], []).append(rec["run"]["start_utc"])
    assert sorted(starts) == [0, 1] and len(starts[0]) == len(starts[1]) == 20
    # every case's first process ran before any case's second one
    assert max(starts[0]) < min(starts[1])
    # a case that is only recorded as skipped has one record, not one per process
    skipped = [p for p in records.iterdir() if json.loads((p / "p0.json").read_text())["status"] == "skipped"]
    assert len(skipped) == 4 and all(not (p / "p1.json").exists() for p in skipped)


def test_second_invocation_does_nothing(tiny_sweep):
    proc = tiny_sweep.snakemake("--configfile", tiny_sweep.config, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_code_change_reruns_the_batches(tiny_sweep, tmp_path):
    """The package's digest is a param of the measuring rules: edit any source file and the next
    run measures again (the batches then re-measure every record older code wrote)."""
    work, env = tiny_sweep.work, tiny_sweep.env
    copy = tmp_path / "repo"
    for part in ("workflow", "scripts"):
        shutil.copytree(REPO / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**env, "PYTHONPATH": str(copy / "scripts")}  # the copy's numperf, ahead of the installed one
    dry = [sys.executable, "-m", "snakemake", "-s", str(copy / "workflow" / "Snakefile"),
           "--directory", str(work), "--configfile", str(work / "tiny.yaml"), "--dry-run", "--cores", "2"]

    def plan() -> str:
        proc = subprocess.run(dry, capture_output=True, text=True, timeout=300, env={**os.environ, **env})
        assert proc.returncode == 0, proc.stderr[-4000:]
        return proc.stdout + proc.stderr

    assert "Nothing to be done" in plan()  # same sources, other path: nothing to redo
    methods_py = copy / "scripts" / "numperf" / "families" / "distances" / "methods" / "seed.py"
    methods_py.write_text(methods_py.read_text() + "\n# an edit\n")
    changed = plan()
    assert "run_batch" in changed and "calibrate" in changed and "params" in changed.lower()


#: Only the tables as target: what the tests below check, without drawing every figure again.
TABLES_ONLY = ("--", "results/tables/runs.csv")


def _measured(work: Path) -> int:
    """Cases the batch manifests say were measured (not reused) in their last run."""
    batches = work / "results" / "testhost" / "wheel" / "batches"
    return sum(not c["reused"] for p in batches.glob("*.json") for c in json.loads(p.read_text())["cases"])


def test_changing_one_parameter_measures_only_the_cases_it_touches(tiny_sweep_copy):
    work, env = tiny_sweep_copy.work, tiny_sweep_copy.env
    cfg = (work / "tiny.yaml").read_text().replace("methods: [broadcast, gemm_trick, blocked]",
                                                    "methods: [broadcast, gemm_trick, blocked, chunked]")
    (work / "more.yaml").write_text(cfg)
    snakemake(work, "--configfile", work / "more.yaml", *TABLES_ONLY, env=env)
    assert _measured(work) == 16  # only the chunked cases: 2 sizes x 2 dtypes x 2 threads x 2 processes
    runs = pd.read_csv(work / "results" / "tables" / "runs.csv")
    assert len(runs) == 32 and (runs["method"] == "chunked").sum() == 8
    # a smaller sweep in the same folder: nothing is measured, and the records it no longer names
    # are still aggregated (they are on disk)
    less = cfg.replace("[broadcast, gemm_trick, blocked, chunked]", "[broadcast, blocked]")
    (work / "less.yaml").write_text(less)
    snakemake(work, "--configfile", work / "less.yaml", *TABLES_ONLY, env=env)
    assert _measured(work) == 0
    assert len(pd.read_csv(work / "results" / "tables" / "runs.csv")) == 32


def test_report_holds_every_figure_and_table(tiny_sweep):
    work = tiny_sweep.work
    html = tiny_sweep.report.read_text()  # built by the fixture as `make report` builds it
    from numperf import plotting as figures

    for name in figures.for_families(["distances"]):  # the figures of the families it ran
        assert f"{name}.png" in html
        assert figures.FIGURES[name].category in html
    assert "creation_times.png" not in html  # no placeholder for a family that did not run
    assert "runs.csv" in html
    # the first page: the key findings written from this run's tables (numperf findings)
    assert (work / "results" / "key_findings.rst").exists() and "Key findings" in html


def test_figures_rebuild_from_stored_records_only(tiny_sweep, tmp_path):
    work = tiny_sweep.work
    stored = tmp_path / "stored"
    shutil.copytree(work / "results", stored / "results",
                    ignore=shutil.ignore_patterns("tables", "figures", "report.html"))
    proc = snakemake(stored, "--configfile", work / "tiny.yaml", "--config", "stored_only=True",
                     env={"NUMPERF_HOST_ID": "elsewhere"})
    out = proc.stdout + proc.stderr
    assert "run_batch" not in out and "calibrate" not in out
    runs = pd.read_csv(stored / "results" / "tables" / "runs.csv")
    assert len(runs) == 24 and set(runs["host_id"]) == {"testhost"}
    assert (stored / "results" / "figures" / "time_vs_n.png").exists()


def test_two_hosts_merge_and_compare(tmp_path):
    """Two real runs with different host ids in one results folder merge and compare."""
    cfg = {"families": {"distances": {"grid": [{"n": 200, "d": 10}], "methods": ["gemm_trick", "blocked"]}},
           "dtypes": ["float64"], "threads": [1], "repeats": 5, "processes": 3, "min_sample_time_s": 0.005}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({**cfg, "host_id": "hostA"}))
    cmp = {"a": {"backend": "wheel", "host_id": "hostA"}, "b": {"backend": "wheel", "host_id": "hostB"}}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({**cfg, "host_id": "hostB", "comparisons": [cmp]}))
    snakemake(tmp_path, "--configfile", tmp_path / "a.yaml")
    snakemake(tmp_path, "--configfile", tmp_path / "b.yaml")
    runs = pd.read_csv(tmp_path / "results" / "tables" / "runs.csv")
    assert sorted(runs["host_id"].unique()) == ["hostA", "hostB"] and len(runs) == 4
    table = pd.read_csv(tmp_path / "results" / "tables" / "compare" / "wheel@hostA_vs_wheel@hostB.csv")
    assert sorted(table["method"]) == ["blocked", "gemm_trick"]
    assert (table["ci_low"] <= table["time_ratio_a_over_b"]).all()
    assert (table["time_ratio_a_over_b"] <= table["ci_high"]).all()
    assert set(table["verdict"]) <= {"A faster", "B faster", "equivalent", "inconclusive"}
    assert table["n_processes_a"].eq(3).all() and table["n_processes_b"].eq(3).all()
    summary = json.loads((tmp_path / "results" / "tables" / "compare"
                          / "wheel@hostA_vs_wheel@hostB.json").read_text())
    assert summary["shared_cases"] == 2 and summary["geomean_ratio_a_over_b"] > 0
    assert summary["geomean_verdict"] in {"A faster", "B faster", "equivalent", "inconclusive"}
    proc = run_numperf("compare", "--results", tmp_path / "results", "--a-backend", "wheel",
                       "--b-backend", "wheel", "--b-host", "hostB", check=False)
    assert proc.returncode == 2 and "name host_id" in proc.stderr  # A is ambiguous: two hosts

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
    assert ok["n_processes"].between(2, 4).all() and ok["loops"].ge(1).all()  # 2 planned, up to 4
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
    assert sorted(starts)[:2] == [0, 1] and len(starts[0]) == len(starts[1]) == 20
    # every case's first process ran before any case's second one, and replication came after both
    assert max(starts[0]) < min(starts[1])
    extra = [t for k, ts in starts.items() if k >= 2 for t in ts]
    assert all(t > max(starts[1]) for t in extra) and max(starts) < 4
    # a case that is only recorded as skipped has one record, not one per process
    skipped = [p for p in records.iterdir() if json.loads((p / "p0.json").read_text())["status"] == "skipped"]
    assert len(skipped) == 4 and all(not (p / "p1.json").exists() for p in skipped)


def test_replication_adds_processes_where_intervals_are_wide_and_says_why_each_case_stopped(tiny_sweep):
    summary = json.loads((tiny_sweep.results / "testhost" / "replication.json").read_text())
    assert summary["target_resolution"] == 0.03 and summary["budget_s"] == 15
    rows = {r["case_id"]: r for r in summary["cases"]}
    records = tiny_sweep.results / "testhost" / "wheel" / "records"
    assert set(rows) == {p.name for p in records.iterdir()}
    for case_id, row in rows.items():
        assert row["stop_reason"] in ("resolved", "cap_reached", "budget_spent", "not_measured", "failed")
        on_disk = len(list((records / case_id).glob("p*.json")))
        if row["stop_reason"] != "not_measured":
            assert row["processes"] == on_disk and 2 <= on_disk <= 4
        if row["stop_reason"] == "cap_reached":
            assert on_disk == 4
    assert summary["spent_s"] <= summary["budget_s"] + 10  # one unit's process may end past it
    assert 0 < summary["timed_share"] < 1
    runs = pd.read_csv(tiny_sweep.tables / "runs.csv")
    ok = runs[runs["status"] == "ok"]
    assert (ok["n_processes"] == ok["case_id"].map(lambda c: rows[c]["processes"])).all()
    speedup = pd.read_csv(tiny_sweep.tables / "speedup.csv")
    assert (speedup["paired_processes"] >= 2).all()  # a point's methods share each process


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


def test_changing_the_sweep_measures_only_the_points_it_touches(tiny_sweep_copy):
    """A new grid point is measured alone; a point's methods share each process, so a method added
    to a point measures that point again, whole (paired records come from one process)."""
    work, env = tiny_sweep_copy.work, tiny_sweep_copy.env
    base = (work / "tiny.yaml").read_text()
    cfg = base.replace("      - {n: 120, d: 8}\n", "      - {n: 120, d: 8}\n      - {n: 200, d: 8}\n")
    assert cfg != base
    (work / "more.yaml").write_text(cfg)
    snakemake(work, "--configfile", work / "more.yaml", *TABLES_ONLY, env=env)
    assert _measured(work) == 24  # the new point: 3 methods x 2 dtypes x 2 threads x 2 processes
    runs = pd.read_csv(work / "results" / "tables" / "runs.csv")
    assert len(runs) == 36 and (runs["p_n"] == 200).sum() == 12
    # a smaller sweep in the same folder: nothing is measured (each record is still this spec's), and
    # the records it no longer names are still aggregated (they are on disk)
    less = base.replace("[broadcast, gemm_trick, blocked]", "[broadcast, blocked]")
    (work / "less.yaml").write_text(less)
    snakemake(work, "--configfile", work / "less.yaml", *TABLES_ONLY, env=env)
    assert _measured(work) == 0
    assert len(pd.read_csv(work / "results" / "tables" / "runs.csv")) == 36
    # one more method at every point: every point's unit is measured again
    (work / "chunked.yaml").write_text(base.replace("[broadcast, gemm_trick, blocked]",
                                                    "[broadcast, gemm_trick, blocked, chunked]"))
    snakemake(work, "--configfile", work / "chunked.yaml", *TABLES_ONLY, env=env)
    manifests = [json.loads(p.read_text()) for p in (work / "results" / "testhost" / "wheel" / "batches")
                 .glob("*.json")]
    fresh = {c["case_id"] for m in manifests for c in m["cases"] if not c["reused"]}
    assert any("_chunked_" in c for c in fresh) and any("_gemm_trick_" in c for c in fresh)


def test_two_hosts_merge_and_compare(tmp_path):
    """Two real runs with different host ids in one results folder merge and compare."""
    cfg = {"families": {"distances": {"grid": [{"n": 200, "d": 10}], "methods": ["gemm_trick", "blocked"]}},
           "dtypes": ["float64"], "threads": [1], "repeats": 5, "processes": 3, "max_processes": 3,
           "min_sample_time_s": 0.005, "timed_s_per_process": 0.0}
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

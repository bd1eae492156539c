"""Failures become rows, nothing is lost, bad input is refused: real failure injection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from numperf import aggregate, config, metadata, record, runner
from tests.conftest import SNAKEMAKE, run_numperf, snakemake

#: Only the tables as target: what the workflow tests here check, without drawing every figure.
TABLES_ONLY = ("--", "results/tables/runs.csv")
#: a 3.2 GB difference array
BIG = ["--family", "distances", "--method", "broadcast", "--param", "n=2000", "--param", "d=100"]


def test_allocation_past_the_limit_ends_as_oom(run_case):
    rec = run_case(*BIG, "--mem-limit-mb", 500, "--repeats", 1)
    assert rec["status"] == "oom" and rec["reason"].startswith("MemoryError")
    assert record.validation_errors(rec) == []


@pytest.mark.slow
def test_case_past_its_time_limit_ends_as_timeout(run_case):
    t0 = time.monotonic()
    rec = run_case(*BIG, "--time-limit-s", 2, "--repeats", 50)
    assert time.monotonic() - t0 < 30
    assert rec["status"] == "timeout" and "2 s" in rec["reason"]
    assert rec["run"]["child_exit_code"] == -signal.SIGKILL


def test_child_killed_by_the_kernel_is_oom_and_a_crash_is_error():
    from numperf import runner

    assert runner._classify_exit(-signal.SIGKILL, "")[0] == "oom"
    status, reason = runner._classify_exit(-signal.SIGSEGV, "boom")
    assert status == "error" and "SIGSEGV" in reason


def test_unknown_backend_and_unavailable_backend_are_clear(run_case):
    proc = run_numperf("run-case", "--family", "distances",
                       "--method", "blocked", "--param", "n=10", "--param", "d=2",
                       "--backend", "nope",
                       "--out", "/dev/null", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "'nope'" in proc.stderr and "known labels" in proc.stderr and "wheel" in proc.stderr
    from numperf import backends

    missing = [b for b in backends.REGISTRY if not backends.available(b)[0]]
    if not missing:
        pytest.skip("every backend is installed here; none to show as unavailable")
    rec = run_case("--family", "distances",
                   "--method", "blocked", "--param", "n=10", "--param", "d=2", "--backend", missing[0])
    assert rec["status"] == "skipped" and rec["reason"].startswith(f"backend_unavailable: {missing[0]}")


def test_corrupt_record_fails_aggregation_with_its_path_or_is_quarantined(tmp_path, run_case):
    rec = run_case("--family", "distances",
                   "--method", "blocked", "--param", "n=50", "--param", "d=3", "--repeats", 1)
    folder = tmp_path / "results" / rec["host"]["host_id"] / "wheel" / "records"
    folder.mkdir(parents=True)
    (folder / "good.json").write_text(json.dumps(rec))
    (folder / "torn.json").write_text(json.dumps(rec)[:200])
    (folder / "foreign.json").write_text('{"hello": "world"}')
    with pytest.raises(aggregate.AggregationError) as err:
        aggregate.aggregate(tmp_path / "results", tmp_path / "tables")
    assert "torn.json" in str(err.value) and "foreign.json" in str(err.value)
    assert not (tmp_path / "tables" / "runs.csv").exists()
    tables = aggregate.aggregate(tmp_path / "results", tmp_path / "tables", quarantine=True)
    assert len(tables["runs"]) == 1 and len(tables["quarantine"]) == 2
    assert (tmp_path / "results" / "quarantine").is_dir()


def test_records_from_another_host_are_never_overwritten(tmp_path):
    out = tmp_path / "rec.json"
    run_numperf("run-case", "--family", "distances",
                "--method", "blocked", "--param", "n=30", "--param", "d=2", "--repeats", 1,
                "--out", out,
                env={"NUMPERF_HOST_ID": "hostA"})
    before = out.read_text()
    proc = run_numperf("run-case", "--family", "distances",
                       "--method", "blocked", "--param", "n=30", "--param", "d=2",
                       "--repeats", 1, "--out", out,
                       env={"NUMPERF_HOST_ID": "hostB"}, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "holds a record from host hostA" in proc.stderr
    assert out.read_text() == before


BASE = {"families": {"distances": {"grid": [{"n": 10, "d": 3}], "methods": ["blocked"]}},
        "dtypes": ["float64"], "threads": [1]}


def block(**change) -> dict:
    """BASE with its distances block changed."""
    return {**BASE, "families": {"distances": {**BASE["families"]["distances"], **change}}}


BAD_CONFIGS = [
    ({"sizs": 1}, "sizs"),
    ({"families": {}}, "families"),
    (block(grid=[]), "families.distances.grid"),
    (block(grid=[{"n": 0, "d": 3}]), "families.distances.grid.0.n"),
    (block(grid=[{"n": -5, "d": 3}]), "families.distances.grid.0.n"),
    (block(grid=[{"n": "ten", "d": 3}]), "families.distances.grid.0.n"),
    ({"dtypes": ["float16"]}, "float16"),
    (block(dtypes=["int8"]), "families.distances.dtypes.0"),
    (block(methods=["fastest"]), "gemm_trick"),
    (block(methods=[]), "families.distances.methods"),
    ({"backends": ["openblass"]}, "openblas"),
    ({"threads": [os.cpu_count() + 1]}, "allow_oversubscription"),
    ({"threads": [0]}, "threads.0"),
    ({"repeats": 0}, "repeats"),
    ({"memory_budget_mb": 10**9}, "physical memory"),
    (block(exclude=[{"method": "broadcast"}]), "families.distances.exclude.0.method"),
    (block(exclude=[{"n_above": 10**6}]), "impossible exclusion"),
    (block(exclude=[{"colour": 1}]), "families.distances.exclude.0"),
    (block(method_params={"blocked": {"chunk_rows": 3}}), "families.distances.method_params.blocked"),
    ({"host_id": "../etc"}, "host_id"),
    ({"backends": ["wheel; rm -rf /"]}, "backends.0"),
    ({"processes": 0}, "processes"),
    ({"processes": 2.5}, "processes"),
    ({"loops": 0}, "loops"),
    ({"min_effect": 0}, "min_effect"),
    ({"min_effect": 1.5}, "min_effect"),
    ({"min_sample_time_s": -0.01}, "min_sample_time_s"),
    ({"min_sample_time_s": 5, "time_limit_s": 10}, "min_sample_time_s"),
    (block(inputs=["gaussian"]), "uniform"),
]


@pytest.mark.parametrize(("change", "named"), BAD_CONFIGS, ids=[c[1] for c in BAD_CONFIGS])
def test_bad_config_is_refused_naming_the_key(change, named):
    with pytest.raises(config.ConfigError) as err:
        config.load({**BASE, **change})
    assert named in str(err.value)


@pytest.mark.slow
def test_bad_config_stops_snakemake_before_any_job(tmp_path):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**BASE, "dtypes": ["float16"]}))
    proc = snakemake(tmp_path, "--configfile", tmp_path / "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "float16" in proc.stderr and "float32, float64" in proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_sweep_killed_with_sigkill_leaves_no_partial_record_and_rerun_completes(tmp_path):
    cfg = {"families": {"distances": {"grid": [{"n": 400, "d": 30}, {"n": 800, "d": 30}],
                                      "methods": ["gemm_trick", "blocked", "broadcast_einsum"]}},
           "dtypes": ["float32", "float64"], "threads": [1], "repeats": 5, "processes": 2,
           "max_processes": 2, "min_sample_time_s": 0.005,
           "timed_s_per_process": 0.0}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "NUMPERF_HOST_ID": "killed"}
    proc = subprocess.Popen([*SNAKEMAKE, "--directory", str(tmp_path), "--cores", "2", "--configfile",
                             str(tmp_path / "c.yaml")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    records = tmp_path / "results" / "killed" / "wheel" / "records"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(records.glob("*/*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list(records.glob("*/*.json"))
    assert 3 <= len(done) < 24, "the kill should land mid-sweep"
    for path in done:
        record.load_record(path)  # complete and valid, never torn
    assert not [p for p in records.glob("*/*") if p.suffix != ".json"], "temporary files left behind"
    snakemake(tmp_path, "--unlock", "--configfile", tmp_path / "c.yaml", env={"NUMPERF_HOST_ID": "killed"})
    rerun = snakemake(tmp_path, "--configfile", tmp_path / "c.yaml", *TABLES_ONLY,
                      env={"NUMPERF_HOST_ID": "killed"})
    assert len(list(records.glob("*/*.json"))) == 24 and rerun.returncode == 0
    manifests = [json.loads(p.read_text()) for p in (records.parent / "batches").glob("*.json")]
    measured = sum(not c["reused"] for m in manifests for c in m["cases"])
    assert measured == 24 - len(done)  # only the missing ones: finished records are reused
    assert Path(tmp_path / "results" / "tables" / "runs.csv").exists()


@pytest.mark.slow
def test_no_config_string_reaches_a_shell(tmp_path):
    """An exclusion reason full of shell syntax travels as JSON (case list -> record), never through a
    shell: it arrives verbatim and runs nothing."""
    reason = "it's $(touch pwned); `touch pwned2`"
    cfg = {**block(methods=["blocked", "gemm_trick"], exclude=[{"method": "blocked", "reason": reason}]),
           "max_processes": 3}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(tmp_path, "--configfile", tmp_path / "c.yaml", *TABLES_ONLY, env={"NUMPERF_HOST_ID": "quoted"})
    runs = pd.read_csv(tmp_path / "results" / "tables" / "runs.csv")
    assert runs.loc[runs["method"] == "blocked", "reason"].tolist() == [f"excluded: {reason}"]
    assert not list(tmp_path.rglob("pwned*"))


@pytest.mark.slow
def test_a_batch_reuses_a_record_only_when_the_same_code_measured_it(tmp_path):
    """Same spec and process, same package sources: reused. A record that other code measured
    (its code digest differs, as after any edit) is measured again, never silently kept."""
    spec = runner.CaseSpec(family="distances", method="gemm_trick", params={"n": 40, "d": 4}, repeats=2,
                           processes=1, min_sample_time_s=0)
    path = tmp_path / "records" / spec.case_id / "p{process}.json"
    cases = tmp_path / "cases.json"
    config.write_case_file([{"case_id": spec.case_id, "spec": spec.to_json(), "skip_reason": None,
                             "path": str(path), "runs": True}], cases)

    def batch() -> bool:
        out = tmp_path / "manifest.json"
        run_numperf("run-batch", "--cases", cases, "--process", 0, "--out", out)
        return json.loads(out.read_text())["cases"][0]["reused"]

    digest = metadata.package_digest()
    assert batch() is False
    rec_path = Path(str(path).format(process=0))
    rec = json.loads(rec_path.read_text())
    assert rec["run"]["code_digest"] == digest
    assert batch() is True
    rec["run"]["code_digest"] = "0" * 16
    rec_path.write_text(json.dumps(rec))
    assert batch() is False
    assert json.loads(rec_path.read_text())["run"]["code_digest"] == digest


def test_the_code_digest_follows_every_source_file(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    first = metadata.code_digest(pkg)
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    metadata.code_digest.cache_clear()
    assert metadata.code_digest(pkg) != first
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    metadata.code_digest.cache_clear()
    assert metadata.code_digest(pkg) == first

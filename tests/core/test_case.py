"""One case end to end through the real CLI: a fresh child process, a schema-valid record."""

from __future__ import annotations

import json

import pytest

from numperf import record
from tests.conftest import run_numperf


@pytest.mark.parametrize("method", ["broadcast", "gemm_trick", "blocked", "chunked"])
def test_record_has_every_part_and_validates(run_case, method):
    options = ("--option", "chunk_rows=64") if method == "chunked" else ()
    rec = run_case("--family", "distances",
                   "--method", method, "--param", "n=300", "--param", "m=200", "--param", "d=20",
                   "--dtype", "float32", "--repeats", 3, "--warmup", 1, "--timed-s-per-process", 0,
                   *options)
    assert record.validation_errors(rec) == []
    assert rec["status"] == "ok", rec["reason"]
    c = rec["case"]
    p = c["params"]
    assert (c["family"], c["method"], p["n"], p["m"], p["d"], c["dtype"], c["threads"]) == (
        "distances", method, 300, 200, 20, "float32", 1)
    t = rec["timing"]
    assert len(t["samples_s"]) == 3 and t["min_s"] <= t["median_s"] <= max(t["samples_s"])
    mem = rec["memory"]
    assert mem["peak_rss_bytes"] > 0 and mem["traced_peak_bytes"] > 0
    assert mem["model"]["kernel_peak_bytes"] > 0
    assert rec["check"]["facts"]["sample_rows"] == 32 and rec["accuracy"]["max_abs_error"] < 1e-4
    assert rec["threads"] == {"requested": 1, "effective": 1, "ok": True}
    pools = rec["blas"]["threadpool_info"]
    assert any(p["user_api"] == "blas" and p.get("architecture") for p in pools)
    assert rec["host"]["host_id"] and rec["host"]["cpu_model"] and rec["host"]["mem_total_bytes"] > 0
    assert rec["run"]["child_exit_code"] == 0 and rec["run"]["load_before"]
    assert rec["memory"]["fixed_mmap_threshold"] is True  # glibc: peaks read with a fixed threshold


def test_thread_mismatch_is_caught(run_case):
    # OpenBLAS caps its pool (64 for the wheel): the read-back differs from the request.
    rec = run_case("--family", "distances",
                   "--method", "gemm_trick", "--param", "n=50", "--param", "d=5", "--threads", 512,
                   "--repeats", 1)
    assert rec["status"] == "invalid"
    assert rec["reason"].startswith("thread_mismatch: requested 512")
    assert rec["threads"]["ok"] is False


def test_fewer_cpus_than_threads_refuses_to_run(run_case):
    rec = run_case("--family", "distances",
                   "--method", "gemm_trick", "--param", "n=50", "--param", "d=5", "--threads", 2,
                   "--allocated-cpus", 1)
    assert rec["status"] == "invalid" and rec["reason"].startswith("thread_allocation")
    assert rec["timing"] is None


def test_over_budget_case_is_a_skipped_row(run_case):
    rec = run_case("--family", "distances",
                   "--method", "broadcast", "--param", "n=2000", "--param", "d=100", "--dtype", "float64",
                   "--mem-budget-mb", 100)
    assert rec["status"] == "skipped" and rec["reason"].startswith("over_memory_budget")
    # x and y (3.2 MB), diff and diff*diff (2 x 3200 MB), the 32 MB result
    assert rec["memory"]["model"]["peak_bytes"] == 3_200_000 + 6_400_000_000 + 32_000_000


def test_bad_arguments_are_refused_with_the_allowed_values():
    proc = run_numperf("run-case", "--family", "distances",
                       "--method", "nope", "--param", "n=10", "--param", "d=2", check=False)
    assert proc.returncode == 2 and "broadcast" in proc.stderr and "nope" in proc.stderr
    proc = run_numperf("run-case", "--family", "distances",
                       "--method", "blocked", "--param", "n=0", "--param", "d=2", check=False)
    assert proc.returncode == 2 and "distances.n" in proc.stderr and "allowed: int >= 1" in proc.stderr


def test_summary_is_printed_and_record_goes_to_stdout():
    proc = run_numperf("run-case", "--family", "distances",
                       "--method", "blocked", "--param", "n=100", "--param", "d=4",
                       "--repeats", 2)
    assert "median" in proc.stderr and "peak RSS" in proc.stderr
    assert json.loads(proc.stdout)["status"] == "ok"


def test_corrupt_record_is_reported_with_its_path(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"schema": "numperf.case/1", "status": ')
    with pytest.raises(record.RecordError, match="broken.json"):
        record.load_record(bad)

"""A lock left by a SIGKILLed sweep is detected and removed; a live sweep's lock is not touched.

Real Snakemake on the tiny config in a temporary directory: while it runs, ``numperf unlock-stale``
refuses; after SIGKILL a plain rerun hits the LockException, the helper unlocks, and the rerun the
Makefile makes completes with only the missing cases.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pandas as pd
import pytest

from numperf import locks
from tests.conftest import REPO, SNAKEMAKE, run_numperf, snakemake

ENV = {"NUMPERF_HOST_ID": "locktest"}


def _records(work):
    return list((work / "results" / "locktest" / "wheel" / "records").glob("*/*.json"))


@pytest.mark.slow
def test_stale_lock_is_unlocked_and_a_live_one_is_kept(tmp_path):
    # no adaptive replication: every record is a planned one, counted in the batch manifests
    (tmp_path / "tiny.yaml").write_text((REPO / "config" / "tiny.yaml").read_text()
                                        .replace("max_processes: 4", "max_processes: 2"))
    proc = subprocess.Popen([*SNAKEMAKE, "--directory", str(tmp_path), "--cores", "2", "--configfile",
                             str(tmp_path / "tiny.yaml")], env={**os.environ, **ENV},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(_records(tmp_path)) < 2 and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None and locks.lock_files(tmp_path), "the sweep should be running, locked"
        live = run_numperf("unlock-stale", "--directory", tmp_path, check=False)
        assert live.returncode == 1 and "Snakemake is running" in live.stderr
        assert str(proc.pid) in live.stderr
        assert locks.lock_files(tmp_path), "a live run's lock must stay"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = len(_records(tmp_path))
    assert locks.lock_files(tmp_path), "SIGKILL leaves the lock behind"
    blocked = snakemake(tmp_path, "--configfile", tmp_path / "tiny.yaml", check=False, env=ENV)
    assert blocked.returncode != 0 and "LockException" in blocked.stdout + blocked.stderr

    stale = run_numperf("unlock-stale", "--directory", tmp_path)
    assert "stale Snakemake lock" in stale.stderr and "unlocked" in stale.stderr
    assert not locks.lock_files(tmp_path)
    again = run_numperf("unlock-stale", "--directory", tmp_path)
    assert again.stderr == ""  # nothing to do: no message

    snakemake(tmp_path, "--configfile", tmp_path / "tiny.yaml", env=ENV)  # as `make sweep` runs it
    runs = pd.read_csv(tmp_path / "results" / "tables" / "runs.csv")
    assert len(runs) == 24 and set(runs["status"]) <= {"ok", "skipped"}
    manifests = (tmp_path / "results" / "locktest" / "wheel" / "batches").glob("*.json")
    ran = sum(not c["reused"] for p in manifests for c in json.loads(p.read_text())["cases"])
    total = len(_records(tmp_path))
    assert ran < total and ran == total - done  # only the missing cases: finished records are reused


def test_only_this_directorys_snakemake_counts(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.output.lock").write_text("results/x.json\n")
    # a live "snakemake" in another directory (a renamed sleep) does not protect our lock
    sleeper = subprocess.Popen(["bash", "-c", 'exec -a snakemake sleep 30'], cwd=other)
    try:
        time.sleep(0.2)
        assert not locks.snakemake_processes(tmp_path)
        assert [p["pid"] for p in locks.snakemake_processes(other)] == [sleeper.pid]
        assert locks.unlock_stale(other) == ("none", [])
        state, items = locks.unlock_stale(tmp_path)
        assert state == "unlocked" and not locks.lock_files(tmp_path)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_command_line_forms_are_recognised():
    assert locks._is_snakemake(["/x/.venv/bin/python", "-m", "snakemake", "--cores", "2"])
    assert locks._is_snakemake(["/x/.venv/bin/python", "/x/.venv/bin/snakemake", "-n"])
    assert locks._is_snakemake(["snakemake"])
    assert not locks._is_snakemake(["python", "-m", "pytest", "tests/snakemake"])
    assert locks._given_directory(["snakemake", "--directory", "w"], "/tmp") == os.path.realpath("/tmp/w")
    assert locks._given_directory(["snakemake", "--directory=/a/b"], "/tmp") == os.path.realpath("/a/b")

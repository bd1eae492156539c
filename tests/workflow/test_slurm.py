"""The workflow on a real SLURM cluster: a throw-away single-node cluster on localhost.

The module starts slurmctld + slurmd + munged with ``.ci/slurm-localhost.sh start`` (state
in a fresh directory under /tmp) and always stops them again. It runs the documented cluster command

    snakemake --workflow-profile workflow/profiles/slurm-localhost --configfile CONFIG

(from the repository root, with ``--directory`` pointing at a temporary directory) on a
tiny sweep, and checks that every measured case and calibration ran as its own SLURM job,
that excluded cases became skipped rows without a job, that a case past its time limit
became a ``timeout`` row, and that the rows match a local run of the same config.

Skipped, with the reason, when SLURM cannot be started here (not root, no packages and no
apt-get, start failure). Under CI (``CI=true``) running as root, a cluster that cannot be
started is a failure: CI must prove the cluster path works.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SCRIPT = REPO / ".ci" / "slurm-localhost.sh"
PROFILE = "workflow/profiles/slurm-localhost"  # relative to REPO, exactly as documented
HOST = "slurmtest"
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
#: Seconds allowed for `start` (apt-get install when the packages are missing) and `stop`.
START_TIMEOUT, INSTALL_TIMEOUT, STOP_TIMEOUT = 180, 1500, 120
#: Seconds for each snakemake run (the cluster run usually takes about 50 s).
SNAKEMAKE_TIMEOUT = 240
TIME_LIMIT_S = 5

# 16 cases, 12 excluded (skipped rows, recorded by the first round's batch jobs) and 4
# measured: gemm_trick on the small size (float32 1 thread, float64 1 and 2 threads) and
# one `chunked` case that loops over a million one-row chunks in Python (tens of seconds),
# so it runs past the 5 s time limit and must come back as a `timeout` row.
EXCLUDE = [
    {"method": "gemm_trick", "n_above": 150, "reason": "gemm_trick on the small size only"},
    {"method": "chunked", "d_above": 2, "reason": "chunked on the slow size only"},
    {"dtype": "float32", "threads": 2, "reason": "float32 with one thread only"},
    {"n_above": 150, "dtype": "float32", "reason": "slow size in float64 only"},
    {"n_above": 150, "threads": 2, "reason": "slow size with one thread only"},
]
CONFIG = {
    "families": {"distances": {
        "grid": [{"n": 150, "d": 8}, {"n": 1_000_000, "m": 4, "d": 2}],
        "methods": ["gemm_trick", "chunked"],
        "method_params": {"chunked": {"chunk_rows": 1}},
        "exclude": EXCLUDE,
    }},
    "dtypes": ["float32", "float64"],
    "threads": [1, 2],
    "repeats": 2,
    "processes": 2,
    "max_processes": 2,  # no adaptive replication: the jobs below are the planned ones
    "min_sample_time_s": 0.005,
    "timed_s_per_process": 0.0,
    "warmup": 1,
    "time_limit_s": TIME_LIMIT_S,
    "memory_budget_mb": 1000,
}
_SMALL = "distances_gemm_trick_n=150_m=150_d=8_inputs=uniform_accuracy_rows=32"
TIMES_OUT = ("distances_chunked_n=1000000_m=4_d=2_inputs=uniform_accuracy_rows=32_float64_t1_wheel"
             "_chunk_rows=1")
MEASURED = {f"{_SMALL}_float32_t1_wheel", f"{_SMALL}_float64_t1_wheel", f"{_SMALL}_float64_t2_wheel",
            TIMES_OUT}
#: SLURM jobs the sweep must submit, by rule: one batch per thread count and round (2 x 2), one
#: calibration per thread count and the host probe. Everything else is a local rule.
EXPECTED_JOBS = {"run_batch": 4, "calibrate": 2, "probe_host": 1, "replicate": 1}


def _unavailable(why: str):
    """Skip, saying why; under CI as root a cluster that cannot start fails the test instead."""
    if IN_CI and os.geteuid() == 0:
        pytest.fail(f"SLURM test cluster unavailable under CI: {why}", pytrace=False)
    pytest.skip(f"SLURM test cluster unavailable: {why}")


def _packages_installed() -> bool:
    return all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue"))


def _run_script(action: str, env: dict, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), action], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.fixture(scope="module")
def cluster():
    """A running single-node SLURM cluster (state in a temp dir), always stopped afterwards."""
    if os.geteuid() != 0:
        pytest.skip(f"SLURM test cluster unavailable: starting slurmctld/slurmd/munged needs root "
                    f"(running as uid {os.geteuid()})")
    if (os.cpu_count() or 1) < 2:
        _unavailable(f"the sweep uses 1 and 2 threads but this machine has {os.cpu_count()} CPU")
    installing = not _packages_installed()
    if installing and not shutil.which("apt-get"):
        _unavailable("slurmctld/slurmd/munge/slurm-client are not installed and apt-get is not "
                     "available to install them")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError as exc:
        _unavailable(f"snakemake-executor-plugin-slurm is not importable by {sys.executable}: {exc}")

    # Not under pytest's temp dirs: those are mode 0700 and munged refuses a socket below a
    # directory that not every user can search.
    state = Path(tempfile.mkdtemp(prefix="numperf-slurm-test-", dir="/tmp"))
    env = {**os.environ, "NUMPERF_SLURM_DIR": str(state)}
    env.pop("SLURM_CONF", None)
    try:
        try:
            started = _run_script("start", env, INSTALL_TIMEOUT if installing else START_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            _unavailable(f"`{SCRIPT.name} start` did not finish within {exc.timeout:g} s")
        if started.returncode != 0:
            _unavailable(f"`{SCRIPT.name} start` exited {started.returncode}:\n{_tail(started.stderr)}")
        yield {"state": state, "env": {**env, "SLURM_CONF": str(state / "etc" / "slurm.conf")}}
    finally:
        stopped = _run_script("stop", env, STOP_TIMEOUT)
        status = _run_script("status", env, 30)
        if stopped.returncode == 0 and "up (pid" not in status.stdout:
            shutil.rmtree(state, ignore_errors=True)
        else:
            pytest.fail(f"`{SCRIPT.name} stop` left the cluster running (exit {stopped.returncode}):\n"
                        f"{stopped.stderr}\n{status.stdout}", pytrace=False)


def _run_bounded(argv, *, cwd, env, timeout) -> subprocess.CompletedProcess:
    """Run snakemake under `timeout -s INT -k 30` (SIGTERM can leave it waiting for ever);
    as a last resort kill its whole process group."""
    argv = ["timeout", "-s", "INT", "-k", "30", str(timeout), *map(str, argv)]
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("slurm-config") / "slurm-sweep.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def cluster_run(cluster, config_file, tmp_path_factory):
    """The documented cluster command, run from the repository root into a temp directory."""
    work = tmp_path_factory.mktemp("slurm-run")
    env = {**cluster["env"], "NUMPERF_HOST_ID": HOST}
    proc = _run_bounded([sys.executable, "-m", "snakemake", "--workflow-profile", PROFILE,
                         "--configfile", config_file, "--directory", work],
                        cwd=REPO, env=env, timeout=SNAKEMAKE_TIMEOUT)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        slurm_logs = "".join(f"\n--- {p}\n{_tail(p.read_text(errors='replace'), 20)}"
                             for p in sorted((work / ".snakemake" / "slurm_logs").rglob("*.log")))
        pytest.fail(f"cluster run failed (exit {proc.returncode}; 124 = timed out after "
                    f"{SNAKEMAKE_TIMEOUT} s):\n{_tail(log, 80)}{slurm_logs}", pytrace=False)
    return work, log


def _records(work: Path) -> dict[str, list[dict]]:
    """Each case's process records, in process order."""
    folder = work / "results" / HOST / "wheel" / "records"
    return {case.name: [json.loads(p.read_text()) for p in sorted(case.glob("p*.json"))]
            for case in sorted(folder.iterdir())}


def test_documented_command_submits_exactly_the_measured_cases_and_calibrations(cluster, cluster_run):
    work, log = cluster_run
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/",
                           log)
    assert Counter(rule for _, rule in submitted) == EXPECTED_JOBS, log[-6000:]
    assert len({job for job, _ in submitted}) == len(submitted)
    # Nothing is left queued or running once snakemake returns.
    queue = subprocess.run(["squeue", "-h", "-o", "%A %T"], env=cluster["env"], capture_output=True,
                           text=True, timeout=30)
    assert queue.returncode == 0 and queue.stdout.strip() == "", queue.stdout + queue.stderr
    assert (work / "results" / "tables" / "runs.csv").exists()
    assert not (REPO / "results" / HOST).exists(), "the run wrote into the repository"


def test_measured_cases_ran_inside_slurm_jobs_and_skipped_ones_did_not(cluster_run):
    work, log = cluster_run
    submitted = set(re.findall(r"has been submitted with SLURM jobid (\d+)", log))
    records = _records(work)
    assert len(records) == 16
    measured = {cid: r for cid, r in records.items() if r[0]["status"] != "skipped"}
    assert set(measured) == MEASURED
    for cid, recs in measured.items():
        assert [r["case"]["process_index"] for r in recs] == [0, 1], cid
        for rec in recs:
            sched = rec["scheduler"]
            assert sched["scheduler"] == "slurm", (cid, sched)
            assert sched["job_id"] in submitted, (cid, sched)
            assert sched["node"] == "localhost", (cid, sched)
            assert sched["cpus_allocated"] == rec["case"]["threads"], (cid, sched)
        # a case's processes run in different rounds, so in different jobs
        assert recs[0]["scheduler"]["job_id"] != recs[1]["scheduler"]["job_id"], cid
    for cid, recs in records.items():
        if cid not in MEASURED:
            assert len(recs) == 1, f"{cid}: a skipped case is recorded once"
            rec = recs[0]
            assert rec["status"] == "skipped" and rec["reason"].startswith("excluded: "), (cid, rec["reason"])
            assert rec["scheduler"]["job_id"] in submitted, f"{cid}: recorded by its first round's batch"
    for cid in MEASURED - {TIMES_OUT}:
        assert all(r["status"] == "ok" for r in records[cid]), (cid, [r["reason"] for r in records[cid]])
    for slow in records[TIMES_OUT]:
        assert slow["status"] == "timeout", (slow["status"], slow["reason"])
        assert slow["reason"] == f"exceeded the time limit of {TIME_LIMIT_S} s"
    for threads in (1, 2):
        cal_path = work / "results" / HOST / "wheel" / "calibration" / "distances" / f"t{threads}.json"
        cal = json.loads(cal_path.read_text())
        assert cal["scheduler"]["job_id"] in submitted and cal["scheduler"]["cpus_allocated"] == threads


def test_cluster_rows_match_a_local_run_of_the_same_config(cluster_run, config_file, tmp_path):
    work, _ = cluster_run
    cluster_rows = pd.read_csv(work / "results" / "tables" / "runs.csv")
    snakemake(tmp_path, "--configfile", config_file, env={"NUMPERF_HOST_ID": HOST},
              timeout=SNAKEMAKE_TIMEOUT)
    local_rows = pd.read_csv(tmp_path / "results" / "tables" / "runs.csv")

    def rows(table):
        return set(zip(table["case_id"], table["status"], strict=True))

    assert len(cluster_rows) == len(local_rows) == 16
    assert rows(cluster_rows) == rows(local_rows)
    assert rows(cluster_rows) == {(cid, recs[0]["status"]) for cid, recs in _records(work).items()}
    assert set(cluster_rows.loc[cluster_rows["status"] == "timeout", "case_id"]) == {TIMES_OUT}
    skipped = cluster_rows[cluster_rows["status"] == "skipped"]
    assert len(skipped) == 12 and skipped["reason"].str.startswith("excluded: ").all()
    measured = cluster_rows["status"] != "skipped"
    assert cluster_rows.loc[measured, "slurm_job_id"].notna().all()
    assert set(cluster_rows.loc[measured, "node"]) == {"localhost"}
    assert cluster_rows.loc[~measured, "slurm_job_id"].notna().all()  # recorded inside batch jobs
    assert local_rows["slurm_job_id"].isna().all(), "the local run must not look like a SLURM run"

"""Shared fixtures: the repository root, helpers that run the real numperf CLI and the real
Snakemake, and the tiny sweep (``config/tiny.yaml`` through the real snakemake) run once per session
for every test that only reads its results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Fixtures whose tests are slow whatever else they do: they run the real snakemake.
SLOW_FIXTURES = {"tiny_sweep", "tiny_sweep_copy"}
#: Markers that imply ``slow``: a SLURM cluster, Debian's BLAS interpreters.
SLOW_MARKERS = {"slurm", "backends"}


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` (see pyproject.toml) every test that uses the shared sweep or needs a cluster or
    Debian's BLAS, wherever it lives, so that ``-m "not slow"`` never starts one by accident."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or any(
                item.get_closest_marker(name) for name in SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)


#: The real snakemake on this checkout's workflow, in a fresh process of this interpreter.
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile")]


def run_numperf(*args, check=True, env=None, timeout=600):
    """Run ``python -m numperf ARGS`` in a fresh process; return the CompletedProcess."""
    proc = subprocess.run([sys.executable, "-m", "numperf", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout, cwd=REPO)
    if check and proc.returncode != 0:
        raise AssertionError(f"numperf {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def snakemake(workdir: Path, *args, check=True, timeout=600, env=None):
    """Run the real snakemake in ``workdir`` on 2 cores; return the CompletedProcess."""
    proc = subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "--cores", "2", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(map(str, args))} failed:\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-6000:]}")
    return proc


@pytest.fixture
def run_case(tmp_path):
    """Run one case through the CLI and return its record (written to a temp file)."""
    counter = iter(range(10**6))

    def _run(*args, **kw):
        out = tmp_path / f"case{next(counter)}.json"
        run_numperf("run-case", *args, "--out", out, "--quiet", **kw)
        return json.loads(out.read_text())

    return _run


@dataclass(frozen=True)
class Sweep:
    """A folder in which the real snakemake ran ``config/tiny.yaml`` (copied in as tiny.yaml)."""

    work: Path
    host_id: str = "testhost"

    @property
    def env(self) -> dict:
        """What the sweep ran with on top of os.environ."""
        return {"NUMPERF_HOST_ID": self.host_id}

    @property
    def config(self) -> Path:
        return self.work / "tiny.yaml"

    @property
    def results(self) -> Path:
        return self.work / "results"

    @property
    def tables(self) -> Path:
        return self.results / "tables"

    @property
    def report(self) -> Path:
        return self.results / "report.html"

    def snakemake(self, *args, env=None, **kw):
        """The real snakemake in this folder with the sweep's environment (no configfile added)."""
        return snakemake(self.work, *args, env={**self.env, **(env or {})}, **kw)


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory) -> Sweep:
    """``config/tiny.yaml`` run once per session by the real snakemake, as ``make sweep`` runs it,
    then its report built as ``make report`` builds it (with the stylesheet).

    Shared by every test that only reads the results (tables, records, figures, the report, dry
    runs): such a test must not change the folder. A test that runs snakemake there again takes
    :func:`tiny_sweep_copy`; one that needs a run of its own from scratch (a SIGKILL mid-sweep, a
    cluster) makes its own.
    """
    sweep = Sweep(tmp_path_factory.mktemp("tiny-sweep"))
    shutil.copy(REPO / "config" / "tiny.yaml", sweep.config)
    sweep.snakemake("--configfile", sweep.config)
    sweep.snakemake("--configfile", sweep.config, "--report", sweep.report,
                    "--report-stylesheet", REPO / "workflow" / "report" / "style.css")
    return sweep


@pytest.fixture
def tiny_sweep_copy(tiny_sweep, tmp_path) -> Sweep:
    """A private copy of :func:`tiny_sweep`'s folder (records, tables, report, Snakemake's
    metadata, file times kept) for a test that runs snakemake in it again."""
    copy = tmp_path / "tiny-sweep"
    shutil.copytree(tiny_sweep.work, copy, symlinks=True)
    return Sweep(copy, tiny_sweep.host_id)

"""Shared fixtures: the repository root and helpers that run the real numperf CLI and the real Snakemake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

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

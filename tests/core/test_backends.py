"""BLAS backend selection, checked in real child processes (no mocks).

Each test launches the backend's interpreter with the environment built by
numperf.backends.child_launch and asks the child what it really loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from numperf import backends

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"

CHILD = """
import json
import numpy as np
import threadpoolctl
from numperf.backends import mapped_blas_libraries
a = np.arange(40000, dtype=np.float64).reshape(200, 200) / 40000.0
c = a @ a
assert c.shape == (200, 200)
print(json.dumps({
    "numpy": np.__version__,
    "info": threadpoolctl.threadpool_info(),
    "mapped": mapped_blas_libraries(),
}))
"""

# label -> how verified_blas must start
EXPECTED_NAME = {
    "wheel": "openblas ",
    "openblas": "openblas 0.3",
    "blis": "blis ",
    "netlib": "netlib",
}

_cache: dict[tuple[str, int], dict] = {}


needs_debian = pytest.mark.backends


def run_child(label: str, threads: int) -> dict:
    """numpy version, threadpool_info and mapped BLAS libs of a real child."""
    key = (label, threads)
    if key not in _cache:
        python, env = backends.child_launch(label, threads, dict(os.environ))
        env["PYTHONPATH"] = str(SCRIPTS)
        proc = subprocess.run(
            [python, "-c", CHILD],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"{label} child failed ({python}):\n{proc.stderr}"
        _cache[key] = json.loads(proc.stdout.strip().splitlines()[-1])
    return _cache[key]


def require(label: str) -> None:
    ok, reason = backends.available(label)
    if not ok:
        pytest.skip(f"backend {label!r} unavailable: {reason}")


@pytest.mark.parametrize("label", sorted(EXPECTED_NAME))
def test_backend_runs_what_it_claims(label):
    require(label)
    child = run_child(label, 1)
    result = backends.verify(label, child["info"], child["mapped"])
    assert result["backend_ok"], result["backend_reason"]
    assert result["backend_reason"] is None
    assert result["verified_blas"].startswith(EXPECTED_NAME[label]), result
    # exactly one BLAS implementation is mapped, whatever the backend
    assert "multiple_blas" not in str(result["backend_reason"])
    if backends.get(label).python:
        # Debian interpreter: Debian numpy, nothing from the venv leaked in
        assert child["numpy"].startswith("1."), child["numpy"]
        assert not any(".venv" in p for p in child["mapped"]), child["mapped"]
    else:
        assert any("scipy_openblas" in p for p in child["mapped"]), child["mapped"]


@needs_debian
def test_netlib_is_reference_blas():
    require("netlib")
    child = run_child("netlib", 1)
    assert child["info"] == [] or all(d["user_api"] != "blas" for d in child["info"])
    assert any("/blas/libblas.so" in p for p in child["mapped"])
    assert any("/lapack/liblapack.so" in p for p in child["mapped"])


@needs_debian
@pytest.mark.parametrize("label", ["openblas", "blis"])
def test_two_threads_are_read_back(label):
    require(label)
    child = run_child(label, 2)
    result = backends.verify(label, child["info"], child["mapped"], threads=2)
    assert result["backend_ok"], result["backend_reason"]
    assert result["blas_num_threads"] == 2
    blas = [d for d in child["info"] if d["user_api"] == "blas"]
    assert [d["num_threads"] for d in blas] == [2]


@needs_debian
def test_blis_uses_selected_kernels():
    require("blis")
    child = run_child("blis", 1)
    blas = [d for d in child["info"] if d["user_api"] == "blas"]
    assert blas and blas[0]["architecture"] == "skx", blas


@needs_debian
def test_wrong_selection_is_caught():
    require("netlib")
    child = run_child("netlib", 1)
    result = backends.verify("openblas", child["info"], child["mapped"])
    assert result["backend_ok"] is False
    assert result["backend_reason"].startswith("backend_mismatch"), result
    assert result["verified_blas"].startswith("netlib")


@needs_debian
def test_wrong_thread_count_is_caught():
    require("openblas")
    child = run_child("openblas", 1)
    result = backends.verify("openblas", child["info"], child["mapped"], threads=2)
    assert result["backend_ok"] is False
    assert result["backend_reason"].startswith("backend_mismatch"), result


@needs_debian
def test_two_blas_libraries_are_caught():
    require("netlib")
    require("openblas")
    python, env = backends.child_launch("netlib", 1, dict(os.environ))
    env["PYTHONPATH"] = str(SCRIPTS)
    env["LD_PRELOAD"] = str(Path(backends.MULTIARCH) / "openblas-pthread" / "libopenblas.so.0")
    proc = subprocess.run([python, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    result = backends.verify("netlib", child["info"], child["mapped"])
    assert result["backend_ok"] is False
    assert result["backend_reason"].startswith("multiple_blas"), result


def test_child_env_sets_every_thread_variable_and_keeps_safety_vars():
    base = {
        "OPENBLAS_CORETYPE": "Haswell",
        "OPENBLAS_L2_SIZE": "1048576",
        "LD_LIBRARY_PATH": "/somewhere",
        "OMP_NUM_THREADS": "7",
    }
    _, env = backends.child_launch("openblas", 3, base)
    for name in backends.THREAD_VARS:
        assert env[name] == "3", name
    assert env["OPENBLAS_CORETYPE"] == "Haswell"
    assert env["LD_LIBRARY_PATH"].split(os.pathsep)[0].endswith("openblas-pthread")
    assert env["LD_LIBRARY_PATH"].split(os.pathsep)[-1] == "/somewhere"
    assert base["OMP_NUM_THREADS"] == "7"  # caller's dict untouched

    python, native = backends.child_launch("wheel-native", 1, base)
    assert python == sys.executable
    assert "OPENBLAS_CORETYPE" not in native
    assert "OPENBLAS_L2_SIZE" not in native
    _, inherited = backends.child_launch("wheel", 1, base)
    assert inherited["OPENBLAS_CORETYPE"] == "Haswell"


def test_unknown_label_raises_with_known_labels():
    with pytest.raises(ValueError) as err:
        backends.child_launch("no-such-blas", 1, dict(os.environ))
    message = str(err.value)
    assert "no-such-blas" in message
    for label in ("wheel", "openblas", "blis", "netlib"):
        assert label in message
    with pytest.raises(ValueError):
        backends.available("no-such-blas")


def test_probe_all_reports_status_not_exceptions():
    rows = backends.probe_all()
    labels = [r["label"] for r in rows]
    for label in ("wheel", "wheel-native", "openblas", "blis", "netlib", "atlas", "mkl", "flexiblas"):
        assert label in labels
    for row in rows:
        assert isinstance(row["available"], bool)
        if row["available"]:
            assert row["reason"] == "ok"
        else:
            assert row["reason"]
        assert set(row) >= {"label", "available", "reason", "description", "python", "lib_dirs"}
    mkl = next(r for r in rows if r["label"] == "mkl")
    if not mkl["available"]:
        assert mkl["reason"].startswith("not installed")


@pytest.mark.parametrize("label", list(EXPECTED_NAME))
def test_run_case_records_the_verified_backend(label, run_case):
    """A whole case through the CLI on each backend: the record proves which BLAS ran."""
    ok, why = backends.available(label)
    if not ok:
        pytest.skip(f"{label} not available here: {why}")
    rec = run_case("--family", "distances", "--method", "gemm_trick", "--param", "n=200", "--param", "d=10",
                   "--backend", label, "--repeats", 2)
    assert rec["status"] == "ok", rec["reason"]
    blas = rec["blas"]
    assert blas["backend_ok"] and blas["verified_blas"].startswith(EXPECTED_NAME[label])
    assert blas["mapped_libraries"]
    debian = label != "wheel"
    assert blas["numpy_version"].startswith("1.") == debian
    assert rec["host"]["python_executable"].startswith("/usr/bin/python3") == debian


# What a child reported, as data: verify's decisions run here even without Debian's BLAS packages.
OPENBLAS_SO = backends.MULTIARCH + "/openblas-pthread/libopenblas.so.0"
NETLIB_SO = backends.MULTIARCH + "/blas/libblas.so.3.11.0"
OPENBLAS_INFO = {"user_api": "blas", "internal_api": "openblas", "version": "0.3.21",
                 "filepath": OPENBLAS_SO, "num_threads": 2, "architecture": "SkylakeX"}


def test_verify_accepts_what_the_backend_promised():
    result = backends.verify("openblas", [OPENBLAS_INFO], [OPENBLAS_SO], threads=2)
    assert result["backend_ok"] and result["backend_reason"] is None
    assert result["verified_blas"] == "openblas 0.3.21 (Debian)"
    assert (result["blas_architecture"], result["blas_num_threads"]) == ("SkylakeX", 2)


@pytest.mark.parametrize(("label", "info", "mapped", "threads", "reason"), [
    ("openblas", [OPENBLAS_INFO], [OPENBLAS_SO, NETLIB_SO], None, "multiple_blas: backend 'openblas'"),
    ("openblas", [], [], None, "backend_mismatch: 'openblas' expected"),
    ("netlib", [OPENBLAS_INFO], [OPENBLAS_SO], None, "backend_mismatch: 'netlib' expected a BLAS invisible"),
    ("openblas", [], [NETLIB_SO], None, "backend_mismatch: 'openblas' expected threadpoolctl internal_api"),
    ("openblas", [OPENBLAS_INFO], [OPENBLAS_SO], 1, "backend_mismatch: 'openblas' expected 1 BLAS threads"),
    ("blis", [{**OPENBLAS_INFO, "internal_api": "blis", "filepath": "/x/blis-pthread/libblis.so.4"}],
     ["/x/blis-pthread/libblis.so.4"], None, "backend_mismatch: 'blis' expected architecture 'skx'"),
])
def test_verify_names_what_went_wrong(label, info, mapped, threads, reason):
    result = backends.verify(label, info, mapped, threads=threads)
    assert result["backend_ok"] is False
    assert result["backend_reason"].startswith(reason), result["backend_reason"]

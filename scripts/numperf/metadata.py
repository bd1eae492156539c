"""Provenance of a measurement: host, OS, Python, NumPy build, BLAS, environment, scheduler.

Kept separate from measurement so collecting it never touches a timed region.
Stdlib only at import time (also runs under Debian's Python).
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import socket
import subprocess
import sys
from pathlib import Path

#: Environment variables that change BLAS/OpenMP/allocator behaviour; recorded in every run.
ENV_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_", "BLIS_", "GOTO", "FLEXIBLAS", "VECLIB_",
                "NUMEXPR_", "MALLOC_", "LD_LIBRARY_PATH", "LD_PRELOAD", "NUMPERF_")

HOST_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Folders numperf itself writes under results/; a host id must not collide with them.
RESERVED_HOST_IDS = frozenset({"tables", "figures", "logs", "quarantine", "example"})


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (platform's guess elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_bytes() -> int:
    """Physical memory of the machine."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def host_id() -> str:
    """A stable, file-name-safe host id: ``NUMPERF_HOST_ID`` or hostname + hash of machine id and CPU."""
    override = os.environ.get("NUMPERF_HOST_ID")
    if override:
        if not HOST_LABEL.match(override) or override in RESERVED_HOST_IDS:
            raise ValueError(f"NUMPERF_HOST_ID={override!r} is not a valid label "
                             "(letters, digits, '.', '_', '-'; at most 64 characters; not "
                             f"{', '.join(sorted(RESERVED_HOST_IDS))})")
        return override
    machine = ""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            machine = Path(path).read_text().strip()
            break
        except OSError:
            continue
    digest = hashlib.sha256(f"{machine}|{socket.gethostname()}|{cpu_model()}".encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname().split(".")[0])[:40] or "host"
    return f"{name}-{digest}"


def host_info() -> dict:
    """Static facts about this machine."""
    uname = platform.uname()
    try:
        affinity = sorted(os.sched_getaffinity(0))
    except AttributeError:
        affinity = list(range(os.cpu_count() or 1))
    return {
        "hostname": socket.gethostname(),
        "host_id": host_id(),
        "cpu_model": cpu_model(),
        "cores_logical": os.cpu_count(),
        "cpu_affinity": affinity,
        "mem_total_bytes": mem_total_bytes(),
        "os": _os_release(),
        "kernel": f"{uname.system} {uname.release}",
        "machine": uname.machine,
        "python": platform.python_version(),
        "python_executable": os.path.realpath(sys.executable),
    }


def _os_release() -> str:
    try:
        text = Path("/etc/os-release").read_text()
        match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.M)
        return match.group(1) if match else platform.platform()
    except OSError:
        return platform.platform()


def blas_env() -> dict:
    """The BLAS/OpenMP/allocator environment variables as this process sees them."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith(ENV_PREFIXES)}


def scheduler_info() -> dict:
    """SLURM job id, node and allocated CPUs when running inside a SLURM job (else nulls)."""
    env = os.environ
    cpus = env.get("SLURM_CPUS_PER_TASK") or env.get("SLURM_CPUS_ON_NODE")
    return {
        "scheduler": "slurm" if "SLURM_JOB_ID" in env else None,
        "job_id": env.get("SLURM_JOB_ID"),
        "node": env.get("SLURMD_NODENAME"),
        "cpus_allocated": int(re.match(r"\d+", cpus).group()) if cpus and re.match(r"\d+", cpus) else None,
    }


def numpy_info(build_info: bool = True) -> dict:
    """NumPy version and the BLAS/LAPACK it was built against (``build_info``: reading it imports
    numpy.__config__, about 35 ms, so a case records it in its first process only)."""
    import numpy as np

    build = None
    if not build_info:
        return {"version": np.__version__, "blas_build": None, "path": os.path.dirname(np.__file__)}
    try:
        cfg = np.show_config(mode="dicts")
        deps = cfg.get("Build Dependencies", {})
        build = {k: {kk: deps[k].get(kk) for kk in ("name", "version", "detection method")}
                 for k in ("blas", "lapack") if k in deps}
    except TypeError:  # numpy < 1.25 has no mode="dicts"
        build = _legacy_blas_build(np)
    return {"version": np.__version__, "blas_build": build, "path": os.path.dirname(np.__file__)}


def _legacy_blas_build(np) -> dict:
    out = {}
    for key in ("blas_opt_info", "lapack_opt_info", "blas_ilp64_opt_info"):
        info = getattr(np.__config__, key, None)
        if info:
            out[key] = {"libraries": info.get("libraries"), "library_dirs": info.get("library_dirs")}
    return out


def threadpools() -> list[dict]:
    """Full ``threadpoolctl.threadpool_info()`` (empty if threadpoolctl is missing)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return threadpool_info()


@functools.lru_cache(maxsize=8)
def git_commit(path: str | os.PathLike) -> str | None:
    """The git commit of the checkout holding ``path`` ('+dirty' if modified), or None; read once per
    process (a batch runs the code it started with)."""
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=path, capture_output=True,  # noqa: E731
                                        text=True, timeout=10, check=True).stdout.strip()
        commit = run("rev-parse", "HEAD")
        dirty = run("status", "--porcelain", "--untracked-files=no")
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_digest() -> str:
    """``code_digest`` of this numperf package: what a record, batch or calibration ran with."""
    return code_digest(Path(__file__).resolve().parent)


@functools.lru_cache(maxsize=8)
def code_digest(package: str | os.PathLike) -> str:
    """SHA-256 (first 16 hex digits) of the package's Python sources, names and contents: what
    measured a record. Unlike the git commit it changes with uncommitted edits, so a batch
    never reuses a record that older code measured."""
    digest = hashlib.sha256()
    root = Path(package)
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages."""
    return list(os.getloadavg())

"""Stale Snakemake locks: tell a lock left behind by a killed run from the lock of a live one.

Snakemake writes ``.snakemake/locks/<n>.input.lock`` and ``<n>.output.lock`` in the working
directory while it runs and removes them when it ends. A run killed with SIGKILL (or a machine
that went down) leaves them behind, and the next run stops with a LockException. The lock is
stale exactly when no Snakemake process is alive in that working directory: then it can be
removed (what ``snakemake --unlock`` does) and the sweep resumes with the missing cases only. A
live run (same user, working directory or ``--directory`` equal to ours) keeps its lock.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def lock_files(directory: str | os.PathLike) -> list[Path]:
    """Snakemake's lock files in ``directory`` (empty when it holds no lock)."""
    return sorted(Path(directory, ".snakemake", "locks").glob("*.lock"))


def _is_snakemake(argv: list[str]) -> bool:
    """True for ``snakemake ...``, ``python .../bin/snakemake ...`` and ``python -m snakemake ...``."""
    for i, arg in enumerate(argv[:3]):
        if os.path.basename(arg) == "snakemake" or (arg == "-m" and argv[i + 1:i + 2] == ["snakemake"]):
            return True
    return False


def _given_directory(argv: list[str], cwd: str | None) -> str | None:
    """The ``--directory``/``-d`` a Snakemake command line names, resolved against its cwd."""
    for i, arg in enumerate(argv):
        value = None
        if arg in ("--directory", "-d") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--directory="):
            value = arg.split("=", 1)[1]
        if value is not None:
            return os.path.realpath(os.path.join(cwd or "/", value))
    return None


def snakemake_processes(directory: str | os.PathLike, proc: str | os.PathLike = "/proc") -> list[dict]:
    """Live Snakemake processes of this user whose working directory is ``directory``.

    A process whose working directory cannot be read is counted as live (the safe side).
    """
    target = os.path.realpath(directory)
    uid, me = os.getuid(), os.getpid()
    found = []
    for entry in Path(proc).iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # ended meanwhile
            continue
        if not _is_snakemake(argv):
            continue
        try:
            cwd = os.path.realpath(os.readlink(entry / "cwd"))
        except FileNotFoundError:  # ended meanwhile
            continue
        except OSError:
            cwd = None
        if cwd is None or target in (cwd, _given_directory(argv, cwd)):
            found.append({"pid": int(entry.name), "cwd": cwd, "cmdline": " ".join(argv).strip()})
    return found


def unlock_stale(directory: str | os.PathLike = ".") -> tuple[str, list]:
    """Remove Snakemake's lock in ``directory`` if it is stale.

    Returns ``("none", [])`` when there is no lock, ``("live", processes)`` when a Snakemake
    process is alive there (the lock is kept), ``("unlocked", removed_files)`` otherwise.
    """
    locks = lock_files(directory)
    if not locks:
        return "none", []
    alive = snakemake_processes(directory)
    if alive:
        return "live", alive
    for path in locks:
        path.unlink(missing_ok=True)
    return "unlocked", locks


def main(directory: str | os.PathLike = ".") -> int:
    """``numperf unlock-stale``: say what was found; 0 unless a live run holds the lock (then 1)."""
    state, items = unlock_stale(directory)
    where = os.path.realpath(directory)
    if state == "live":
        pids = ", ".join(str(p["pid"]) for p in items)
        print(f"numperf: Snakemake is running in {where} (pid {pids}); its lock stays. Wait for it to "
              "finish or stop it first.", file=sys.stderr)
        return 1
    if state == "unlocked":
        print(f"numperf: stale Snakemake lock in {where}/.snakemake/locks ({len(items)} file(s)) and no "
              "Snakemake process alive there, so the last run was killed: unlocked; the sweep resumes "
              "with the cases still missing.", file=sys.stderr)
    return 0

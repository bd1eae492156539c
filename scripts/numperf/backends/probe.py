"""Availability of a backend on this host: its interpreter, files, link targets and CPU flags.

STDLIB ONLY (see ``numperf.backends``).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import sys
from pathlib import Path

from numperf.backends.registry import REGISTRY, get


def _repo_root() -> Path:
    # scripts/numperf/backends/probe.py -> repo root
    return Path(__file__).resolve().parents[3]


def _expand(pattern: str) -> str:
    pattern = pattern.replace("{repo}", str(_repo_root()))
    pattern = pattern.replace("{sys_prefix}", sys.prefix)
    return os.path.expandvars(pattern)


def first_match(patterns: tuple[str, ...]) -> str | None:
    for pattern in patterns:
        expanded = _expand(pattern)
        if "$" in expanded:  # unset variable: skip rather than glob "$X/..."
            continue
        hits = sorted(glob.glob(expanded))
        if hits:
            return hits[-1]
    return None


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _wheel_numpy_problem() -> str | None:
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.origin:
        return f"numpy is not importable by {sys.executable}"
    pkg_dir = Path(spec.origin).parent
    libs = list(pkg_dir.parent.glob("numpy.libs/lib*openblas*.so*"))
    if not libs:
        return f"numpy at {pkg_dir} has no bundled OpenBLAS in numpy.libs/ (not the PyPI wheel)"
    return None


def available(label: str) -> tuple[bool, str]:
    """(True, "ok") or (False, why): a status, not an exception.

    Unknown labels still raise ValueError (a typo is a bug, not a status).
    """
    b = get(label)
    hint = b.install_hint
    if b.apt_packages:
        hint = f"apt packages {' '.join(b.apt_packages)}; run {b.install_hint}"
    if b.python and not os.access(b.python, os.X_OK):
        return False, f"not installed: interpreter {b.python} missing ({hint})"
    if b.requires_wheel_numpy:
        problem = _wheel_numpy_problem()
        if problem:
            return False, f"not installed: {problem} ({hint})"
    for pattern in b.requires_files:
        if not glob.glob(_expand(pattern)):
            return False, f"not installed: {pattern} missing ({hint})"
    for link_name, candidates in b.links:
        if first_match(candidates) is None:
            tried = ", ".join(dict.fromkeys(_expand(c) for c in candidates))
            return False, (
                f"not installed: no target for {link_name} (tried {tried}) "
                f"({'opt-in; ' if b.opt_in else ''}{hint})"
            )
    if b.requires_cpu_flags:
        flags = _cpu_flags()
        missing = [f for f in b.requires_cpu_flags if f not in flags]
        if missing:
            return False, f"unsupported CPU: lacks {' '.join(missing)}"
    return True, "ok"


def probe_all() -> list[dict]:
    """Availability of every registered backend, for reports and metadata."""
    out = []
    for label, b in REGISTRY.items():
        ok, reason = available(label)
        out.append(
            {
                "label": label,
                "available": ok,
                "reason": reason,
                "description": b.description,
                "python": b.python or sys.executable,
                "lib_dirs": list(b.lib_dirs),
                "opt_in": b.opt_in,
            }
        )
    return out

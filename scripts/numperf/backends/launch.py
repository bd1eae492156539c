"""The child's launch: the cached symlink directories and the environment of a benchmark child.

STDLIB ONLY (see ``numperf.backends``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from numperf.backends.probe import first_match
from numperf.backends.registry import THREAD_VARS, get


def cache_dir() -> Path:
    explicit = os.environ.get("NUMPERF_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "numperf"


def link_dir(label: str) -> tuple[Path, list[str]] | None:
    """Create (once, atomically) the symlink directory of ``label``.

    Returns (directory, [real target, ...]) or None if the backend needs no
    link directory.  Raises RuntimeError if a link target is missing.
    """
    b = get(label)
    if not b.links:
        return None
    resolved: list[tuple[str, str]] = []
    for name, candidates in b.links:
        target = first_match(candidates)
        if target is None:
            raise RuntimeError(f"backend {label!r}: no target for {name}")
        resolved.append((name, os.path.realpath(target)))
    digest = hashlib.sha256(repr(resolved).encode()).hexdigest()[:12]
    parent = cache_dir() / "blas-links"
    final = parent / f"{label}-{digest}"
    if not _links_ok(final, resolved):
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{label}-", dir=parent))
        try:
            os.chmod(tmp, 0o755)
            for name, target in resolved:
                os.symlink(target, tmp / name)
            try:
                os.rename(tmp, final)  # atomic; fails if someone else won
            except OSError:
                if not _links_ok(final, resolved):
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final, [t for _, t in resolved]


def _links_ok(directory: Path, resolved: list[tuple[str, str]]) -> bool:
    try:
        return all(os.readlink(directory / name) == target for name, target in resolved)
    except OSError:
        return False


def child_launch(label: str, threads: int, base_env: dict) -> tuple[str, dict]:
    """(python executable, environment) for a benchmark child of ``label``.

    The returned env is a copy of ``base_env`` with the backend's directories
    prepended to LD_LIBRARY_PATH, its variables set/unset, and every thread
    variable in THREAD_VARS set to ``threads``.  PYTHONPATH is left to the
    caller.
    """
    b = get(label)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    env = dict(base_env)
    for name in b.env_unset:
        env.pop(name, None)
    env.update(b.env_set)
    dirs: list[str] = []
    links = link_dir(label)
    if links is not None:
        directory, targets = links
        dirs.append(str(directory))
        if b.link_target_dir_on_path:
            for target in targets:
                parent = os.path.dirname(target)
                if parent not in dirs:
                    dirs.append(parent)
    dirs.extend(d for d in b.lib_dirs if d not in dirs)
    if dirs:
        old = env.get("LD_LIBRARY_PATH", "")
        env["LD_LIBRARY_PATH"] = os.pathsep.join(dirs + ([old] if old else []))
    for name in THREAD_VARS:
        env[name] = str(threads)
    return b.python or sys.executable, env

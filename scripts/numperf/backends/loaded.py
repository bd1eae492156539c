"""What a child really loaded: its mapped BLAS libraries, checked against what its backend promised.

STDLIB ONLY (see ``numperf.backends``).
"""

from __future__ import annotations

import os
import re

from numperf.backends.registry import get

_MAPPED_RE = re.compile(
    r"^lib(?:c?blas|lapacke?|openblas|scipy_openblas|blis|mkl|atlas|satlas|"
    r"tatlas|f77blas|ptf77blas|cblas|flexiblas|gomp|iomp|omp)[^/]*\.so"
)


def mapped_blas_libraries(pid: int | str = "self") -> list[str]:
    """Realpaths of BLAS/LAPACK/OpenMP shared objects mapped in ``pid``."""
    found: set[str] = set()
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.rstrip("\n").split(None, 5)
            if len(parts) < 6 or not parts[5].startswith("/"):
                continue
            path = parts[5]
            if path.endswith(" (deleted)"):
                path = path[: -len(" (deleted)")]
            if _MAPPED_RE.match(os.path.basename(path)):
                found.add(os.path.realpath(path))
    return sorted(found)


def _classify(path: str) -> tuple[str, str] | None:
    """(family, role) of a mapped library; role is blas, lapack or openmp."""
    base = os.path.basename(path)
    parent = os.path.basename(os.path.dirname(path))
    if re.match(r"lib(gomp|iomp|omp)", base):
        return ("openmp", "openmp")
    if base.startswith(("libscipy_openblas", "libopenblas")) or parent.startswith("openblas"):
        return ("openblas", "blas")
    if base.startswith("libblis") or parent.startswith("blis"):
        return ("blis", "blas")
    if base.startswith("libmkl"):
        return ("mkl", "blas")
    if base.startswith("libflexiblas") or parent == "flexiblas":
        return ("flexiblas", "blas")
    if re.match(r"lib(s|t)?atlas|lib(pt)?f77blas", base) or parent == "atlas":
        return ("atlas", "blas")
    if base.startswith("liblapack"):
        return ("netlib", "lapack")
    if re.match(r"libc?blas", base):
        return ("netlib", "blas")
    return None


def _origin(path: str) -> str:
    if "numpy.libs" in path or "scipy_openblas" in path:
        return " (wheel)"
    if path.startswith("/usr/lib/"):
        return " (Debian)"
    return ""


def _file_version(paths: list[str]) -> str:
    for p in paths:
        m = re.search(r"\.so\.(\d+\.\d+(?:\.\d+)*)$", p) or re.search(r"-r(\d+\.\d+\.\d+)\.so", p)
        if m:
            return " " + m.group(1)
    return ""


def _blas_by_family(mapped: list[str]) -> dict[str, list[str]]:
    """The mapped BLAS libraries (not LAPACK or OpenMP) grouped by implementation."""
    by_family: dict[str, list[str]] = {}
    for path in mapped:
        cls = _classify(path)
        if cls is not None and cls[1] == "blas":
            by_family.setdefault(cls[0], []).append(path)
    return by_family


def _verified_name(blas_info: list[dict], by_family: dict[str, list[str]]) -> str:
    """Short name of what ran: threadpoolctl's view, plus mapped BLAS it cannot see."""
    names = []
    seen_api = set()
    for d in blas_info:
        api = d.get("internal_api") or d.get("prefix") or "?"
        seen_api.add(api)
        names.append(f"{api} {d.get('version') or '?'}{_origin(d.get('filepath', ''))}")
    for fam, paths in by_family.items():
        if fam not in seen_api:
            names.append(f"{fam}{_file_version(paths)}{_origin(paths[0])}")
    return " + ".join(names) if names else "none"


def _mismatch(label: str, blas_info: list[dict], by_family: dict[str, list[str]], mapped: list[str],
              threads: int | None) -> str | None:
    """Why what was loaded is not what ``label`` promised (``multiple_blas:`` or
    ``backend_mismatch:``), or None."""
    b = get(label)
    families = set(by_family) | {d.get("internal_api") for d in blas_info if d.get("internal_api")}
    if len(families) > 1 or len({d.get("filepath") for d in blas_info}) > 1:
        listing = "; ".join(f"{fam}: {', '.join(paths)}" for fam, paths in sorted(by_family.items()))
        tp = ", ".join(f"{d.get('internal_api')}={d.get('filepath')}" for d in blas_info)
        return (f"multiple_blas: backend {label!r} expects one BLAS but "
                f"{len(families) or len(blas_info)} are loaded "
                f"(mapped: {listing or 'none'}; threadpoolctl: {tp or 'none'})")
    if not by_family and not blas_info:
        return f"backend_mismatch: {label!r} expected {b.lib_regex!r} but no BLAS library is mapped"
    seen_api = {d.get("internal_api") or d.get("prefix") or "?" for d in blas_info}
    apis = sorted(seen_api)
    if b.internal_api is not None and b.internal_api not in seen_api:
        return (f"backend_mismatch: {label!r} expected threadpoolctl internal_api "
                f"{b.internal_api!r}, found {apis or 'no BLAS visible to threadpoolctl'}"
                f" (mapped: {', '.join(mapped) or 'none'})")
    if b.internal_api is None and blas_info:
        return (f"backend_mismatch: {label!r} expected a BLAS invisible to "
                f"threadpoolctl, found {apis} at {blas_info[0].get('filepath')}")
    blas_paths = [p for paths in by_family.values() for p in paths]
    if not any(re.search(b.lib_regex, p) for p in blas_paths):
        return (f"backend_mismatch: {label!r} expected a mapped BLAS matching "
                f"{b.lib_regex!r}, found {', '.join(blas_paths) or 'none'}")
    first = blas_info[0] if blas_info else {}
    if b.architecture is not None and first.get("architecture") != b.architecture:
        return (f"backend_mismatch: {label!r} expected architecture "
                f"{b.architecture!r}, found {first.get('architecture')!r}")
    if threads is not None and first and first.get("num_threads") != threads:
        return (f"backend_mismatch: {label!r} expected {threads} BLAS threads, "
                f"threadpoolctl reports {first.get('num_threads')}")
    return None


def verify(
    label: str,
    threadpool_info: list[dict],
    mapped: list[str],
    threads: int | None = None,
) -> dict:
    """Check what a child really loaded against what ``label`` promised.

    Returns ``verified_blas`` (short name of what ran), ``backend_ok``,
    ``backend_reason`` (None, or a string starting ``backend_mismatch:`` or
    ``multiple_blas:``) and, for information, ``blas_architecture``,
    ``blas_threading_layer`` and ``blas_num_threads`` (None when unknown).
    ``threads``, if given, must equal threadpoolctl's num_threads.
    """
    get(label)  # unknown labels: ValueError listing the known ones
    blas_info = [d for d in threadpool_info if d.get("user_api") == "blas"]
    by_family = _blas_by_family(mapped)
    first = blas_info[0] if blas_info else {}
    reason = _mismatch(label, blas_info, by_family, mapped, threads)
    return {
        "verified_blas": _verified_name(blas_info, by_family),
        "backend_ok": reason is None,
        "backend_reason": reason,
        "blas_architecture": first.get("architecture"),
        "blas_threading_layer": first.get("threading_layer"),
        "blas_num_threads": first.get("num_threads"),
    }

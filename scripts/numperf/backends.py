"""BLAS backend registry, child-process launch environment and verification.

STDLIB ONLY: this module is imported both by the parent (venv python, numpy
2.x) and inside benchmark children run by Debian's /usr/bin/python3 (numpy
1.24 + python3-threadpoolctl).  It must never import numpy.

How a backend is selected
-------------------------
* ``wheel`` / ``wheel-native``: the venv's PyPI numpy, which carries its own
  OpenBLAS (scipy-openblas) through an RPATH; LD_LIBRARY_PATH cannot swap it.
  ``wheel-native`` only drops OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for that
  child so OpenBLAS auto-detects the CPU kernels.
* every other backend runs Debian's /usr/bin/python3, whose numpy links the
  generic sonames ``libblas.so.3`` / ``liblapack.so.3``; prepending a
  directory holding those names to LD_LIBRARY_PATH picks the implementation
  for that one process.  The matching LAPACK directory always goes on the
  path too, so that a single BLAS ends up mapped.
* BLIS and MKL do not ship such a directory in a usable form, so a directory
  of symlinks is built on demand in the cache dir
  (``$NUMPERF_CACHE_DIR`` or ``$XDG_CACHE_HOME/numperf`` or
  ``~/.cache/numperf``) under ``blas-links/<label>-<hash>``.  The name is
  derived from the link targets, the directory is filled under a temporary
  name and renamed into place, and never modified afterwards, so concurrent
  launches are safe.

The system-wide ``libblas.so.3`` alternative is never used or changed.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

MULTIARCH = "/usr/lib/x86_64-linux-gnu"
SYSTEM_PYTHON = "/usr/bin/python3"
DEBIAN_NUMPY = "/usr/lib/python3/dist-packages/numpy/__init__.py"
DEBIAN_THREADPOOLCTL = "/usr/lib/python3/dist-packages/threadpoolctl.py"

#: Every variable that may size a BLAS / OpenMP thread pool.  child_launch
#: sets all of them so no library falls back to "all cores".
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "FLEXIBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

#: Safety overrides that hosts may export for old OpenBLAS builds; only the
#: explicitly labelled ``*-native`` variants drop them, for their child only.
OPENBLAS_SAFETY_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

#: BLIS 0.9.0 ``arch_t`` id of the ``skx`` sub-configuration (AVX-512).  The
#: numbering is specific to the BLIS release (0.9.0 in Debian bookworm):
#: 0 skx, 3 haswell, 6 zen3, 7 zen2, 8 zen, 25 generic.  See
#: .ci/BACKENDS_NOTES.md for the measurements behind the choice.
BLIS_ARCH_SKX = "0"

_AVX512 = ("avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl")

_DEBIAN_PYTHON_ENV = {
    # Same effect as ``python3 -s``: no ~/.local site-packages leaking in.
    "PYTHONNOUSERSITE": "1",
}
_DEBIAN_PYTHON_UNSET = ("PYTHONHOME",)
_DEBIAN_PYTHON_FILES = (SYSTEM_PYTHON, DEBIAN_NUMPY, DEBIAN_THREADPOOLCTL)
_DEBIAN_PYTHON_APT = ("python3-numpy", "python3-threadpoolctl")


@dataclass(frozen=True)
class Backend:
    """One BLAS backend: pure data, interpreted by the functions below."""

    label: str
    description: str
    #: interpreter for the child; "" = the current ``sys.executable`` (venv).
    python: str = ""
    #: directories prepended to LD_LIBRARY_PATH (after any link directory).
    lib_dirs: tuple[str, ...] = ()
    #: symlinks to create in a cached directory that is put first on
    #: LD_LIBRARY_PATH: (link name, candidate target globs, first match wins).
    links: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: also put the directory of the (real) link target on LD_LIBRARY_PATH
    #: (MKL dlopens its other parts from there).
    link_target_dir_on_path: bool = False
    env_set: dict[str, str] = field(default_factory=dict)
    env_unset: tuple[str, ...] = ()
    #: threadpoolctl ``internal_api`` expected for the BLAS, or None when
    #: threadpoolctl cannot see the library (netlib, ATLAS, FlexiBLAS with
    #: threadpoolctl < 3.4).
    internal_api: str | None = None
    #: regex that some mapped BLAS library realpath must match.
    lib_regex: str = ""
    #: expected threadpoolctl ``architecture`` (None = not checked).
    architecture: str | None = None
    #: variable that sets its thread count (None = single-threaded library).
    threads_env: str | None = None
    #: files (globs) that must exist for the backend to be available.
    requires_files: tuple[str, ...] = ()
    #: /proc/cpuinfo flags the selected kernels need.
    requires_cpu_flags: tuple[str, ...] = ()
    #: the venv interpreter must have the OpenBLAS-bundling PyPI numpy wheel.
    requires_wheel_numpy: bool = False
    #: Debian packages that provide it (used in "not installed" reasons).
    apt_packages: tuple[str, ...] = ()
    #: installed only on request (large download).
    opt_in: bool = False
    install_hint: str = ".ci/install-backends.sh"


_MKL_RT_GLOBS = (
    "$NUMPERF_MKL_LIBDIR/libmkl_rt.so.*",
    "{repo}/.venv/lib/libmkl_rt.so.*",
    "{sys_prefix}/lib/libmkl_rt.so.*",
    MULTIARCH + "/libmkl_rt.so*",
    "/opt/intel/oneapi/mkl/latest/lib/libmkl_rt.so.*",
    "/opt/intel/oneapi/mkl/latest/lib/intel64/libmkl_rt.so.*",
)

REGISTRY: dict[str, Backend] = {
    b.label: b
    for b in (
        Backend(
            label="wheel",
            description="PyPI numpy wheel with its bundled scipy-openblas, "
            "environment inherited as is (incl. any OPENBLAS_CORETYPE)",
            internal_api="openblas",
            lib_regex=r"libscipy_openblas",
            threads_env="OPENBLAS_NUM_THREADS",
            requires_wheel_numpy=True,
            install_hint="the venv (pip install numpy)",
        ),
        Backend(
            label="wheel-native",
            description="PyPI numpy wheel with OPENBLAS_CORETYPE and "
            "OPENBLAS_L2_SIZE removed for this child (CPU auto-detection)",
            env_unset=OPENBLAS_SAFETY_VARS,
            internal_api="openblas",
            lib_regex=r"libscipy_openblas",
            threads_env="OPENBLAS_NUM_THREADS",
            requires_wheel_numpy=True,
            install_hint="the venv (pip install numpy)",
        ),
        Backend(
            label="openblas",
            description="Debian numpy 1.24 + Debian OpenBLAS 0.3.x "
            "(openblas-pthread), environment inherited as is",
            python=SYSTEM_PYTHON,
            lib_dirs=(MULTIARCH + "/openblas-pthread",),
            env_set=dict(_DEBIAN_PYTHON_ENV),
            env_unset=_DEBIAN_PYTHON_UNSET,
            internal_api="openblas",
            lib_regex=r"/openblas-pthread/libopenblas",
            threads_env="OPENBLAS_NUM_THREADS",
            requires_files=_DEBIAN_PYTHON_FILES
            + (
                MULTIARCH + "/openblas-pthread/libblas.so.3",
                MULTIARCH + "/openblas-pthread/liblapack.so.3",
            ),
            apt_packages=_DEBIAN_PYTHON_APT + ("libopenblas0-pthread",),
        ),
        Backend(
            label="openblas-native",
            description="as 'openblas' but with OPENBLAS_CORETYPE and "
            "OPENBLAS_L2_SIZE removed for this child",
            python=SYSTEM_PYTHON,
            lib_dirs=(MULTIARCH + "/openblas-pthread",),
            env_set=dict(_DEBIAN_PYTHON_ENV),
            env_unset=_DEBIAN_PYTHON_UNSET + OPENBLAS_SAFETY_VARS,
            internal_api="openblas",
            lib_regex=r"/openblas-pthread/libopenblas",
            threads_env="OPENBLAS_NUM_THREADS",
            requires_files=_DEBIAN_PYTHON_FILES
            + (
                MULTIARCH + "/openblas-pthread/libblas.so.3",
                MULTIARCH + "/openblas-pthread/liblapack.so.3",
            ),
            apt_packages=_DEBIAN_PYTHON_APT + ("libopenblas0-pthread",),
        ),
        Backend(
            label="blis",
            description="Debian numpy 1.24 + BLIS 0.9 (pthreads) as libblas "
            "via a symlink dir, netlib LAPACK, kernels pinned to skx "
            "(BLIS_ARCH_TYPE=" + BLIS_ARCH_SKX + ")",
            python=SYSTEM_PYTHON,
            links=(("libblas.so.3", (MULTIARCH + "/blis-pthread/libblis.so.4",)),),
            lib_dirs=(MULTIARCH + "/lapack",),
            env_set={**_DEBIAN_PYTHON_ENV, "BLIS_ARCH_TYPE": BLIS_ARCH_SKX},
            env_unset=_DEBIAN_PYTHON_UNSET,
            internal_api="blis",
            lib_regex=r"/blis-pthread/libblis\.so",
            architecture="skx",
            threads_env="BLIS_NUM_THREADS",
            requires_files=_DEBIAN_PYTHON_FILES
            + (
                MULTIARCH + "/blis-pthread/libblis.so.4",
                MULTIARCH + "/lapack/liblapack.so.3",
            ),
            requires_cpu_flags=_AVX512,
            apt_packages=_DEBIAN_PYTHON_APT + ("libblis4-pthread", "liblapack3"),
        ),
        Backend(
            label="blis-auto",
            description="as 'blis' but BLIS picks its kernels itself (BLIS_ARCH_TYPE removed for this child)",
            python=SYSTEM_PYTHON,
            links=(("libblas.so.3", (MULTIARCH + "/blis-pthread/libblis.so.4",)),),
            lib_dirs=(MULTIARCH + "/lapack",),
            env_set=dict(_DEBIAN_PYTHON_ENV),
            env_unset=_DEBIAN_PYTHON_UNSET + ("BLIS_ARCH_TYPE",),
            internal_api="blis",
            lib_regex=r"/blis-pthread/libblis\.so",
            threads_env="BLIS_NUM_THREADS",
            requires_files=_DEBIAN_PYTHON_FILES
            + (
                MULTIARCH + "/blis-pthread/libblis.so.4",
                MULTIARCH + "/lapack/liblapack.so.3",
            ),
            apt_packages=_DEBIAN_PYTHON_APT + ("libblis4-pthread", "liblapack3"),
        ),
        Backend(
            label="netlib",
            description="Debian numpy 1.24 + netlib reference BLAS/LAPACK (single-threaded)",
            python=SYSTEM_PYTHON,
            lib_dirs=(MULTIARCH + "/blas", MULTIARCH + "/lapack"),
            env_set=dict(_DEBIAN_PYTHON_ENV),
            env_unset=_DEBIAN_PYTHON_UNSET,
            internal_api=None,
            lib_regex=r"/blas/libblas\.so",
            requires_files=_DEBIAN_PYTHON_FILES
            + (MULTIARCH + "/blas/libblas.so.3", MULTIARCH + "/lapack/liblapack.so.3"),
            apt_packages=_DEBIAN_PYTHON_APT + ("libblas3", "liblapack3"),
        ),
        Backend(
            label="atlas",
            description="Debian numpy 1.24 + ATLAS 3.10 BLAS/LAPACK (single-threaded build)",
            python=SYSTEM_PYTHON,
            lib_dirs=(MULTIARCH + "/atlas",),
            env_set=dict(_DEBIAN_PYTHON_ENV),
            env_unset=_DEBIAN_PYTHON_UNSET,
            internal_api=None,
            lib_regex=r"/atlas/libblas\.so",
            requires_files=_DEBIAN_PYTHON_FILES
            + (MULTIARCH + "/atlas/libblas.so.3", MULTIARCH + "/atlas/liblapack.so.3"),
            apt_packages=_DEBIAN_PYTHON_APT + ("libatlas3-base",),
        ),
        Backend(
            label="mkl",
            description="Debian numpy 1.24 + Intel oneMKL (libmkl_rt as "
            "libblas/liblapack, LP64, GNU OpenMP threading); opt-in",
            python=SYSTEM_PYTHON,
            links=(
                ("libblas.so.3", _MKL_RT_GLOBS),
                ("liblapack.so.3", _MKL_RT_GLOBS),
            ),
            link_target_dir_on_path=True,
            env_set={
                **_DEBIAN_PYTHON_ENV,
                "MKL_INTERFACE_LAYER": "LP64",
                # libgomp ships with Debian; the INTEL layer would need the
                # separate intel-openmp wheel (libiomp5).
                "MKL_THREADING_LAYER": "GNU",
            },
            env_unset=_DEBIAN_PYTHON_UNSET,
            internal_api="mkl",
            lib_regex=r"libmkl_rt\.so",
            threads_env="MKL_NUM_THREADS",
            requires_files=_DEBIAN_PYTHON_FILES + (MULTIARCH + "/libgomp.so.1",),
            apt_packages=_DEBIAN_PYTHON_APT + ("libgomp1",),
            opt_in=True,
            install_hint="NUMPERF_INSTALL_MKL=1 .ci/install-backends.sh "
            "(pip install mkl into the venv, ~1 GB) or NUMPERF_MKL_LIBDIR",
        ),
        Backend(
            label="flexiblas",
            description="Debian numpy 1.24 + FlexiBLAS (its backend chosen by "
            "FLEXIBLAS=<name> from the caller's environment)",
            python=SYSTEM_PYTHON,
            lib_dirs=(MULTIARCH + "/flexiblas",),
            env_set=dict(_DEBIAN_PYTHON_ENV),
            env_unset=_DEBIAN_PYTHON_UNSET,
            internal_api=None,
            lib_regex=r"libflexiblas\.so",
            threads_env="FLEXIBLAS_NUM_THREADS",
            requires_files=_DEBIAN_PYTHON_FILES
            + (
                MULTIARCH + "/libflexiblas.so.3*",
                MULTIARCH + "/flexiblas/libblas.so.3",
            ),
            apt_packages=_DEBIAN_PYTHON_APT + ("libflexiblas3",),
        ),
    )
}


# --------------------------------------------------------------------------
# lookup and availability


def get(label: str) -> Backend:
    """The registry entry for ``label``; ValueError listing known labels."""
    try:
        return REGISTRY[label]
    except KeyError:
        raise ValueError(f"unknown BLAS backend {label!r}; known labels: {', '.join(REGISTRY)}") from None


def _repo_root() -> Path:
    # scripts/numperf/backends.py -> repo root
    return Path(__file__).resolve().parents[2]


def _expand(pattern: str) -> str:
    pattern = pattern.replace("{repo}", str(_repo_root()))
    pattern = pattern.replace("{sys_prefix}", sys.prefix)
    return os.path.expandvars(pattern)


def _first_match(patterns: tuple[str, ...]) -> str | None:
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
        if _first_match(candidates) is None:
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


# --------------------------------------------------------------------------
# link directories and the child environment


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
        target = _first_match(candidates)
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


# --------------------------------------------------------------------------
# what is really loaded

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
    b = get(label)
    blas_info = [d for d in threadpool_info if d.get("user_api") == "blas"]
    by_family: dict[str, list[str]] = {}
    lapack_families: dict[str, list[str]] = {}
    for path in mapped:
        cls = _classify(path)
        if cls is None or cls[1] == "openmp":
            continue
        target = by_family if cls[1] == "blas" else lapack_families
        target.setdefault(cls[0], []).append(path)

    # names of what ran
    names = []
    seen_api = set()
    for d in blas_info:
        api = d.get("internal_api") or d.get("prefix") or "?"
        seen_api.add(api)
        names.append(f"{api} {d.get('version') or '?'}{_origin(d.get('filepath', ''))}")
    for fam, paths in by_family.items():
        if fam not in seen_api:
            names.append(f"{fam}{_file_version(paths)}{_origin(paths[0])}")
    verified = " + ".join(names) if names else "none"

    first = blas_info[0] if blas_info else {}
    result = {
        "verified_blas": verified,
        "backend_ok": True,
        "backend_reason": None,
        "blas_architecture": first.get("architecture"),
        "blas_threading_layer": first.get("threading_layer"),
        "blas_num_threads": first.get("num_threads"),
    }

    def fail(reason: str) -> dict:
        result["backend_ok"] = False
        result["backend_reason"] = reason
        return result

    families = set(by_family) | {d.get("internal_api") for d in blas_info if d.get("internal_api")}
    if len(families) > 1 or len({d.get("filepath") for d in blas_info}) > 1:
        listing = "; ".join(f"{fam}: {', '.join(paths)}" for fam, paths in sorted(by_family.items()))
        tp = ", ".join(f"{d.get('internal_api')}={d.get('filepath')}" for d in blas_info)
        return fail(
            f"multiple_blas: backend {label!r} expects one BLAS but "
            f"{len(families) or len(blas_info)} are loaded "
            f"(mapped: {listing or 'none'}; threadpoolctl: {tp or 'none'})"
        )
    if not by_family and not blas_info:
        return fail(f"backend_mismatch: {label!r} expected {b.lib_regex!r} but no BLAS library is mapped")

    apis = sorted(seen_api)
    if b.internal_api is not None and b.internal_api not in seen_api:
        return fail(
            f"backend_mismatch: {label!r} expected threadpoolctl internal_api "
            f"{b.internal_api!r}, found {apis or 'no BLAS visible to threadpoolctl'}"
            f" (mapped: {', '.join(mapped) or 'none'})"
        )
    if b.internal_api is None and blas_info:
        return fail(
            f"backend_mismatch: {label!r} expected a BLAS invisible to "
            f"threadpoolctl, found {apis} at {blas_info[0].get('filepath')}"
        )
    blas_paths = [p for paths in by_family.values() for p in paths]
    if not any(re.search(b.lib_regex, p) for p in blas_paths):
        return fail(
            f"backend_mismatch: {label!r} expected a mapped BLAS matching "
            f"{b.lib_regex!r}, found {', '.join(blas_paths) or 'none'}"
        )
    if b.architecture is not None and first.get("architecture") != b.architecture:
        return fail(
            f"backend_mismatch: {label!r} expected architecture "
            f"{b.architecture!r}, found {first.get('architecture')!r}"
        )
    if threads is not None and first and first.get("num_threads") != threads:
        return fail(
            f"backend_mismatch: {label!r} expected {threads} BLAS threads, "
            f"threadpoolctl reports {first.get('num_threads')}"
        )
    return result


__all__ = [
    "Backend",
    "REGISTRY",
    "THREAD_VARS",
    "available",
    "cache_dir",
    "child_launch",
    "get",
    "link_dir",
    "mapped_blas_libraries",
    "probe_all",
    "verify",
]

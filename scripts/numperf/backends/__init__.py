"""BLAS backend registry, child-process launch environment and verification.

STDLIB ONLY: this package is imported both by the parent (venv python, numpy
2.x) and inside benchmark children run by Debian's /usr/bin/python3 (numpy
1.24 + python3-threadpoolctl).  It must never import numpy.

``registry`` holds the data (one ``Backend`` per label), ``probe`` decides
whether a backend is available here, ``launch`` builds a child's interpreter
and environment, ``loaded`` checks what the child really mapped.

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

from numperf.backends.launch import cache_dir, child_launch, link_dir
from numperf.backends.loaded import mapped_blas_libraries, verify
from numperf.backends.probe import available, probe_all
from numperf.backends.registry import (
    BLIS_ARCH_SKX,
    DEBIAN_NUMPY,
    DEBIAN_THREADPOOLCTL,
    MULTIARCH,
    OPENBLAS_SAFETY_VARS,
    REGISTRY,
    SYSTEM_PYTHON,
    THREAD_VARS,
    Backend,
    get,
)

__all__ = [
    "BLIS_ARCH_SKX",
    "DEBIAN_NUMPY",
    "DEBIAN_THREADPOOLCTL",
    "MULTIARCH",
    "OPENBLAS_SAFETY_VARS",
    "SYSTEM_PYTHON",
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

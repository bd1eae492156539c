"""The backend registry: what each BLAS backend is (pure data) and its lookup.

STDLIB ONLY, like the whole ``numperf.backends`` package (children import it under Debian's python).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


def get(label: str) -> Backend:
    """The registry entry for ``label``; ValueError listing known labels."""
    try:
        return REGISTRY[label]
    except KeyError:
        raise ValueError(f"unknown BLAS backend {label!r}; known labels: {', '.join(REGISTRY)}") from None

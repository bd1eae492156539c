"""The reductions family: summing, vector norms and row norms, NumPy against a C loop and against
itself.

Seed 002 races NumPy against a small C program that fills an array with ``rand()`` and sums it in one
loop, then races ``np.linalg.norm`` (BLAS) against ``np.sqrt(np.sum(a ** 2))``; seed 001 times
``np.einsum('ij,ij->i', A, A)`` against ``(A * A).sum(axis=1)``. The C loop is compiled at run time
with the system compiler ``cc`` into a shared library (cached in the temp directory, keyed by the
source, the flags and the compiler) and called through ctypes; without a compiler its cases are
skipped. Every result is checked against a long-double reference within the rounding bound of a sum
of that many terms (or, for the sums of fresh random numbers, against their expected value).
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import shutil
import subprocess
import tempfile

import numpy as np

from numperf import seeds
from numperf.family import Check, Family, FigureDecl, MemoryModel, Method, Param, Skip

NAME = "reductions"
#: The system C compiler the seed's program is built with.
COMPILER = "cc"
#: Optimisation flags: the usual release level (the seed names none); recorded as check_c_flags.
C_FLAGS = ("-O2",)
#: The seed's C program as two functions: its summation loop alone, and the whole program (fill a
#: fresh array with rand() / RAND_MAX from the default seed, sum it in order, free it).
C_SOURCE = r"""
#include <stdlib.h>

double loop_sum(const double *values, long count)
{
    double total = 0.0;
    for (long k = 0; k < count; ++k)
        total += values[k];
    return total;
}

double rand_sum(long count)
{
    double *values = (double *) malloc(sizeof(double) * (size_t) count);
    if (values == NULL)
        return -1.0;
    srand(1);
    for (long k = 0; k < count; ++k)
        values[k] = (double) rand() / RAND_MAX;
    double total = 0.0;
    for (long k = 0; k < count; ++k)
        total += values[k];
    free(values);
    return total;
}
"""
#: Methods that call the compiled C code.
C_METHODS = ("c_loop_sum", "c_rand_sum")
#: Methods that draw their own random numbers in float64 (no input array).
RAND_METHODS = ("numpy_rand_sum", "c_rand_sum")
#: Methods on the rows x cols matrix (rows = elements / cols).
MATRIX_METHODS = ("multiply_sum_rows", "einsum_rows")
#: The seed comparisons: method pairs (fast, slow as the seed frames them) by figure panel.
COMPARISONS = {
    "sum of an array": ("numpy_sum", "c_loop_sum"),
    "generate + sum": ("numpy_rand_sum", "c_rand_sum"),
    "vector norm": ("linalg_norm", "sqrt_sum_squares"),
    "row sums of squares": ("einsum_rows", "multiply_sum_rows"),
}
#: A sum of n uniform [0, 1] numbers further than this many standard deviations from n/2 is wrong.
RAND_SUM_MAX_Z = 8.0


def _elements(params: dict) -> int:
    return int(params["elements"])


def _shape(params: dict) -> tuple[int, int]:
    cols = int(params["cols"])
    return _elements(params) // cols, cols


# --- the compiled C loop ---------------------------------------------------------------------------

_LIBRARY: dict = {}


def compiler_path() -> str | None:
    return shutil.which(COMPILER)


def _library_path(cc: str) -> str:
    """Where the shared library of this source, these flags and this compiler binary lives."""
    st = os.stat(cc)
    key = "\0".join([C_SOURCE, " ".join(C_FLAGS), os.path.realpath(cc), str(st.st_size), str(st.st_mtime_ns),
                     os.uname().machine])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = os.path.join(tempfile.gettempdir(), f"numperf-reductions-{os.getuid()}")
    return os.path.join(folder, f"seed_loop_{digest}.so")


def _compile(cc: str, target: str) -> None:
    """Compile C_SOURCE into ``target`` (atomically: concurrent processes may race)."""
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        src = os.path.join(tmp, "seed_loop.c")
        with open(src, "w") as fh:
            fh.write(C_SOURCE)
        out = os.path.join(tmp, "seed_loop.so")
        proc = subprocess.run([cc, *C_FLAGS, "-shared", "-fPIC", "-o", out, src], capture_output=True,
                              text=True, timeout=120)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise RuntimeError(lines[-1] if lines else f"exit status {proc.returncode}")
        os.replace(out, target)


def library():
    """The compiled seed loop loaded with ctypes (compiled on first use), or a Skip reason string."""
    if "lib" in _LIBRARY or "problem" in _LIBRARY:
        return _LIBRARY.get("lib") or _LIBRARY["problem"]
    cc = compiler_path()
    if cc is None:
        _LIBRARY["problem"] = (f"no_compiler: {COMPILER} not found on PATH (the seed's C loop is compiled "
                               f"at run time)")
        return _LIBRARY["problem"]
    target = _library_path(cc)
    try:
        if not os.path.exists(target):
            _compile(cc, target)
        try:
            lib = ctypes.CDLL(target)
        except OSError:  # a cached library that does not load (truncated, foreign): build it again
            _compile(cc, target)
            lib = ctypes.CDLL(target)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        _LIBRARY["problem"] = f"compile_failed: {COMPILER} {' '.join(C_FLAGS)}: {exc}"
        return _LIBRARY["problem"]
    lib.loop_sum.argtypes = [ctypes.c_void_p, ctypes.c_long]
    lib.loop_sum.restype = ctypes.c_double
    lib.rand_sum.argtypes = [ctypes.c_long]
    lib.rand_sum.restype = ctypes.c_double
    _LIBRARY["lib"] = lib
    return lib


def compiler_version() -> str:
    """First line of ``cc --version`` (a fact of the C cases)."""
    cc = compiler_path()
    if cc is None:
        return ""
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.strip().splitlines()[0] if out.strip() else ""


# --- inputs ----------------------------------------------------------------------------------------

def setup(params: dict, dtype: str, rng, method: str | None = None) -> dict:
    """The random vector (like ``np.random.rand``, in the case's dtype), its rows x cols view when
    the size allows one, and the compiled C loop (or why there is none). The rand methods draw
    their own numbers, so they get no vector; only the C methods load the library."""
    n = _elements(params)
    a = matrix = None
    if method not in RAND_METHODS:
        a = rng.random(n).astype(dtype, copy=False)
        rows, cols = _shape(params)
        matrix = a.reshape(rows, cols) if rows * cols == n else None
    lib = library() if method is None or method in C_METHODS else None
    return {"a": a, "A": matrix, "n": n, "lib": lib if not isinstance(lib, str) else None,
            "lib_problem": lib if isinstance(lib, str) else None}


def _lib(inputs):
    if inputs["lib"] is None:
        raise Skip(inputs["lib_problem"])
    return inputs["lib"]


# --- kernels ---------------------------------------------------------------------------------------

def _numpy_sum(inputs, threads=1):
    return inputs["a"].sum()


def _c_loop_sum(inputs, threads=1):
    a = inputs["a"]
    return _lib(inputs).loop_sum(a.ctypes.data, a.size)


def _numpy_rand_sum(inputs, threads=1):
    """The seed's NumPy answer to the race: draw n numbers and sum them."""
    return np.random.rand(inputs["n"]).sum()


def _c_rand_sum(inputs, threads=1):
    return _lib(inputs).rand_sum(inputs["n"])


def _sqrt_sum_squares(inputs, threads=1):
    return np.sqrt(np.sum(inputs["a"] ** 2))


def _linalg_norm(inputs, threads=1):
    return np.linalg.norm(inputs["a"])


def _multiply_sum_rows(inputs, threads=1):
    A = inputs["A"]
    return (A * A).sum(axis=1)


def _einsum_rows(inputs, threads=1):
    A = inputs["A"]
    return np.einsum("ij,ij->i", A, A)


# --- models ----------------------------------------------------------------------------------------

def _input_bytes(params, dtype) -> int:
    return _elements(params) * np.dtype(dtype).itemsize


def _model(intermediate, output=lambda p, d: 0, uses_input=True):
    def memory(params, dtype, options) -> MemoryModel:
        return MemoryModel(_input_bytes(params, dtype) if uses_input else 0, int(intermediate(params, dtype)),
                           int(output(params, dtype)))
    return memory


def _none(params, dtype) -> int:
    return 0


def _vector(params, dtype) -> int:
    return _input_bytes(params, dtype)


def _random_vector(params, dtype) -> int:
    return 8 * _elements(params)


def _row_result(params, dtype) -> int:
    return _shape(params)[0] * np.dtype(dtype).itemsize


def _c_skip(params: dict, dtype: str) -> str | None:
    if dtype != "float64":
        return "not_applicable: the seed's C loop sums doubles (float64 only)"
    lib = library()
    return lib if isinstance(lib, str) else None


def _rand_skip(params: dict, dtype: str) -> str | None:
    if dtype != "float64":
        return "not_applicable: np.random.rand and the seed's C program make float64 numbers"
    return None


def _matrix_skip(params: dict, dtype: str) -> str | None:
    if _elements(params) % int(params["cols"]):
        return (f"bad_shape: elements {_elements(params)} is not a multiple of cols {int(params['cols'])} "
                f"(the matrix is elements/cols x cols)")
    return None


def _work(per_element: float, extra=lambda p, d: 0.0):
    return lambda params, dtype: per_element * _elements(params) + extra(params, dtype)


def _traffic(vectors: float, extra=lambda p, d: 0):
    return lambda params, dtype: float(vectors * _input_bytes(params, dtype) + extra(params, dtype))


METHODS = {
    "numpy_sum": Method(
        "numpy_sum", _numpy_sum, _model(_none),
        "a.sum(): NumPy's pairwise summation of an existing array",
        flops=_work(1), bytes_moved=_traffic(1)),
    "c_loop_sum": Method(
        "c_loop_sum", _c_loop_sum, _model(_none),
        f"the seed's C loop (one accumulator, in order) over the same array, {COMPILER} {' '.join(C_FLAGS)}, "
        f"through ctypes",
        flops=_work(1), bytes_moved=_traffic(1), skip=_c_skip),
    "numpy_rand_sum": Method(
        "numpy_rand_sum", _numpy_rand_sum, _model(_random_vector, uses_input=False),
        "np.random.rand(n).sum(): the seed's NumPy entry to the race, drawing included",
        flops=_work(1), bytes_moved=lambda p, d: 16.0 * _elements(p), skip=_rand_skip),
    "c_rand_sum": Method(
        "c_rand_sum", _c_rand_sum, _model(_random_vector, uses_input=False),
        f"the seed's whole C program as a function: malloc, fill with rand() / RAND_MAX, sum in order, "
        f"free ({COMPILER} {' '.join(C_FLAGS)})",
        flops=_work(1), bytes_moved=lambda p, d: 16.0 * _elements(p),
        skip=lambda p, d: _rand_skip(p, d) or _c_skip(p, d)),
    "sqrt_sum_squares": Method(
        "sqrt_sum_squares", _sqrt_sum_squares, _model(_vector),
        "np.sqrt(np.sum(a ** 2)): the norm by hand, through a temporary of squares",
        flops=_work(2), bytes_moved=_traffic(3)),
    "linalg_norm": Method(
        "linalg_norm", _linalg_norm, _model(_none),
        "np.linalg.norm(a): the specialised function (a BLAS dot product for a vector)",
        flops=_work(2), bytes_moved=_traffic(1)),
    "multiply_sum_rows": Method(
        "multiply_sum_rows", _multiply_sum_rows, _model(_vector, _row_result),
        "(A * A).sum(axis=1): squared row norms through a temporary of squares",
        flops=_work(2), bytes_moved=_traffic(3, _row_result), skip=_matrix_skip),
    "einsum_rows": Method(
        "einsum_rows", _einsum_rows, _model(_none, _row_result),
        "np.einsum('ij,ij->i', A, A): squared row norms without a temporary",
        flops=_work(2), bytes_moved=_traffic(1, _row_result), skip=_matrix_skip),
}


# --- check -----------------------------------------------------------------------------------------

def gamma(k: int, eps: float) -> float:
    """gamma_k = k eps / (1 - k eps): the relative bound of k rounding errors (inf when k eps >= 1)."""
    x = k * eps
    return x / (1 - x) if x < 1 else math.inf


def _reference(values) -> np.ndarray:
    """Sums in long double (float64 input keeps 11 more bits; float32 input is summed exactly enough)."""
    return np.asarray(values, dtype=np.longdouble)


def _errors(got, ref) -> tuple[float, float, np.ndarray]:
    got = np.asarray(got, dtype=np.longdouble)
    abs_err = np.abs(got - ref)
    rel = abs_err / np.where(ref != 0, np.abs(ref), 1)
    return float(abs_err.max()), float(rel.max()), rel


def check(method: str, result, inputs: dict, params: dict, dtype: str, rng) -> Check:
    """Against a long-double reference within gamma_k of the terms summed (every term is positive,
    so the bound is relative): k = n - 1 additions for a sum, n + 1 roundings for a squared norm and
    half of that through the square root (plus its own rounding), cols + 1 for a row of squares.
    The sums of fresh random numbers are checked against n/2 in standard deviations instead."""
    facts: dict = {"result_dtype": str(np.asarray(result).dtype)}
    if method in C_METHODS:
        facts.update(c_compiler=compiler_version(), c_flags=" ".join(C_FLAGS))
    a, n = inputs["a"], inputs["n"]
    eps = float(np.finfo(dtype).eps)
    got = np.asarray(result, dtype=np.float64)
    if not np.all(np.isfinite(got)):
        return Check(None, None, f"not finite: {got!r}", facts)
    if method in RAND_METHODS:
        z = (float(got) - n / 2) / math.sqrt(n / 12)
        facts["z_score"] = z
        failed = (f"implausible: the sum of {n} uniform numbers is {float(got):.6g}, {z:+.1f} standard "
                  f"deviations from n/2" if abs(z) > RAND_SUM_MAX_Z else None)
        return Check(None, None, failed, facts)
    if method in MATRIX_METHODS:
        A = _reference(inputs["A"])
        ref = (A * A).sum(axis=1)
        if got.shape != ref.shape:
            return Check(None, None, f"wrong shape: {got.shape} instead of {ref.shape}", facts)
        bound = gamma(A.shape[1] + 1, eps)
    elif method in ("sqrt_sum_squares", "linalg_norm"):
        al = _reference(a)
        ref = np.sqrt((al * al).sum())
        bound = gamma(n + 1, eps) / 2 + eps
    else:
        ref = _reference(a).sum()
        bound = gamma(n - 1, eps)
    abs_err, rel_err, _ = _errors(result, ref)
    facts["error_bound_rel"] = float(bound)
    failed = (f"inaccurate: relative error {rel_err:.3g} exceeds the rounding bound {bound:.3g} of "
              f"{'a row' if method in MATRIX_METHODS else 'the sum'}" if not rel_err <= bound else None)
    return Check(abs_err, rel_err, failed, facts)


FAMILY = Family(
    name=NAME,
    description="reductions: NumPy's sum against the seed's C loop (compiled at run time), the norm by "
                "hand against np.linalg.norm, row norms with einsum against (A * A).sum(axis=1)",
    seeds=seeds.names("001", "002"),
    params=(
        Param("elements", "int", 1_000_000, "elements of the vector (of the matrix: rows x cols)", minimum=1,
              maximum=2_000_000_000),
        Param("cols", "int", 300, "columns of the matrix of the row-norm methods (rows = elements / cols; "
                                  "the seed's 1000 x 300)", minimum=1),
    ),
    dtypes=("float64", "float32"),
    methods=METHODS,
    setup=setup,
    check=check,
    baseline="numpy_sum",
)


# --- figures ---------------------------------------------------------------------------------------

def comparison_of(method: str) -> str:
    for name, pair in COMPARISONS.items():
        if method in pair:
            return name
    return "other"


def draw_time_vs_size(tables: dict, fig):
    from numperf import plotting as figures
    from numperf.claims import Scope, ok_rows

    runs = ok_rows(Scope(tables, "", None))
    if runs.empty:
        figures.message(fig, "No ok rows of the reductions family to plot.")
        return None, None
    runs = runs.assign(op=runs["method"].astype(str).map(comparison_of))
    return figures.facet_lines(fig, runs, x="elements", y="time_median_s", xlabel="elements",
                               ylabel="median time per call (s)", panels=("op", "dtype"), ncols=2)


def figures() -> list[FigureDecl]:
    return [FigureDecl(
        "reductions_time_vs_size", "Reductions: time against size",
        "Median time per call against the number of elements summed (log-log, error bars: 95% interval "
        "between processes), one panel per seed comparison, one colour per method: lower is faster.",
        draw_time_vs_size)]


# --- claims ----------------------------------------------------------------------------------------

KEEPS_UP_RULE = ("Per size, dtype and thread count, the between-process interval of the time ratio and its "
                 "verdict: NumPy faster or equivalent (within min_effect) supports; NumPy slower "
                 "contradicts; inconclusive leaves it undecided.")
BEATS_RULE = ("Per size, dtype and thread count, the between-process interval of the time ratio and its "
              "verdict: {fast} faster supports; {fast} slower or equivalent (within min_effect) "
              "contradicts; inconclusive leaves it undecided.")


def _label(r, matrix: bool = False) -> str:
    from numperf.families._claimkit import count

    n = int(r["elements"])
    size = f"{n // int(r['cols'])}×{int(r['cols'])}" if matrix else count(n)
    return f"{size} {r['dtype']} t{int(r['threads'])}"


def race_cases(scope, fast: str, slow: str, keeps_up: bool = False, matrix: bool = False) -> list:
    """Per size, dtype and threads, ``fast`` against ``slow`` by the verdict of the time ratio: faster
    supports, slower contradicts; equivalent supports a claim that ``fast`` keeps up (``keeps_up``)
    and contradicts one that it beats ``slow``."""
    from numperf.claims import SUPPORTS, speed_ratio
    from numperf.families._claimkit import faster, ratio_case

    df = speed_ratio(scope, fast, slow)
    cases = []
    for _, r in df.sort_values([c for c in ("dtype", "threads", "elements") if c in df]).iterrows():
        verdict = str(r["verdict"])
        outcome = SUPPORTS if keeps_up and verdict == "equivalent" else faster(verdict)
        cases.append(ratio_case(r, _label(r, matrix), f"{r['dtype']}", f"{fast} {verdict}", outcome))
    return cases


def _race(id: str, seed: str, section: str, text: str, fast: str, slow: str, keeps_up: bool = False,
          matrix: bool = False):
    """The claim that ``fast`` keeps up with (``keeps_up``) or beats ``slow``, by race_cases."""
    from functools import partial

    from numperf.families._claimkit import claim_maker

    compiled = fast in C_METHODS or slow in C_METHODS
    return claim_maker(NAME)(
        id, seed, section, text, quantity=f"time {slow} / time {fast}",
        decided_by=f"runs.csv process medians of {fast} and {slow} (claims.speed_ratio)",
        rule=KEEPS_UP_RULE if keeps_up else BEATS_RULE.format(fast=fast),
        needs=f"{fast} and {slow} measured at the same size"
              + (" (needs a C compiler)" if compiled else ", dtype and threads"),
        cases=partial(race_cases, fast=fast, slow=slow, keeps_up=keeps_up, matrix=matrix))


def claims() -> list:
    """Seed 002's races of NumPy against C and against itself, and seed 001's einsum."""
    return [
        _race("reductions-numpy-race-keeps-up-with-c", "002",
              "002 'NumPy can be really fast' and exercise 1 (race a C program that fills 100 million "
              "numbers with rand() and sums them)",
              "NumPy keeps up with C: drawing n random numbers and summing them with "
              "np.random.rand(n).sum() is at least as fast as the seed's compiled C program doing the same.",
              "numpy_rand_sum", "c_rand_sum", keeps_up=True),
        _race("reductions-numpy-sum-keeps-up-with-c-loop", "002",
              "002 'NumPy can be really fast' (the race is about summing the numbers: here the summation "
              "alone, on the same array)",
              "NumPy's sum of an existing array is at least as fast as the seed's C summation loop over the "
              "same array.",
              "numpy_sum", "c_loop_sum", keeps_up=True),
        _race("reductions-norm-beats-sqrt-sum-squares", "002",
              "002 'The libraries behind the curtain: MKL and BLAS' (np.linalg.norm raced against "
              "np.sqrt(np.sum(a ** 2)) on 100 million numbers)",
              "The specialised np.linalg.norm computes a vector's length faster than "
              "np.sqrt(np.sum(a ** 2)).",
              "linalg_norm", "sqrt_sum_squares"),
        _race("reductions-einsum-beats-multiply-sum", "001",
              "001 §3.1 'Deep Dive: Einstein Summation' (row-wise sums of squares of a 1000 × 300 matrix "
              "timed both ways)",
              "np.einsum('ij,ij->i', A, A) computes the squared row norms faster than (A * A).sum(axis=1).",
              "einsum_rows", "multiply_sum_rows", matrix=True),
    ]

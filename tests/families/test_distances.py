"""The distance family: every method against scipy's cdist with a tolerance derived from rounding
error, its memory models against tracemalloc, the seed notebook's memory table and its command."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from numperf import family
from numperf.families.distances.accuracy import error_bound
from numperf.families.distances.memory_table import memory_model, seed_table
from numperf.families.distances.methods import METHODS
from numperf.families.distances.methods import blocked as blocked_mod
from numperf.families.distances.methods import seed as seed_mod
from tests.conftest import run_numperf

SHAPES = [(37, 53, 7), (64, 64, 50), (5, 300, 1), (300, 5, 3), (1, 1, 2)]


def _inputs(n, m, d, dtype, layout, seed=0):
    rng = np.random.default_rng(seed)
    if layout == "noncontiguous":  # every other row and column of a larger array
        x = rng.random((2 * n, 2 * d))[::2, ::2]
        y = rng.random((2 * m, 2 * d))[::2, ::2]
    else:
        x, y = rng.random((n, d)), rng.random((m, d))
    x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    if layout == "fortran":
        x, y = np.asfortranarray(x), np.asfortranarray(y)
    return x, y


def _check(name, x, y, **params):
    got = METHODS[name].kernel((x, y), **params)
    ref = cdist(x.astype(np.float64), y.astype(np.float64))
    assert got.shape == ref.shape
    eps = float(np.finfo(np.result_type(x.dtype, got.dtype)).eps)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    # the bound is for exact values; cdist's own float64 error is far below float32's and
    # within 4 eps64 * d of the truth, which is added on top.
    bound = error_bound((x64**2).sum(1), (y64**2).sum(1), ref, x.shape[1], eps) + 4e-16 * ref
    err = np.abs(got.astype(np.float64) - ref)
    assert (err <= bound).all(), f"{name}: max error {err.max():.3g} exceeds its bound"
    if got.dtype == x.dtype and x.dtype == np.float32:
        # the bound must be meaningful: float32 results are not float64-exact
        assert bound.max() < 1e-2


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["c", "fortran", "noncontiguous"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_method_agrees_with_cdist(name, dtype, layout, shape):
    if not METHODS[name].available():
        pytest.skip(f"{name} needs {METHODS[name].requires}")
    _check(name, *_inputs(*shape, dtype, layout))


@pytest.mark.parametrize("rows", [1, 7, 1000])
def test_chunk_and_block_sizes_do_not_change_the_result(rows):
    x, y = _inputs(50, 40, 6, "float64", "c")
    ref = cdist(x, y)
    np.testing.assert_allclose(seed_mod.chunked((x, y), chunk_rows=rows), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocked_mod.blocked((x, y), block_rows=rows), ref, rtol=1e-12, atol=1e-12)
    for threads in (1, 3):
        got = blocked_mod.blocked_parallel((x, y), block_rows=rows, threads=threads)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_blocked_parallel_restores_the_blas_thread_count():
    from threadpoolctl import threadpool_info, threadpool_limits

    x, y = _inputs(400, 300, 20, "float64", "c")
    with threadpool_limits(limits=2, user_api="blas"):
        blocked_mod.blocked_parallel((x, y), block_rows=50, threads=2)
        assert {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"} == {2}


def test_identical_points_give_zero_not_nan():
    x = np.random.default_rng(1).random((20, 5))
    for name in ("gemm_trick", "chunked", "blocked"):
        out = METHODS[name].kernel((x, x))
        assert np.isfinite(out).all() and (out >= 0).all()
        assert np.abs(np.diag(out)).max() < 1e-6


def test_unknown_method_lists_known_ones():
    with pytest.raises(ValueError, match="known: broadcast, broadcast_einsum"):
        family.get("distances").method("fast_magic")


def _notebook_memory_bytes(n, d):
    """The seed notebook's own definitions (analyze_memory_usage, float64, called as f(X, X))."""
    input_b = n * d * 8  # x only: y is the same array
    intermediate_b = n * n * d * 8  # the N x N x D difference array
    output_b = n * n * 8
    return input_b, intermediate_b, output_b


def test_seed_memory_table_is_the_notebooks():
    table = seed_table()
    assert [(r["N"], r["D"]) for r in table] == [(100, 10), (500, 20), (1000, 50), (2000, 100)]
    for r in table:
        n, d = r["N"], r["D"]
        inp, inter, out = _notebook_memory_bytes(n, d)
        assert r["input_MB"] == inp / 1e6 and r["intermediate_MB"] == inter / 1e6
        assert r["output_MB"] == out / 1e6
        assert r["peak_MB"] == (inp + inter + out) / 1e6  # the notebook's peak
        assert r["amplification"] == inter / inp
        assert r["trick_peak_MB"] == (inp + out) / 1e6  # the notebook prints the trick's peak so
        # numperf, same call: diff and diff*diff beside the output; the trick's three N x N arrays
        assert r["numperf_broadcast_peak_MB"] == pytest.approx((inp + (2 * n * n * d + n * n) * 8) / 1e6)
        assert r["numperf_trick_peak_MB"] == pytest.approx((inp + (3 * n * n + 2 * n) * 8) / 1e6)
    first, last = table[0], table[-1]
    assert (first["input_MB"], first["peak_MB"], first["trick_peak_MB"]) == pytest.approx(
        (0.008, 0.888, 0.088))
    assert (last["peak_MB"], last["amplification"], last["numperf_trick_peak_MB"]) == pytest.approx(
        (3233.6, 2000.0, 97.632))


def test_memory_model_command_prints_both_tables():
    out = run_numperf("memory-model").stdout
    rows = {tuple(line.split()[:2]): line for line in out.splitlines() if line.split()[:1] in
            (["100"], ["500"], ["1000"], ["2000"])}
    for r in seed_table():
        cells = rows[(str(r["N"]), str(r["D"]))].replace("|", " ").split()
        assert cells == [str(r["N"]), str(r["D"]), f"{r['input_MB']:.4f}", f"{r['intermediate_MB']:.4f}",
                         f"{r['output_MB']:.4f}", f"{r['peak_MB']:.4f}", f"{r['amplification']:.1f}x",
                         f"{r['trick_peak_MB']:.4f}", f"{r['numperf_broadcast_peak_MB']:.4f}",
                         f"{r['numperf_trick_peak_MB']:.4f}"]
    assert "Why they differ" in out and "diff * diff" in out


def test_model_matches_traced_allocations():
    """The memory model is close to what NumPy really allocates (tracemalloc)."""
    from numperf import measure

    n, m, d = 600, 500, 20
    x, y = _inputs(n, m, d, "float64", "c")
    for name in ("broadcast", "broadcast_einsum", "gemm_trick", "chunked", "blocked"):
        kernel = METHODS[name].kernel
        traced, _ = measure.traced_call(lambda k=kernel: k((x, y)))
        model = memory_model(name, n, m, d, "float64").kernel_peak_bytes
        assert traced == pytest.approx(model, rel=0.15), name

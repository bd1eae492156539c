"""The reductions family: every method against a long-double reference on small inputs (the C loop
really compiled with cc), the checks' rounding bounds and facts, the skip reasons (no compiler, float32,
a matrix that does not fit), memory models against tracemalloc, and each claim's rule and the figure
on small hand-made runs tables."""

from __future__ import annotations

import json
import math
import tracemalloc

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from numperf import claims, family  # noqa: E402
from numperf.families import reductions  # noqa: E402
from tests.families import analysis_imports  # noqa: E402

FAM = family.get("reductions")
N = 30_000  # a multiple of the default cols (300): every method runs
needs_cc = pytest.mark.skipif(reductions.compiler_path() is None, reason="no C compiler (cc) on PATH")


def test_a_measuring_child_imports_neither_pandas_nor_matplotlib():
    assert analysis_imports("numperf.families.reductions") == []


def run(method: str, dtype: str = "float64", elements: int = N, **params):
    return family.run_inline("reductions", method, {"elements": elements, **params}, dtype)


def inputs(dtype: str = "float64", elements: int = N, cols: int = 300):
    return FAM.setup({"elements": elements, "cols": cols}, dtype, np.random.default_rng(0))


def check(method, result, dtype="float64", elements=N):
    return FAM.check(method, result, inputs(dtype, elements), {"elements": elements, "cols": 300}, dtype,
                     np.random.default_rng(1))


# --- methods and checks ----------------------------------------------------------------------------

def test_numpy_methods_match_a_long_double_reference():
    a = inputs()["a"]
    al = a.astype(np.longdouble)
    want = {"numpy_sum": al.sum(), "sqrt_sum_squares": np.sqrt((al * al).sum()),
            "linalg_norm": np.sqrt((al * al).sum())}
    for method, ref in want.items():
        result, chk = run(method)
        assert chk.failed is None, (method, chk)
        assert float(result) == pytest.approx(float(ref), rel=1e-12)
        assert chk.max_rel_error <= chk.facts["error_bound_rel"]
    rows = (al.reshape(-1, 300) ** 2).sum(axis=1)
    for method in reductions.MATRIX_METHODS:
        result, chk = run(method)
        assert chk.failed is None and result.shape == (N // 300,)
        np.testing.assert_allclose(result, rows.astype(np.float64), rtol=1e-12)


@pytest.mark.parametrize("method", ["numpy_sum", "sqrt_sum_squares", "linalg_norm", "einsum_rows",
                                    "multiply_sum_rows"])
def test_float32_results_within_their_bound(method):
    result, chk = run(method, "float32")
    assert chk.failed is None and chk.facts["result_dtype"] == "float32"
    assert 0 < chk.max_rel_error <= chk.facts["error_bound_rel"]


@needs_cc
def test_c_loop_sums_in_order_like_python():
    a = inputs()["a"]
    result, chk = run("c_loop_sum")
    # one accumulator in index order (-O2 does not reassociate): exactly a sequential float64 loop
    assert result == float(np.cumsum(a)[-1])
    assert abs(result - math.fsum(a)) <= reductions.gamma(N - 1, 2**-52) * a.sum()
    assert chk.failed is None
    assert chk.facts["c_flags"] == " ".join(reductions.C_FLAGS)
    assert chk.facts["c_compiler"]


@needs_cc
def test_rand_sums_are_plausible_and_c_is_deterministic():
    first, chk = run("c_rand_sum")
    again, _ = run("c_rand_sum")
    assert first == again  # srand(1) on every call: the seed's program from the start
    assert chk.failed is None and abs(chk.facts["z_score"]) < reductions.RAND_SUM_MAX_Z
    result, chk = run("numpy_rand_sum")
    assert chk.failed is None and abs(chk.facts["z_score"]) < reductions.RAND_SUM_MAX_Z
    assert chk.max_abs_error is None


def test_wrong_results_fail_the_check():
    a = inputs()["a"]
    right = a.sum()
    assert check("numpy_sum", right).failed is None
    assert check("numpy_sum", right + 0.5).failed.startswith("inaccurate")  # one element too many
    norm = np.linalg.norm(a)
    assert check("linalg_norm", norm * (1 + 1e-9)).failed.startswith("inaccurate")
    rows = np.einsum("ij,ij->i", a.reshape(-1, 300), a.reshape(-1, 300))
    assert check("einsum_rows", rows).failed is None
    bad = rows.copy()
    bad[3] *= 1 + 1e-10
    assert check("einsum_rows", bad).failed.startswith("inaccurate")
    assert check("einsum_rows", rows[:-1]).failed.startswith("wrong shape")
    assert check("numpy_rand_sum", N / 2 + 20 * math.sqrt(N / 12)).failed.startswith("implausible")
    assert check("numpy_sum", float("nan")).failed.startswith("not finite")


def test_kernels_are_repeatable():
    inp = inputs()
    before = inp["a"].copy()
    for name, meth in FAM.methods.items():
        if meth.skip({"elements": N, "cols": 300}, "float64"):
            continue
        first = meth.kernel(inp)
        second = meth.kernel(inp)
        if name != "numpy_rand_sum":
            np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(inp["a"], before)


# --- skips -----------------------------------------------------------------------------------------

def test_skip_reasons():
    p = {"elements": N, "cols": 300}
    for method in reductions.C_METHODS + reductions.RAND_METHODS:
        assert FAM.method(method).skip(p, "float32").startswith("not_applicable:")
    assert FAM.method("einsum_rows").skip({"elements": 1000, "cols": 300}, "float64").startswith("bad_shape:")
    assert FAM.method("einsum_rows").skip(p, "float64") is None
    assert FAM.method("numpy_sum").skip({"elements": 1000, "cols": 300}, "float64") is None


def test_no_compiler_skips_only_the_c_methods(monkeypatch):
    monkeypatch.setattr(reductions, "_LIBRARY", {})
    monkeypatch.setattr(reductions, "COMPILER", "numperf-no-such-cc")
    p = {"elements": N, "cols": 300}
    reason = FAM.method("c_loop_sum").skip(p, "float64")
    assert reason.startswith("no_compiler:") and "numperf-no-such-cc" in reason
    assert FAM.method("c_rand_sum").skip(p, "float64").startswith("no_compiler:")
    assert FAM.method("numpy_sum").skip(p, "float64") is None
    # the child says the same if it gets there: setup works, the C kernel raises Skip
    inp = inputs()
    assert inp["lib"] is None and inp["lib_problem"] == reason
    assert FAM.method("numpy_sum").kernel(inp) == inp["a"].sum()
    with pytest.raises(family.Skip, match="no_compiler"):
        FAM.method("c_loop_sum").kernel(inp)


@needs_cc
def test_a_broken_compile_is_a_skip_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(reductions, "_LIBRARY", {})
    monkeypatch.setattr(reductions, "C_SOURCE", "this is not C;")
    monkeypatch.setattr(reductions.tempfile, "gettempdir", lambda: str(tmp_path))
    reason = FAM.method("c_loop_sum").skip({"elements": N, "cols": 300}, "float64")
    assert reason.startswith("compile_failed:")


@needs_cc
def test_the_library_is_cached_by_source_and_flags(monkeypatch, tmp_path):
    monkeypatch.setattr(reductions, "_LIBRARY", {})
    monkeypatch.setattr(reductions.tempfile, "gettempdir", lambda: str(tmp_path))
    lib = reductions.library()
    assert not isinstance(lib, str)
    built = list(tmp_path.glob("numperf-reductions-*/*.so"))
    assert len(built) == 1
    monkeypatch.setattr(reductions, "C_FLAGS", ("-O0",))
    assert reductions._library_path(reductions.compiler_path()) != str(built[0])


# --- models ----------------------------------------------------------------------------------------

def _traced_peak(method: str, n: int = 600_000) -> int:
    inp = inputs(elements=n)
    kernel = FAM.method(method).kernel
    kernel(inp)
    tracemalloc.start()
    try:
        kernel(inp)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("method", ["numpy_sum", "numpy_rand_sum", "sqrt_sum_squares", "linalg_norm",
                                    "multiply_sum_rows", "einsum_rows"])
def test_memory_models_match_tracemalloc(method):
    n = 600_000
    model = FAM.method(method).memory({"elements": n, "cols": 300}, "float64", {})
    traced = _traced_peak(method, n)
    assert abs(traced - model.kernel_peak_bytes) <= 4096 + 0.02 * model.kernel_peak_bytes, (traced, model)


def test_models_and_work_counts():
    p = {"elements": 3000, "cols": 300}
    assert FAM.method("c_rand_sum").memory(p, "float64", {}).intermediate_bytes == 3000 * 8
    assert FAM.method("c_rand_sum").memory(p, "float64", {}).input_bytes == 0
    assert FAM.method("einsum_rows").memory(p, "float32", {}).output_bytes == 10 * 4
    assert FAM.method("sqrt_sum_squares").bytes_moved(p, "float64") == 3 * 3000 * 8
    assert FAM.method("linalg_norm").flops(p, "float64") == 6000


def test_param_validation():
    el, cols = FAM.param("elements"), FAM.param("cols")
    assert el.problem(100_000_000) is None and cols.problem(300) is None
    assert el.problem(0) and cols.problem(0)
    assert "is not an int" in el.problem(1e6)


# --- claims ----------------------------------------------------------------------------------------

def row(method: str, t: float, elements: int = 1_000_000, cols: int = 300, dtype: str = "float64",
        threads: int = 1, spread: float = 0.01, **extra) -> dict:
    meds = [t * (1 - spread), t, t * (1 + spread)]
    return {"host_id": "h1", "backend": "wheel", "family": "reductions", "method": method, "dtype": dtype,
            "threads": threads, "p_elements": elements, "p_cols": cols, "status": "ok", "reason": None,
            "noisy": False, "time_median_s": t, "time_ci_low_s": meds[0], "time_ci_high_s": meds[2],
            "time_process_medians_s": json.dumps(meds), "n_processes": 3, "blas_internal_api": "openblas",
            "numpy_version": np.__version__, "cpu_model": "test cpu", "cores_logical": 2, **extra}


def decide(rows: list[dict]) -> pd.DataFrame:
    df = claims.evaluate({"runs": pd.DataFrame(rows)}, claims={c.id: c for c in reductions.claims()})
    return df.set_index("claim_id")


def verdict(rows, claim_id: str) -> str:
    return decide(rows).loc[claim_id, "verdict"]


def test_claims_have_unique_ids_and_cite_the_seeds():
    cs = reductions.claims()
    assert len({c.id for c in cs}) == len(cs) >= 4
    for c in cs:
        assert c.family == "reductions" and c.id.startswith("reductions-")
        assert all(s in FAM.seeds for s in c.seed)


@pytest.mark.parametrize("claim_id,numpy,c", [
    ("reductions-numpy-race-keeps-up-with-c", "numpy_rand_sum", "c_rand_sum"),
    ("reductions-numpy-sum-keeps-up-with-c-loop", "numpy_sum", "c_loop_sum"),
])
def test_numpy_keeps_up_with_c(claim_id, numpy, c):
    assert verdict([row(numpy, 1e-3), row(c, 2e-3)], claim_id) == "holds"
    assert verdict([row(numpy, 1e-3), row(c, 1.0e-3)], claim_id) == "holds"  # equivalent keeps up
    got = decide([row(numpy, 3e-3), row(c, 1e-3), row(numpy, 1e-3, elements=10**7),
                  row(c, 2e-3, elements=10**7)]).loc[claim_id]
    assert got["verdict"] == "fails" and got["value_case"].startswith("1e6")
    assert verdict([row(numpy, 1e-3)], claim_id) == "not measured"


@pytest.mark.parametrize("claim_id,fast,slow,elements", [
    ("reductions-norm-beats-sqrt-sum-squares", "linalg_norm", "sqrt_sum_squares", 1_000_000),
    ("reductions-einsum-beats-multiply-sum", "einsum_rows", "multiply_sum_rows", 300_000),
])
def test_specialised_function_beats_the_manual_one(claim_id, fast, slow, elements):
    assert verdict([row(fast, 1e-3, elements), row(slow, 5e-3, elements)], claim_id) == "holds"
    assert verdict([row(fast, 1e-3, elements), row(slow, 1.01e-3, elements)], claim_id) == "fails"
    assert verdict([row(fast, 2e-3, elements), row(slow, 1e-3, elements)], claim_id) == "fails"
    # noisy processes: the interval straddles 1, nothing contradicts, nothing supports
    noisy = [row(fast, 1e-3, elements, spread=0.6), row(slow, 1.2e-3, elements, spread=0.6)]
    assert verdict(noisy, claim_id) == "inconclusive"


def test_einsum_case_labels_name_the_matrix():
    got = decide([row("einsum_rows", 1e-3, 300_000), row("multiply_sum_rows", 3e-3, 300_000)])
    assert got.loc["reductions-einsum-beats-multiply-sum", "value_case"] == "1000×300 float64 t1"


# --- figure ----------------------------------------------------------------------------------------

def test_figure_renders(tmp_path):
    from numperf import plotting as figures

    rows = []
    for n in (10**5, 10**6, 10**7):
        scale = n / 1e6
        rows += [row("numpy_sum", 3e-4 * scale, n), row("c_loop_sum", 1e-3 * scale, n),
                 row("numpy_rand_sum", 2e-2 * scale, n), row("c_rand_sum", 1e-2 * scale, n),
                 row("linalg_norm", 2e-4 * scale, n), row("sqrt_sum_squares", 2e-3 * scale, n)]
    for n in (300_000, 3_000_000):
        rows += [row("einsum_rows", 1e-4 * n / 3e5, n), row("multiply_sum_rows", 4e-4 * n / 3e5, n)]
    rows.append({**row("c_loop_sum", 1e-3, 10**8), "status": "skipped", "reason": "no_compiler: test",
                 "time_median_s": math.nan})
    fig = figures.draw("reductions_time_vs_size", {"runs": pd.DataFrame(rows)})
    out = tmp_path / "reductions.png"
    fig.savefig(out, dpi=80)
    assert out.stat().st_size > 10_000
    titles = sorted(ax.get_title() for ax in fig.axes if ax.get_title())
    assert len(titles) == len(reductions.COMPARISONS)
    assert all(t.startswith("op=") for t in titles)


def test_comparison_of_every_method():
    assert {reductions.comparison_of(m) for m in FAM.methods} == set(reductions.COMPARISONS)


@needs_cc
def test_a_corrupt_cached_library_is_rebuilt(monkeypatch, tmp_path):
    monkeypatch.setattr(reductions, "_LIBRARY", {})
    monkeypatch.setattr(reductions.tempfile, "gettempdir", lambda: str(tmp_path))
    target = reductions._library_path(reductions.compiler_path())
    (tmp_path / target.split("/")[-2]).mkdir()
    with open(target, "w") as fh:
        fh.write("not a shared library")
    lib = reductions.library()
    assert not isinstance(lib, str), lib
    assert lib.loop_sum(np.ones(4).ctypes.data, 4) == 4.0


@pytest.mark.parametrize("method", list(FAM.methods))
def test_setup_builds_the_vector_only_for_the_methods_that_read_it(method):
    """The rand methods draw their own numbers (the model counts no input), so their setup makes no
    vector; only the C methods load the compiled library."""
    got = FAM.setup({"elements": N, "cols": 300}, "float64", np.random.default_rng(0), method)
    model = FAM.method(method).memory({"elements": N, "cols": 300}, "float64", {})
    assert (got["a"] is None) == (method in reductions.RAND_METHODS)
    assert model.input_bytes == (0 if got["a"] is None else got["a"].nbytes)
    if method not in reductions.C_METHODS:
        assert got["lib"] is None and got["lib_problem"] is None

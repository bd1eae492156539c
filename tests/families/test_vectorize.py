"""The vectorize family: every workload's loop and vectorised form against the reference, the checks
that catch a wrong result, the list-vs-array memory facts, the memory models against tracemalloc,
parameter validation and skip reasons, each claim's rule on hand-made runs tables (one case that
supports, one that contradicts) and both figures drawn to PNG."""

from __future__ import annotations

import json
import math
import sys
import tracemalloc

import matplotlib

matplotlib.use("Agg")

import matplotlib.figure  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from numperf import claims, family  # noqa: E402
from numperf.families import vectorize as V  # noqa: E402
from numperf.families.vectorize import _figures as V_figures  # noqa: E402
from tests.families import analysis_imports  # noqa: E402

SMALL = {"exp_sin": 500, "conditional": 500, "running_average": 144, "multiply": 500}


def fam():
    return family.get("vectorize")


def test_a_measuring_child_imports_neither_pandas_nor_matplotlib():
    assert analysis_imports("numperf.families.vectorize") == []


@pytest.mark.parametrize("workload", V.WORKLOADS)
@pytest.mark.parametrize("method", [V.LOOP, V.VECTORIZED])
def test_each_method_matches_the_reference_and_the_check_passes(workload, method):
    result, chk = family.run_inline("vectorize", method, {"workload": workload, "elements": SMALL[workload]},
                                    "float64")
    assert chk.failed is None, chk.failed
    assert chk.max_rel_error <= V.REL_TOLERANCE
    inputs = fam().setup({"workload": workload, "elements": SMALL[workload], "cols": 0}, "float64",
                         np.random.default_rng(0))
    np.testing.assert_allclose(np.asarray(result), V.reference(inputs), rtol=1e-12)
    kind = "list" if (workload == "multiply" and method == V.LOOP) else "ndarray"
    assert chk.facts["result_kind"] == kind


def test_seed_formulations_on_known_values():
    x = np.array([0.1, 0.6, 0.5, 0.9])
    inp = {"workload": "conditional", "x": x}
    np.testing.assert_array_equal(V.python_loop(inp), [0.0, 0.36, 0.0, 0.81])
    np.testing.assert_array_equal(V.numpy_vectorized(inp), V.python_loop(inp))
    mat = np.arange(6, dtype=float).reshape(2, 3)
    ra = {"workload": "running_average", "matrix": mat}
    np.testing.assert_allclose(V.python_loop(ra), [[0, 0.5, 1], [3, 3.5, 4]])
    np.testing.assert_allclose(V.numpy_vectorized(ra), V.python_loop(ra))
    m = {"workload": "multiply", "array": np.arange(3), "list": [0, 1, 2]}
    assert V.python_loop(m) == [0, 2, 4] and V.numpy_vectorized(m).tolist() == [0, 2, 4]


def test_kernels_are_repeatable_and_leave_inputs_alone():
    rng = np.random.default_rng(1)
    for workload in V.WORKLOADS:
        inp = fam().setup({"workload": workload, "elements": SMALL[workload], "cols": 0}, "float64", rng)
        before = {k: (v.copy() if isinstance(v, np.ndarray) else list(v) if isinstance(v, list) else v)
                  for k, v in inp.items()}
        for kernel in (V.python_loop, V.numpy_vectorized):
            a, b = kernel(inp), kernel(inp)
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        for k, v in before.items():
            np.testing.assert_array_equal(np.asarray(inp[k]), np.asarray(v))


@pytest.mark.parametrize("workload", V.WORKLOADS)
def test_a_wrong_result_fails_the_check(workload):
    f = fam()
    params = {"workload": workload, "elements": SMALL[workload], "cols": 0}
    rng = np.random.default_rng(0)
    inputs = f.setup(params, "float64", rng)
    good = V.numpy_vectorized(inputs)
    wrong = np.asarray(good, dtype=float).copy()
    wrong.flat[len(wrong.flat) // 2] += 1.0
    assert f.check(V.VECTORIZED, good, inputs, params, "float64", rng).failed is None
    assert "wrong_result" in f.check(V.VECTORIZED, wrong, inputs, params, "float64", rng).failed
    short = np.asarray(good)[:-1]
    assert "wrong_shape" in f.check(V.VECTORIZED, short, inputs, params, "float64", rng).failed
    if workload == "multiply":
        bad_list = wrong.tolist()
        assert "wrong_result" in f.check(V.LOOP, bad_list, inputs, params, "float64", rng).failed


def test_multiply_in_int64_is_the_seeds_range_list():
    result, chk = family.run_inline("vectorize", V.LOOP, {"workload": "multiply", "elements": 1000}, "int64")
    assert result == [2 * v for v in range(1000)] and chk.failed is None
    inputs = fam().setup({"workload": "multiply", "elements": 10, "cols": 0}, "int64",
                         np.random.default_rng(0))
    assert inputs["list"] == list(range(10)) and inputs["array"].dtype == np.int64


def test_list_facts_record_the_seeds_getsizeof_and_the_objects():
    n = 20_000
    _, chk = family.run_inline("vectorize", V.VECTORIZED, {"workload": "multiply", "elements": n}, "float64")
    f = chk.facts
    assert f["array_nbytes"] == 8 * n
    assert f["list_getsizeof_bytes"] == sys.getsizeof([0.0] * n)  # pointers only: 8 per element + header
    assert f["list_items_bytes"] == n * sys.getsizeof(0.5)  # one float object per element
    assert f["list_total_bytes"] == f["list_getsizeof_bytes"] + f["list_items_bytes"]
    assert 0.99 < f["list_getsizeof_to_array_ratio"] < 1.01
    assert f["list_total_to_array_ratio"] == pytest.approx(4.0, rel=0.01)  # (8 + 24) / 8
    assert f["array_getsizeof_bytes"] > f["array_nbytes"]  # the array owns its buffer: counted
    _, ints = family.run_inline("vectorize", V.LOOP, {"workload": "multiply", "elements": n}, "int64")
    assert ints.facts["list_total_to_array_ratio"] > 4  # an int object is 28 bytes by getsizeof


def test_list_capacity_follows_cpython_growth():
    for n in (0, 1, 5, 17, 1000, 12345):
        assert sys.getsizeof([v for v in range(n)]) == V.LIST_HEADER_BYTES + 8 * V.list_capacity(n)


def _traced(kernel, inputs) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = kernel(inputs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


@pytest.mark.parametrize("workload,elements,dtype", [
    ("exp_sin", 1000, "float64"), ("exp_sin", 100_000, "float64"), ("conditional", 100_000, "float64"),
    ("running_average", 90_000, "float64"), ("multiply", 100_000, "float64"), ("multiply", 100_000, "int64"),
])
def test_memory_models_match_tracemalloc(workload, elements, dtype):
    f = fam()
    params = {"workload": workload, "elements": elements, "cols": 0}
    inputs = f.setup(params, dtype, np.random.default_rng(0))
    for name, method in f.methods.items():
        if workload == "running_average" and name == V.LOOP:
            continue  # 90 000 np.mean calls: slow here, and its model is just the result array
        model = method.memory(params, dtype, {}).kernel_peak_bytes
        peak = _traced(method.kernel, inputs)
        assert model == pytest.approx(peak, rel=0.12, abs=4096), (name, peak, model)


def test_exp_sin_model_counts_the_elided_temporary():
    small = V.vectorized_memory({"workload": "exp_sin", "elements": 1000, "cols": 0}, "float64", {})
    large = V.vectorized_memory({"workload": "exp_sin", "elements": 100_000, "cols": 0}, "float64", {})
    assert small.intermediate_bytes == 2 * 8000 and large.intermediate_bytes == 800_000
    assert V.loop_memory({"workload": "exp_sin", "elements": 1000, "cols": 0}, "float64", {}) \
        .kernel_peak_bytes == 8000


def test_params_are_validated():
    f = fam()
    assert f.param("workload").problem("exp_sin") is None
    assert "not allowed" in f.param("workload").problem("matmul")
    assert "out of range" in f.param("elements").problem(0)
    assert "not an int" in f.param("elements").problem(1.5)
    assert f.param("cols").problem(0) is None
    assert f.normalize({"workload": "running_average", "elements": 6400, "cols": 0})["cols"] == 80
    assert f.normalize({"workload": "running_average", "elements": 6000, "cols": 0})["cols"] == 0
    assert f.normalize({"workload": "exp_sin", "elements": 6400, "cols": 0})["cols"] == 0
    # models never raise, even for a shape the skip rule refuses (the config builds every case's model)
    bad = {"workload": "running_average", "elements": 1000, "cols": 0}
    assert f.method(V.VECTORIZED).memory(bad, "float64", {}).output_bytes == 8000


def test_skip_reasons():
    loop, vec = fam().method(V.LOOP), fam().method(V.VECTORIZED)
    assert loop.skip({"workload": "exp_sin", "elements": 10**7, "cols": 0}, "float64").startswith("too_slow")
    assert vec.skip({"workload": "exp_sin", "elements": 10**7, "cols": 0}, "float64") is None
    assert vec.skip({"workload": "exp_sin", "elements": 100, "cols": 0}, "int64") \
        .startswith("dtype_unsupported")
    assert vec.skip({"workload": "multiply", "elements": 100, "cols": 0}, "int64") is None
    assert vec.skip({"workload": "running_average", "elements": 1000, "cols": 0}, "float64") \
        .startswith("invalid_shape")
    assert vec.skip({"workload": "running_average", "elements": 1000, "cols": 40}, "float64") is None
    assert "multiple" in vec.skip({"workload": "running_average", "elements": 1000, "cols": 33}, "float64")
    with pytest.raises(family.Skip, match="dtype_unsupported"):
        fam().setup({"workload": "conditional", "elements": 10, "cols": 0}, "int64", np.random.default_rng(0))
    assert V.matrix_shape({"elements": 250_000, "cols": 0}) == (500, 500)


def test_work_counts():
    p = {"workload": "running_average", "elements": 9, "cols": 0}
    assert fam().method(V.LOOP).flops(p, "float64") == 3 * (6 + 3)  # sums of 1+2+3 items, 3 divisions a row
    assert fam().method(V.VECTORIZED).flops(p, "float64") == 18
    exp_sin = {"workload": "exp_sin", "elements": 9, "cols": 0}
    assert fam().method(V.VECTORIZED).flops(exp_sin, "float64") is None
    assert fam().method(V.VECTORIZED).bytes_moved({"workload": "multiply", "elements": 10, "cols": 0},
                                                  "float64") == 160


# --- claims on hand-made runs tables ----------------------------------------------------------------

def row(method, workload, elements, t, *, dtype="float64", spread=0.01, cols=0, peak=math.nan,
        traced=math.nan, facts=None, noisy=False):
    """One ok family-view runs row whose three process medians are t·(1 ∓ spread)."""
    return {"host_id": "h1", "backend": "wheel", "family": "vectorize", "method": method, "dtype": dtype,
            "threads": 1, "workload": workload, "elements": elements, "cols": cols, "status": "ok",
            "reason": None, "noisy": noisy, "time_median_s": t,
            "time_process_medians_s": json.dumps([t * (1 - spread), t, t * (1 + spread)]),
            "time_ci_low_s": t * (1 - spread), "time_ci_high_s": t * (1 + spread),
            "peak_rss_bytes": peak, "peak_rss_max_bytes": peak, "traced_peak_bytes": traced,
            **(facts or {})}


def facts(n, getsizeof_ratio=1.0, total_ratio=4.0):
    nbytes = 8 * n
    total = int(total_ratio * nbytes)
    shallow = int(getsizeof_ratio * nbytes)
    return {"check_array_nbytes": nbytes, "check_list_getsizeof_bytes": shallow,
            "check_list_total_bytes": total, "check_list_total_to_array_ratio": total / nbytes}


def decide(rows, claim_id):
    claim = {c.id: c for c in V.claims()}[claim_id]
    scope = claims.Scope({"runs": pd.DataFrame(rows)}, "h1", "wheel")
    cases = claim.cases(scope)
    return claims.combine(cases, claim.badness, claim.needs), cases


def test_claims_are_declared_with_seeds_and_unique_ids():
    cl = V.claims()
    assert 4 <= len(cl) <= 8 and len({c.id for c in cl}) == len(cl)
    for c in cl:
        assert c.family == "vectorize" and c.text and c.rule and c.needs and c.seed_section
        assert all(s in fam().seeds for s in c.seed)


@pytest.mark.parametrize("workload,claim_id,factor", [
    ("exp_sin", "vectorize_exp_sin_large_factor", 10),
    ("multiply", "vectorize_array_beats_list_comprehension", 10),
    ("conditional", "vectorize_where_beats_conditional_loop", None),
    ("running_average", "vectorize_cumsum_beats_nested_loop", None),
])
def test_speed_claims_support_and_contradict(workload, claim_id, factor):
    n = 400 if workload == "running_average" else 1000
    fast = [row(V.LOOP, workload, n, 30e-3), row(V.VECTORIZED, workload, n, 1e-4)]  # 300×
    held, cases = decide(fast, claim_id)
    assert held["verdict"] == "holds" and cases[0].value == pytest.approx(300, rel=0.01)
    slow_ratio = 4.0 if factor else 0.5  # below the factor, or the loop faster
    slow = fast + [row(V.LOOP, workload, 4 * n, 4e-3), row(V.VECTORIZED, workload, 4 * n, 4e-3 / slow_ratio)]
    failed, _ = decide(slow, claim_id)
    assert failed["verdict"] == "fails" and failed["value"] == pytest.approx(slow_ratio, rel=0.01)
    other = "conditional" if workload != "conditional" else "exp_sin"
    assert decide([row(V.LOOP, other, n, 1.0), row(V.VECTORIZED, other, n, 0.1)], claim_id)[0]["verdict"] \
        == "not measured"


def test_speed_claim_noisy_overlap_is_undecided():
    rows = [row(V.LOOP, "exp_sin", 1000, 10.5e-3, spread=0.3), row(V.VECTORIZED, "exp_sin", 1000, 1e-3,
                                                                    spread=0.3)]
    res, _ = decide(rows, "vectorize_exp_sin_large_factor")
    assert res["verdict"] == "inconclusive"


def test_getsizeof_claim_support_and_contradict():
    ok = [row(V.LOOP, "multiply", 1000, 1e-3, facts=facts(1000, 1.007)),
          row(V.VECTORIZED, "multiply", 1000, 1e-5, facts=facts(1000, 1.007))]
    assert decide(ok, "vectorize_list_getsizeof_like_array")[0]["verdict"] == "holds"
    bad = ok + [row(V.LOOP, "multiply", 10, 1e-6, facts=facts(10, 1.7))]
    res, _ = decide(bad, "vectorize_list_getsizeof_like_array")
    assert res["verdict"] == "fails" and res["value"] == pytest.approx(1.7)


def test_deep_list_claim_uses_facts_and_traced_peaks():
    n = 300_000
    # peak RSS of the list comprehension as measured (pymalloc reuses arenas): not what decides
    rows = [row(V.LOOP, "multiply", n, 1e-2, peak=2.4e6, traced=9.8e6, facts=facts(n)),
            row(V.VECTORIZED, "multiply", n, 1e-4, peak=2.4e6, traced=2.4e6, facts=facts(n))]
    res, cases = decide(rows, "vectorize_list_objects_several_times_array")
    assert res["verdict"] == "holds" and len(cases) == 2
    measured = [c for c in cases if c.group == "measured peaks"][0]
    assert measured.value == pytest.approx(9.8 / 2.4) and "traced peak" in measured.note
    sizes = [c for c in cases if c.group == "sizes of the objects"][0]
    assert sizes.value == pytest.approx(4.0)
    # a list no bigger than twice the array contradicts, by its sizes and by its peak
    bad = [row(V.LOOP, "multiply", n, 1e-2, traced=4.8e6, facts=facts(n, total_ratio=2.0)),
           row(V.VECTORIZED, "multiply", n, 1e-4, traced=2.4e6, facts=facts(n, total_ratio=2.0))]
    res, _ = decide(bad, "vectorize_list_objects_several_times_array")
    assert res["verdict"] == "fails" and res["contradicting"] == 2
    # no traced peak (a process that did not run the check): only the sizes decide
    res, cases = decide([row(V.LOOP, "multiply", n, 1e-2, facts=facts(n))],
                        "vectorize_list_objects_several_times_array")
    assert res["verdict"] == "holds" and len(cases) == 1


# --- figures ----------------------------------------------------------------------------------------

def _figure_rows():
    rows = []
    for workload, sizes, t_loop in (("exp_sin", (1000, 50_000), 4.4e-7),
                                    ("conditional", (1000, 100_000), 1.5e-7),
                                    ("running_average", (400, 6400), 3e-7),
                                    ("multiply", (10_000, 300_000), 3e-8)):
        for n in sizes:
            f = facts(n) if workload == "multiply" else {}
            rows += [row(V.LOOP, workload, n, t_loop * n, peak=40.0 * n if n > 10**5 else 0.0,
                         traced=33.0 * n, facts=f),
                     row(V.VECTORIZED, workload, n, 2e-6 + 2e-9 * n, peak=8.0 * n if n > 10**5 else 0.0,
                         traced=8.0 * n, facts=f, noisy=n == 1000)]
    return pd.DataFrame(rows)


FOOTNOTE = {"cpu_model": "Test CPU", "cores_logical": 2, "blas_internal_api": "openblas",
            "blas_version": "0.3.27", "blas_architecture": "Haswell", "openblas_coretype": None,
            "numpy_version": np.__version__}


def raw_runs(view: pd.DataFrame) -> pd.DataFrame:
    """A family view back as runs.csv has it: parameters as p_<name>, with the footnote's columns."""
    raw = view.rename(columns={p: f"p_{p}" for p in fam().param_names})
    return raw.assign(**FOOTNOTE)


def test_figures_render(tmp_path):
    from numperf import plotting as figures

    decls = V.figures()
    assert [d.name for d in decls] == ["vectorize_speedup", "vectorize_list_memory"]
    runs = _figure_rows()
    for decl in decls:
        assert decl.name in figures.FIGURES  # registered by numperf.figures with the common frame
        fig = figures.draw(decl.name, {"runs": raw_runs(runs)})
        fig.savefig(tmp_path / f"{decl.name}.png", dpi=figures.DPI)
        assert (tmp_path / f"{decl.name}.png").stat().st_size > 20_000
        assert fig.legends, decl.name
        handles, shown = decl.draw({"runs": runs}, matplotlib.figure.Figure())
        assert handles and set(shown["workload"]) <= set(V.WORKLOADS) and "blas_version" not in shown
    sp = V_figures.speedup_frame({"runs": runs})
    assert set(sp["workload"]) == set(V.WORKLOADS) and (sp["speedup"] > 1).all()
    assert sp.loc[sp["elements"] == 1000, "noisy"].all()
    mem = V_figures.list_memory_frame({"runs": runs})
    per = mem.groupby("measure")["bytes_per_element"].mean()
    assert per[V_figures.MEASURES[0]] == pytest.approx(8) and per[V_figures.MEASURES[2]] == pytest.approx(32)
    assert [e.strip() for e in sorted(mem["elements"].unique())] == ["10,000 elements", "300,000 elements"]


def test_figures_explain_missing_data(tmp_path):
    empty = pd.DataFrame(columns=["host_id", "backend", "family", "method", "status"])
    for decl in V.figures():
        fig = matplotlib.figure.Figure()
        assert decl.draw({"runs": empty}, fig) == (None, None)
        fig.savefig(tmp_path / f"{decl.name}-empty.png", dpi=60)


# --- the proposed config blocks -------------------------------------------------------------------

DEFAULT_BLOCK = {"dtypes": ["float64"], "threads": [1], "grid": [
    {"workload": "exp_sin", "elements": [1000, 50_000]},
    {"workload": "conditional", "elements": [1000, 100_000]},
    {"workload": "running_average", "elements": [400, 6400]},
    {"workload": "multiply", "elements": [10_000, 600_000]}]}
PAPER_BLOCK = {"dtypes": ["float64", "int64"], "threads": [1], "grid": [
    {"workload": "exp_sin", "elements": [1000, 10_000, 100_000]},
    {"workload": "conditional", "elements": [1000, 10_000, 100_000]},
    {"workload": "running_average", "elements": [2500, 62_500, 250_000]},
    {"workload": "multiply", "elements": [10_000, 100_000, 1_000_000]}]}


def test_proposed_config_blocks_expand_to_the_intended_cases():
    from numperf import config

    cases = config.expand_cases(config.load({"families": {"vectorize": DEFAULT_BLOCK}}), "h")
    run = [c for c in cases.values() if c.skip_reason is None]
    assert len(cases) == len(run) == 16
    assert {c.spec.params["cols"] for c in run if c.spec.params["workload"] == "running_average"} == {20, 80}
    paper = config.expand_cases(config.load({"families": {"vectorize": PAPER_BLOCK}}), "h").values()
    skipped = [c for c in paper if c.skip_reason]
    assert len(paper) == 48 and len(skipped) == 18  # int64 applies to multiply only
    assert all(c.skip_reason.startswith("dtype_unsupported") for c in skipped)


def test_claims_are_registered():
    ids = set(claims.registry())
    assert {c.id for c in V.claims()} <= ids

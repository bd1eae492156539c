"""The creation family: each creation method's result and check (a wrong array fails it), the view
fact of arange + reshape, the memory model against tracemalloc, parameter validation and the
dtype-range skip, each claim's rule on hand-made runs tables (one case that supports, one that
contradicts) and both figures drawn to PNG."""

from __future__ import annotations

import json
import math
import tracemalloc

import matplotlib

matplotlib.use("Agg")

import matplotlib.figure  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from numperf import claims, family  # noqa: E402
from numperf.families import creation as C  # noqa: E402
from tests.families import analysis_imports  # noqa: E402

SMALL = {"rows": 30, "cols": 40}


def fam():
    return family.get("creation")


def test_a_measuring_child_imports_neither_pandas_nor_matplotlib():
    assert analysis_imports("numperf.families.creation") == []


@pytest.mark.parametrize("method", C.METHODS)
@pytest.mark.parametrize("dtype", ["int32", "float32", "float64"])
def test_each_method_makes_the_right_array(method, dtype):
    result, chk = family.run_inline("creation", method, SMALL, dtype)
    assert chk.failed is None, chk.failed
    assert result.shape == (30, 40) and result.dtype == np.dtype(dtype)
    assert chk.facts["result_nbytes"] == 1200 * np.dtype(dtype).itemsize
    expect = {"zeros": np.zeros((30, 40)), "ones": np.ones((30, 40)),
              "full": np.full((30, 40), C.fill_value(dtype), dtype=dtype),
              "arange_reshape": np.arange(1200).reshape(30, 40)}
    if method in expect:
        np.testing.assert_array_equal(result, expect[method].astype(dtype))
    assert chk.facts["returns_view"] is (method == "arange_reshape")
    assert chk.facts["owns_data"] is (method != "arange_reshape")
    assert chk.facts["c_contiguous"] is True


def test_fill_value_is_the_seeds():
    assert C.fill_value("float64") == 3.14 and C.fill_value("int16") == 3


@pytest.mark.parametrize("method", ["zeros", "ones", "full", "arange_reshape"])
def test_a_wrong_array_fails_the_check(method):
    f, rng = fam(), np.random.default_rng(0)
    params = dict(SMALL)
    inputs = f.setup(params, "float64", rng)
    good = f.method(method).kernel(inputs)
    bad = good.copy()
    bad[3, 4] += 1
    assert f.check(method, good, inputs, params, "float64", rng).failed is None
    assert "wrong_values" in f.check(method, bad, inputs, params, "float64", rng).failed
    assert "wrong_array" in f.check(method, good.astype(np.float32), inputs, params, "float64", rng).failed
    assert "wrong_array" in f.check(method, good[:, :-1], inputs, params, "float64", rng).failed
    assert "wrong_type" in f.check(method, good.tolist(), inputs, params, "float64", rng).failed


def test_empty_is_checked_for_shape_and_dtype_only():
    f, rng = fam(), np.random.default_rng(0)
    inputs = f.setup(dict(SMALL), "float64", rng)
    junk = np.full((30, 40), np.nan)
    assert f.check("empty", junk, inputs, dict(SMALL), "float64", rng).failed is None
    assert "wrong_array" in f.check("empty", np.empty((40, 30)), inputs, dict(SMALL), "float64", rng).failed


def test_kernels_are_repeatable():
    inputs = fam().setup({"rows": 10, "cols": 10}, "int64", np.random.default_rng(0))
    for name in ("zeros", "ones", "full", "arange_reshape"):
        k = fam().method(name).kernel
        np.testing.assert_array_equal(k(inputs), k(inputs))
    assert fam().method("empty").kernel(inputs) is not fam().method("empty").kernel(inputs)


@pytest.mark.parametrize("method", C.METHODS)
@pytest.mark.parametrize("dtype,rows", [("float64", 500), ("int8", 500), ("float32", 3)])
def test_memory_model_is_one_array_like_tracemalloc(method, dtype, rows):
    params = {"rows": rows, "cols": 1000}
    m = fam().method(method)
    if m.skip(params, dtype):
        return
    inputs = fam().setup(params, dtype, np.random.default_rng(0))
    model = m.memory(params, dtype, {})
    assert model.input_bytes == model.intermediate_bytes == 0
    assert model.output_bytes == rows * 1000 * np.dtype(dtype).itemsize
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = m.kernel(inputs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    assert peak == pytest.approx(model.kernel_peak_bytes, rel=0.05, abs=1024)


def test_bytes_moved():
    p = {"rows": 10, "cols": 10}
    assert fam().method("empty").bytes_moved(p, "float64") == 0
    assert fam().method("ones").bytes_moved(p, "int16") == 200


def test_params_and_dtype_range_skip():
    f = fam()
    assert f.param("rows").problem(1000) is None
    assert "out of range" in f.param("rows").problem(0)
    assert "not an int" in f.param("cols").problem("1000")
    arange = f.method("arange_reshape")
    assert arange.skip({"rows": 10, "cols": 10}, "int8") is None  # 0..99 fits
    assert arange.skip({"rows": 100, "cols": 10}, "int8").startswith("dtype_range")
    assert arange.skip({"rows": 1000, "cols": 1000}, "int16").startswith("dtype_range")
    assert arange.skip({"rows": 5000, "cols": 5000}, "float32").startswith("dtype_range")
    assert arange.skip({"rows": 1000, "cols": 1000}, "int32") is None
    assert f.method("ones").skip({"rows": 1000, "cols": 1000}, "int8") is None
    with pytest.raises(family.Skip, match="dtype_range"):
        arange.kernel(f.setup({"rows": 100, "cols": 10}, "int8", np.random.default_rng(0)))
    assert set(f.dtypes) == {"int8", "int16", "int32", "int64", "float32", "float64"}


# --- claims on hand-made runs tables ----------------------------------------------------------------

def row(method, t, *, rows=1000, cols=1000, dtype="float64", spread=0.01, peak=math.nan, peak_max=None,
        traced=math.nan, view=None, noisy=False):
    """One ok family-view runs row whose three process medians are t·(1 ∓ spread)."""
    out = {"host_id": "h1", "backend": "wheel", "family": "creation", "method": method, "dtype": dtype,
           "threads": 1, "rows": rows, "cols": cols, "status": "ok", "reason": None, "noisy": noisy,
           "time_median_s": t, "time_process_medians_s": json.dumps([t * (1 - spread), t, t * (1 + spread)]),
           "time_ci_low_s": t * (1 - spread), "time_ci_high_s": t * (1 + spread),
           "peak_rss_bytes": peak, "peak_rss_max_bytes": peak if peak_max is None else peak_max,
           "traced_peak_bytes": traced}
    if view is not None:
        out["check_returns_view"] = view
    return out


def decide(rows, claim_id):
    claim = {c.id: c for c in C.claims()}[claim_id]
    cases = claim.cases(claims.Scope({"runs": pd.DataFrame(rows)}, "h1", "wheel"))
    return claims.combine(cases, claim.badness, claim.needs), cases


def test_claims_are_declared_with_seeds_and_unique_ids():
    cl = C.claims()
    assert 4 <= len(cl) <= 8 and len({c.id for c in cl}) == len(cl)
    for c in cl:
        assert c.family == "creation" and c.text and c.rule and c.needs and c.seed_section
        assert all(s in fam().seeds for s in c.seed)


def test_empty_beats_initialising_methods():
    rows = [row("empty", 1e-5), row("ones", 1.5e-3), row("full", 1.5e-3), row("arange_reshape", 1.7e-3)]
    res, cases = decide(rows, "creation_empty_beats_initialising")
    assert res["verdict"] == "holds" and len(cases) == 3 and cases[0].value == pytest.approx(150, rel=0.01)
    res, _ = decide(rows + [row("empty", 2e-6, rows=10), row("full", 2e-6, rows=10)],
                    "creation_empty_beats_initialising")
    assert res["verdict"] == "fails" and res["value_case"].startswith("empty vs full 10×1000")


def test_empty_vs_zeros_equivalence_is_the_lazy_page_finding():
    small = [row("empty", 2e-7, rows=10), row("zeros", 1e-6, rows=10)]
    assert decide(small, "creation_empty_beats_zeros")[0]["verdict"] == "holds"
    large = small + [row("empty", 1.2e-5), row("zeros", 1.21e-5)]  # calloc'ed fresh pages: same cost
    res, cases = decide(large, "creation_empty_beats_zeros")
    assert res["verdict"] == "fails" and "equivalent" in cases[-1].note
    assert decide([row("empty", 1e-5), row("ones", 1e-3)], "creation_empty_beats_zeros")[0]["verdict"] \
        == "not measured"


def test_bytes_follow_itemsize():
    good = [row("ones", 1e-3, dtype="float64", peak=8.0e6, peak_max=8.1e6),
            row("ones", 1e-4, dtype="int8", peak=1.0e6 + 4096),
            row("full", 1e-5, rows=10, dtype="int16", peak=0.0, traced=20_000 + 200)]  # below 1 MB: traced
    res, cases = decide(good, "creation_bytes_follow_itemsize")
    assert res["verdict"] == "holds" and len(cases) == 3
    assert "traced peak" in [c for c in cases if "int16" in c.label][0].note
    bad = good + [row("ones", 1e-3, dtype="int32", peak=8.0e6)]  # 8 bytes per int32 element: not itemsize
    res, _ = decide(bad, "creation_bytes_follow_itemsize")
    assert res["verdict"] == "fails" and res["value"] == pytest.approx(2.0)
    assert decide([row("zeros", 1e-5, peak=0.0)], "creation_bytes_follow_itemsize")[0]["verdict"] \
        == "not measured"  # zeros and empty touch no page: not evidence either way


def test_arange_reshape_is_a_view():
    good = [row("arange_reshape", 1e-3, peak=8.0e6, view=True)]
    assert decide(good, "creation_arange_reshape_is_view")[0]["verdict"] == "holds"
    copied = [row("arange_reshape", 1e-3, peak=16.0e6, view=True)]
    res, _ = decide(copied, "creation_arange_reshape_is_view")
    assert res["verdict"] == "fails" and res["value"] == pytest.approx(2.0)
    not_view = [row("arange_reshape", 1e-3, peak=8.0e6, view=False)]
    assert decide(not_view, "creation_arange_reshape_is_view")[0]["verdict"] == "fails"


# --- figures ----------------------------------------------------------------------------------------

FOOTNOTE = {"cpu_model": "Test CPU", "cores_logical": 2, "blas_internal_api": "openblas",
            "blas_version": "0.3.27", "blas_architecture": "Haswell", "openblas_coretype": None,
            "numpy_version": np.__version__}


def _figure_rows():
    rows = []
    cost = {"empty": lambda n: 2e-7, "zeros": lambda n: 1e-6 if n < 20_000 else 1.2e-5,
            "ones": lambda n: 2e-9 * n, "full": lambda n: 2e-9 * n, "arange_reshape": lambda n: 3e-9 * n}
    for r in (10, 100, 1000):
        n = r * 1000
        for method, t in cost.items():
            touched = method not in ("zeros", "empty")
            rows.append(row(method, t(n), rows=r, peak=8.0 * n if touched else 0.0, traced=8.0 * n + 100,
                            view=method == "arange_reshape", noisy=(method == "zeros" and r == 100)))
    rows.append(row("ones", 1e-3, rows=5000, dtype="int8", peak=5.0e6, traced=5.0e6))
    return pd.DataFrame(rows)


def test_figures_render(tmp_path):
    from numperf import plotting as figures

    decls = C.figures()
    assert [d.name for d in decls] == ["creation_times", "creation_memory"]
    runs = _figure_rows()
    raw = runs.rename(columns={p: f"p_{p}" for p in fam().param_names}).assign(**FOOTNOTE)
    for decl in decls:
        assert decl.name in figures.FIGURES
        fig = figures.draw(decl.name, {"runs": raw})
        fig.savefig(tmp_path / f"{decl.name}.png", dpi=figures.DPI)
        assert (tmp_path / f"{decl.name}.png").stat().st_size > 20_000
        assert fig.legends, decl.name
    # the time figure leaves out int8, measured with ones only
    _, shown = decls[0].draw({"runs": runs}, matplotlib.figure.Figure())
    assert set(shown["dtype"]) == {"float64"} and len(shown) == 15
    mem = C.memory_frame({"runs": runs})
    assert set(mem["dtype"]) == {"float64, 1000×1000", "int8, 5000×1000"}
    f64 = mem[mem["dtype"].str.startswith("float64")]
    rss = f64[f64["measure"].str.contains("RSS")].set_index("method")["bytes_per_element"]
    assert rss["zeros"] == 0 and rss["ones"] == pytest.approx(8)


def test_figures_explain_missing_data(tmp_path):
    empty = pd.DataFrame(columns=["host_id", "backend", "family", "method", "status", "rows", "cols",
                                  "time_median_s"])
    for decl in C.figures():
        fig = matplotlib.figure.Figure()
        assert decl.draw({"runs": empty}, fig) == (None, None)


# --- the proposed config blocks -------------------------------------------------------------------

DEFAULT_BLOCK = {"dtypes": ["float64"], "threads": [1], "grid": [{"rows": [10, 100, 1000], "cols": 1000}]}
PAPER_BLOCK = {"dtypes": list(C.DTYPES), "threads": [1], "grid": [
    {"rows": [10, 100, 1000], "cols": 1000},
    {"methods": ["ones", "full"], "rows": 5000, "cols": 1000}]}


def test_proposed_config_blocks_expand_to_the_intended_cases():
    from numperf import config

    cases = config.expand_cases(config.load({"families": {"creation": DEFAULT_BLOCK}}), "h")
    assert len(cases) == 15 and all(c.skip_reason is None for c in cases.values())
    paper = list(config.expand_cases(config.load({"families": {"creation": PAPER_BLOCK}}), "h").values())
    skipped = [c for c in paper if c.skip_reason]
    assert len(paper) == 6 * 15 + 6 * 2
    assert {c.spec.method for c in skipped} == {"arange_reshape"} and len(skipped) == 5  # int8 ×3, int16 ×2


def test_claims_are_registered():
    ids = set(claims.registry())
    assert {c.id for c in C.claims()} <= ids

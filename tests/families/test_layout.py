"""The layout family: kernels against exact references, view/copy facts, memory models, parameter
validation, skip reasons, every claim's rule on hand-made runs rows, and both figures rendered."""

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
from numperf.families import layout  # noqa: E402
from numperf.families.layout import _claims as layout_claims  # noqa: E402
from numperf.families.layout import _figures as layout_figures  # noqa: E402
from tests.families import analysis_imports  # noqa: E402

FAM = layout.FAMILY
SMALL = {"elements": 1000, "stride": 3, "rows": 6, "cols": 10}
ARRAY_METHODS = [m for m in FAM.methods if m not in ("strided_sum",)]
#: Whether each method returns a view of a C-ordered / an F-ordered array (rows, cols > 1).
VIEW = {"C": {"ravel": True, "flatten": False, "T_ravel": False, "transpose": True, "reshape": True,
              "T_reshape": False, "fancy_rows": False, "slice_rows": True, "repeat_strided": True,
              "repeat_tile": False, "repeat_np": False, "sum_rows": False, "sum_cols": False},
        "F": {"ravel": False, "flatten": False, "T_ravel": True, "transpose": True, "reshape": False,
              "T_reshape": True, "fancy_rows": False, "slice_rows": True, "repeat_strided": True,
              "repeat_tile": False, "repeat_np": False, "sum_rows": False, "sum_cols": False}}


def _inline(method, dtype="float64", **params):
    return family.run_inline("layout", method, {**SMALL, **params}, dtype)


# --- kernels and checks ------------------------------------------------------------------------------

def test_a_measuring_child_imports_neither_pandas_nor_matplotlib():
    assert analysis_imports("numperf.families.layout") == []


def test_family_is_registered_and_declares_its_parts():
    assert family.get("layout") is FAM
    assert FAM.baseline in FAM.methods
    assert set(FAM.optional_methods) <= set(FAM.methods)
    assert {f.name for f in layout.figures()} == {"layout_strided_sum", "layout_view_copy"}
    ids = [c.id for c in layout.claims()]
    assert len(ids) == len(set(ids)) and all(i.startswith("layout-") for i in ids)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_every_method_matches_its_reference_and_records_view_facts(dtype, order):
    for method in FAM.methods:
        result, check = _inline(method, dtype, order=order)
        assert check.failed is None, (method, check)
        assert check.max_abs_error == 0, method
        if method != "strided_sum":
            assert check.facts["returns_view"] is VIEW[order][method], (method, order)
            assert check.facts["result_nbytes"] == result.nbytes
            assert (check.facts["owned_bytes"] == 0) is check.facts["returns_view"]


def test_strided_sum_is_exact_against_brute_force():
    for n, k in [(1, 1), (7, 2), (1000, 67), (70_000, 5), (3, 4096)]:
        x = np.arange(n * k) % layout.PATTERN_PERIOD + 1
        assert layout.strided_sum_reference(n, k) == int(x[::k].sum())
    x = layout.pattern(200_000, "float32")
    period = layout.PATTERN_PERIOD
    assert x[0] == 1 and x[period - 1] == period and x[period] == 1
    result, check = _inline("strided_sum", elements=20_000, stride=67)
    assert float(result) == layout.strided_sum_reference(20_000, 67)
    assert check.facts["stride_bytes"] == 67 * 8 and check.facts["span_bytes"] == 20_000 * 67 * 8


def test_wrong_results_fail_the_check():
    rng = np.random.default_rng(0)
    params = {**SMALL, "order": "C"}
    inputs = FAM.setup(params, "float64", rng)
    ok = {m: FAM.methods[m].kernel(inputs) for m in FAM.methods}
    wrong = {
        "strided_sum": ok["strided_sum"] + 1,
        "sum_rows": ok["sum_cols"],  # the other axis: wrong shape
        "sum_cols": ok["sum_cols"] * 1.01,
        "ravel": ok["T_ravel"],  # same items, wrong order
        "flatten": ok["flatten"][::-1].copy(),
        "T_ravel": ok["ravel"],
        "transpose": inputs["a"],  # not transposed: wrong shape
        "reshape": ok["T_reshape"].reshape(12, 5),
        "T_reshape": ok["reshape"].reshape(20, 3),
        "fancy_rows": inputs["a"][1::2],  # odd rows
        "slice_rows": inputs["a"][:3],
        "repeat_strided": np.tile(inputs["v"][::-1, None], (1, 10)),
        "repeat_tile": ok["repeat_tile"].T.reshape(6, 10),
        "repeat_np": [1, 2, 3],
    }
    assert set(wrong) == set(FAM.methods)
    for method, result in wrong.items():
        check = FAM.check(method, result, inputs, params, "float64", rng)
        assert check.failed, method


def test_large_results_are_checked_on_sampled_positions():
    params = {**SMALL, "rows": 400, "cols": 300, "order": "C"}
    inputs = FAM.setup(params, "float32", None)
    result = inputs["a"].flatten()
    assert FAM.check("flatten", result, inputs, params, "float32", None).failed is None
    result[:] = result[::-1]
    assert FAM.check("flatten", result, inputs, params, "float32", None).failed


def test_kernels_do_not_change_their_inputs():
    inputs = FAM.setup({**SMALL, "order": "C"}, "float64", None)
    before = {k: v.copy() for k, v in inputs.items() if isinstance(v, np.ndarray)}
    for method in FAM.methods:
        FAM.methods[method].kernel(inputs, threads=1)
    assert all(np.array_equal(before[k], inputs[k]) for k in before)
    with pytest.raises(ValueError):
        FAM.methods["repeat_strided"].kernel(inputs)[0, 0] = 5  # read-only: cannot write through


# --- models --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["C", "F"])
def test_memory_models_match_tracemalloc(order):
    params = {"elements": 20_000, "stride": 16, "rows": 300, "cols": 400, "order": order}
    inputs = FAM.setup(params, "float64", None)
    for name, method in FAM.methods.items():
        method.kernel(inputs)
        tracemalloc.start()
        method.kernel(inputs)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        model = method.memory(params, "float64", {})
        assert model.intermediate_bytes == 0
        if model.output_bytes == 0 or name in ("sum_rows", "sum_cols"):  # views and small results
            assert peak <= model.output_bytes + layout_claims.VIEW_BYTES_BOUND, (name, peak)
        else:
            assert 0.99 * model.output_bytes <= peak <= 1.01 * model.output_bytes + 4096, (name, peak)
        if name in VIEW[order] and not name.startswith("sum_"):
            assert (model.output_bytes == 0) is VIEW[order][name], name


def test_view_models_follow_the_facts_on_many_shapes():
    for rows in (1, 2, 3, 4):
        for cols in (1, 2, 4):
            for order in "CF":
                params = {**SMALL, "rows": rows, "cols": cols, "order": order}
                for name in ("ravel", "T_ravel", "reshape", "T_reshape"):
                    meth = FAM.methods[name]
                    if meth.skip(params, "float64"):
                        continue
                    _, check = family.run_inline("layout", name, params, "float64")
                    view = meth.memory(params, "float64", {}).output_bytes == 0
                    assert check.facts["returns_view"] is view, (name, rows, cols, order)


def test_work_counts():
    p = {"elements": 1000, "stride": 67, "rows": 10, "cols": 20, "order": "C"}
    m = FAM.methods
    assert m["strided_sum"].bytes_moved(p, "float64") == 1000 * layout.CACHE_LINE_BYTES
    assert m["strided_sum"].bytes_moved({**p, "stride": 2}, "float64") == 1000 * 16
    assert m["strided_sum"].flops(p, "float64") == 1000
    assert m["flatten"].bytes_moved(p, "float32") == 2 * 200 * 4
    assert m["ravel"].bytes_moved(p, "float64") is None
    assert m["sum_rows"].memory(p, "float64", {}).output_bytes == 80
    assert m["fancy_rows"].memory({**p, "rows": 5}, "float64", {}).output_bytes == 3 * 20 * 8


def test_param_validation():
    assert "1" in FAM.param("stride").problem(0)
    assert "4096" in FAM.param("stride").problem(5000)
    assert "not an int" in FAM.param("elements").problem(1.5)
    assert "not an int" in FAM.param("rows").problem(True)
    assert "C, F" in FAM.param("order").problem("K")
    assert FAM.param("stride").problem(67) is None and FAM.param("order").problem("F") is None
    for p in FAM.params:  # every default is itself allowed
        assert p.problem(p.default) is None, p.name


def test_skip_reasons():
    p = {**SMALL, "order": "C"}
    assert FAM.methods["T_reshape"].skip({**p, "rows": 7}, "float64").startswith("bad_shape:")
    assert FAM.methods["reshape"].skip({**p, "cols": 9}, "float64").startswith("bad_shape:")
    assert FAM.methods["T_reshape"].skip(p, "float64") is None
    assert all(m.skip(p, "float64") is None for m in FAM.methods.values())


# --- claims --------------------------------------------------------------------------------------------

def _row(method, time_s, *, spread=0.01, view=None, traced=None, result_nbytes=None, **params):
    p = {"elements": 20_000, "stride": 1, "rows": 100, "cols": 200, "order": "C", **params}
    medians = [time_s * (1 - spread), time_s, time_s * (1 + spread)]
    return {"host_id": "h1", "backend": "wheel", "family": "layout", "method": method, "dtype": "float64",
            "threads": 1, **p, "status": "ok", "reason": "", "time_median_s": time_s,
            "time_ci_low_s": time_s * (1 - 2 * spread), "time_ci_high_s": time_s * (1 + 2 * spread),
            "time_process_medians_s": json.dumps(medians), "n_processes": 3, "noisy": False,
            "traced_peak_bytes": traced, "check_returns_view": view,
            "check_owned_bytes": 0 if view else result_nbytes, "check_result_nbytes": result_nbytes}


def _decide(claim_id, rows):
    claim = {c.id: c for c in layout.claims()}[claim_id]
    runs = pd.DataFrame(rows)
    for col, val in claim.select.items():
        runs = runs[runs[col].astype(str) == str(val)]
    cases = claim.cases(claims.Scope({"runs": runs}, "h1", "wheel"))
    return claims.combine(cases, claim.badness, claim.needs)["verdict"], cases


def _pair(view, copy, *, view_ok=True, copy_ok=True, nbytes=160_000, **params):
    return [_row(view, 1e-7, view=view_ok, traced=96 if view_ok else nbytes, result_nbytes=nbytes, **params),
            _row(copy, 1e-4, view=not copy_ok, traced=nbytes + 500 if copy_ok else 96, result_nbytes=nbytes,
                 **params)]


@pytest.mark.parametrize("claim_id,view,copy", [
    ("layout-ravel-view-flatten-copy", "ravel", "flatten"),
    ("layout-transposed-copies", "transpose", "T_ravel"),
    ("layout-transposed-copies", "transpose", "T_reshape"),
    ("layout-fancy-copies-slice-views", "slice_rows", "fancy_rows"),
    ("layout-zero-stride-no-memory", "repeat_strided", "repeat_tile"),
    ("layout-zero-stride-no-memory", "repeat_strided", "repeat_np"),
])
def test_view_copy_claims(claim_id, view, copy):
    assert _decide(claim_id, _pair(view, copy) + _pair(view, copy, rows=1000, cols=2000))[0] == "holds"
    assert _decide(claim_id, _pair(view, copy, copy_ok=False))[0] == "fails"
    assert _decide(claim_id, _pair(view, copy, view_ok=False))[0] == "fails"
    # a view whose call allocated data (traced above the bound) contradicts
    rows = _pair(view, copy)
    rows[0]["traced_peak_bytes"] = 10 * layout_claims.VIEW_BYTES_BOUND
    assert _decide(claim_id, rows)[0] == "fails"
    # no memory reading: undecided, so inconclusive
    rows = _pair(view, copy)
    rows[1]["traced_peak_bytes"] = math.nan
    assert _decide(claim_id, rows)[0] == "inconclusive"
    assert _decide(claim_id, _pair(view, "sum_rows"))[0] == "not measured"


def test_view_copy_claims_look_at_c_arrays_only():
    rows = _pair("ravel", "flatten", view_ok=False, order="F")  # ravel of an F array copies: not the claim
    assert _decide("layout-ravel-view-flatten-copy", rows)[0] == "not measured"


def test_transpose_constant_time():
    flat = [_row("transpose", 1.5e-7, view=True, rows=100, cols=200),
            _row("transpose", 1.55e-7, view=True, rows=1000, cols=2000)]
    verdict, cases = _decide("layout-transpose-constant-time", flat)
    assert verdict == "holds" and "size ×100" in cases[0].note
    grows = [flat[0], _row("transpose", 1.5e-5, view=True, rows=1000, cols=2000)]
    assert _decide("layout-transpose-constant-time", grows)[0] == "fails"
    copied = [flat[0], {**flat[1], "check_returns_view": False}]
    assert _decide("layout-transpose-constant-time", copied)[0] == "fails"
    close = [flat[0], _row("transpose", 1.5e-7, rows=200, cols=200)]  # only 2× apart: no case
    assert _decide("layout-transpose-constant-time", close)[0] == "not measured"


def test_copies_slower_than_views():
    rows = _pair("ravel", "flatten") + _pair("transpose", "T_ravel") + _pair("slice_rows", "fancy_rows")
    verdict, cases = _decide("layout-copies-slower-than-views", rows)
    assert verdict == "holds" and len(cases) == 3
    rows[1]["time_median_s"] = 1e-7
    rows[1]["time_process_medians_s"] = rows[0]["time_process_medians_s"]  # flatten as fast as ravel
    assert _decide("layout-copies-slower-than-views", rows)[0] == "fails"


def _strided(times_ns, elements=20_000, spread=0.01):
    return [_row("strided_sum", t * 1e-9 * elements, spread=spread, elements=elements, stride=k)
            for k, t in times_ns.items()]


def test_stride_cost_grows():
    rising = {1: 0.3, 8: 0.9, 16: 0.92, 67: 0.95}
    verdict, cases = _decide("layout-stride-cost-grows", _strided(rising))
    assert verdict == "holds" and len(cases) == 4  # three steps and the ends
    dip = {1: 0.3, 8: 0.9, 16: 1.0, 67: 0.8}  # 67 cheaper than 16: a step contradicts
    assert _decide("layout-stride-cost-grows", _strided(dip))[0] == "fails"
    flat = {1: 0.3, 67: 0.305}  # ends equivalent: contradicts
    assert _decide("layout-stride-cost-grows", _strided(flat))[0] == "fails"
    noisy = {1: 0.3, 67: 0.32}
    assert _decide("layout-stride-cost-grows", _strided(noisy, spread=0.3))[0] == "inconclusive"


def test_strided_cost_out_of_cache():
    rows = _strided({1: 0.3, 67: 0.9}) + _strided({1: 0.2, 67: 6.5}, elements=2_000_000)
    verdict, cases = _decide("layout-strided-cost-out-of-cache", rows)
    assert verdict == "holds" and len(cases) == 1 and cases[0].value == pytest.approx(6.5 / 0.9)
    rows = _strided({67: 0.9}) + _strided({67: 0.5}, elements=2_000_000)
    assert _decide("layout-strided-cost-out-of-cache", rows)[0] == "fails"
    rows = _strided({1: 0.3, 4: 0.3}) + _strided({1: 0.2, 4: 1.0}, elements=2_000_000)  # within a line
    assert _decide("layout-strided-cost-out-of-cache", rows)[0] == "not measured"


def test_contiguous_axis_reduction_faster():
    good = [_row("sum_rows", 1e-3, rows=2000, cols=2000), _row("sum_cols", 2e-3, rows=2000, cols=2000),
            _row("sum_rows", 2e-3, rows=2000, cols=2000, order="F"),
            _row("sum_cols", 1e-3, rows=2000, cols=2000, order="F")]
    verdict, cases = _decide("layout-contiguous-axis-reduction-faster", good)
    assert verdict == "holds" and {c.group for c in cases} == {"order C", "order F"}
    bad = [_row("sum_rows", 2e-3, rows=2000, cols=2000), _row("sum_cols", 1e-3, rows=2000, cols=2000)]
    assert _decide("layout-contiguous-axis-reduction-faster", bad)[0] == "fails"


def test_claims_through_evaluate_with_prefixed_param_columns():
    rows = pd.DataFrame(_pair("ravel", "flatten") + _strided({1: 0.3, 67: 0.9}))
    runs = rows.rename(columns={p: f"p_{p}" for p in FAM.param_names})
    out = claims.evaluate({"runs": runs}, claims={c.id: c for c in layout.claims()})
    verdicts = dict(zip(out["claim_id"], out["verdict"], strict=True))
    assert verdicts["layout-ravel-view-flatten-copy"] == "holds"
    assert verdicts["layout-stride-cost-grows"] == "holds"
    assert verdicts["layout-contiguous-axis-reduction-faster"] == "not measured"


# --- figures -------------------------------------------------------------------------------------------

def _render(decl, runs, path):
    fig = matplotlib.figure.Figure()
    fig.set_layout_engine("constrained")
    handles, shown = decl.draw({"runs": runs}, fig)
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    fig.suptitle(decl.title)
    fig.savefig(path, dpi=80)
    return handles, shown


def test_figures_render(tmp_path):
    rows = (_strided({1: 0.3, 8: 0.9, 16: 0.92, 67: 0.95}) + _strided({1: 0.2, 8: 3.6, 16: 6.5, 67: 6.4},
                                                                       elements=2_000_000))
    for rc in [(100, 200), (1000, 2000)]:
        r, c = rc
        n = r * c * 8
        rows += [_row("transpose", 1.5e-7, rows=r, cols=c), _row("ravel", 1.2e-7, rows=r, cols=c),
                 _row("flatten", n / 5e9, rows=r, cols=c), _row("T_ravel", n / 2e9, rows=r, cols=c),
                 _row("T_reshape", n / 2e9, rows=r, cols=c), _row("slice_rows", 1.4e-7, rows=r, cols=c),
                 _row("fancy_rows", n / 8e9, rows=r, cols=c), _row("repeat_strided", 2e-6, rows=r, cols=c),
                 _row("repeat_tile", n / 4e9, rows=r, cols=c)]
    runs = pd.DataFrame(rows)
    decls = {d.name: d for d in layout.figures()}
    handles, shown = _render(decls["layout_strided_sum"], runs, tmp_path / "strided.png")
    assert handles and len(shown) == 8 and shown["ns_per_item"].max() == pytest.approx(6.5)
    handles, shown = _render(decls["layout_view_copy"], runs, tmp_path / "view_copy.png")
    assert handles and set(shown["ops"]) == set(layout_figures.VIEW_COPY_PANELS)
    for name in ("strided.png", "view_copy.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    empty = runs[runs["method"] == "sum_rows"]
    for decl in decls.values():
        assert _render(decl, empty, tmp_path / f"{decl.name}_empty.png") == (None, None)


@pytest.mark.parametrize("method", list(FAM.methods))
def test_setup_builds_only_what_the_method_reads_and_the_model_counts_it(method):
    """A strided-sum case does not allocate the matrix, a 2-D case not the long strided vector: the
    inputs built are those the method reads, and the model's input bytes are exactly theirs."""
    params = {**SMALL, "order": "C"}
    inputs = FAM.setup(params, "float64", None, method)
    arrays = {k: v for k, v in inputs.items() if isinstance(v, np.ndarray) and k != "y"}  # y: a view of x
    assert {k for k in arrays if k != "idx"} == set(layout.needs(method))
    model = FAM.method(method).memory(params, "float64", {})
    assert model.input_bytes == sum(a.nbytes for a in arrays.values())
    assert family.run_inline("layout", method, params, "float64")[1].failed is None

"""The dtypes family: every method against NumPy's own result on small arrays, the checks' facts
(dtypes, bytes per element, the seed's promotion examples under this NumPy), memory models against
tracemalloc, parameter validation, and each claim's rule and figure on small hand-made runs tables."""

from __future__ import annotations

import json
import tracemalloc

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from numperf import aggregate, claims, family  # noqa: E402
from numperf.families import dtypes  # noqa: E402
from numperf.families.dtypes import _claims as dtypes_claims  # noqa: E402
from numperf.families.dtypes import _figures as dtypes_figures  # noqa: E402
from tests.families import analysis_imports  # noqa: E402

FAM = family.get("dtypes")
N = 1000


def test_a_measuring_child_imports_neither_pandas_nor_matplotlib():
    assert analysis_imports("numperf.families.dtypes") == []


def run(method: str, dtype: str, elements: int = N):
    return family.run_inline("dtypes", method, {"elements": elements}, dtype)


# --- methods and checks ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", dtypes.DTYPES)
def test_sum_is_numpys_sum_and_the_check_passes(dtype):
    result, check = run("sum", dtype)
    a = FAM.setup({"elements": N}, dtype, np.random.default_rng(0))["a"]
    assert a.dtype == np.dtype(dtype) and a.size == N
    assert result == np.sum(a)
    assert check.failed is None
    assert check.facts["itemsize"] == dtypes.SEED_ITEMSIZE[dtype]
    assert check.facts["input_nbytes"] == N * dtypes.SEED_ITEMSIZE[dtype]
    # np.sum accumulates narrow integers in the default integer
    want = "int64" if dtype.startswith("int") else dtype
    assert check.facts["result_dtype"] == want


@pytest.mark.parametrize("dtype", dtypes.DTYPES)
def test_times_two_keeps_the_dtype_and_is_exact(dtype):
    result, check = run("times_two", dtype)
    a = FAM.setup({"elements": N}, dtype, np.random.default_rng(0))["a"]
    assert result.dtype == a.dtype
    assert np.array_equal(result.astype(np.float64), a.astype(np.float64) * 2)
    assert check.failed is None and check.max_abs_error == 0
    assert check.facts["keeps_dtype"] is True
    assert check.facts["result_nbytes"] == a.nbytes


@pytest.mark.parametrize("dtype", ["int8", "int32", "float32", "float64"])
def test_times_two_float_promotes_integers_to_float64(dtype):
    result, check = run("times_two_float", dtype)
    assert check.failed is None
    want = dtype if dtype.startswith("float") else "float64"
    assert str(result.dtype) == want == check.facts["result_dtype"]
    assert check.facts["keeps_dtype"] is (want == dtype)


def _check(method, result, dtype, elements=N):
    inputs = FAM.setup({"elements": elements}, dtype, np.random.default_rng(0))
    return FAM.check(method, result, inputs, {"elements": elements}, dtype, np.random.default_rng(1))


@pytest.mark.parametrize("dtype", ["int8", "int64", "float64", "float32"])
def test_a_wrong_sum_fails_the_check(dtype):
    a = FAM.setup({"elements": N}, dtype, np.random.default_rng(0))["a"]
    right = np.sum(a)
    assert _check("sum", right, dtype).failed is None
    # one element too many: an integer is exact, a float is off by far more than the rounding bound
    wrong = right + (1 if dtype.startswith("int") else a.dtype.type(0.5))
    failed = _check("sum", wrong, dtype).failed
    assert failed and failed.startswith("inaccurate")


def test_a_wrong_scaling_fails_the_check():
    a = FAM.setup({"elements": N}, "int16", np.random.default_rng(0))["a"]
    wrong = a * 2
    wrong[7] += 1
    assert "wrong values" in _check("times_two", wrong, "int16").failed
    assert "wrong shape" in _check("times_two", (a * 2)[:-1], "int16").failed


def test_promotion_examples_record_what_this_numpy_gives():
    result, check = run("promotion_examples", "int8", elements=4)
    assert check.failed is None
    facts = check.facts
    y = np.array([1.0, 2.0, 3.0, 4.0]).astype(np.int8)
    assert facts["promo_plus_1"] == str((y + 1).dtype) == "int8"
    assert facts["promo_plus_256_float"] == str((y + 256.0).dtype)
    assert facts["promo_plus_int32_array"] == "int32"
    assert facts["promo_assign_plus_1_5"] == "int8" and facts["promo_assign_plus_1_5_exact"]
    try:
        got = str((y + 256).dtype)
    except OverflowError:
        got = "OverflowError"
    assert facts["promo_plus_256"] == got
    # NumPy 2 (NEP 50) no longer widens int8 for a Python int that does not fit: the seed's int16 is gone
    if int(np.__version__.split(".")[0]) >= 2:
        assert got == "OverflowError" and facts["promo_plus_256_as_seed"] is False
        assert facts["promo_as_seed"] == "4 of 5"
    # repeatable: the kernel does not change the seed's array
    assert np.array_equal(FAM.setup({"elements": 4}, "int8", np.random.default_rng(0))["seed_y"], y)
    assert facts["default_int"] == str(np.dtype(int))
    assert facts["default_int_itemsize"] == np.dtype(int).itemsize


def test_an_incomplete_promotion_result_fails_the_check():
    check = _check("promotion_examples", {"plus_1": np.zeros(4, np.int8)}, "int8", elements=4)
    assert check.failed.startswith("incomplete")


def test_promotion_examples_are_skipped_for_other_dtypes():
    meth = FAM.method("promotion_examples")
    assert meth.skip({"elements": 4}, "int8") is None
    for dtype in ("int16", "float64"):
        assert meth.skip({"elements": 4}, dtype).startswith("not_applicable:")


# --- models ----------------------------------------------------------------------------------------

def _traced_peak(method: str, dtype: str, elements: int) -> int:
    inputs = FAM.setup({"elements": elements}, dtype, np.random.default_rng(0))
    kernel = FAM.method(method).kernel
    kernel(inputs)
    tracemalloc.start()
    try:
        kernel(inputs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", ["int8", "int32", "float32", "float64"])
def test_memory_models_match_tracemalloc(dtype):
    n = 200_000
    for method in ("sum", "times_two", "times_two_float"):
        model = FAM.method(method).memory({"elements": n}, dtype, {})
        assert model.input_bytes == n * dtypes.SEED_ITEMSIZE[dtype]
        traced = _traced_peak(method, dtype, n)
        assert abs(traced - model.kernel_peak_bytes) <= 4096 + 0.02 * model.kernel_peak_bytes, \
            (method, dtype, traced, model)


def test_work_counts():
    p = {"elements": 1000}
    assert FAM.method("sum").bytes_moved(p, "int16") == 2000
    assert FAM.method("times_two").bytes_moved(p, "float32") == 8000
    assert FAM.method("times_two_float").bytes_moved(p, "int8") == 1000 + 8000
    assert FAM.method("times_two").flops(p, "int64") == 1000


def test_param_validation():
    p = FAM.param("elements")
    assert p.problem(5_000_000) is None
    for bad in (0, -5, 3_000_000_000):
        assert ">= 1" in p.problem(bad)  # the message names what is allowed
    for bad in (2.5, "10", True):
        assert "is not an int" in p.problem(bad)


def test_family_declaration():
    assert set(dtypes.INT_DTYPES) <= set(FAM.dtypes) and set(dtypes.FLOAT_DTYPES) <= set(FAM.dtypes)
    assert FAM.optional_methods == ("times_two_float",)
    assert FAM.baseline is None  # the methods are compared across dtypes, not with each other
    names = [f.name for f in dtypes.figures()]
    assert all(n.startswith("dtypes_") for n in names)


# --- claims ----------------------------------------------------------------------------------------

def row(method: str, dtype: str, t: float, elements: int = 5_000_000, threads: int = 1, spread: float = 0.01,
        status: str = "ok", **extra) -> dict:
    """One runs.csv row of the dtypes family, three processes with medians t·(1 ∓ spread)."""
    itemsize = dtypes.SEED_ITEMSIZE.get(dtype, 8)
    meds = [t * (1 - spread), t, t * (1 + spread)]
    return {"host_id": "h1", "backend": "wheel", "family": "dtypes", "method": method, "dtype": dtype,
            "threads": threads, "p_elements": elements, "status": status, "reason": None, "noisy": False,
            "time_median_s": t, "time_ci_low_s": meds[0], "time_ci_high_s": meds[2],
            "time_process_medians_s": json.dumps(meds), "n_processes": 3,
            "bytes_moved": float(elements * itemsize * (1 if method == "sum" else 2)),
            "blas_internal_api": "openblas", "numpy_version": np.__version__, "cpu_model": "test cpu",
            "cores_logical": 2, "check_itemsize": itemsize, "check_input_nbytes": elements * itemsize,
            "check_default_int": str(np.dtype(int)), "check_default_int_itemsize": np.dtype(int).itemsize,
            **extra}


def decide(rows: list[dict]) -> pd.DataFrame:
    df = claims.evaluate({"runs": pd.DataFrame(rows)}, claims={c.id: c for c in dtypes.claims()})
    return df.set_index("claim_id")


def verdict(rows, claim_id: str) -> str:
    return decide(rows).loc[claim_id, "verdict"]


def test_claims_have_unique_ids_and_cite_the_seeds():
    cs = dtypes.claims()
    assert len({c.id for c in cs}) == len(cs) >= 4
    for c in cs:
        assert c.family == "dtypes" and all(s in FAM.seeds for s in c.seed)
        assert c.id.startswith("dtypes-")


def test_float32_faster_holds_and_fails():
    fast = [row("sum", "float32", 1e-3), row("sum", "float64", 2e-3),
            row("times_two", "float32", 3e-3), row("times_two", "float64", 6e-3)]
    assert verdict(fast, "dtypes-float32-faster") == "holds"
    same = [row("sum", "float32", 1e-3), row("sum", "float64", 1.0e-3)]
    assert verdict(same, "dtypes-float32-faster") == "fails"
    assert verdict([row("sum", "float32", 1e-3)], "dtypes-float32-faster") == "not measured"


def test_smaller_int_faster_holds_and_fails():
    good = [row("times_two", d, t) for d, t in zip(dtypes.INT_DTYPES, (1e-3, 2e-3, 4e-3, 8e-3), strict=True)]
    assert verdict(good, "dtypes-smaller-int-faster") == "holds"
    # np.sum widens narrow integers first: int8 no faster than int16
    bad = good + [row("sum", "int8", 2e-3), row("sum", "int16", 2e-3)]
    got = decide(bad).loc["dtypes-smaller-int-faster"]
    assert got["verdict"] == "fails" and "int16/int8" in got["value_case"]


def test_bytes_per_element_and_default_int():
    rows = [row("sum", d, 1e-3) for d in dtypes.DTYPES]
    got = decide(rows)
    eight = np.dtype(int).itemsize == 8
    assert got.loc["dtypes-bytes-per-element", "verdict"] == ("holds" if eight else "fails")
    assert got.loc["dtypes-default-int-is-int32", "verdict"] == (
        "holds" if np.dtype(int) == np.int32 else "fails")
    wrong = [row("sum", "int16", 1e-3, check_itemsize=4, check_input_nbytes=4 * 5_000_000)]
    assert verdict(wrong, "dtypes-bytes-per-element") == "fails"
    old = [row("sum", "int8", 1e-3, check_default_int="int32", check_default_int_itemsize=4)]
    got = decide(old)
    assert got.loc["dtypes-default-int-is-int32", "verdict"] == "holds"
    assert got.loc["dtypes-bytes-per-element", "verdict"] == "fails"  # 001 says 8 bytes


def test_memory_follows_itemsize():
    n = 5_000_000
    good = [row("times_two", "float64", 1e-3, peak_rss_bytes=8.0 * n, peak_rss_max_bytes=8.1 * n),
            row("times_two", "int8", 1e-3, peak_rss_bytes=1.0 * n, peak_rss_max_bytes=1.02 * n)]
    assert verdict(good, "dtypes-memory-follows-itemsize") == "holds"
    # a result twice as large as its dtype says
    bad = [row("times_two", "float32", 1e-3, peak_rss_bytes=8.0 * n, peak_rss_max_bytes=8.0 * n)]
    assert verdict(bad, "dtypes-memory-follows-itemsize") == "fails"
    small = [row("times_two", "int8", 1e-3, elements=1000, peak_rss_bytes=0.0, traced_peak_bytes=1000.0)]
    assert verdict(small, "dtypes-memory-follows-itemsize") == "holds"


def _promotion_row(status: str = "ok") -> dict:
    _, check = run("promotion_examples", "int8", elements=4)
    return row("promotion_examples", "int8", 1e-6, elements=4, status=status,
               **{f"check_{k}": v for k, v in check.facts.items()})


def test_promotion_claim_decided_from_this_numpys_facts():
    got = decide([_promotion_row()]).loc["dtypes-int8-promotion-as-seed"]
    assert got["n_cases"] == len(dtypes.PROMOTION_EXAMPLES)
    if int(np.__version__.split(".")[0]) >= 2:
        assert got["verdict"] == "fails"
        assert got["value_case"] == "y + 256" and "OverflowError" in got["evidence"]
    # the seed's own NumPy (1.23): every example as printed
    old = _promotion_row()
    old.update({"check_promo_plus_256": "int16", "check_promo_plus_256_as_seed": True})
    assert decide([old]).loc["dtypes-int8-promotion-as-seed", "verdict"] == "holds"
    # read back from a CSV: booleans as text still count
    csv = pd.read_csv(pd.io.common.StringIO(pd.DataFrame([old]).to_csv(index=False)))
    assert decide(csv.to_dict("records")).loc["dtypes-int8-promotion-as-seed", "verdict"] == "holds"


def test_dtype_pairs_ratio_direction():
    scope = claims.Scope({"runs": aggregate.family_view(pd.DataFrame(
        [row("sum", "float32", 1e-3), row("sum", "float64", 3e-3)]), "dtypes")}, "h1", "wheel")
    df = dtypes_claims.dtype_pairs(scope, "float64", "float32")
    assert len(df) == 1
    r = df.iloc[0]
    assert r["ratio"] == pytest.approx(3.0) and r["low"] < 3.0 < r["high"]
    assert r["verdict"] == "float32 faster"


# --- figures ---------------------------------------------------------------------------------------

def _sweep() -> list[dict]:
    rows = []
    for method, base in (("sum", 1e-3), ("times_two", 4e-3)):
        for dtype in dtypes.DTYPES:
            rows.append(row(method, dtype, base * dtypes.SEED_ITEMSIZE[dtype] / 8 + 2e-4))
    return rows + [_promotion_row()]


@pytest.mark.parametrize("name", ["dtypes_throughput", "dtypes_bandwidth"])
def test_figures_render(tmp_path, name):
    from numperf import plotting as figures

    runs = pd.DataFrame(_sweep())
    fig = figures.draw(name, {"runs": runs})
    out = tmp_path / f"{name}.png"
    fig.savefig(out, dpi=80)
    assert out.stat().st_size > 10_000
    # bars: one per dtype and throughput method, none for the promotion record
    assert sum(len(ax.patches) for ax in fig.axes) == 2 * len(dtypes.DTYPES)


def test_figure_without_rows_explains(tmp_path):
    from numperf import plotting as figures

    fig = figures.draw("dtypes_throughput", {"runs": pd.DataFrame([_promotion_row()])})
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("No ok sum or times_two rows" in t for t in texts)


def test_dtype_labels_sort_by_bytes():
    labels = sorted(dtypes_figures.dtype_label(d) for d in dtypes.DTYPES)
    assert labels == ["1 B int8", "2 B int16", "4 B float32", "4 B int32", "8 B float64", "8 B int64"]

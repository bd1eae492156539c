"""The dtypes family's claims: the speed of narrower dtypes (float32 against float64, each integer
width against the next), the bytes per element of every dtype and of a new array, and seed 003's
promotion examples and default integer against what this NumPy gives, each decided from runs.csv.
``CLAIMS``, at the end, declares them as data in the order of claims.csv; the functions before it
are their rules.

Analysis side: imported by ``numperf.families.dtypes.claims()``, never by a measuring child.
"""

from __future__ import annotations

from functools import partial

import pandas as pd

from numperf import aggregate
from numperf.claims import (
    CONTRADICTS,
    SUPPORTS,
    Case,
    from_verdict,
    higher_supports,
    near,
    ok_rows,
    peaks,
    within,
)
from numperf.families._claimkit import claim_maker, count, exact_case
from numperf.families.dtypes import INT_DTYPES, NAME, PROMOTION_EXAMPLES, SEED_ITEMSIZE, THROUGHPUT_METHODS
from numperf.tables import as_bool

#: Relative slack of the measured memory of a result against elements x bytes per element.
MEMORY_TOLERANCE = 0.10
#: The labels of a dtype pair's verdict: (wide faster, narrow faster).
_PAIR = ("{wide} faster", "{narrow} faster")
#: The methods the speed claims compare: times_two is the seed's a * 2.0 for floats (times_two_float
#: would count the same operation twice).
SPEED_METHODS = ("sum", "times_two")
#: Neighbouring integer widths as (wide, narrow): int16/int8, int32/int16, int64/int32.
NEIGHBOUR_INTS = tuple((wide, narrow) for narrow, wide in zip(INT_DTYPES, INT_DTYPES[1:], strict=False))


def _case_label(r, dtype: str | None = None) -> str:
    text = f"{r['method']} {count(r['elements'])}"
    return text + (f" {dtype}" if dtype else "") + f" t{int(r['threads'])}"


def dtype_pairs(scope, wide: str, narrow: str, methods=THROUGHPUT_METHODS):
    """Per method, size and thread count measured in both dtypes: ``ratio`` = time in ``wide`` /
    time in ``narrow`` with its between-process interval (``low``, ``high``) and the verdict
    ("<narrow> faster", "<wide> faster", "equivalent" or "inconclusive")."""
    runs = ok_rows(scope)
    cols = ["method", "elements", "threads", "ratio", "low", "high", "verdict"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    runs = runs[runs["method"].isin(methods)]
    on = ["method", "elements", "threads"]
    keep = on + ["time_process_medians_s"]
    both = runs[runs["dtype"] == wide][keep].merge(runs[runs["dtype"] == narrow][keep], on=on,
                                                   suffixes=("_wide", "_narrow"))
    if both.empty:
        return pd.DataFrame(columns=cols)
    labels = tuple(s.format(wide=wide, narrow=narrow) for s in _PAIR)
    r = aggregate.ratio_columns(both, "_wide", "_narrow", scope.min_effect, labels)
    out = both.assign(ratio=r["ratio"], low=r["ci_low"], high=r["ci_high"], verdict=r["verdict"])
    return out[cols].sort_values(on).reset_index(drop=True)


def _pair_cases(scope, wide: str, narrow: str, methods) -> list:
    df = dtype_pairs(scope, wide, narrow, methods)
    return [Case(f"{r['method']} {count(r['elements'])} t{int(r['threads'])}: {wide}/{narrow}",
                 from_verdict(str(r["verdict"]), f"{narrow} faster", (f"{wide} faster", "equivalent")),
                 float(r["ratio"]), float(r["low"]), float(r["high"]), str(r["method"]),
                 f"verdict {r['verdict']}") for _, r in df.iterrows()]


def speed_cases(scope, pairs: tuple[tuple[str, str], ...]) -> list:
    """``_pair_cases`` of SPEED_METHODS for every (wide, narrow) dtype pair, in order."""
    return [case for wide, narrow in pairs for case in _pair_cases(scope, wide, narrow, SPEED_METHODS)]


def _fact_rows(scope, fact: str):
    """Runs rows (any status) that recorded ``check_<fact>``."""
    runs = scope.table("runs")
    col = f"check_{fact}"
    if runs.empty or col not in runs:
        return runs.iloc[0:0] if not runs.empty else runs
    return runs[runs[col].notna()]


def _exact(outcome: bool):
    return SUPPORTS if outcome else CONTRADICTS


def bytes_per_element(scope) -> list:
    cases = []
    rows = _fact_rows(scope, "itemsize")
    rows = rows[rows["dtype"].isin(list(SEED_ITEMSIZE))] if not rows.empty else rows
    for dtype in sorted(set(rows["dtype"]) if not rows.empty else (), key=lambda d: (SEED_ITEMSIZE[d], d)):
        g = rows[rows["dtype"] == dtype]
        size = float(g["check_itemsize"].iloc[0])
        same_size = bool((g["check_itemsize"].astype(float) == size).all())
        nbytes_ok = "check_input_nbytes" not in g or bool(
            (g["check_input_nbytes"].astype(float) == g["elements"].astype(float) * size).all())
        q = size / SEED_ITEMSIZE[dtype]
        note = (f"{size:g} B, seed: {SEED_ITEMSIZE[dtype]} B; nbytes = elements × itemsize in every case: "
                f"{'yes' if nbytes_ok else 'no'}")
        same = size == SEED_ITEMSIZE[dtype] and same_size and nbytes_ok
        cases.append(exact_case(str(dtype), _exact(same), q, "dtypes", note))
    rows = _fact_rows(scope, "default_int_itemsize")
    if not rows.empty:
        r = rows.iloc[0]
        size = float(r["check_default_int_itemsize"])
        q = size / 8
        cases.append(exact_case("default int (np.arange)", _exact(size == 8), q, "default int",
                                f"np.dtype(int) is {r.get('check_default_int', '?')}, {size:g} B; seed 001: "
                                f"8 B per element"))
    return cases


def memory_follows_itemsize(scope) -> list:
    runs = ok_rows(scope)
    if runs.empty:
        return []
    cases = []
    band = (1 / (1 + MEMORY_TOLERANCE), 1 + MEMORY_TOLERANCE)
    for _, r in runs[runs["method"] == "times_two"].sort_values(["elements", "threads"]).iterrows():
        if r["dtype"] not in SEED_ITEMSIZE:
            continue
        got = peaks(r)
        if got is None:
            continue
        ((lo, hi),), kind = got
        want = float(r["elements"]) * SEED_ITEMSIZE[r["dtype"]]
        cases.append(Case(_case_label(r, str(r["dtype"])), within(lo / want, hi / want, *band), lo / want,
                          lo / want, hi / want, str(r["dtype"]),
                          f"{kind} {lo / 1e6:.3g} MB vs elements × {SEED_ITEMSIZE[r['dtype']]} B = "
                          f"{want / 1e6:.3g} MB"))
    return cases


def promotion_examples(scope) -> list:
    rows = _fact_rows(scope, "promo_as_seed")
    if rows.empty:
        return []
    r = rows.iloc[0]
    cases = []
    for name, (expr, seed_dtype, _) in PROMOTION_EXAMPLES.items():
        col = f"check_promo_{name}"
        if col not in r or r[col] != r[col]:
            continue
        same = as_bool(r.get(f"{col}_as_seed"))
        exact = as_bool(r.get(f"{col}_exact"))
        cases.append(Case(expr, _exact(same), 1.0 if same else 0.0, group="int8 y",
                          note=f"seed: {seed_dtype}; NumPy {r.get('check_numpy_version', '?')}: {r[col]}"
                               + ("" if exact or str(r[col]).endswith("Error") else ", values not exact")))
    return cases


def default_int_is_int32(scope) -> list:
    rows = _fact_rows(scope, "default_int")
    if rows.empty:
        return []
    r = rows.iloc[0]
    size = float(r["check_default_int_itemsize"])
    same = str(r["check_default_int"]) == "int32" and size == 4
    return [exact_case("np.dtype(int)", _exact(same), size,
                       note=f"NumPy {r.get('check_numpy_version', '?')}: {r['check_default_int']}, {size:g} "
                            f"B; seed 003: int32, 4 B")]


# --- the claims ------------------------------------------------------------------------------------

claim = claim_maker(NAME)


def _narrower_faster(id, section, text, pairs, **fields):
    """A claim of seed 001 that the narrower dtype of each (wide, narrow) pair is faster."""
    return claim(id, "001", section, text, cases=partial(speed_cases, pairs=pairs), **fields)


#: Seed 001's statements about dtypes, speed and memory and seed 003's about promotion.
CLAIMS = (
    _narrower_faster(
        "dtypes-float32-faster",
        "001 §1.3 (data types and memory usage; exercise 2 times np.sum and * 2.0 in float32 and "
        "float64)",
        "Summing and scaling an array are faster in float32 than in float64: these operations are "
        "limited by memory traffic, and float32 moves half the bytes.", (("float64", "float32"),),
        decided_by="runs.csv process medians of sum and times_two (a * 2.0) in float32 and float64 at "
                   "the same size and threads",
        quantity="time float64 / time float32",
        rule="Per method, size and thread count, the between-process interval of the time ratio "
             "float64/float32 and its verdict: float32 faster supports; float64 faster or equivalent "
             "(within min_effect) contradicts; inconclusive leaves it undecided.",
        needs="sum or times_two measured in float32 and float64 at the same size and threads"),
    _narrower_faster(
        "dtypes-smaller-int-faster", "001 §1.3 (the choice of data type changes memory use and speed)",
        "The narrower the integer type, the faster each element is summed or scaled: int8 before int16 "
        "before int32 before int64.", NEIGHBOUR_INTS,
        decided_by="runs.csv process medians of sum and times_two in neighbouring integer widths at the "
                   "same size and threads",
        quantity="time wider / time narrower (same number of elements)",
        rule="Per method, size, threads and neighbouring pair (int16/int8, int32/int16, int64/int32): "
             "the between-process interval of the time ratio: the narrower type faster supports; the "
             "wider faster or equivalent (within min_effect) contradicts; inconclusive leaves it "
             "undecided.",
        needs="sum or times_two measured in two neighbouring integer widths at the same size and "
              "threads"),
    claim("dtypes-bytes-per-element", "001",
          "001 §1.3 (table of bytes per element: int8 1, int16 2, int32 4, int64 8, float32 4, float64 "
          "8) and §1.1 (an np.arange array takes 8 bytes per element)",
          "Each dtype takes the bytes per element the seed's table gives, an array's nbytes is its "
          "elements times that, and NumPy's default integer takes 8 bytes.",
          decided_by="runs.csv check facts: check_itemsize, check_input_nbytes, "
                     "check_default_int_itemsize",
          quantity="bytes per element / the seed's bytes per element", badness=near(1.0),
          rule="Exact facts (no interval): per dtype, supports when its itemsize is the seed's and "
               "nbytes = elements × itemsize in every case, contradicts otherwise; the default integer "
               "(np.dtype(int), what np.arange makes) supports with 8 bytes, contradicts otherwise.",
          needs="any case of the dtypes family with a check", cases=bytes_per_element),
    claim("dtypes-memory-follows-itemsize", "001",
          "001 §1.3 (choosing the data type changes the memory an array uses)",
          "A new array costs its elements times the dtype's bytes per element: scaling an array "
          "allocates exactly that for its result.",
          decided_by="runs.csv peaks of times_two (peak_rss_bytes, peak_rss_max_bytes, "
                     "traced_peak_bytes)",
          quantity="measured peak / (elements × bytes per element)", badness=near(1.0),
          rule=f"Peak above the pre-call baseline: peak RSS (median to max over repetitions) where it is "
               f"≥ 1 MB, else tracemalloc's peak. Per case: supports when the range lies inside "
               f"[{1 / (1 + MEMORY_TOLERANCE):.3g}, {1 + MEMORY_TOLERANCE:.3g}], contradicts when "
               f"entirely outside.",
          needs="times_two measured with a peak-memory reading", cases=memory_follows_itemsize),
    claim("dtypes-int8-promotion-as-seed", "003",
          "003 'Data types' (an int8 array plus 1, plus 256, plus 256.0, plus an int32 array, and "
          "assigned y + 1.5)",
          "NumPy promotes as the seed printed: int8 + 1 stays int8, int8 + 256 becomes int16, int8 + "
          "256.0 becomes float64, int8 + an int32 array becomes int32, and assigning y + 1.5 back into y "
          "truncates to int8.",
          decided_by="runs.csv check facts of promotion_examples (check_promo_<example>, "
                     "check_promo_<example>_as_seed)",
          quantity="1 when NumPy's dtype and values are the seed's, 0 otherwise", badness=higher_supports,
          rule="Exact facts (no interval): per example, supports when this NumPy gives the seed's dtype "
               "with the exact values; contradicts when it gives another dtype, wraps around or raises "
               "(NumPy 2's NEP 50 rejects a Python int that does not fit the array's dtype).",
          needs="promotion_examples measured in int8", cases=promotion_examples),
    claim("dtypes-default-int-is-int32", "003",
          "003 'Data types' (np.dtype(int) printed as int32 with itemsize 4)",
          "NumPy's default integer, np.dtype(int), is int32 and takes 4 bytes per element.",
          decided_by="runs.csv check facts check_default_int, check_default_int_itemsize",
          quantity="bytes per element of np.dtype(int)", badness=near(4.0),
          rule="Exact fact (no interval): supports when np.dtype(int) is int32 (4 bytes), contradicts "
               "otherwise (NumPy 2 made the default integer 64-bit on every 64-bit platform; it was "
               "int32 on Windows before).",
          needs="any case of the dtypes family with a check", cases=default_int_is_int32),
)

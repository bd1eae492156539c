"""Claims of the pairwise-distance family: what the seed documents say about distance kernels.

Each claim paraphrases a statement of the seeds (``../shared/seeds/``: 000 lecture notes, 001 the course
notebook, 002 the advanced-NumPy lesson) about broadcasting, the GEMM "trick", chunking, einsum,
float32 against float64, BLAS threads and BLAS backends, and decides it from the run's tables
(``numperf.claims`` combines the cases into the verdict). Every claim looks at the seed's own data
(``inputs = uniform``, i.e. ``np.random.rand``) only.

Thresholds, all named here:

* time: a case's verdict is the table's own (``speedup.csv``, ``scaling.csv``, ``dtype.csv``, or the same
  between-process interval and ``min_effect`` rule computed from ``runs.csv`` for pairs the tables do not
  hold): the claimed direction supports, the opposite one or ``equivalent`` contradicts (a claimed
  difference that is within ``min_effect`` is no difference), ``inconclusive`` leaves it undecided;
* memory: measured peak above the pre-call baseline, peak RSS where it is at least 1 MB (smaller
  allocations come from resident heap pages, invisible to RSS) with its range over repetitions (median
  to max), else tracemalloc's peak of one call (a single number); a bound holds within
  ``MEMORY_TOLERANCE``;
* errors: deterministic for the seeded data, compared with ``FLOAT32_SMALL_REL_ERROR``;
* backends: "not that much" means a geometric-mean time ratio within ``BACKEND_NOT_MUCH`` either way.
"""

from __future__ import annotations

import math

import pandas as pd

from numperf import aggregate, measure, seeds, stats
from numperf.claims import (
    CONTRADICTS,
    SUPPORTS,
    UNDECIDED,
    Case,
    Claim,
    Scope,
    at_least,
    at_most,
    from_verdict,
    lower_supports,
    near,
    ok_rows,
    peaks,
    speed_ratio,
    within,
)
from numperf.families.distances.method import itemsize
from numperf.families.distances.report import REFERENCE_BACKEND

FAMILY = "distances"
SEED_000, SEED_001, SEED_002 = seeds.names("000", "001", "002")
#: The seed notebook's data (np.random.rand): the only inputs the claims look at.
SEED_INPUTS = {"inputs": "uniform"}
TRICK = "gemm_trick"  # the seed trick, the distance family's baseline
#: Relative slack of every memory bound (allocator rounding, page granularity, small buffers).
MEMORY_TOLERANCE = 0.10
#: Below this, peak RSS cannot see allocations: tracemalloc's peak is used instead.
RSS_VISIBLE_BYTES = measure.RSS_VISIBLE_BYTES
#: "Little precision lost": the largest relative error of float32 distances (4 significant digits).
FLOAT32_SMALL_REL_ERROR = 1e-4
#: "Not that much": a backend's geometric-mean time ratio to the reference stays within this factor.
BACKEND_NOT_MUCH = 1.5
SIZE = ["n", "m", "d"]
CASE = SIZE + ["dtype", "threads"]
SPEED_COLUMNS = CASE + ["speedup", "low", "high", "verdict"]
FLIP = {"faster": "slower", "slower": "faster"}


# --- table helpers ---------------------------------------------------------------------------------

def _label(r, dtype: bool = True, threads: bool = True) -> str:
    text = f"{int(r['n'])}×{int(r['m'])}×{int(r['d'])}"
    return text + (f" {r['dtype']}" if dtype else "") + (f" t{int(r['threads'])}" if threads else "")


def _group(r) -> str:
    return f"N={int(r['n'])}"


def pair_speedup(scope: Scope, fast: str, slow: str) -> pd.DataFrame:
    """Per case (size, dtype, threads): ``speedup`` = time of ``slow`` / time of ``fast`` with its
    between-process interval and the verdict for ``fast`` (faster, slower, equivalent, inconclusive).

    Read from speedup.csv when one of the two is its baseline, else computed from runs.csv's process
    medians with the same interval and verdict rule (``claims.speed_ratio``, ``min_effect``)."""
    sp = scope.table("speedup")
    if not sp.empty and "baseline_method" in sp:
        base = set(sp["baseline_method"].astype(str))
        if base == {slow}:
            rows = sp[sp["method"] == fast]
            return rows.assign(speedup=rows["speedup_vs_baseline"], low=rows["speedup_ci_low"],
                               high=rows["speedup_ci_high"])[SPEED_COLUMNS].reset_index(drop=True)
        if base == {fast}:
            rows = sp[sp["method"] == slow]
            return rows.assign(speedup=1 / rows["speedup_vs_baseline"], low=1 / rows["speedup_ci_high"],
                               high=1 / rows["speedup_ci_low"],
                               verdict=rows["verdict"].map(lambda v: FLIP.get(v, v)))[SPEED_COLUMNS] \
                .reset_index(drop=True)
    runs = ok_rows(scope)
    keys = CASE + [k for k in ("inputs",) if k in runs]
    return speed_ratio(scope, fast, slow, on=keys).reindex(columns=SPEED_COLUMNS)


def _speed_cases(df: pd.DataFrame, supports: str = "faster",
                 contradicts: tuple[str, ...] = ("slower", "equivalent"), dtype: bool = True) -> list[Case]:
    return [Case(_label(r, dtype=dtype), from_verdict(str(r["verdict"]), supports, contradicts),
                 float(r["speedup"]), float(r["low"]), float(r["high"]), _group(r), f"verdict {r['verdict']}")
            for _, r in df.sort_values(CASE if dtype else [c for c in CASE if c != "dtype"]).iterrows()]


def _memory_pairs(scope: Scope, a: str, b: str, on: list[str], dtypes: tuple[str, str] | None = None):
    """Rows of method ``a`` and ``b`` (or of one method in two dtypes) measured in the same case."""
    runs = ok_rows(scope)
    if runs.empty:
        return []
    if dtypes:
        left = runs[(runs["method"] == a) & (runs["dtype"] == dtypes[0])]
        right = runs[(runs["method"] == b) & (runs["dtype"] == dtypes[1])]
    else:
        left, right = runs[runs["method"] == a], runs[runs["method"] == b]
    pairs = []
    for _, ra in left.sort_values(on).iterrows():
        match = right
        for k in on:
            match = match[match[k] == ra[k]]
        if len(match):
            pairs.append((ra, match.iloc[0]))
    return pairs


def _memory_ratio(ra, rb) -> dict | None:
    """peak(a) / peak(b) with its range (low: a's median over b's max; high: a's max over b's median),
    the kind of peak and both peaks; None when either was not measured."""
    got = peaks(ra, rb)
    if got is None:
        return None
    ((a_lo, a_hi), (b_lo, b_hi)), kind = got
    if b_lo <= 0:
        return None
    return {"value": a_lo / b_lo, "low": a_lo / b_hi, "high": a_hi / b_lo, "kind": kind, "a": a_lo, "b": b_lo}


def _mb(b: float) -> str:
    return f"{b / 1e6:.3g} MB"


# --- the rules -------------------------------------------------------------------------------------

def trick_faster_than_broadcast(scope: Scope) -> list[Case]:
    return _speed_cases(pair_speedup(scope, TRICK, "broadcast"))


def trick_advantage_grows_with_n(scope: Scope) -> list[Case]:
    df = pair_speedup(scope, TRICK, "broadcast")
    cases = []
    for (dtype, threads), g in df.groupby(["dtype", "threads"], sort=True):
        if g["n"].nunique() < 2:
            continue
        g = g.sort_values(SIZE)
        small, large = g.iloc[0], g.iloc[-1]
        value = large["speedup"] / small["speedup"]
        low, high = large["low"] / small["high"], large["high"] / small["low"]
        label = f"{dtype} t{int(threads)}: {_label(small, False, False)} → {_label(large, False, False)}"
        note = (f"trick speedup {small['speedup']:.3g} ({small['low']:.3g}–{small['high']:.3g}) → "
                f"{large['speedup']:.3g} ({large['low']:.3g}–{large['high']:.3g})")
        cases.append(Case(label, at_least(low, high, 1.0), float(value), float(low), float(high), note=note))
    return cases


def broadcast_holds_nmd(scope: Scope) -> list[Case]:
    runs = ok_rows(scope)
    if runs.empty:
        return []
    cases = []
    for _, r in runs[runs["method"] == "broadcast"].sort_values(CASE).iterrows():
        got = peaks(r)
        if got is None:
            continue
        ((lo, hi),), kind = got
        need = r["n"] * r["m"] * r["d"] * itemsize(r["dtype"])
        cases.append(Case(_label(r), at_least(lo / need, hi / need, 1 - MEMORY_TOLERANCE), lo / need,
                          lo / need, hi / need, _group(r), f"{kind} {_mb(lo)} vs N·M·D items {_mb(need)}"))
    return cases


def trick_peak_is_output(scope: Scope) -> list[Case]:
    runs = ok_rows(scope)
    if runs.empty:
        return []
    cases = []
    for _, r in runs[runs["method"] == TRICK].sort_values(CASE).iterrows():
        got = peaks(r)
        if got is None:
            continue
        ((lo, hi),), kind = got
        out = (r["n"] * r["m"] + r["n"] + r["m"]) * itemsize(r["dtype"])
        cases.append(Case(_label(r), at_most(lo / out, hi / out, 1 + MEMORY_TOLERANCE), lo / out,
                          lo / out, hi / out, _group(r),
                          f"{kind} {_mb(lo)} = {lo / (r['n'] * r['m'] * itemsize(r['dtype'])):.2g} "
                          f"N·M items, vs output + norms {_mb(out)}"))
    return cases


def trick_less_memory_than_broadcast(scope: Scope) -> list[Case]:
    cases = []
    for rb, rt in _memory_pairs(scope, "broadcast", TRICK, CASE):
        q = _memory_ratio(rb, rt)
        if q is not None:
            cases.append(Case(_label(rb), at_least(q["low"], q["high"], 1 + MEMORY_TOLERANCE), q["value"],
                              q["low"], q["high"], _group(rb),
                              f"{q['kind']}: broadcast {_mb(q['a'])}, trick {_mb(q['b'])}"))
    return cases


def chunked_trades_time_for_memory(scope: Scope) -> list[Case]:
    speed = pair_speedup(scope, TRICK, "chunked")  # time chunked / time trick: the cost in time
    memory = {tuple(rc[k] for k in CASE): _memory_ratio(rt, rc)
              for rt, rc in _memory_pairs(scope, TRICK, "chunked", CASE)}
    cases = []
    for _, r in speed.sort_values(CASE).iterrows():
        time = from_verdict(str(r["verdict"]), "faster", ("slower", "equivalent"))
        q = memory.get(tuple(r[k] for k in CASE))
        space = at_least(q["low"], q["high"], 1 + MEMORY_TOLERANCE) if q else UNDECIDED
        outcome = (CONTRADICTS if CONTRADICTS in (time, space)
                   else SUPPORTS if time == space == SUPPORTS else UNDECIDED)
        saved = (f"peak trick/chunked {q['value']:.3g} ({q['low']:.3g}–{q['high']:.3g}, {q['kind']}: "
                 f"{_mb(q['a'])} vs {_mb(q['b'])})" if q else "memory not measured")
        cases.append(Case(_label(r), outcome, float(r["speedup"]), float(r["low"]), float(r["high"]),
                          _group(r), f"trick {r['verdict']} than chunked; {saved}"))
    return cases


def einsum_reduction_faster(scope: Scope) -> list[Case]:
    return _speed_cases(pair_speedup(scope, "broadcast_einsum", "broadcast"))


def fewer_temporaries_faster(scope: Scope) -> list[Case]:
    return _speed_cases(pair_speedup(scope, "blocked", TRICK))


def _dtype_rows(scope: Scope) -> pd.DataFrame:
    dt = scope.table("dtype")
    return dt[dt["method"] == TRICK].sort_values(["n", "m", "d", "threads"]) if not dt.empty else dt


def float32_faster(scope: Scope) -> list[Case]:
    dt = _dtype_rows(scope)
    return [Case(_label(r, dtype=False), from_verdict(str(r["verdict"]), "float32 faster",
                                                      ("float64 faster", "equivalent")),
                 float(r["float64_over_float32_time"]), float(r["ci_low"]), float(r["ci_high"]), _group(r),
                 f"verdict {r['verdict']}") for _, r in dt.iterrows()]


def float32_precision_small(scope: Scope) -> list[Case]:
    dt = _dtype_rows(scope)
    cases = []
    for _, r in dt.iterrows():
        err = float(r["max_rel_error_float32"])
        if not math.isfinite(err):
            continue
        cases.append(Case(_label(r, dtype=False), at_most(err, err, FLOAT32_SMALL_REL_ERROR), err, err, err,
                          _group(r), f"float64's: {float(r['max_rel_error_float64']):.2g}"))
    return cases


def float32_halves_memory(scope: Scope) -> list[Case]:
    cases = []
    band = (2 / (1 + MEMORY_TOLERANCE), 2 * (1 + MEMORY_TOLERANCE))
    for r64, r32 in _memory_pairs(scope, TRICK, TRICK, SIZE + ["threads"], ("float64", "float32")):
        q = _memory_ratio(r64, r32)
        if q is not None:
            cases.append(Case(_label(r64, dtype=False), within(q["low"], q["high"], *band), q["value"],
                              q["low"], q["high"], _group(r64),
                              f"{q['kind']}: float64 {_mb(q['a'])}, float32 {_mb(q['b'])}"))
    return cases


def _scaling(scope: Scope, method: str) -> pd.DataFrame:
    sc = scope.table("scaling")
    if sc.empty:
        return sc
    return sc[(sc["method"] == method) & (sc["threads"] > 1)]


def threads_speed_up_trick(scope: Scope) -> list[Case]:
    sc = _scaling(scope, TRICK).rename(columns={"speedup_ci_low": "low", "speedup_ci_high": "high"})
    return _speed_cases(sc) if not sc.empty else []


def gemm_gains_most_from_threads(scope: Scope) -> list[Case]:
    trick, bc = _scaling(scope, TRICK), _scaling(scope, "broadcast")
    if trick.empty or bc.empty:
        return []
    both = trick.merge(bc, on=CASE, suffixes=("", "_bc"))
    cases = []
    for _, r in both.sort_values(CASE).iterrows():
        value = r["speedup"] / r["speedup_bc"]
        low = r["speedup_ci_low"] / r["speedup_ci_high_bc"]
        high = r["speedup_ci_high"] / r["speedup_ci_low_bc"]
        outcome = CONTRADICTS if r["verdict"] in ("slower", "equivalent") else at_least(low, high, 1.0)
        cases.append(Case(_label(r), outcome, float(value), float(low), float(high), _group(r),
                          f"thread speedup trick {r['speedup']:.3g} ({r['speedup_ci_low']:.3g}–"
                          f"{r['speedup_ci_high']:.3g}, {r['verdict']}), broadcast {r['speedup_bc']:.3g} "
                          f"({r['speedup_ci_low_bc']:.3g}–{r['speedup_ci_high_bc']:.3g})"))
    return cases


def backend_changes_speed_a_little(scope: Scope) -> list[Case]:
    runs = ok_rows(scope)
    if runs.empty or runs["backend"].nunique() < 2:
        return []
    names = sorted(runs["backend"].astype(str).unique())
    ref = REFERENCE_BACKEND if REFERENCE_BACKEND in names else names[0]
    keys = ["method"] + CASE + [k for k in ("inputs",) if k in runs]
    cols = keys + ["time_process_medians_s"]
    base = runs[runs["backend"] == ref][cols]
    cases = []
    for b in names:
        if b == ref:
            continue
        both = runs[runs["backend"] == b][cols].merge(base, on=keys, suffixes=("_b", "_ref"))
        if both.empty:
            continue
        r = aggregate.ratio_columns(both, "_b", "_ref", scope.min_effect, ("faster", "slower"))
        gm, lo, hi = stats.geomean_interval(r["ratio"], r["ci_low"].to_numpy(), r["ci_high"].to_numpy())
        differ = r["verdict"].isin(["faster", "slower"])
        cases.append(Case(f"{b} / {ref}", within(lo, hi, 1 / BACKEND_NOT_MUCH, BACKEND_NOT_MUCH), gm, lo, hi,
                          note=f"{len(both)} shared cases, {int(differ.sum())} differ beyond "
                               f"±{scope.min_effect:.0%} ({int((r['verdict'] == 'faster').sum())} faster, "
                               f"{int((r['verdict'] == 'slower').sum())} slower); per-case ratios "
                               f"{r['ratio'].min():.3g}–{r['ratio'].max():.3g}"))
    return cases


# --- the claims ------------------------------------------------------------------------------------

_SPEED_RULE = ("Per case (size, dtype, threads) the verdict of its between-process interval: {sup} "
               "supports; {con} contradicts; inconclusive leaves it undecided.")
_MEMORY_NOTE = ("Peak above the pre-call baseline: peak RSS (median to max over repetitions) where it "
                f"is ≥ {RSS_VISIBLE_BYTES / 1e6:g} MB, else tracemalloc's peak.")


def _claim(**kw) -> Claim:
    return Claim(family=FAMILY, select=SEED_INPUTS, **kw)


def _speed_claim(id: str, seed: tuple, seed_section: str, text: str, fast: str, slow: str, sup: str, con: str,
                 cases, decided_by: str | None = None) -> Claim:
    """A claim that ``fast`` is faster than ``slow`` per case, decided by the speedup verdicts."""
    return _claim(id=id, seed=seed, seed_section=seed_section, text=text, cases=cases,
                  decided_by=decided_by or f"speedup.csv (method {fast if slow == TRICK else slow} against "
                                           f"baseline {TRICK})",
                  quantity=f"time {slow} / time {fast}", rule=_SPEED_RULE.format(sup=sup, con=con),
                  needs=f"{' and '.join(sorted((fast, slow)))} measured at the same size, dtype and threads")


CLAIMS = [
    _speed_claim(
        "trick-faster-than-broadcast", (SEED_001, SEED_002),
        "001 §3.1 (the trick and its timing against broadcasting); 002 (BLAS does NumPy's heavy lifting)",
        "Expanding ‖x−y‖² into norms and one matrix product (the trick) computes the distance matrix "
        "faster than broadcasting the pairwise differences.",
        TRICK, "broadcast", "the trick faster", "broadcast faster or equivalent (within min_effect)",
        trick_faster_than_broadcast),
    _claim(
        id="trick-advantage-grows-with-n", seed=(SEED_001,),
        seed_section="001 §3.3 (when to use which approach: broadcasting for small N, the trick for large N)",
        text="Broadcasting is a small-problem method: the larger N, the more the trick gains over it.",
        decided_by="speedup.csv (method broadcast against baseline gemm_trick), smallest and largest N",
        quantity="trick speedup over broadcast at the largest N / at the smallest N",
        rule="Per dtype and thread count with broadcast measured at ≥ 2 sizes: the trick's speedup interval "
             "at the largest N against the one at the smallest N (conservative interval of their ratio: "
             "low / high ends). Entirely above supports, entirely below contradicts, overlapping is "
             "undecided.",
        needs="broadcast and gemm_trick measured at two or more N with the same dtype and threads",
        cases=trick_advantage_grows_with_n),
    _claim(
        id="broadcast-holds-nmd", seed=(SEED_001, SEED_000),
        seed_section="001 §2.2 and §3.1 (memory analysis of the difference array); 000 (NumPy allocates "
                     "the full broadcast result, no lazy evaluation)",
        text="Broadcasting keeps the whole N×M×D difference array in memory at once, so its peak grows as "
             "N·M·D.",
        decided_by="runs.csv (peak_rss_bytes, peak_rss_max_bytes, traced_peak_bytes; method broadcast)",
        quantity="measured peak / (N·M·D items)",
        rule=f"{_MEMORY_NOTE} Per case: supports when even the median peak is at least "
             f"{1 - MEMORY_TOLERANCE:.0%} of N·M·D items, contradicts when the max stays below it.",
        needs="broadcast measured with a peak-memory reading",
        cases=broadcast_holds_nmd),
    _claim(
        id="trick-peak-is-output", seed=(SEED_001,),
        seed_section="001 §3.1 (the timing comparison prints the trick's peak as input + output)",
        text="The trick needs no memory beyond its inputs and the N×M result.",
        decided_by="runs.csv (peak_rss_bytes, peak_rss_max_bytes, traced_peak_bytes; method gemm_trick)",
        quantity="measured peak / (N·M + N + M items: output and norms)",
        badness=lower_supports,
        rule=f"{_MEMORY_NOTE} The inputs exist before the baseline, so input + output means a peak of the "
             f"output (plus the two norm vectors). Per case: supports when the max peak is at most "
             f"{1 + MEMORY_TOLERANCE:.2g}× that, contradicts when even the median exceeds it.",
        needs="gemm_trick measured with a peak-memory reading",
        cases=trick_peak_is_output),
    _claim(
        id="trick-less-memory-than-broadcast", seed=(SEED_001,),
        seed_section="001 §3.1 (the trick avoids the large intermediate) and §3.3 (O(N²) against O(N²D))",
        text="The trick needs less memory than broadcasting.",
        decided_by="runs.csv (peaks of broadcast and gemm_trick in the same case)",
        quantity="peak broadcast / peak gemm_trick",
        rule=f"{_MEMORY_NOTE} Both sides use the same kind of peak. Per case the range of the ratio "
             f"(median/max to max/median): supports when it lies above {1 + MEMORY_TOLERANCE:.2g}, "
             f"contradicts when it lies below.",
        needs="broadcast and gemm_trick measured at the same size, dtype and threads",
        cases=trick_less_memory_than_broadcast),
    _claim(
        id="chunked-trades-time-for-memory", seed=(SEED_001,),
        seed_section="001 §3.3 (chunking: time traded for memory)",
        text="Running the trick over chunks of rows lowers its peak memory and costs time in exchange.",
        decided_by="speedup.csv (method chunked against gemm_trick) and runs.csv peaks",
        quantity="time chunked / time gemm_trick",
        rule=f"Per case: supports when chunked is slower than the trick by the speedup verdict and its "
             f"peak is lower (trick/chunked peak range above {1 + MEMORY_TOLERANCE:.2g}); contradicts "
             f"when chunked is not slower (faster or equivalent: no time is traded) or saves no memory "
             f"(range below {1 + MEMORY_TOLERANCE:.2g}); otherwise undecided.",
        needs="chunked and gemm_trick measured at the same size, dtype and threads",
        cases=chunked_trades_time_for_memory),
    _speed_claim(
        "einsum-reduction-faster", (SEED_001,),
        "001 exercise 5 (einsum for the final reduction of the broadcast version)",
        "Reducing the broadcast difference array with einsum is faster than squaring it and summing over "
        "the last axis.", "broadcast_einsum", "broadcast", "einsum faster", "einsum slower or equivalent",
        einsum_reduction_faster,
        decided_by="runs.csv process medians of broadcast_einsum and broadcast (ratio interval and verdict "
                   "as in speedup.csv)"),
    _speed_claim(
        "fewer-temporaries-faster", (SEED_002, SEED_001),
        "002 (copying takes time: the less of it, the faster); 001 §3.3 (pitfall: unnecessary copies)",
        "Fewer temporary arrays make the same computation faster: the trick written in place into one "
        "preallocated result (blocked) beats the plain trick and its N×M temporaries.",
        "blocked", TRICK, "blocked faster", "blocked slower or equivalent", fewer_temporaries_faster),
    _claim(
        id="float32-faster", seed=(SEED_001,),
        seed_section="001 §3.3 (dtype impact on the trick; pitfall: float64 where float32 would do)",
        text="The trick runs faster in float32 than in float64.",
        decided_by="dtype.csv (method gemm_trick: float64_over_float32_time, ci_low, ci_high, verdict)",
        quantity="time float64 / time float32",
        rule="Per case (size, threads) the dtype verdict: float32 faster supports; float64 faster or "
             "equivalent contradicts; inconclusive leaves it undecided.",
        needs="gemm_trick measured in float32 and float64 at the same size and threads",
        cases=float32_faster),
    _claim(
        id="float32-precision-small", seed=(SEED_001,),
        seed_section="001 §3.3 (checking that float32's precision loss is acceptable)",
        text=f"Switching the trick to float32 costs little accuracy: its distances stay within "
             f"{FLOAT32_SMALL_REL_ERROR:g} relative error.",
        decided_by="dtype.csv (method gemm_trick: max_rel_error_float32 against the long-double reference)",
        quantity="max relative error of float32 distances",
        badness=lower_supports,
        rule=f"The error is deterministic for the seeded data (no interval). Per case (size, threads): "
             f"supports when at most {FLOAT32_SMALL_REL_ERROR:g}, contradicts when above.",
        needs="gemm_trick measured in float32 and float64 at the same size and threads",
        cases=float32_precision_small),
    _claim(
        id="float32-halves-memory", seed=(SEED_001,),
        seed_section="001 §1.3 (bytes per element of each dtype) and §3.3 (float32 memory)",
        text="float32 halves the trick's memory compared with float64.",
        decided_by="runs.csv (peaks of gemm_trick in float64 and float32 in the same case)",
        quantity="peak float64 / peak float32",
        badness=near(2.0),
        rule=f"{_MEMORY_NOTE} Per case (size, threads) the range of the ratio: supports when inside "
             f"[{2 / (1 + MEMORY_TOLERANCE):.3g}, {2 * (1 + MEMORY_TOLERANCE):.3g}], contradicts when "
             f"entirely outside.",
        needs="gemm_trick measured in float32 and float64 at the same size and threads",
        cases=float32_halves_memory),
    _claim(
        id="threads-speed-up-trick", seed=(SEED_001,),
        seed_section="001 §3.2 (NumPy's multithreading: the matrix product uses several cores)",
        text="Giving BLAS more threads (cores) makes the trick faster.",
        decided_by="scaling.csv (method gemm_trick, threads > 1: speedup over 1 thread, interval, verdict)",
        quantity="time at 1 thread / time at t threads",
        rule="Per case (size, dtype, threads > 1) the scaling verdict: faster supports; slower or "
             "equivalent contradicts; inconclusive leaves it undecided.",
        needs="gemm_trick measured at 1 and at more threads",
        cases=threads_speed_up_trick),
    _claim(
        id="gemm-gains-most-from-threads", seed=(SEED_001,),
        seed_section="001 §3.2 (the matrix product is the part that profits most from several cores)",
        text="The matrix product is what profits from more cores: the trick gains more from extra BLAS "
             "threads than broadcasting, which calls no BLAS.",
        decided_by="scaling.csv (methods gemm_trick and broadcast, threads > 1)",
        quantity="thread speedup of gemm_trick / thread speedup of broadcast",
        rule="Per case (size, dtype, threads > 1): contradicts when the trick itself does not get faster "
             "(scaling verdict slower or equivalent); otherwise the two speedup intervals: the trick's "
             "entirely above broadcast's supports, entirely below contradicts, overlapping is undecided.",
        needs="gemm_trick and broadcast measured at 1 and at more threads",
        cases=gemm_gains_most_from_threads),
    _claim(
        id="backend-changes-speed-a-little", seed=(SEED_000,),
        seed_section="000 (the backend of NumPy: it changes the speed, but not by much)",
        text=f"The BLAS backend changes the speed, but not by much: within {BACKEND_NOT_MUCH:g}× either way.",
        decided_by="runs.csv process medians of every case two backends share on a host",
        quantity=f"time backend / time {REFERENCE_BACKEND} (geometric mean over shared cases)",
        badness=near(1.0),
        per="host",
        rule=f"Per other backend against {REFERENCE_BACKEND} (else the first by name): the geometric mean "
             f"of the per-case time ratios with its t interval over the shared cases (one case: its own "
             f"interval). Inside [1/{BACKEND_NOT_MUCH:g}, {BACKEND_NOT_MUCH:g}] supports, entirely "
             f"outside contradicts, straddling a bound is undecided. How many cases differ beyond "
             f"min_effect at all is in the evidence.",
        needs="two or more BLAS backends measured on this host with shared cases",
        cases=backend_changes_speed_a_little),
]

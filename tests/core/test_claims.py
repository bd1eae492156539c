"""Claims are decided from the tables by their rules: small synthetic tables in, known verdicts out,
and the real tiny workflow writes claims.csv with every registered claim and shows it in the report."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from docutils.core import publish_parts

from numperf import aggregate, claims, family
from numperf import tables as table_io
from numperf.families.distances import claim_rules as distance_claims
from tests.conftest import REPO, run_numperf

SEEDS = REPO.parent / "shared" / "seeds"
N = 1000  # N = M; D = 50: N·M items of float64 are 8 MB, visible to RSS
NM8 = N * N * 8


def row(method: str, t: float = 1e-3, n: int = N, d: int = 50, dtype: str = "float64", threads: int = 1,
        spread: float = 0.01, backend: str = "wheel", inputs: str = "uniform", peak: float = math.nan,
        peak_max: float | None = None, traced: float = math.nan, err: float = 1e-15) -> dict:
    """One ok runs.csv row measured by three processes whose medians are t·(1 ∓ spread)."""
    return {"host_id": "h1", "backend": backend, "family": "distances", "method": method, "p_n": n, "p_m": n,
            "p_d": d, "p_inputs": inputs, "p_accuracy_rows": 32, "dtype": dtype, "threads": threads,
            "status": "ok", "reason": None, "noisy": False,
            "case_id": f"{method}-{n}-{d}-{dtype}-t{threads}-{backend}-{inputs}", "time_median_s": t,
            "time_process_medians_s": json.dumps([t * (1 - spread), t, t * (1 + spread)]),
            "peak_rss_bytes": peak, "peak_rss_max_bytes": peak if peak_max is None else peak_max,
            "traced_peak_bytes": traced, "model_peak_bytes": 1.0, "max_rel_error": err}


def tables(rows: list[dict], baseline: str = "gemm_trick") -> dict[str, pd.DataFrame]:
    """The tables numperf aggregate would write for these rows (same functions)."""
    runs = pd.DataFrame(rows)
    return {"runs": runs, "speedup": aggregate.speedup_table(runs, {"distances": baseline}),
            "scaling": aggregate.scaling_table(runs), "memory": aggregate.memory_table(runs),
            "dtype": aggregate.dtype_table(runs)}


def decide(rows: list[dict], claim_id: str, backend: str = "wheel", **kw) -> pd.Series:
    df = claims.evaluate(tables(rows, **kw))
    assert set(df["verdict"]) <= set(claims.VERDICTS)
    sel = df[(df["claim_id"] == claim_id) & (df["backend"] == backend)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def verdict(rows, claim_id, **kw) -> str:
    return decide(rows, claim_id, **kw)["verdict"]


# --- the registry and the combination rule ----------------------------------------------------------

def test_registry_declares_the_distance_claims_with_their_seeds():
    reg = claims.registry()
    assert 10 <= sum(c.family == "distances" for c in reg.values()) <= 14
    assert len(reg) >= 25  # every family's claims, discovered
    for claim in reg.values():
        assert claim.family in family.registry() and claim.text and claim.rule and claim.needs
        assert claim.seed and all(re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", s) for s in claim.seed)
        if SEEDS.is_dir():
            assert all((SEEDS / s).exists() for s in claim.seed), claim.id
    with pytest.raises(ValueError, match="declared twice"):
        claims.registry([*distance_claims.CLAIMS, distance_claims.CLAIMS[0]])


def test_combine_majority_rule_and_the_deciding_case():
    s, c, u = claims.SUPPORTS, claims.CONTRADICTS, claims.UNDECIDED
    case = lambda label, outcome, v: claims.Case(label, outcome, v, v * 0.9, v * 1.1)
    held = claims.combine([case("a", s, 3.0), case("b", s, 1.5), case("c", u, 1.2)])
    assert held["verdict"] == "holds" and held["value_case"] == "b"  # the weakest support
    assert (held["value"], held["ci_low"], held["ci_high"]) == pytest.approx((1.5, 1.35, 1.65))
    assert claims.combine([case("a", s, 3.0), case("b", u, 1.1)])["verdict"] == "inconclusive"
    failed = claims.combine([case("a", s, 3.0), case("b", c, 0.9), case("c", c, 0.5)])
    assert failed["verdict"] == "fails" and failed["value_case"] == "c"  # the strongest contradiction
    assert failed["contradicting"] == 2 and "2 of 3 cases contradict" in failed["evidence"]
    low = claims.combine([case("a", s, 1e-6), case("b", s, 1e-5)], claims.lower_supports)
    assert low["value_case"] == "b"
    gone = claims.combine([], needs="two backends")
    assert gone["verdict"] == "not measured" and "two backends" in gone["evidence"]


def test_empty_run_gives_every_claim_a_not_measured_row():
    df = claims.evaluate({"runs": pd.DataFrame()})
    assert list(df["claim_id"]) == list(claims.registry()) and set(df["verdict"]) == {"not measured"}


# --- each rule on synthetic tables ------------------------------------------------------------------

@pytest.mark.slow
def test_trick_faster_than_broadcast():
    trick = [row("gemm_trick", 1e-3), row("gemm_trick", 1e-2, n=3000)]
    holds = decide(trick + [row("broadcast", 5e-3), row("broadcast", 9e-2, n=3000)],
                   "trick-faster-than-broadcast")
    assert holds["verdict"] == "holds" and holds["supporting"] == 2
    assert holds["value"] == pytest.approx(5.0) and holds["ci_low"] < 5 < holds["ci_high"]
    assert holds["value_case"] == "1000×1000×50 float64 t1"
    # broadcast faster at one N: a finding, named with its number
    fails = decide(trick + [row("broadcast", 5e-3), row("broadcast", 5e-3, n=3000)],
                   "trick-faster-than-broadcast")
    assert fails["verdict"] == "fails" and fails["value"] == pytest.approx(0.5)
    assert fails["value_case"] == "3000×3000×50 float64 t1" and "N=3000: 1 contradicts" in fails["evidence"]
    # within min_effect is no difference: equivalent contradicts a "faster" claim
    assert verdict(trick[:1] + [row("broadcast", 1.01e-3)], "trick-faster-than-broadcast") == "fails"
    wide = [row("gemm_trick", 1e-3, spread=0.5), row("broadcast", 1.5e-3, spread=0.5)]
    assert verdict(wide, "trick-faster-than-broadcast") == "inconclusive"
    assert verdict(trick, "trick-faster-than-broadcast") == "not measured"


@pytest.mark.slow
def test_pairs_are_read_from_speedup_csv_whichever_side_is_its_baseline():
    rows = [row("gemm_trick", 1e-3), row("broadcast", 4e-3)]
    a = decide(rows, "trick-faster-than-broadcast")
    b = decide(rows, "trick-faster-than-broadcast", baseline="broadcast")
    c = decide(rows, "trick-faster-than-broadcast", baseline="blocked")  # neither: from runs.csv
    for other in (b, c):
        assert other["verdict"] == a["verdict"] == "holds"
        assert (other["value"], other["ci_low"], other["ci_high"]) == pytest.approx(
            (a["value"], a["ci_low"], a["ci_high"]))


@pytest.mark.slow
def test_trick_advantage_grows_with_n():
    base = [row("gemm_trick", 1e-3, n=100), row("gemm_trick", 1e-2)]
    grows = base + [row("broadcast", 2e-3, n=100), row("broadcast", 1e-1)]
    r = decide(grows, "trick-advantage-grows-with-n")
    assert r["verdict"] == "holds" and r["value"] == pytest.approx(5.0) and r["ci_low"] > 1
    assert verdict(base + [row("broadcast", 1e-2, n=100), row("broadcast", 2e-2)],
                   "trick-advantage-grows-with-n") == "fails"
    wide = [dict(r, time_process_medians_s=json.dumps([r["time_median_s"] * f for f in (0.5, 1, 1.5)]))
            for r in base + [row("broadcast", 2e-3, n=100), row("broadcast", 3e-2)]]
    assert verdict(wide, "trick-advantage-grows-with-n") == "inconclusive"
    assert verdict(base[1:] + [row("broadcast", 1e-1)], "trick-advantage-grows-with-n") == "not measured"


@pytest.mark.slow
def test_broadcast_holds_the_whole_difference_array():
    need = N * N * 50 * 8
    r = decide([row("broadcast", peak=2.02 * need)], "broadcast-holds-nmd")
    assert r["verdict"] == "holds" and r["value"] == pytest.approx(2.02) and "peak RSS" in r["evidence"]
    assert verdict([row("broadcast", peak=0.3 * need)], "broadcast-holds-nmd") == "fails"
    # the median misses the bound, the max reaches it: the repetitions disagree
    split = row("broadcast", peak=0.5 * need, peak_max=1.2 * need)
    assert verdict([split], "broadcast-holds-nmd") == "inconclusive"
    assert verdict([row("broadcast")], "broadcast-holds-nmd") == "not measured"  # no peak recorded
    # small: RSS cannot see it, tracemalloc can
    small = decide([row("broadcast", n=50, d=8, peak=0.0, traced=2 * 50 * 50 * 8 * 8)], "broadcast-holds-nmd")
    assert small["verdict"] == "holds" and "traced peak" in small["evidence"]


@pytest.mark.slow
def test_trick_peak_is_output_fails_at_three_result_arrays():
    r = decide([row("gemm_trick", peak=3 * NM8)], "trick-peak-is-output")
    assert r["verdict"] == "fails" and r["value"] == pytest.approx(3.0, rel=0.01)
    assert "3 N·M items" in r["evidence"]
    assert verdict([row("gemm_trick", peak=NM8)], "trick-peak-is-output") == "holds"
    split = row("gemm_trick", peak=NM8, peak_max=1.5 * NM8)
    assert verdict([split], "trick-peak-is-output") == "inconclusive"
    assert verdict([row("blocked", peak=NM8)], "trick-peak-is-output") == "not measured"


@pytest.mark.slow
def test_trick_less_memory_than_broadcast():
    rows = [row("gemm_trick", peak=3 * NM8), row("broadcast", 5e-3, peak=101 * NM8)]
    r = decide(rows, "trick-less-memory-than-broadcast")
    assert r["verdict"] == "holds" and r["value"] == pytest.approx(101 / 3)
    # D = 1: the difference array is no larger than the trick's temporaries
    same = [row("gemm_trick", d=1, peak=3 * NM8), row("broadcast", 5e-3, d=1, peak=3 * NM8)]
    assert verdict(same, "trick-less-memory-than-broadcast") == "fails"
    close = [row("gemm_trick", peak=3 * NM8), row("broadcast", 5e-3, peak=3 * NM8, peak_max=4 * NM8)]
    assert verdict(close, "trick-less-memory-than-broadcast") == "inconclusive"


@pytest.mark.slow
def test_chunked_trades_time_for_memory():
    trick = row("gemm_trick", 1e-3, peak=3 * NM8)
    r = decide([trick, row("chunked", 2e-3, peak=1.02 * NM8)], "chunked-trades-time-for-memory")
    assert r["verdict"] == "holds" and r["value"] == pytest.approx(2.0)
    assert "peak trick/chunked" in r["evidence"]
    # no time cost: nothing is traded
    assert verdict([trick, row("chunked", 1.0e-3, peak=NM8)], "chunked-trades-time-for-memory") == "fails"
    # no memory saved
    assert verdict([trick, row("chunked", 2e-3, peak=3 * NM8)], "chunked-trades-time-for-memory") == "fails"
    wide = [dict(trick, time_process_medians_s=json.dumps([5e-4, 1e-3, 1.5e-3])),
            row("chunked", 1.3e-3, spread=0.5, peak=NM8)]
    assert verdict(wide, "chunked-trades-time-for-memory") == "inconclusive"
    assert verdict([trick], "chunked-trades-time-for-memory") == "not measured"


@pytest.mark.slow
def test_einsum_reduction_and_fewer_temporaries():
    # neither pair involves only the baseline: einsum against broadcast comes from runs.csv
    rows = [row("gemm_trick", 1e-3), row("broadcast", 6e-3), row("broadcast_einsum", 3e-3),
            row("blocked", 5e-4)]
    r = decide(rows, "einsum-reduction-faster")
    assert r["verdict"] == "holds" and r["value"] == pytest.approx(2.0) and r["ci_low"] > 1.05
    assert verdict(rows, "fewer-temporaries-faster") == "holds"
    rows[2], rows[3] = row("broadcast_einsum", 7e-3), row("blocked", 1.2e-3)
    assert verdict(rows, "einsum-reduction-faster") == "fails"
    assert verdict(rows, "fewer-temporaries-faster") == "fails"
    assert verdict(rows[:2], "einsum-reduction-faster") == "not measured"


@pytest.mark.slow
def test_float32_speed_precision_and_memory():
    f64 = row("gemm_trick", 2e-3, peak=3 * NM8)
    f32 = row("gemm_trick", 1e-3, dtype="float32", peak=1.5 * NM8, err=2e-6)
    assert verdict([f64, f32], "float32-faster") == "holds"
    assert verdict([f64, f32], "float32-precision-small") == "holds"
    r = decide([f64, f32], "float32-halves-memory")
    assert r["verdict"] == "holds" and r["value"] == pytest.approx(2.0)
    slow32 = dict(f32, time_median_s=2e-3, time_process_medians_s=json.dumps([1.98e-3, 2e-3, 2.02e-3]))
    assert verdict([f64, slow32], "float32-faster") == "fails"  # equivalent: no gain
    wide32 = dict(f32, time_process_medians_s=json.dumps([0.5e-3, 1e-3, 3e-3]))
    assert verdict([f64, wide32], "float32-faster") == "inconclusive"
    bad = decide([f64, dict(f32, max_rel_error=3e-2)], "float32-precision-small")
    assert bad["verdict"] == "fails" and bad["value"] == pytest.approx(3e-2)
    assert verdict([f64, dict(f32, peak_rss_bytes=2.4 * NM8, peak_rss_max_bytes=2.4 * NM8)],
                   "float32-halves-memory") == "fails"
    for claim_id in ("float32-faster", "float32-precision-small", "float32-halves-memory"):
        assert verdict([f64], claim_id) == "not measured"


@pytest.mark.slow
def test_threads_and_the_matrix_product():
    one = [row("gemm_trick", 2e-3), row("broadcast", 9e-3)]
    two = [row("gemm_trick", 1.1e-3, threads=2), row("broadcast", 9e-3, threads=2)]
    assert verdict(one + two, "threads-speed-up-trick") == "holds"
    r = decide(one + two, "gemm-gains-most-from-threads")
    assert r["verdict"] == "holds" and r["value"] == pytest.approx(2 / 1.1) and r["ci_low"] > 1
    flat = [row("gemm_trick", 2e-3, threads=2), row("broadcast", 9e-3, threads=2)]
    assert verdict(one + flat, "threads-speed-up-trick") == "fails"
    assert verdict(one + flat, "gemm-gains-most-from-threads") == "fails"
    wide = [row("gemm_trick", 1.6e-3, threads=2, spread=0.5), row("broadcast", 9e-3, threads=2, spread=0.5)]
    assert verdict(one + wide, "threads-speed-up-trick") == "inconclusive"
    assert verdict(one + wide, "gemm-gains-most-from-threads") == "inconclusive"
    assert verdict(one, "threads-speed-up-trick") == "not measured"
    assert verdict(one[:1] + two[:1], "gemm-gains-most-from-threads") == "not measured"


@pytest.mark.slow
def test_backend_changes_speed_but_not_that_much():
    def sweep(backend, factor, spread=0.01):
        return [row(m, t * factor, backend=backend, spread=spread)
                for m, t in (("gemm_trick", 1e-3), ("blocked", 6e-4))]

    claim = "backend-changes-speed-a-little"
    r = decide(sweep("wheel", 1) + sweep("openblas", 1.2), claim, backend=claims.ALL_BACKENDS)
    assert r["verdict"] == "holds" and r["value"] == pytest.approx(1.2)
    assert r["value_case"] == "openblas / wheel"
    assert "2 differ beyond ±5% (0 faster, 2 slower)" in r["evidence"]
    r = decide(sweep("wheel", 1) + sweep("openblas", 1.1) + sweep("netlib", 3.5), claim,
               backend=claims.ALL_BACKENDS)
    assert r["verdict"] == "fails" and r["value_case"] == "netlib / wheel"
    assert r["value"] == pytest.approx(3.5)
    # one shared case only: that case's own interval, which straddles 1.5
    wide = [row("gemm_trick", 1e-3, spread=0.3), row("gemm_trick", 1.45e-3, spread=0.3, backend="blis")]
    assert verdict(wide, claim, backend=claims.ALL_BACKENDS) == "inconclusive"
    assert verdict(sweep("wheel", 1), claim, backend=claims.ALL_BACKENDS) == "not measured"
    # per-backend claims still get one row per backend
    df = claims.evaluate(tables(sweep("wheel", 1) + sweep("openblas", 1.2)))
    assert set(df.loc[df["claim_id"] == "fewer-temporaries-faster", "backend"]) == {"wheel", "openblas"}


def test_only_the_seeds_inputs_count():
    rows = [row("gemm_trick", 1e-3), row("broadcast", 5e-3),
            row("gemm_trick", 9e-3, inputs="offset"), row("broadcast", 1e-3, inputs="offset")]
    assert verdict(rows, "trick-faster-than-broadcast") == "holds"
    assert distance_claims.SEED_INPUTS == {"inputs": "uniform"}


# --- outputs --------------------------------------------------------------------------------------

def _synthetic_tables(tmp_path: Path) -> Path:
    rows = [row("gemm_trick", 1e-3, peak=3 * NM8), row("broadcast", 5e-3, peak=101 * NM8),
            row("gemm_trick", 5e-4, dtype="float32", peak=1.5 * NM8, err=1e-6),
            row("broadcast", 3e-3, dtype="float32", peak=51 * NM8)]
    out = tmp_path / "tables"
    for name, df in tables(rows).items():
        aggregate.write_table(df, out / f"{name}.csv")
    return out


def test_rst_renders_cleanly_and_lists_every_claim(tmp_path):
    df = claims.evaluate(table_io.load(_synthetic_tables(tmp_path), claims.TABLES))
    text = claims.to_rst(df)
    warnings = io.StringIO()
    publish_parts(text, writer="html", settings_overrides={"warning_stream": warnings, "report_level": 2})
    assert warnings.getvalue() == ""
    assert text.startswith("Claims\n======") and "How each claim is decided" in text
    for claim_id in claims.registry():
        assert f"**{claim_id}**" in text
    assert "**holds**" in text and "not measured by this run</summary>" in text
    decided_part = text[:text.index("<details>")]
    assert "**not measured**" not in decided_part  # what the run did not measure is folded away


def test_cli_writes_csv_and_rst(tmp_path):
    src = _synthetic_tables(tmp_path)
    proc = run_numperf("claims", "--tables", src, "--out", tmp_path / "claims.csv",
                       "--rst", tmp_path / "c.rst")
    ran = claims.registry(family.declared("claims", ["distances"]))  # the synthetic run's one family
    assert f"{len(ran)} claims" in proc.stderr
    df = pd.read_csv(tmp_path / "claims.csv")
    assert list(df.columns) == claims.COLUMNS and set(df["claim_id"]) == set(ran)
    assert not list(tmp_path.glob(".claims.csv.*"))  # atomic: no temporary left behind
    assert df.set_index("claim_id").loc["trick-faster-than-broadcast", "verdict"] == "holds"
    assert (tmp_path / "c.rst").read_text().startswith("Claims")
    missing = run_numperf("claims", "--tables", tmp_path / "nowhere", "--out", tmp_path / "x.csv",
                          check=False)
    assert missing.returncode == 1 and "runs.csv is missing" in missing.stderr


# --- the real workflow ------------------------------------------------------------------------------

@pytest.mark.slow
def test_tiny_workflow_writes_claims_and_the_report_opens_on_them(tmp_path):
    from tests.conftest import snakemake

    shutil.copy(REPO / "config" / "tiny.yaml", tmp_path / "tiny.yaml")
    env = {"NUMPERF_HOST_ID": "claimhost"}
    snakemake(tmp_path, "--configfile", tmp_path / "tiny.yaml", env=env)
    df = pd.read_csv(tmp_path / "results" / "tables" / "claims.csv")
    assert list(df["claim_id"].unique()) == list(claims.registry(family.declared("claims", ["distances"])))
    assert set(df["host_id"]) == {"claimhost"} and set(df["verdict"]) <= set(claims.VERDICTS)
    per_backend = df[df["backend"] != claims.ALL_BACKENDS]
    assert set(per_backend["backend"]) == {"wheel"} and per_backend["claim_id"].is_unique
    # tiny runs broadcast, gemm_trick and blocked, one backend: these are measured, those are not
    by_id = df.set_index("claim_id")
    for claim_id in ("trick-faster-than-broadcast", "trick-peak-is-output", "float32-precision-small"):
        assert by_id.loc[claim_id, "verdict"] != "not measured"
    for claim_id in ("chunked-trades-time-for-memory", "einsum-reduction-faster",
                     "backend-changes-speed-a-little"):
        assert by_id.loc[claim_id, "verdict"] == "not measured"
    decided = df[df["verdict"] != "not measured"]
    assert decided["value"].notna().all() and decided["value_case"].notna().all()
    snakemake(tmp_path, "--configfile", tmp_path / "tiny.yaml", "--report",
              tmp_path / "results" / "report.html", env=env)
    html = (tmp_path / "results" / "report.html").read_text()
    assert "claims.csv" in html
    # the first page: the key findings, then the claims
    first = html.find("trick-faster-than-broadcast")
    assert 0 <= html.find("Key findings") < first

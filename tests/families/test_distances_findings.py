"""The report's key findings are computed from the tables: known tables in, known sentences out."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest
from docutils.core import publish_parts

from numperf import aggregate, findings
from numperf.families.distances import report
from tests.conftest import run_numperf

#: median seconds per (method, n): blocked is 2x faster than the trick at n=1000, the trick wins at 100
TIMES = {("gemm_trick", 100): 1e-4, ("blocked", 100): 1.2e-4,
         ("gemm_trick", 1000): 0.02, ("blocked", 1000): 0.01}


def _runs(backends=("wheel",), slower=None) -> pd.DataFrame:
    """A runs table: 2 methods x 2 sizes x float64 x 1 thread per backend; ``slower`` scales a backend."""
    rows = []
    for backend, (method, n) in itertools.product(backends, TIMES):
        t = TIMES[(method, n)] * (slower or {}).get(backend, 1.0)
        n_items = n * n * (3 if method == "gemm_trick" else 1)
        rows.append({
            "host_id": "h1", "backend": backend, "family": "distances", "method": method, "p_n": n,
            "p_m": n, "p_d": 50, "p_inputs": "uniform", "p_accuracy_rows": 32, "dtype": "float64",
            "threads": 1, "status": "ok", "reason": None,
            "case_id": f"{method}_{n}_{backend}", "noisy": False, "time_median_s": t,
            "time_process_medians_s": json.dumps([t * 0.99, t, t * 1.01]),
            "peak_rss_bytes": 8 * n_items if n >= 1000 else 0, "model_peak_bytes": 8 * n_items,
        })
    rows.append({**rows[0], "method": "broadcast", "status": "skipped", "reason": "excluded: test",
                 "time_median_s": None, "case_id": "broadcast_skipped"})
    return pd.DataFrame(rows)


def _tables(runs):
    return {"runs": runs, "speedup": aggregate.speedup_table(runs)}


def test_fastest_method_speedup_and_memory_saved():
    best = report.fastest(_tables(_runs())).set_index("n")
    assert best.loc[100, "method"] == "gemm_trick" and best.loc[1000, "method"] == "blocked"
    assert best.loc[1000, "speedup"] == pytest.approx(2.0, rel=0.02)
    assert best.loc[1000, "ci_low"] <= 2.0 <= best.loc[1000, "ci_high"]
    # measured RSS is visible at n=1000: 8 MB against the trick's 24 MB
    assert (best.loc[1000, "peak_bytes"], best.loc[1000, "baseline_peak_bytes"]) == (8e6, 24e6)
    assert best.loc[1000, "peak_kind"] == "measured"
    text = findings.to_rst(_tables(_runs()))
    assert "1000 × 1000 × 50" in text and "``blocked``, 1 thread (10.0 ms)" in text
    assert "saves 16 MB (67%)" in text and "1× (the baseline itself)" in text
    assert "``blocked`` with 8 MB against ``gemm_trick``'s 24 MB (measured)" in text
    assert "5 cases: 4 ok, 1 skipped" in text
    assert "BLAS backends" not in text  # one backend: nothing to say about backends


def test_model_is_used_for_both_when_rss_cannot_see_one():
    best = report.fastest(_tables(_runs())).set_index("n")
    assert best.loc[100, "peak_kind"] == "model"  # RSS 0 below 1 MB: model for both methods


def test_backends_changed_is_written_when_several_ran():
    runs = _runs(backends=("wheel", "netlib"), slower={"netlib": 3.0})
    effects = report.backend_effects(runs)
    assert len(effects) == 1 and effects[0]["reference"] == "wheel" and effects[0]["backend"] == "netlib"
    assert effects[0]["geomean_ratio"] == pytest.approx(3.0) and effects[0]["shared_cases"] == 4
    assert effects[0]["winner_changed"] == 0 and effects[0]["groups"] == 2
    text = findings.to_rst(_tables(runs))
    assert "What the BLAS backends changed" in text and "time ratio 3.00" in text
    assert "``wheel``" in text  # the backend of each fastest method is named when several ran


def test_rst_is_valid_and_nothing_measured_is_said_plainly():
    for runs in (_runs(), _runs(backends=("wheel", "blis"), slower={"blis": 0.5})):
        parts = publish_parts(findings.to_rst(_tables(runs)), writer="html",
                              settings_overrides={"halt_level": 2, "report_level": 2})
        assert "Key findings" in parts["html_body"] and "<table" in parts["html_body"]
    none_ok = _runs().assign(status="error", time_median_s=None)
    assert "No case has status ok" in findings.to_rst({"runs": none_ok, "speedup": pd.DataFrame()})


def test_command_writes_the_file(tmp_path):
    tables = _tables(_runs())
    for name, df in tables.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    run_numperf("findings", "--tables", tmp_path, "--out", tmp_path / "key_findings.rst")
    assert (tmp_path / "key_findings.rst").read_text() == findings.to_rst(findings.load(tmp_path))
    missing = run_numperf("findings", "--tables", tmp_path / "nowhere", check=False)
    assert missing.returncode == 1 and "runs.csv" in missing.stderr


def test_without_the_baseline_the_first_method_serves_and_the_report_says_so():
    """A config of one's own that leaves out gemm_trick still gets speedups and findings."""
    runs = _runs()
    runs = runs[runs["method"] != "gemm_trick"].copy()
    extra = runs[runs["method"] == "blocked"].assign(method="chunked", case_id=lambda d: d["case_id"] + "c")
    runs = pd.concat([runs, extra.assign(time_median_s=extra["time_median_s"] * 1.5)], ignore_index=True)
    speed = aggregate.speedup_table(runs)
    assert set(speed["baseline_method"]) == {"chunked"}  # first in the family's order among those run
    text = findings.to_rst(_tables(runs))
    assert "speedups are against ``chunked``, not the family's baseline ``gemm_trick``" in text
    assert "``chunked``, serves as the baseline" in text
    assert "Fastest distance method" in text

"""The command line: ``numperf compare`` prints a readable table (real subprocesses on real records)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from numperf import compare, stability
from numperf.units import format_seconds
from tests.conftest import run_numperf


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory):
    """Two real record folders: two tiny creation cases, 2 processes each, under hosts hostA and hostB."""
    root = tmp_path_factory.mktemp("compare")
    for host in ("hostA", "hostB"):
        for method in ("zeros", "empty"):
            for k in (0, 1):
                run_numperf("run-case", "--family", "creation", "--method", method, "--param", "rows=10",
                            "--param", "cols=10", "--processes", 2, "--process", k, "--min-sample-time-s", 0,
                            "--host-id", host, "--quiet", "--out",
                            root / "results" / host / "wheel" / "records" / method / f"p{k}.json")
    return root


def test_compare_prints_a_table_with_units_and_the_direction(two_hosts):
    out, summary_path = two_hosts / "cmp.csv", two_hosts / "cmp.json"
    proc = run_numperf("compare", "--results", two_hosts / "results", "--a-backend", "wheel", "--a-host",
                       "hostA", "--b-backend", "wheel", "--b-host", "hostB", "--out", out,
                       "--summary", summary_path)
    text = proc.stdout
    header, *rows = text.split("\n\n")[0].splitlines()
    assert header.split()[:5] == ["case", "time", "A", "time", "B"] and "A/B [95% interval]" in header
    assert len(rows) == 2
    table = pd.read_csv(out)
    for row, (_, r) in zip(rows, table.iterrows(), strict=True):
        assert row.startswith(f"creation {r['method']} rows=10 cols=10 float64 t1 ")
        assert format_seconds(r["time_median_a_s"]) in row and format_seconds(r["time_median_b_s"]) in row
        assert re.search(r"\d (ns|µs|ms|s) ", row) and row.endswith(r["verdict"])
    decimals = re.findall(r"\d+\.\d+", text)  # 3 significant digits, never raw floats
    assert decimals and all(len(d.replace(".", "").lstrip("0")) <= 3 for d in decimals), decimals
    assert "A is backend wheel on host hostA; B is backend wheel on host hostB; 2 shared case(s)" in text
    assert "Geometric mean of the ratios:" in text and "Verdicts per case: A faster" in text
    assert text.rstrip().endswith("ratio = time A / time B: below 1 means A is faster.")
    assert proc.stderr == ""
    # the files keep their shape: the CSV's columns and the JSON summary
    assert list(table.columns) == [*compare.CASE, "p_rows", "p_cols", *compare.RESULT_COLUMNS]
    summary = json.loads(summary_path.read_text())
    assert summary["shared_cases"] == 2 and summary["a"] == "hostA/wheel"
    # the A/A summary reads the same way, from the same real summary
    aa = stability.summary_text({"hosts": ["hostA", "hostB"], "processes": 2, "min_effect": 0.05,
                                 "backends": [{"backend": "wheel", **summary}]})
    assert "A is hostA, B is hostB" in aa and "below 1 means A is faster" in aa


def test_compare_help_shows_a_plain_percent():
    text = run_numperf("compare", "--help").stdout
    assert "95% interval" in text and "%%" not in text


@pytest.mark.parametrize(("seconds", "text"), [
    (2.5e-5, "25.0 µs"), (0.00099996, "1.00 ms"), (0.123, "123 ms"), (12.345, "12.3 s"),
    (3e-10, "0.300 ns"), (float("nan"), "n/a"), (0.0, "0 s"),
])
def test_format_seconds_keeps_three_significant_digits(seconds, text):
    assert format_seconds(seconds) == text

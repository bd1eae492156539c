"""The command line: options, defaults and bounds come from the config schema, bad values are refused
naming the option and what is allowed, every family is listed, family commands are exposed, and
``numperf compare`` prints a readable table (real subprocesses on real records)."""

from __future__ import annotations

import dataclasses
import json
import re

import pandas as pd
import pytest
import yaml

from numperf import cli, compare, config, family, runner, stability
from numperf.units import format_seconds
from tests.conftest import run_numperf

SCHEMA = yaml.safe_load(config.SCHEMA_PATH.read_text())["properties"]
#: run-case options whose default, type and bounds are the config key of the same name
RUN_KEYS = ("repeats", "processes", "min_sample_time_s", "timed_s_per_process", "loops", "warmup", "seed",
            "time_limit_s")
CASE = ("--family", "creation", "--method", "zeros", "--param", "rows=10", "--param", "cols=10")


def _refused(*args) -> str:
    proc = run_numperf(*args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["--repeats", "0"], ["--repeats", "0 is out of range", "allowed: a whole number >= 1 and <= 1000"]),
    (["--repeats", "2.5"], ["--repeats", "'2.5' is not a whole number", ">= 1 and <= 1000"]),
    (["--processes", "101"], ["--processes", "101", "<= 100"]),
    (["--min-sample-time-s", "11"], ["--min-sample-time-s", "11", "a finite number >= 0 and <= 10"]),
    (["--loops", "0"], ["--loops", "0", "a whole number >= 1"]),
    (["--warmup", "-1"], ["--warmup", "-1", "a whole number >= 0"]),
    (["--time-limit-s", "inf"], ["--time-limit-s", "'inf' is not a finite number", ">= 1"]),
    (["--threads", "0"], ["--threads", "0", "a whole number >= 1"]),
    (["--process", "-1"], ["--process", "-1", ">= 0"]),
    (["--param", "rows=ten"], ["parameter rows", "'ten'", "a whole number >= 1 and <= 1000000"]),
])
def test_bad_run_case_values_name_the_option_and_what_is_allowed(args, words):
    stderr = _refused("run-case", *CASE, *args)
    for word in words:
        assert word in stderr, (word, stderr)


def test_a_bad_min_effect_says_what_is_allowed():
    for command in ("aggregate", "claims"):
        stderr = _refused(command, "--min-effect", "1")
        assert "--min-effect" in stderr and "a finite number > 0 and < 1" in stderr
    stderr = _refused("compare", "--a-backend", "wheel", "--b-backend", "wheel", "--min-effect", "0")
    assert "--min-effect: 0 is out of range" in stderr


def test_a_missing_family_lists_the_families():
    stderr = _refused("run-case", "--method", "zeros")
    assert "--family is required" in stderr
    assert all(name in stderr for name in family.registry())


def test_defaults_are_the_schemas():
    parser = cli.build_parser()
    args = parser.parse_args(["run-case", *CASE])
    for key in RUN_KEYS:
        assert getattr(args, key) == SCHEMA[key]["default"], key
    assert args.threads == SCHEMA["threads"]["default"][0]
    assert args.backend == SCHEMA["backends"]["default"][0]
    assert args.dtype is None  # the family's first dtype, decided once the family is known
    for command in (["aggregate"], ["claims"], ["compare", "--a-backend", "w", "--b-backend", "w"]):
        assert parser.parse_args(command).min_effect == SCHEMA["min_effect"]["default"], command
    spec = {f.name: f.default for f in dataclasses.fields(runner.CaseSpec)}
    for key in RUN_KEYS:
        assert spec[key] == SCHEMA[key]["default"], f"CaseSpec.{key}"


def test_families_lists_every_family_and_methods_is_its_alias():
    text = run_numperf("families").stdout
    for fam in family.registry().values():
        assert f"{fam.name}: {fam.description}" in text
        assert f"dtypes (--dtype): {', '.join(fam.dtypes)} (default {fam.dtypes[0]})" in text
        for p in fam.params:
            assert f"    {p.name}: {p.description}" in text
        for name, m in fam.methods.items():
            assert re.search(rf"^    {name} +{re.escape(m.description)}", text, re.M), name
            if not m.available():
                assert f"needs {m.requires}: not installed" in text
    assert run_numperf("methods").stdout == text
    assert "`numperf families`" in run_numperf("run-case", "--help").stdout


def test_family_commands_are_added_to_the_parser(monkeypatch, capsys):
    def add_arguments(parser):
        parser.add_argument("--times", type=int, default=1)

    def run(args):
        print("hello " * args.times)
        return 7

    hello = family.Command(name="hello", help="say hello", add_arguments=add_arguments, run=run,
                           description="A fake family's command.")
    declared = family.declared
    monkeypatch.setattr(family, "declared", lambda kind: [hello] if kind == "commands" else declared(kind))
    assert "say hello" in cli.build_parser().format_help()
    assert cli.main(["hello", "--times", "2"]) == 7
    assert capsys.readouterr().out.strip() == "hello hello"

    clash = dataclasses.replace(hello, name="compare")
    monkeypatch.setattr(family, "declared", lambda kind: [clash] if kind == "commands" else declared(kind))
    with pytest.raises(RuntimeError, match="'compare'"):
        cli.build_parser()


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


def test_run_case_records_the_schema_defaults(two_hosts):
    path = two_hosts / "results" / "hostA" / "wheel" / "records" / "zeros" / "p0.json"
    rec = json.loads(path.read_text())
    assert rec["status"] == "ok"
    case = rec["case"]
    assert case["dtype"] == family.get("creation").dtypes[0]
    assert (case["repeats"], case["time_limit_s"]) == (SCHEMA["repeats"]["default"],
                                                       SCHEMA["time_limit_s"]["default"])


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
        assert row.startswith(f"creation {r['method']} rows=10 cols=10 int8 t1 ")
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
    # two hosts, no stability run under this results folder: no drift assumed, and the summary says so
    assert summary["drift_log_sd"] == 0.0 and summary["drift_source"].startswith("none measured")
    # the stability summary reads its separate-run part from such a comparison
    separate = {k: summary[k] for k in ("faster_fraction", "median_resolvable_effect")}
    aa = stability.summary_text({
        "hosts": ["hostA", "hostB"], "min_effect": 0.02, "host": {"cpu_model": "test CPU"},
        "interleaved": {"cases": 4, "faster_fraction": 0.0, "median_resolvable_effect": 0.021},
        "separate": {"cases": summary["shared_cases"], **separate, "without_drift": separate},
        "drift": {"log_sd_per_run": 0.01, "mean_log_shift": 0.0},
        "planted": [{"effect": 0.03, "cases": 2, "detected_fraction": 0.5, "median_measured_effect": 0.031}]})
    assert "hostA and hostB" in aa and "interleaved A/A" in aa and f"{summary['shared_cases']} cases" in aa
    assert "planted 3% slowdown: found in 50.0% of 2 cases" in aa and "drift between runs: 1.0%" in aa


def test_compare_help_shows_a_plain_percent():
    text = run_numperf("compare", "--help").stdout
    assert "95% interval" in text and "%%" not in text


@pytest.mark.parametrize(("seconds", "text"), [
    (2.5e-5, "25.0 µs"), (0.00099996, "1.00 ms"), (0.123, "123 ms"), (12.345, "12.3 s"),
    (3e-10, "0.300 ns"), (float("nan"), "n/a"), (0.0, "0 s"),
])
def test_format_seconds_keeps_three_significant_digits(seconds, text):
    assert format_seconds(seconds) == text

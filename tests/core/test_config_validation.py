"""Config loading and validation: a user's config stands alone, and values that would validate but
could not run (a negative seed, 7.0 repeats, an infinite time limit, ...) are refused up front,
each naming the key, the value and what is allowed."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys

import pytest
import yaml

from numperf import config
from tests.conftest import REPO, run_numperf

BASE = {"families": {"distances": {"grid": [{"n": 10, "d": 3}], "methods": ["blocked"]}},
        "dtypes": ["float64"], "threads": [1]}


def distances(**block) -> dict:
    """BASE with its distances block changed."""
    return {**BASE, "families": {"distances": {**BASE["families"]["distances"], **block}}}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A copy of the workflow and the shipped configs, run from its root as from the repository's."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(REPO / "workflow", root / "workflow")
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "scripts", root / "scripts", ignore=shutil.ignore_patterns("*.egg-info"))
    return root


def dry_run(root, *args):
    """`snakemake -n` from ``root`` (where config/config.yaml is); returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", *map(str, args)],
                          cwd=root, capture_output=True, text=True, timeout=300)


def case_lists(root, host, *args, settings=()) -> dict[str, list[str]]:
    """Write only the case lists (rule case_list) and return the case ids per batch."""
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--allowed-rules", "case_list",
                           *map(str, args), "--config", f"host_id={host}", *settings, "--",
                           f"results/{host}/wheel/cases/t1.json"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    out = {}
    for path in (root / "results" / host / "wheel" / "cases").glob("*.json"):
        out[path.stem] = [c["case_id"] for c in config.read_case_file(path)]
    return out, proc


@pytest.mark.slow
def test_a_users_configfile_stands_alone(checkout):
    # names none of the default's methods and no `exclude`: the default's broadcast exclusions
    # must not be merged in (they were, and were refused as impossible)
    mine = {"families": {"distances": {"grid": [{"n": 100, "d": 10}], "methods": ["gemm_trick", "blocked",
                                                                                  "sklearn"]}},
            "dtypes": ["float64"], "threads": [1]}
    (checkout / "mine.yaml").write_text(yaml.safe_dump(mine))
    proc = dry_run(checkout, "--configfile", "mine.yaml", "--config", "host_id=standalone")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "results/standalone/wheel/batches/t1_p0.json" in out  # --config applies on top
    assert "batches/t2" not in out  # nothing from config/config.yaml (threads 1, 2)
    lists, proc = case_lists(checkout, "standalone", "--configfile", "mine.yaml")
    ids = lists["t1"]
    assert any(i.startswith("distances_gemm_trick_n=100_") for i in ids), proc.stderr
    assert any(i.startswith("distances_sklearn_n=100_") for i in ids) and len(ids) == 3
    # a --config override of a list replaces it
    lists, _ = case_lists(checkout, "one", "--configfile", "mine.yaml", settings=['dtypes=["float32"]'])
    assert len(lists["t1"]) == 3 and all("_float32_" in i for i in lists["t1"])


@pytest.mark.slow
def test_without_configfile_the_default_is_used(checkout):
    proc = dry_run(checkout, "--config", "host_id=default")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for batch in ("t1_p0", "t1_p2", "t2_p0", "t2_p2"):  # config/config.yaml: threads 1 and 2, 3 processes
        assert f"results/default/wheel/batches/{batch}.json" in out, batch


@pytest.mark.slow
def test_errors_name_the_given_configfile(checkout):
    (checkout / "bad.yaml").write_text(yaml.safe_dump({**BASE, "seed": -7}))
    proc = dry_run(checkout, "--configfile", "bad.yaml", "--config", "repeats=3")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "invalid config (bad.yaml + --config)" in out
    assert "seed: -7 is less than the minimum of 0" in out
    assert not (checkout / "results").exists() or not list((checkout / "results").rglob("bad*"))


# (change, words the message must contain: the key, the value, what is allowed)
UNRUNNABLE = [
    ({"seed": -7}, ["seed", "-7", "minimum of 0"]),
    ({"seed": 1.0}, ["seed", "1.0", "whole number", "integer"]),
    ({"repeats": 7.0}, ["repeats", "7.0", "whole number"]),
    (distances(grid=[{"n": 10.0, "d": 3}]), ["families.distances.grid.0.n", "10.0"]),
    (distances(grid=[{"n": 0, "d": 3}]), ["families.distances.grid.0.n", "0"]),
    (distances(methods=["nope"]), ["families.distances.methods.0", "'nope'", "gemm_trick"]),
    (distances(inputs="gaussian"), ["families.distances.inputs", "gaussian"]),
    (distances(colour=3), ["families.distances", "colour", "known keys", "grid"]),
    ({**BASE, "families": {"nope": {}}}, ["families", "nope", "known keys", "distances"]),
    (distances(method_params={"blocked": {"chunk_rows": 5}}), ["method_params.blocked", "chunk_rows"]),
    (distances(exclude=[{"method": "gemm_trick"}]), ["exclude.0.method", "not run by this block"]),
    (distances(baseline="gemm_trick"), ["baseline", "not run by this block"]),
    ({"time_limit_s": math.inf}, ["time_limit_s", "inf", "finite number"]),
    ({"time_limit_s": math.nan}, ["time_limit_s", "nan", "finite number"]),
    ({"time_limit_s": 0.5}, ["time_limit_s", "0.5", "minimum of 1"]),
    ({"memory_budget_mb": math.nan}, ["memory_budget_mb", "nan", "finite number or null"]),
    ({"memory_budget_mb": 0.0001}, ["memory_budget_mb", "0.0001", "nothing would be measured",
                                    "allowed: at least"]),
    ({"memory_budget_fraction": 1e-12}, ["memory_budget_fraction", "1e-12", "allowed: at least"]),
    ({"host_id": "tables"}, ["host_id", "'tables'", "results/", "any other label"]),
    (distances(grid=[{"n": 10, "d": 3}, {"n": 10, "m": 10, "d": 3}]),
     ["families.distances.grid.1", "repeats case", "families.distances.grid.0", "each case once"]),
    ({"comparisons": [{"a": {"backend": "wheel"}, "b": {"backend": "wheel"}}]},
     ["comparisons.0", "same selection", "two different"]),
    ({"comparisons": [{"a": {"backend": "wheel"}, "b": {"backend": "openblas"}}] * 2},
     ["comparisons.1", "repeats comparisons.0", "each pair once"]),
    ({"threads": [4096], "allow_oversubscription": False}, ["threads", "4096", "CPUs this process may use"]),
    ({"target_resolution": 0}, ["target_resolution", "0"]),
    ({"target_resolution": 1.5}, ["target_resolution", "1.5"]),
    ({"max_processes": 0}, ["max_processes", "0"]),
    ({"processes": 5, "max_processes": 3}, ["max_processes", "3", "below processes", "allowed: 5..100"]),
    ({"replication_budget_s": -1}, ["replication_budget_s", "-1"]),
    ({"replication_budget_s": math.inf}, ["replication_budget_s", "inf"]),
    ({"isolation": "threads"}, ["isolation", "'threads'", "interleaved", "process"]),
]


@pytest.mark.parametrize(("change", "words"), UNRUNNABLE, ids=[str(c) for c, _ in UNRUNNABLE])
def test_unrunnable_values_are_refused_naming_key_value_and_allowed(change, words):
    with pytest.raises(config.ConfigError) as err:
        config.load({**BASE, **change})
    for word in words:
        assert word in str(err.value), (word, str(err.value))


@pytest.mark.parametrize("change", [{"seed": 0}, {"seed": 2**40}, {"time_limit_s": 1}, {"repeats": 7},
                                    {"memory_budget_mb": 5}, {"host_id": "tables-2"},
                                    {"processes": 20}, {"max_processes": 3, "processes": 3},
                                    {"replication_budget_s": 0}, {"isolation": "process"}])
def test_edge_values_that_can_run_are_accepted(change):
    cfg = config.load({**BASE, **change})
    assert config.expand_cases(cfg, "h")


def test_shipped_configs_are_valid():
    for path in sorted((REPO / "config").glob("*.yaml")):
        config.load(path)


@pytest.mark.parametrize(("args", "words"), [
    (["--seed", "-7"], ["--seed", ">= 0", "-7"]),
    (["--seed", "1.5"], ["--seed", "'1.5'"]),
    (["--time-limit-s", "inf"], ["--time-limit-s", "finite", ">= 1"]),
    (["--time-limit-s", "0.2"], ["--time-limit-s", ">= 1"]),
    (["--mem-budget-mb", "nan"], ["--mem-budget-mb", "finite", ">= 0"]),
    (["--mem-limit-mb", "-1"], ["--mem-limit-mb", ">= 0"]),
    (["--host-id", "figures"], ["--host-id", "'figures'", "not example, figures"]),
])
def test_run_case_options_that_cannot_run_are_refused(args, words, tmp_path):
    out = tmp_path / "r.json"
    proc = run_numperf("run-case", "--family", "distances",
                       "--method", "blocked", "--param", "n=10", "--param", "d=2", "--out",
                       out, *args,
                       check=False)
    assert proc.returncode == 2 and not out.exists()
    for word in words:
        assert word in proc.stderr, (word, proc.stderr)


def test_calibrate_refuses_an_unknown_backend(tmp_path):
    proc = run_numperf("calibrate", "--family", "distances", "--backend", "openblass", "--out",
                       tmp_path / "c.json", check=False)
    assert proc.returncode == 2 and "--backend" in proc.stderr and "openblas" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "c.json").exists()


def test_a_reserved_host_id_from_the_environment_is_refused(tmp_path):
    proc = run_numperf("run-case", "--family", "distances",
                       "--method", "blocked", "--param", "n=10", "--param", "d=2", "--out",
                       tmp_path / "r.json",
                       env={"NUMPERF_HOST_ID": "logs"}, check=False)
    assert proc.returncode == 2 and "NUMPERF_HOST_ID 'logs'" in proc.stderr and "Traceback" not in proc.stderr

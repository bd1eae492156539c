"""Every discovered family through the real workflow: its block of the default config, each grid
point cut to the first value of every list, measured by the real snakemake in fresh processes, then
its rows in runs.csv, its figures drawn and its claims decided from this run."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from numperf import claims, family
from numperf import plotting as figures
from tests.conftest import REPO, snakemake

DEFAULT = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def _first(value):
    return value[:1] if isinstance(value, list) else value


def _signature(point: dict) -> tuple:
    """What makes a grid point exercise other code: its methods and its non-numeric parameters."""
    return tuple(sorted((k, str(v)) for k, v in point.items()
                        if k == "methods" or isinstance(_first(v), str)))


def small_block(block: dict) -> dict:
    """The default block cut to one value per parameter list and one grid point per distinct set of
    methods and non-numeric parameters (so every method and workload runs, at its first size)."""
    out = {k: (_first(v) if k not in ("methods", "dtypes", "grid", "exclude", "method_params") else v)
           for k, v in block.items()}
    if "grid" in block:
        points = {}
        for point in block["grid"]:
            points.setdefault(_signature(point), {k: (v if k in ("methods", "dtypes") else _first(v))
                                                  for k, v in point.items()})
        out["grid"] = list(points.values())
    out["threads"] = [1]
    out.pop("exclude", None)  # the cut sizes stay below every exclusion of the default
    return out


@pytest.fixture(scope="module")
def family_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("families")
    blocks = {name: small_block(block) for name, block in DEFAULT["families"].items()}
    blocks["planted"] = {"grid": [{"work": "sum", "n": 20000}]}
    cfg = {"families": blocks, "dtypes": DEFAULT["dtypes"], "threads": [1], "repeats": 2, "processes": 2,
           "max_processes": 2, "min_sample_time_s": 0.002, "timed_s_per_process": 0.0, "time_limit_s": 120,
           "memory_budget_mb": 4000}
    (work / "c.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, "--configfile", work / "c.yaml", env={"NUMPERF_HOST_ID": "famhost"}, timeout=900)
    tables = work / "results" / "tables"
    return work, pd.read_csv(tables / "runs.csv"), pd.read_csv(tables / "claims.csv")


#: Families that are numperf's own checks (planted effects, twins): run by make stability, not the sweep.
CHECKS = {name for name, fam in family.registry().items() if fam.planted}


def test_the_default_config_has_a_block_for_every_family():
    assert CHECKS == {"planted"}
    assert set(DEFAULT["families"]) == set(family.registry()) - CHECKS


@pytest.mark.slow
@pytest.mark.parametrize("name", list(family.registry()))
def test_every_family_has_ok_rows_with_its_parameters(family_run, name):
    _, runs, _ = family_run
    rows = runs[runs["family"] == name]
    assert len(rows) and (rows["status"] == "ok").any(), rows[["method", "status", "reason"]]
    bad = rows[~rows["status"].isin(["ok", "skipped"])]
    assert bad.empty, bad[["case_id", "status", "reason"]].to_string()
    for p in family.get(name).param_names:
        assert rows[f"p_{p}"].notna().all()
    assert rows.loc[rows["status"] == "ok", "time_median_s"].gt(0).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, f in figures.FIGURES.items()])
def test_every_figure_is_drawn_from_the_run(family_run, name):
    work, _, _ = family_run
    png = work / "results" / "figures" / f"{name}.png"
    assert png.exists() and png.stat().st_size > 10_000


@pytest.mark.slow
def test_every_family_has_claims_decided_from_this_run(family_run):
    _, _, decided = family_run
    assert len(decided) == len(claims.registry()) >= 25
    for name in set(family.registry()) - CHECKS:
        mine = decided[decided["family"] == name]
        assert len(mine), name
        if name != "distances":  # one thread and one size: the distance claims need more
            assert (mine["verdict"] != "not measured").any(), mine[["claim_id", "verdict"]]


@pytest.mark.slow
def test_report_has_a_category_per_family(family_run):
    work, _, _ = family_run
    shutil.rmtree(work / ".snakemake" / "locks", ignore_errors=True)
    snakemake(work, "--configfile", work / "c.yaml", "--report", work / "report.html",
              env={"NUMPERF_HOST_ID": "famhost"})
    html = (work / "report.html").read_text(errors="replace")
    for name in set(family.registry()) - CHECKS:
        if name != "distances":
            assert figures.family_category(name) in html

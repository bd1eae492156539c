"""Tick labels of every figure at the sizes of the shipped configs: none overlap, none are missing.

Real cases are measured once at a small N and their rows are rescaled to each config's sizes (times
by N²·D, memory by N²), so the figures see the N values, spans and layouts a real sweep gives.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg

from numperf import aggregate
from numperf import plotting as figures
from tests.conftest import REPO, run_numperf

METHODS = ("gemm_trick", "blocked")
N0, D0 = 120, 16

#: Every test here reads a fixture of real cases measured in fresh processes.
pytestmark = pytest.mark.slow


def _config_sizes(name: str) -> list[tuple[int, int]]:
    cfg = yaml.safe_load((REPO / "config" / name).read_text())
    return [(s["n"], s["d"]) for s in cfg["families"]["distances"]["grid"]]


SIZE_SETS = {
    "config": _config_sizes("config.yaml"),
    "paper": _config_sizes("paper.yaml"),
    "backends": _config_sizes("backends.yaml"),
    "tiny": _config_sizes("tiny.yaml"),
    # make run, then make backends-run, in one results folder: 2000 and 2500 side by side
    "config+backends": sorted(set(_config_sizes("config.yaml")) | set(_config_sizes("backends.yaml"))),
}


@pytest.fixture(scope="module")
def base_runs(tmp_path_factory) -> pd.DataFrame:
    """runs.csv rows of 8 real cases (2 methods x 2 dtypes x 1 and 2 threads) at N0 x D0."""
    root = tmp_path_factory.mktemp("ticks")
    probe = root / "probe.json"
    run_numperf("run-case", "--family", "distances",
                "--method", "blocked", "--param", "n=20", "--param", "d=4", "--repeats", 1,
                "--quiet",
                "--out", probe)
    host = json.loads(probe.read_text())["host"]["host_id"]
    for method, dtype, threads in itertools.product(METHODS, ("float32", "float64"), (1, 2)):
        out = root / "results" / host / "wheel" / "records" / f"{method}_{dtype}_t{threads}.json"
        run_numperf("run-case", "--family", "distances",
                "--method", method, "--param", f"n={N0}", "--param", f"d={D0}", "--dtype",
                    dtype, "--threads",
                    threads, "--repeats", 3, "--quiet", "--out", out)
    aggregate.aggregate(root / "results", root / "tables")
    return pd.read_csv(root / "tables" / "runs.csv")


def _scaled(value, factor):
    """Numbers times ``factor``, inside JSON lists too (process medians, samples); keys kept."""
    if isinstance(value, str) and value.startswith("["):
        return json.dumps(_scaled(json.loads(value), factor))
    if isinstance(value, list):
        return [_scaled(v, factor) for v in value]
    return value * factor if isinstance(value, int | float) and not isinstance(value, bool) else value


def at_sizes(runs: pd.DataFrame, sizes, hosts=("",), backends=("",)) -> dict[str, pd.DataFrame]:
    """All tables for ``runs`` moved to ``sizes``, optionally copied to more hosts or backends
    (each copy slower by a factor below 1.5, so ratios span less than a decade)."""
    rows = []
    for (n, d), (h_i, host), (b_i, backend) in itertools.product(sizes, enumerate(hosts),
                                                                 enumerate(backends)):
        time_f, mem_f = (n / N0) ** 2 * d / D0, (n / N0) ** 2
        for _, r in runs.iterrows():
            r = r.copy()
            slower = (1 + 0.15 * h_i + 0.2 * b_i) * (1 + 0.05 * np.log(n))
            for col in r.index:
                if col.startswith("time_") and col.endswith("_s"):
                    r[col] = _scaled(r[col], time_f * slower)
                elif col.endswith("_bytes") and "peak" in col:
                    r[col] = _scaled(r[col], mem_f)
            r["p_n"] = r["p_m"] = n
            r["p_d"] = d
            r["roofline_fraction"] = min(0.95, 0.05 * np.log(n) / slower)
            r["host_id"] = f"{r['host_id']}{host}"
            r["backend"] = backend or r["backend"]
            r["case_id"] = f"{r['case_id']}_{n}_{d}{host}{backend}"
            rows.append(r)
    out = pd.DataFrame(rows).reset_index(drop=True)
    return {"runs": out, "speedup": aggregate.speedup_table(out), "scaling": aggregate.scaling_table(out),
            "memory": aggregate.memory_table(out), "dtype": aggregate.dtype_table(out),
            "failures": aggregate.failures_table(out)}


def drawn(name: str, tables) -> matplotlib.figure.Figure:
    fig = figures.draw(name, tables)
    FigureCanvasAgg(fig).draw()
    return fig


def label_problems(fig) -> list[str]:
    """Every overlap between two tick labels on one axis, and every data axis left without labels."""
    renderer = fig.canvas.get_renderer()
    problems = []
    for ax in fig.axes:
        if not ax.axison or not (ax.lines or ax.patches or ax.collections):
            continue
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            shown = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()
                     and lo <= t.get_position()[0 if axis is ax.xaxis else 1] <= hi]
            where = f"{ax.get_title()} {axis.axis_name}"
            if len(shown) < 2 and axis.get_scale() == "log":
                problems.append(f"{where}: {len(shown)} label(s) on a log axis spanning {lo:.3g}..{hi:.3g}")
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in shown]
            for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
                if a.overlaps(b):
                    problems.append(f"{where}: {ta!r} overlaps {tb!r}")
    return problems


@pytest.mark.parametrize("sizes", list(SIZE_SETS), ids=list(SIZE_SETS))
@pytest.mark.parametrize("name", ["time_vs_n", "thread_scaling", "memory_vs_n", "precision", "roofline"])
def test_tick_labels_fit_at_shipped_sizes(base_runs, name, sizes):
    fig = drawn(name, at_sizes(base_runs, SIZE_SETS[sizes]))
    assert not label_problems(fig)


@pytest.mark.parametrize("sizes", ["config+backends", "paper"])
def test_compared_backends_and_hosts_are_labelled(base_runs, sizes):
    tables = at_sizes(base_runs, SIZE_SETS[sizes], hosts=("", "-other"), backends=("wheel", "openblas"))
    for name in ("backends", "hosts"):
        fig = drawn(name, tables)
        assert [ax for ax in fig.axes if ax.lines or ax.patches], name
        assert not label_problems(fig), name


def test_measured_n_keep_ticks_and_the_ends_keep_labels(base_runs):
    sizes = SIZE_SETS["config+backends"]
    fig = drawn("time_vs_n", at_sizes(base_runs, sizes))
    ax = next(a for a in fig.axes if a.lines)
    ticks = [t for t in ax.xaxis.get_major_ticks() if t.get_loc() in {n for n, _ in sizes}]
    assert sorted(t.get_loc() for t in ticks) == sorted(n for n, _ in sizes)  # every N has its tick
    labelled = {t.get_loc(): t.label1.get_text() for t in ticks if t.label1.get_text()}
    assert labelled[sizes[0][0]] == str(sizes[0][0]) and labelled[sizes[-1][0]] == str(sizes[-1][0])
    assert not ({2000, 2500} <= set(labelled))  # too close to label both at this width


def test_log_ticks_cover_any_span():
    loc = figures.LogTicks()
    for lo, hi in ((1e-6, 10), (0.8, 1.3), (0.95, 1.05), (3, 7), (2e-4, 9e-4)):
        inside = [t for t in loc.tick_values(lo, hi) if lo <= t <= hi]
        assert len(inside) >= 2, (lo, hi, inside)
    assert figures.tick_text(2500) == "2500" and figures.tick_text(1e-5, power=True) == "$10^{-5}$"
    assert figures.tick_text(2e-5, power=True) == r"$2{\times}10^{-5}$"


def save_pngs(runs: pd.DataFrame, out: Path) -> list[Path]:
    """Every figure at every shipped size set, as PNGs to look at (used by hand, not by the tests)."""
    paths = []
    for sizes, name in itertools.product(SIZE_SETS, figures.FIGURES):
        many = name in ("backends", "hosts")
        tables = at_sizes(runs, SIZE_SETS[sizes], hosts=("", "-other") if many else ("",),
                          backends=("wheel", "openblas") if many else ("",))
        path = out / f"{name}_{sizes}.png"
        drawn(name, tables).savefig(path, dpi=figures.DPI)
        paths.append(path)
    return paths

"""Every report figure drawn from a tiny but real results folder (real cases, real calibration)."""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from numperf import aggregate, family, runner, tables
from numperf import plotting as figures
from tests.conftest import run_numperf

METHODS = ("gemm_trick", "blocked")
SIZES = (120, 300)
DTYPES = ("float32", "float64")
THREADS = (1, 2)

#: Every test here reads a fixture of real cases measured in fresh processes.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """16 real cases (2 processes each), calibration for 1 and 2 threads, and their tables."""
    root = tmp_path_factory.mktemp("figures")
    probe = root / "probe.json"
    run_numperf("run-case", "--family", "distances",
                "--method", "blocked", "--param", "n=20", "--param", "d=4", "--repeats", 1,
                "--quiet",
                "--out", probe)
    host = json.loads(probe.read_text())["host"]["host_id"]
    base = root / "results" / host / "wheel"

    def calibrate(threads):
        runner.run_calibration("distances", "wheel", threads,
                               base / "calibration" / "distances" / f"t{threads}.json")

    # The numbers only need to be real, not precise: the 1-thread calibration overlaps the cases.
    with ThreadPoolExecutor(max_workers=1) as pool:
        cal1 = pool.submit(calibrate, 1)
        for method, n, dtype, threads, k in itertools.product(METHODS, SIZES, DTYPES, THREADS, (0, 1)):
            run_numperf("run-case", "--family", "distances",
                "--method", method, "--param", f"n={n}", "--param", "d=16", "--dtype",
                        dtype,
                        "--threads", threads, "--repeats", 3, "--processes", 2, "--process", k,
                        "--min-sample-time-s", 0.002, "--quiet", "--out",
                        base / "records" / f"{method}_n{n}_{dtype}_t{threads}" / f"p{k}.json")
        cal1.result()
    calibrate(2)
    tables_dir = root / "tables"
    aggregate.aggregate(root / "results", tables_dir)
    loaded = tables.load(tables_dir, figures.TABLES, figures.TABLES)
    return {"root": root, "tables_dir": tables_dir, "tables": loaded, "host": host}


def _derived(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """All tables recomputed from a (modified) runs table with aggregate's own functions."""
    runs = runs.reset_index(drop=True)
    return {"runs": runs, "speedup": aggregate.speedup_table(runs), "scaling": aggregate.scaling_table(runs),
            "memory": aggregate.memory_table(runs), "dtype": aggregate.dtype_table(runs),
            "failures": aggregate.failures_table(runs)}


def _plot_axes(fig):
    """Axes that show data (not the text-only panels)."""
    return [ax for ax in fig.axes if ax.axison and (ax.lines or ax.patches or ax.collections)]


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def _check_labelled(fig):
    assert fig.get_suptitle()
    for ax in _plot_axes(fig):
        assert ax.get_xlabel().strip(), ax.get_title()
        assert ax.get_ylabel().strip(), ax.get_title()
        assert ax.get_title().strip()


def test_registry_is_complete():
    assert {"time_vs_n", "thread_scaling", "memory_vs_n", "precision", "roofline", "backends",
            "hosts"} <= set(figures.FIGURES)
    for name, f in figures.FIGURES.items():
        assert f.name == name and f.title
        own = {figures.family_category(n) for n in family.registry()}
        assert f.category == (figures.family_category(f.family) if f.family else figures.CROSS_CATEGORY)
        assert f.category in own | {figures.CROSS_CATEGORY}
        assert f.caption and "\n" not in f.caption
        assert callable(f.draw)


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_render_writes_png_and_svg(results, name, tmp_path):
    png, svg = tmp_path / f"{name}.png", tmp_path / f"{name}.svg"
    figures.render(name, results["tables_dir"], png, svg)
    with Image.open(png) as img:
        img.verify()
    with Image.open(png) as img:
        w, h = img.size
    assert img.format == "PNG" and 500 <= w <= 6000 and 300 <= h <= 8000
    assert png.stat().st_size > 10_000
    assert "<svg" in svg.read_text()[:2000]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([png.name, svg.name])  # no temp files left


DISTANCE_FIGURES = [n for n, f in figures.FIGURES.items() if f.family == "distances"]


@pytest.mark.parametrize("name", DISTANCE_FIGURES)  # other families' figures: tests/test_family_*.py
def test_axes_labelled_and_footnote_from_data(results, name):
    tables = results["tables"]
    fig = matplotlib.figure.Figure()
    figures.FIGURES[name].draw(tables, fig)
    _check_labelled(fig)
    foot = fig.get_supxlabel()
    ok = tables["runs"][tables["runs"]["status"] == "ok"].iloc[0]
    for value in (results["host"], ok["cpu_model"], f"{int(ok['cores_logical'])} logical cores",
                  ok["blas_internal_api"], str(ok["blas_version"]), ok["blas_architecture"],
                  f"numpy {ok['numpy_version']}", "backend wheel"):
        assert value in foot, (value, foot)


@pytest.mark.parametrize("name", ["time_vs_n", "thread_scaling", "memory_vs_n", "precision", "roofline"])
def test_data_figures_plot_every_method(results, name):
    fig = figures.draw(name, results["tables"])
    assert len(_plot_axes(fig)) >= 2
    texts = _legend_texts(fig)
    for method in METHODS:
        assert method in texts


def test_method_order_and_colors_follow_the_registry():
    known = list(family.get("distances").methods)
    assert figures.method_order(reversed(known)) == known
    assert len({figures.method_color(m) for m in known}) == len(known)
    assert figures.method_order(["zzz", "blocked", "aaa"]) == ["blocked", "aaa", "zzz"]
    assert figures.method_color("not_registered") in figures.FALLBACK_COLORS


def test_unknown_method_gets_a_fallback_color(results):
    runs = results["tables"]["runs"]
    fake = runs[runs["method"] == "blocked"].copy()
    fake["method"] = "fake_method"
    fake["time_median_s"] *= 1.7
    tables = _derived(pd.concat([runs, fake]))
    for name in figures.FIGURES:
        fig = figures.draw(name, tables)
        _check_labelled(fig)
    fig = figures.draw("time_vs_n", tables)
    assert "fake_method" in _legend_texts(fig)
    colors = {matplotlib.colors.to_hex(line.get_color()) for ax in fig.axes for line in ax.lines}
    assert figures.method_color("fake_method") in colors


def test_one_backend_and_one_host_are_explained(results):
    for name, words in (("backends", "Only one backend"), ("hosts", "Only one host")):
        fig = figures.draw(name, results["tables"])
        text = " ".join(t.get_text() for ax in fig.axes for t in ax.texts).replace("\n", " ")
        assert words in text
        assert not _plot_axes(fig)


def _slower(runs: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The same rows with every time (median, interval, each process's median) scaled by ``factor``."""
    out = runs.copy()
    for col in ("time_median_s", "time_ci_low_s", "time_ci_high_s"):
        out[col] = out[col] * factor
    out["time_process_medians_s"] = [json.dumps([v * factor for v in json.loads(m)]) if isinstance(m, str)
                                     else m for m in out["time_process_medians_s"]]
    return out


def test_two_backends_and_two_hosts_are_compared(results):
    # Drawing-path check: the real rows relabelled as a second backend and a second host.
    runs = results["tables"]["runs"]
    other_backend = _slower(runs, 1.3).assign(backend="otherblas")
    other_host = _slower(runs, 0.8).assign(host_id="otherhost-00000000", cpu_model="Other CPU")
    tables = _derived(pd.concat([runs, other_backend, other_host]))
    fig = figures.draw("backends", tables)
    _check_labelled(fig)
    assert {"wheel", "otherblas"} <= set(_legend_texts(fig))
    assert sum(len(ax.patches) for ax in fig.axes) >= 2 * len(METHODS) * len(DTYPES) * len(THREADS)
    fig = figures.draw("hosts", tables)
    _check_labelled(fig)
    ratios = np.concatenate([line.get_ydata() for ax in _plot_axes(fig) for line in ax.lines
                             if len(line.get_ydata()) and line.get_linestyle() != "None"])
    assert np.any(np.isclose(ratios, 0.8))
    assert "Other CPU" in fig.get_supxlabel() and results["host"] in fig.get_supxlabel()


def test_noisy_rows_are_drawn_hollow_and_named_in_legend(results):
    runs = results["tables"]["runs"].copy()
    runs["noisy"] = runs["status"] == "ok"
    fig = figures.draw("time_vs_n", _derived(runs))
    assert any("noisy" in t for t in _legend_texts(fig))
    hollow = [ln for ax in fig.axes for ln in ax.lines
              if ln.get_marker() not in ("None", "") and ln.get_markerfacecolor() in ("white", "w")]
    assert hollow and sum(len(ln.get_xdata()) for ln in hollow) > 0


def test_no_ok_rows_draws_an_explanation(results):
    runs = results["tables"]["runs"].assign(status="error", reason="crashed: test")
    tables = _derived(runs)
    for name in DISTANCE_FIGURES:
        fig = figures.draw(name, tables)
        text = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
        assert "status ok" in text.replace("\n", " ")


def test_missing_calibration_and_single_thread_count(results):
    runs = results["tables"]["runs"]
    one = runs[runs["threads"] == 1].assign(roofline_fraction=np.nan)
    tables = _derived(one)
    for name, words in (("thread_scaling", "thread count"), ("roofline", "calibration")):
        fig = figures.draw(name, tables)
        text = " ".join(t.get_text() for ax in fig.axes for t in ax.texts).replace("\n", " ")
        assert words in text


def test_missing_table_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="runs.csv"):
        tables.load(tmp_path, figures.TABLES, figures.TABLES)
    with pytest.raises(ValueError, match="unknown figure"):
        figures.draw("nope", {})


def test_stability_figure_draws_planted_effects_and_both_aa_checks(tmp_path):
    """``make stability``'s figure from its three files: a PNG with both panels."""
    import json

    import pandas as pd

    from numperf.plotting import stability as figure

    rows = [{"family": "planted", "method": m, "speedup_vs_baseline": s, "speedup_ci_low": s - 0.01,
             "speedup_ci_high": s + 0.01} for m, s in (("same", 1.0), ("planted_3", 1 / 1.03),
                                                       ("planted_5", 1 / 1.05))]
    pd.DataFrame(rows).to_csv(tmp_path / "speedup.csv", index=False)
    pd.DataFrame({"time_ratio_a_over_b": [0.98, 1.02], "ci_low": [0.9, 0.95], "ci_high": [1.05, 1.1]}).to_csv(
        tmp_path / "stability.csv", index=False)
    planted = [{"effect": e, "detected_fraction": 1.0} for e in (0.03, 0.05)]
    summary = {"planted": planted, "drift": {"log_sd_per_run": 0.01}, "host": {"cpu_model": "test"}}
    (tmp_path / "stability.json").write_text(json.dumps(summary))
    out = figure.plot(tmp_path)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000

"""What this host can resolve: the same sweep twice under two labels (an A/A test), compared.

Identical work should come out "equivalent" or "inconclusive"; the share of "faster" verdicts
is this host's false-difference rate, and the interval half-widths are the smallest effects
it can tell apart, per case and for the geometric mean over cases.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from numperf import compare, config, metadata, record

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "workflow" / "Snakefile"


def run_sweep(config_path: Path, workdir: Path, host_id: str, cores: str = "all") -> None:
    """One real Snakemake run of ``config_path`` in ``workdir`` with results labelled ``host_id``."""
    argv = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir),
            "--configfile", str(config_path), "--config", f"host_id={host_id}", "--cores", cores,
            "--quiet", "rules"]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the sweep for {host_id} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def stability(config_path: str | Path, workdir: str | Path, label: str | None = None,
              cores: str = "all", fresh: bool = True) -> tuple[pd.DataFrame, dict]:
    """Run the A/A test; return the per-case comparison and a summary per backend."""
    config_path, workdir = Path(config_path).resolve(), Path(workdir).resolve()
    cfg = config.load(config_path)
    label = label or metadata.host_id()
    hosts = [f"{label}-aa1", f"{label}-aa2"]
    workdir.mkdir(parents=True, exist_ok=True)
    for host in hosts:
        if fresh:
            shutil.rmtree(workdir / "results" / host, ignore_errors=True)
    for host in hosts:
        run_sweep(config_path, workdir, host, cores)
    tables, summaries = [], []
    for backend in cfg["backends"]:
        a, b = ({"backend": backend, "host_id": h} for h in hosts)
        try:
            table, summary = compare.compare(workdir / "results", a, b, min_effect=cfg["min_effect"])
        except ValueError as exc:  # a backend unavailable here has no ok rows on either side
            summaries.append({"backend": backend, "shared_cases": 0, "note": str(exc)})
            continue
        tables.append(table.assign(backend=backend))
        summaries.append({"backend": backend, **summary})
    empty = pd.DataFrame(columns=compare.CASE + compare.RESULT_COLUMNS)
    table = pd.concat(tables, ignore_index=True) if tables else empty
    with record.atomic_write(workdir / "stability.csv") as fh:
        table.to_csv(fh, index=False)
    summary = {"config": str(config_path), "hosts": hosts, "processes": cfg["processes"],
               "min_effect": cfg["min_effect"], "backends": summaries}
    record.write_json(workdir / "stability.json", summary)
    return table, summary


def summary_text(summary: dict) -> str:
    """The A/A result in a few plain lines, with the direction of the ratio stated."""
    effect = f"{100 * summary['min_effect']:g}%"
    lines = [f"A/A test: A is {summary['hosts'][0]}, B is {summary['hosts'][1]} (the same sweep twice), "
             f"{summary['processes']} processes per case, min_effect {effect}"]
    for s in summary["backends"]:
        if not s.get("shared_cases"):
            note = f" ({s['note']})" if s.get("note") else ""
            lines.append(f"  {s['backend']}: no shared ok cases{note}")
            continue
        v = s["verdicts"]
        geo = compare.format_ratio(s["geomean_ratio_a_over_b"], *s["geomean_ci"])
        lines.append(
            f"  {s['backend']}: {s['shared_cases']} cases; false differences ('faster' verdicts) "
            f"{s['faster_fraction']:.0%}; equivalent {v['equivalent']}, inconclusive {v['inconclusive']}\n"
            f"    geometric mean ratio {geo} ({s['confidence']:.0%} interval): {s['geomean_verdict']}\n"
            f"    smallest resolvable effect: {s['median_resolvable_effect']:.1%} for one case (median), "
            f"{s['geomean_resolvable_effect']:.1%} for the geometric mean")
    lines.append("ratio = time A / time B: below 1 means A is faster; identical work should give "
                 "'equivalent' or 'inconclusive'.")
    return "\n".join(lines)

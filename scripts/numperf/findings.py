"""The key findings of a run, written from its tables for the first page of the report.

``numperf findings`` reads the tables and writes reStructuredText that the Snakemake report shows
first (``workflow/report/workflow.rst`` includes it): how the cases ended, then each family's own
findings (its module's ``findings(tables)``, for the families in these results), and for every
family whose speedups had to divide by another method than its declared baseline, which one.
Every number and name comes from the tables.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from numperf import family, record, tables

#: The tables the findings read.
TABLES = ("runs", "speedup", "scaling", "memory", "dtype")


def _lit(name) -> str:
    """An RST inline literal (method, backend and host names contain underscores)."""
    return f"``{name}``"


def case_counts(runs: pd.DataFrame) -> list[str]:
    """How many cases ended how, in all and per family."""
    ok = tables.ok_rows(runs)
    counts = runs["status"].value_counts()
    noisy = int(ok["noisy"].sum()) if "noisy" in ok else 0
    out = ["Cases", "-----", "",
           f"{len(runs)} cases: " + ", ".join(f"{counts[s]} {s}" for s in counts.index)
           + f"; {noisy} of the ok ones flagged noisy (see failures.csv and each row's reason).", ""]
    if runs["family"].nunique() > 1:
        for fam, rows in runs.groupby("family", sort=True):
            c = rows["status"].value_counts()
            out.append(f"* {_lit(fam)}: {len(rows)} cases, " + ", ".join(f"{c[s]} {s}" for s in c.index))
        out.append("")
    return out


def baseline_notes(speed: pd.DataFrame) -> list[str]:
    """One line per family whose speedups divide by a method other than its declared baseline."""
    if speed.empty or "baseline_method" not in speed:
        return []
    out = []
    for fam_name, rows in speed.groupby("family", sort=True):
        fam = family.registry().get(str(fam_name))
        used = sorted(set(rows["baseline_method"].astype(str)))
        if fam is not None and fam.baseline and used != [fam.baseline]:
            out.append(f"* {_lit(fam_name)}: speedups are against {', '.join(map(_lit, used))}, not the "
                       f"family's baseline {_lit(fam.baseline)} (the config chose it, or did not run "
                       f"{_lit(fam.baseline)}: then the first configured method serves).")
    return out + [""] if out else []


def to_rst(data: dict[str, pd.DataFrame]) -> str:
    """The findings as reStructuredText (sections underlined '=' and '-')."""
    runs = data["runs"]
    hosts = sorted(runs["host_id"].astype(str).unique()) if "host_id" in runs else []
    out = ["Key findings", "============", "",
           f"Written by ``numperf findings`` from this run's tables for host{'s' if len(hosts) > 1 else ''} "
           f"{', '.join(map(_lit, hosts)) or 'none'}.", ""]
    if tables.ok_rows(runs).empty:
        return "\n".join(out + ["No case has status ok yet, so nothing was found: see failures.csv.", ""])
    out += case_counts(runs) + baseline_notes(data.get("speedup", pd.DataFrame()))
    present = sorted(set(runs["family"].astype(str)) & set(family.registry()))
    for name in present:
        fn = getattr(family.module(name), "findings", None)
        out += fn({k: v for k, v in data.items()}) if fn else []
    return "\n".join(out + [""])


def load(tables_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The tables the findings read (runs.csv required)."""
    return tables.load(tables_dir, TABLES)


def write(tables_dir: str | Path, out_rst: str | Path) -> str:
    """Write the findings of the tables in ``tables_dir`` as RST, atomically; return the text."""
    text = to_rst(load(tables_dir))
    with record.atomic_write(out_rst) as fh:
        fh.write(text)
    return text




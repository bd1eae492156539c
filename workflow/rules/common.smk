# Config validation and the case list: everything else reads from here.
import os
import re
import shlex
from pathlib import Path

import sys

from numperf import aggregate, compare, config as npconfig, family, metadata, plotting, progress

# Where the config came from, for error messages (the Snakefile reads config/config.yaml only
# when no --configfile is given).
CONFIG_SOURCE = " + ".join(
    ([os.path.relpath(p) for p in workflow.overwrite_configfiles] or ["config/config.yaml"])
    + (["--config"] if workflow.config_settings.config else [])
)
try:
    config.update(npconfig.load(config, source=f"config ({CONFIG_SOURCE})"))
except npconfig.ConfigError as exc:
    raise WorkflowError(str(exc)) from None

HOST = config["host_id"] or metadata.host_id()
# Jobs call the `numperf` installed beside the interpreter that runs Snakemake.
shell.prefix(f"set -euo pipefail; export PATH={shlex.quote(os.path.dirname(sys.executable))}:\"$PATH\"; ")
# Rebuild tables, figures and report from the records on disk only (never run a case).
STORED_ONLY = config["stored_only"]

CASES = npconfig.expand_cases(config, HOST)
# A hash of the package's sources, a param of the measuring rules: Snakemake reruns a batch or a
# calibration when the code changed (params are a rerun trigger), and the batch then measures
# again every case whose record older code wrote.
CODE_DIGEST = metadata.package_digest()


def alternatives(values):
    """A wildcard regex matching exactly these values (never anything else)."""
    return "|".join(re.escape(str(v)) for v in values) or "(?!)"


# Cases are measured in batches, one job per (backend, family, thread count) and process round;
# every case's process k runs in round k, so drift over the sweep shows between its processes.
BATCHES = npconfig.batches(CASES)
ROUNDS = range(config["processes"])
ALL_THREADS = sorted({c.spec.threads for c in CASES.values()})
RECORD_ROOT = f"results/{HOST}"
# The console line of the measuring jobs: cases done of all planned measurements, time left.
PROGRESS_LEDGER = f"{RECORD_ROOT}/progress.json"
PLANNED_MEASUREMENTS = sum(len(c.process_paths) for c in CASES.values())
TABLES = aggregate.TABLES
ALL_TABLES = expand("results/tables/{table}.csv", table=TABLES) + ["results/tables/runs.parquet"]
# Figures of the configured families only (and the cross-family ones).
FIGURES = plotting.for_families(config["families"])
ALL_FIGURES = expand("results/figures/{figure}.png", figure=FIGURES)
# Families that declare a calibration (their floor's rates), with the thread counts they run.
CALIBRATED = {
    name: sorted({c.spec.threads for c in CASES.values() if c.spec.family == name})
    for name in config["families"]
    if family.get(name).calibrate is not None
}


def batch_cases(wildcards):
    """The cases of the batch named by the wildcards."""
    return BATCHES[(wildcards.backend, wildcards.batch)]


def round_cases(wildcards):
    return npconfig.in_round(batch_cases(wildcards), int(wildcards.process))


def batch_runtime_min(cases):
    """Minutes to ask a scheduler for: every case's pessimistic estimate, plus process start-up."""
    return max(2, int(sum(c.runtime_s + 2 for c in cases) / 60) + 1)


def batch_manifests():
    """Every (batch, round) job's manifest of this config (rounds without a case are not jobs)."""
    if STORED_ONLY:
        return []
    return [f"{RECORD_ROOT}/{backend}/batches/{batch}_p{k}.json" for (backend, batch), cases in BATCHES.items()
            for k in ROUNDS if npconfig.in_round(cases, k)]


def case_lists():
    """Every batch's case list (what ``numperf replicate`` reads)."""
    return [f"{RECORD_ROOT}/{backend}/cases/{batch}.json" for backend, batch in BATCHES]


def replication():
    """The replication summary this run writes (none when rebuilding from stored records)."""
    return [] if STORED_ONLY or not CASES else [f"{RECORD_ROOT}/replication.json"]


def local_records():
    return [] if STORED_ONLY else [p for c in CASES.values() for p in c.process_paths]


def local_calibrations():
    if STORED_ONLY:
        return []
    return [f"{RECORD_ROOT}/{b}/calibration/{name}/t{t}.json" for b in config["backends"]
            for name, threads in CALIBRATED.items() for t in threads]


def copied_records(wildcards):
    """Records already on disk (other hosts' folders, or every record when STORED_ONLY)."""
    found = [str(p) for p in aggregate.record_paths(Path("results"))]
    if not STORED_ONLY:  # this run's own cases: the batches and replication write their records
        own = {os.path.dirname(c.path) for c in CASES.values()}
        found = [p for p in found if os.path.dirname(p) not in own]
    found += [str(p) for p in aggregate.calibration_paths(Path("results"))]
    return sorted(set(found) - set(local_records()) - set(local_calibrations()))


wildcard_constraints:
    backend=alternatives(config["backends"]),
    threads=alternatives(ALL_THREADS),
    batch=alternatives({batch for _, batch in BATCHES}),
    process=r"\d+",
    figure=alternatives(FIGURES),
    family=alternatives(CALIBRATED),


def comparisons():
    """Configured comparisons by label, as shell-quoted `numperf compare` arguments."""
    out = {}
    for comp in config["comparisons"]:
        a, b = comp["a"], comp["b"]
        args = ["--a-backend", a["backend"], "--b-backend", b["backend"]]
        args += ["--a-host", a["host_id"]] if a.get("host_id") else []
        args += ["--b-host", b["host_id"]] if b.get("host_id") else []
        out[f"{compare.label(a)}_vs_{compare.label(b)}"] = shlex.join(args)
    return out


COMPARISONS = comparisons()
ALL_COMPARISONS = expand("results/tables/compare/{comparison}.csv", comparison=list(COMPARISONS))

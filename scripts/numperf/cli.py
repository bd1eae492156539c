"""Command line: ``numperf <command> ...`` (also ``python -m numperf``).

Every command is a thin layer over a package function; ``numperf <command> --help``
documents each. Run options take their defaults, types and bounds from the config schema
(``numperf.options``), so the CLI and a config accept the same values; families add their own
commands (``numperf.family.Command``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from numperf.options import add_option, describe, option_property, schema_type


def _add_host_id(p) -> None:
    p.add_argument("--host-id", help="label results with this host id instead of the detected one "
                   "(letters, digits, '.', '_', '-'; also NUMPERF_HOST_ID)")


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _declared_values(pairs, declared, what: str) -> dict:
    """NAME=VALUE pairs as the declared type of each parameter or option (its bounds and choices are
    checked by CaseSpec, in the family's own words)."""
    types = {p.name: schema_type(p.schema(), parse_only=True) for p in declared}
    out = {}
    for name, value in pairs or []:
        if name not in types:
            raise ValueError(f"{what} {name!r} is not declared; allowed: {', '.join(types) or '(none)'}")
        try:
            out[name] = types[name](value)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{what} {name}: {exc}") from None
    return out


def _add_run_case(sub) -> None:
    from numperf import family

    fams = family.registry()
    p = sub.add_parser("run-case", help="measure one case in a fresh child process and write its record",
                       description="Measure one case of a family in a fresh child process; write its JSON "
                       "record atomically (always, also for skipped or failed cases) and print a summary. "
                       "`numperf families` lists the families, their parameters, dtypes and methods. "
                       "Defaults and bounds are the config schema's (workflow/schemas/config.schema.yaml).")
    only = next(iter(fams)) if len(fams) == 1 else None
    p.add_argument("--family", default=only, help=f"experiment family, one of {', '.join(fams)} "
                   + (f"(default: {only}, the only one)" if only else "(required)"))
    p.add_argument("--method", required=True, help="method of the family")
    p.add_argument("--param", type=_assignment, action="append", metavar="NAME=VALUE",
                   help="a parameter of the family (repeat; missing ones take their defaults)")
    p.add_argument("--option", type=_assignment, action="append", metavar="NAME=VALUE",
                   help="a tuning option of the method (repeat)")
    p.add_argument("--dtype", help="dtype of the data (default: the family's first declared dtype: "
                   + ", ".join(f"{f.name} {f.dtypes[0]}" for f in fams.values()) + ")")
    add_option(p, "threads", "BLAS threads")
    p.add_argument("--backend", default=option_property("backend")["default"],
                   help="BLAS backend label (see `numperf backends`; default %(default)s)")
    add_option(p, "repeats", "timed samples per process")
    add_option(p, "processes", "independent processes that measure this case (this run is one of them)")
    add_option(p, "process", "index of this process, below --processes")
    add_option(p, "min_sample_time_s", "a sample repeats the kernel until it lasts this long (0: one call "
                "per sample)")
    add_option(p, "loops", "calls per sample", default_text="calibrated from --min-sample-time-s")
    add_option(p, "timed_s_per_process", "take samples beyond --repeats until they add up to this long")
    add_option(p, "warmup", "untimed warm-up calls")
    add_option(p, "seed", "seed of the input data")
    add_option(p, "time_limit_s", "kill the case after this many seconds")
    add_option(p, "mem_budget_mb", "skip if the modelled peak exceeds it; also caps the child's memory "
                "(0: none)")
    add_option(p, "mem_limit_mb", "cap the kernel's memory in the child at this (0: the budget)")
    p.add_argument("--skip-reason", help="write a skipped record with this reason instead of running")
    add_option(p, "allocated_cpus", "CPUs the scheduler gave this job; fewer than --threads refuses to run")
    _add_host_id(p)
    p.add_argument("--out", help="record path (default: print the record JSON to stdout)")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(func=_cmd_run_case)


def _cmd_run_case(args) -> int:
    from numperf import family, record, report_text, runner

    if args.family is None:
        print(f"numperf run-case: error: --family is required; allowed: {', '.join(family.registry())}",
              file=sys.stderr)
        return 2
    try:
        fam = family.get(args.family)
        meth = fam.method(args.method)
        spec = runner.CaseSpec(family=args.family, method=args.method,
                               params=_declared_values(args.param, fam.params, "parameter"),
                               options=_declared_values(args.option, meth.options, "option"),
                               dtype=args.dtype or fam.dtypes[0], threads=args.threads, backend=args.backend,
                               repeats=args.repeats, warmup=args.warmup, seed=args.seed,
                               processes=args.processes, min_sample_time_s=args.min_sample_time_s,
                               loops=args.loops, timed_s_per_process=args.timed_s_per_process,
                               time_limit_s=args.time_limit_s,
                               mem_budget_bytes=int(args.mem_budget_mb * 1e6),
                               mem_limit_bytes=int(args.mem_limit_mb * 1e6))
    except ValueError as exc:
        print(f"numperf run-case: error: {exc}", file=sys.stderr)
        return 2
    if args.process >= args.processes:
        print(f"numperf run-case: error: --process {args.process} is out of range; allowed: "
              f"0..{args.processes - 1} (--processes {args.processes})", file=sys.stderr)
        return 2
    rec = runner.run_case(spec, skip_reason=args.skip_reason, allocated_cpus=args.allocated_cpus,
                          process_index=args.process)
    if args.out:
        try:
            runner.write_record(rec, args.out)
        except record.RecordError as exc:
            print(f"numperf run-case: error: {exc}", file=sys.stderr)
            return 1
    else:
        json.dump(rec, sys.stdout, indent=1, default=float)
        print()
    if not args.quiet:
        print(report_text.case_summary(rec), file=sys.stderr)
    return 0


def _add_run_batch(sub) -> None:
    p = sub.add_parser("run-batch",
                       help="measure one process of every case in a case list (one workflow job)",
                       description="Measure process --process of every case in a case list written by the "
                       "workflow, each in its own fresh child; write each record atomically, then a "
                       "manifest.")
    p.add_argument("--cases", required=True, help="case list (results/<host>/<backend>/cases/<batch>.json)")
    add_option(p, "process", "round: process index of every case", required=True)
    add_option(p, "allocated_cpus", "CPUs the scheduler gave this job; a case needing more is recorded "
                "invalid")
    _add_host_id(p)
    p.add_argument("--out", required=True, help="manifest path")
    p.add_argument("--progress", help="the sweep's progress ledger (a line per unit on stdout)")
    p.add_argument("--total", type=int, default=0,
                   help="case measurements of the whole sweep (0: the total the ledger was started with)")
    p.set_defaults(func=_cmd_run_batch)


def _cmd_run_batch(args) -> int:
    from numperf import config, progress, runner

    line = progress.Progress(args.progress, args.total) if args.progress else None
    manifest = runner.run_batch(config.read_case_file(args.cases), args.process, args.out,
                                allocated_cpus=args.allocated_cpus, host_id=args.host_id, progress=line)
    counts: dict[str, int] = {}
    for row in manifest["cases"]:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    reused = sum(r["reused"] for r in manifest["cases"])
    print(f"{args.cases} process {args.process}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
          + (f" ({reused} reused)" if reused else ""), file=sys.stderr)
    return 0


def _add_replicate(sub) -> None:
    p = sub.add_parser("replicate", help="adaptive replication: more processes where intervals are wide",
                       description="After a sweep's planned processes: give units whose interval is wider "
                       "than --target-resolution and whose verdict is open one more process each, "
                       "cheapest first, until resolved, --max-processes (in the case lists) or "
                       "--replication-budget-s; write the summary.")
    p.add_argument("--cases", required=True, nargs="+", help="the sweep's case lists")
    add_option(p, "target_resolution", "relative half-width that needs no more processes")
    add_option(p, "replication_budget_s", "wall seconds to spend")
    add_option(p, "min_effect", "smallest difference worth a verdict")
    add_option(p, "allocated_cpus", "CPUs the scheduler gave this job")
    _add_host_id(p)
    p.add_argument("--out", required=True, help="summary path (results/<host>/replication.json)")
    p.set_defaults(func=_cmd_replicate)


def _cmd_replicate(args) -> int:
    from numperf import replicate

    if args.host_id:
        os.environ["NUMPERF_HOST_ID"] = args.host_id
    summary = replicate.replicate(args.cases, args.out, args.target_resolution, args.replication_budget_s,
                                  args.min_effect, args.allocated_cpus)
    stops = ", ".join(f"{v} {k}" for k, v in summary["stops"].items() if v)
    print(f"replicate: {summary['extra_processes']} more process(es) in {summary['spent_s']:.0f} s; "
          f"cases {stops}", file=sys.stderr)
    return 0


def _add_families(sub) -> None:
    p = sub.add_parser("families", aliases=["methods"],
                       help="list every family: its parameters, dtypes, methods and their availability",
                       description="Every experiment family with its parameters (--param of run-case), "
                       "dtypes (the first is run-case's default), baseline and methods (--method), each "
                       "method's tuning options (--option) and whether it can run here.")
    p.add_argument("--family", help="only this family")
    p.set_defaults(func=_cmd_families)


def _declared_text(p) -> str:
    """One declared parameter or option: ``n: rows of x (a whole number >= 1; default 1000)``."""
    return f"{p.name}: {p.description} ({describe(p.schema())}; default {p.default})"


def _family_text(fam) -> str:
    """A family as ``numperf families`` prints it."""
    lines = [f"{fam.name}: {fam.description}", "  parameters (--param NAME=VALUE):"]
    lines += [f"    {_declared_text(p)}" for p in fam.params]
    lines.append(f"  dtypes (--dtype): {', '.join(fam.dtypes)} (default {fam.dtypes[0]})")
    if fam.baseline:
        lines.append(f"  baseline (speedup.csv divides by it): {fam.baseline}")
    lines.append("  methods (--method):")
    for m in fam.methods.values():
        notes = [] if m.available() else [f"needs {m.requires}: not installed"]
        if m.name in fam.optional_methods:
            notes.append("optional: run only when a config names it")
        lines.append(f"    {m.name:<22} {m.description}" + "".join(f"  [{n}]" for n in notes))
        lines += [f"{'':27}--option {_declared_text(o)}" for o in m.options]
    return "\n".join(lines)


def _cmd_families(args) -> int:
    from numperf import family

    try:
        fams = [family.get(args.family)] if args.family else list(family.registry().values())
    except ValueError as exc:
        print(f"numperf families: error: --family: {exc}", file=sys.stderr)
        return 2
    print("\n\n".join(_family_text(f) for f in fams))
    return 0


def _add_calibrate(sub) -> None:
    p = sub.add_parser("calibrate", help="measure the rates a family's floor needs (e.g. GEMM, bandwidth)",
                       description="Measure this machine's rates for a family that declares a calibration "
                       "(its floor's inputs) in a child on the given backend and thread count; write them "
                       "as JSON.")
    p.add_argument("--family", required=True, help="a family that declares a calibration")
    p.add_argument("--backend", default=option_property("backend")["default"],
                   help="BLAS backend label (see `numperf backends`; default %(default)s)")
    add_option(p, "threads", "BLAS threads")
    add_option(p, "allocated_cpus", "CPUs the scheduler gave this job; fewer than --threads is refused")
    _add_host_id(p)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_calibrate)


def _cmd_calibrate(args) -> int:
    from numperf import backends, family, runner

    if args.allocated_cpus is not None and args.allocated_cpus < args.threads:
        print(f"numperf calibrate: error: the job was given {args.allocated_cpus} CPU(s), "
              f"calibration needs {args.threads}", file=sys.stderr)
        return 2
    for option, check in (("--backend", lambda: backends.get(args.backend)),
                          ("--family", lambda: family.get(args.family))):
        try:
            check()
        except ValueError as exc:
            print(f"numperf calibrate: error: {option}: {exc}", file=sys.stderr)
            return 2
    fam = family.get(args.family)
    if fam.calibrate is None:
        known = [f.name for f in family.registry().values() if f.calibrate is not None]
        print(f"numperf calibrate: error: --family {fam.name} declares no calibration; allowed: "
              f"{', '.join(known) or '(none)'}", file=sys.stderr)
        return 2
    cal = runner.run_calibration(fam.name, args.backend, args.threads, args.out)
    if cal["status"] == "ok":
        rates = ", ".join(f"{k} {cal[k]:.4g}" for k in fam.rates)
        print(f"{fam.name} {args.backend} t{args.threads}: {rates}", file=sys.stderr)
    else:
        print(f"{fam.name} {args.backend} t{args.threads}: skipped ({cal['reason']})", file=sys.stderr)
    return 0


def _add_probe(sub) -> None:
    p = sub.add_parser("probe", help="describe this host and which BLAS backends are available here")
    p.add_argument("--out", help="write JSON here (default: print a table)")
    _add_host_id(p)
    p.set_defaults(func=_cmd_probe)


def _cmd_probe(args) -> int:
    from numperf import backends, metadata, record

    probe = {"schema": "numperf.host/1", "host": metadata.host_info(), "env": metadata.blas_env(),
             "backends": backends.probe_all()}
    if args.out:
        record.write_json(args.out, probe)
    for b in probe["backends"]:
        state = "available" if b["available"] else f"unavailable: {b['reason']}"
        print(f"{b['label']:<14} {state}", file=sys.stderr if args.out else sys.stdout)
    return 0


def _add_validate_config(sub) -> None:
    p = sub.add_parser("validate-config", help="check a sweep config and print how many cases it has")
    p.add_argument("config", help="YAML file, e.g. config/config.yaml")
    p.set_defaults(func=_cmd_validate_config)


def _cmd_validate_config(args) -> int:
    from numperf import config, metadata

    try:
        cfg = config.load(args.config)
    except config.ConfigError as exc:
        print(f"numperf: {exc}", file=sys.stderr)
        return 2
    cases = config.expand_cases(cfg, metadata.host_id())
    skipped = sum(1 for c in cases.values() if c.skip_reason)
    print(f"{args.config}: valid; {len(cases)} cases ({skipped} excluded), "
          f"memory budget {config.memory_budget_bytes(cfg) / 1e6:.0f} MB per case")
    return 0


def _add_aggregate(sub) -> None:
    p = sub.add_parser("aggregate", help="read every record under a results folder into tables",
                       description="Validate every record under RESULTS/<host>/<backend>/records and "
                       "write runs.csv/.parquet and the summary tables. A corrupt or foreign file "
                       "fails the run with its path, unless --quarantine moves it aside.")
    p.add_argument("--results", default="results")
    p.add_argument("--out", default="results/tables")
    p.add_argument("--baseline", type=_assignment, action="append", metavar="FAMILY=METHOD",
                   help="method that speedup.csv divides by for a family (repeat; default: the "
                   "family's declared baseline)")
    add_option(p, "min_effect", "smallest relative difference worth a verdict")
    p.add_argument("--quarantine", action="store_true",
                   help="move invalid files to RESULTS/quarantine/ and list them instead of failing")
    p.set_defaults(func=_cmd_aggregate)


def _cmd_aggregate(args) -> int:
    from numperf import aggregate

    try:
        tables = aggregate.aggregate(args.results, args.out, quarantine=args.quarantine,
                                     baselines=dict(args.baseline or []), min_effect=args.min_effect)
    except aggregate.AggregationError as exc:
        print(f"numperf aggregate: error: {exc}", file=sys.stderr)
        return 1
    runs = tables["runs"]
    counts = runs["status"].value_counts().to_dict()
    print(f"{len(runs)} cases from {runs['host_id'].nunique()} host(s): "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
          + f"; {int(runs['noisy'].sum())} flagged noisy; {len(tables['quarantine'])} quarantined",
          file=sys.stderr)
    return 0


def _add_findings(sub) -> None:
    p = sub.add_parser("findings", help="write the run's key findings (RST) for the report's first page",
                       description="From runs.csv and speedup.csv: the fastest method per size and dtype "
                       "with its speedup over the seed's trick and the memory it saves, what the BLAS "
                       "backends changed, and how the cases ended.")
    p.add_argument("--tables", default="results/tables")
    p.add_argument("--out", help="RST path (default: print)")
    p.set_defaults(func=_cmd_findings)


def _cmd_findings(args) -> int:
    from numperf import findings

    try:
        if args.out:
            findings.write(args.tables, args.out)
        else:
            print(findings.to_rst(findings.load(args.tables)))
    except FileNotFoundError as exc:
        print(f"numperf findings: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _add_claims(sub) -> None:
    p = sub.add_parser("claims", help="decide the seeds' performance claims from the tables (CSV + RST)",
                       description="Decide every registered claim (numperf.claims) per host and backend "
                       "from runs.csv, speedup.csv, scaling.csv, memory.csv and dtype.csv: holds, fails, "
                       "inconclusive or not measured, with the deciding number and its interval.")
    p.add_argument("--tables", default="results/tables")
    p.add_argument("--out", default="results/tables/claims.csv", help="CSV path")
    p.add_argument("--rst", help="also write the report's claims page (RST) here")
    add_option(p, "min_effect", "smallest relative difference worth a verdict, for ratios not in the "
                "tables")
    p.set_defaults(func=_cmd_claims)


def _cmd_claims(args) -> int:
    from numperf import claims

    try:
        df = claims.write(args.tables, args.out, args.rst, min_effect=args.min_effect)
    except FileNotFoundError as exc:
        print(f"numperf claims: error: {exc}", file=sys.stderr)
        return 1
    print(claims.summary(df), file=sys.stderr)
    return 0


def _add_unlock_stale(sub) -> None:
    p = sub.add_parser("unlock-stale", help="remove Snakemake's lock if no Snakemake runs in this directory",
                       description="After a hard kill, Snakemake's lock stays behind and the next run "
                       "refuses to start. If no Snakemake process is alive with this working directory, "
                       "the lock is stale: say so and remove it. A live run keeps its lock.")
    p.add_argument("--directory", default=".", help="the workflow's working directory")
    p.set_defaults(func=_cmd_unlock_stale)


def _cmd_unlock_stale(args) -> int:
    from numperf import locks

    return locks.main(args.directory)


def _add_figure(sub) -> None:
    p = sub.add_parser("figure", help="draw one report figure from the tables")
    p.add_argument("name", help="figure name (see numperf.plotting.FIGURES)")
    p.add_argument("--tables", default="results/tables")
    p.add_argument("--png", required=True)
    p.add_argument("--svg")
    p.set_defaults(func=_cmd_figure)


def _cmd_figure(args) -> int:
    from numperf import plotting

    if args.name not in plotting.FIGURES:
        print(f"numperf figure: error: unknown figure {args.name!r}; known: {', '.join(plotting.FIGURES)}",
              file=sys.stderr)
        return 2
    plotting.render(args.name, args.tables, args.png, args.svg)
    return 0


def _add_backends(sub) -> None:
    p = sub.add_parser("backends", help="list the BLAS backends and whether each is available here")
    p.set_defaults(func=_cmd_probe, out=None)


def _add_compare(sub) -> None:
    from numperf import stats

    p = sub.add_parser("compare", help="compare two (host, backend) selections over their shared cases",
                       description=f"Per shared case: the time ratio A/B (time A / time B: below 1 means A "
                       f"is faster) with a {stats.CONFIDENCE:.0%} interval from the spread between each "
                       "side's processes; 'A faster'/'B faster' only where the interval excludes 1 and the "
                       "difference exceeds --min-effect, 'equivalent' where the interval lies within it, "
                       "else 'inconclusive'; then a geometric-mean summary. Prints a table and the summary "
                       "in sentences.")
    p.add_argument("--results", default="results", help="results folder (default %(default)s)")
    p.add_argument("--a-backend", required=True, help="backend of selection A")
    p.add_argument("--a-host", help="host id of A (optional if only one host has that backend)")
    p.add_argument("--b-backend", required=True, help="backend of selection B")
    p.add_argument("--b-host", help="host id of B (optional if only one host has that backend)")
    add_option(p, "min_effect", "smallest relative difference worth a verdict")
    p.add_argument("--out", help="also write the per-case ratios as CSV here")
    p.add_argument("--summary", help="also write the summary as JSON here")
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args) -> int:
    from numperf import compare, record

    a = {"backend": args.a_backend, "host_id": args.a_host}
    b = {"backend": args.b_backend, "host_id": args.b_host}
    try:
        table, summary = compare.compare(args.results, a, b, min_effect=args.min_effect)
    except (ValueError, record.RecordError) as exc:
        print(f"numperf compare: error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        with record.atomic_write(args.out) as fh:
            table.to_csv(fh, index=False)
    if args.summary:
        record.write_json(args.summary, summary)
    if len(table):
        print(compare.table_text(table) + "\n")
    print(compare.summary_text(summary))
    return 0


def _add_stability(sub) -> None:
    p = sub.add_parser("stability", help="A/A test: run a sweep twice under two labels and compare",
                       description="Run CONFIG twice with the real workflow in WORKDIR under two host "
                       "labels, compare the runs case by case and print the false-difference rate and "
                       "the smallest effect this host resolves. Writes WORKDIR/stability.csv and .json.")
    p.add_argument("--config", default="config/stability.yaml")
    p.add_argument("--workdir", default="results/stability")
    p.add_argument("--label", help="prefix of the two host labels (default: this host's id)")
    p.add_argument("--cores", default="all")
    p.add_argument("--keep", action="store_true", help="reuse records of an earlier A/A run in WORKDIR")
    p.set_defaults(func=_cmd_stability)


def _cmd_stability(args) -> int:
    from numperf import config, stability

    try:
        _, summary = stability.stability(args.config, args.workdir, args.label, args.cores,
                                         fresh=not args.keep)
    except config.ConfigError as exc:
        print(f"numperf stability: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"numperf stability: error: {exc}", file=sys.stderr)
        return 1
    print(stability.summary_text(summary))
    return 0


def _add_family_commands(sub) -> None:
    """Every subcommand the families declare (``numperf.family.Command``); the core knows none."""
    from numperf import family

    for cmd in family.declared("commands"):
        if cmd.name in sub.choices:
            raise RuntimeError(f"a family declares command {cmd.name!r}, which numperf already has; "
                               f"taken: {', '.join(sub.choices)}")
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description or cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(func=cmd.run)


def build_parser() -> argparse.ArgumentParser:
    """The ``numperf`` argument parser with all subcommands."""
    parser = argparse.ArgumentParser(prog="numperf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_run_case, _add_run_batch, _add_replicate, _add_families, _add_calibrate, _add_probe,
                _add_backends, _add_validate_config, _add_aggregate, _add_figure, _add_compare,
                _add_stability, _add_findings, _add_claims, _add_unlock_stale):
        add(sub)
    _add_family_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``numperf`` console script."""
    args = build_parser().parse_args(argv)
    given, label = ("--host-id", args.host_id) if getattr(args, "host_id", None) else \
        ("NUMPERF_HOST_ID", os.environ.get("NUMPERF_HOST_ID"))
    if label:
        from numperf import metadata

        if not metadata.HOST_LABEL.match(label) or label in metadata.RESERVED_HOST_IDS:
            print(f"numperf: error: {given} {label!r} is not a valid label (letters, digits, "
                  "'.', '_', '-'; at most 64 characters; not "
                  f"{', '.join(sorted(metadata.RESERVED_HOST_IDS))})", file=sys.stderr)
            return 2
        os.environ["NUMPERF_HOST_ID"] = label  # children inherit it
    return args.func(args)

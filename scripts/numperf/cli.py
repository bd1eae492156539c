"""Command line: ``numperf <command> ...`` (also ``python -m numperf``).

Every command is a thin layer over a package function; ``numperf <command> --help``
documents each.
"""

from __future__ import annotations

import argparse
import json
import sys

from numperf import methods


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _add_run_case(sub) -> None:
    p = sub.add_parser("run-case", help="measure one case in a fresh child process and write its record",
                       description="Measure one case in a fresh child process; write its JSON record "
                       "atomically (always, also for skipped or failed cases) and print a summary.")
    p.add_argument("--method", required=True, choices=list(methods.METHODS), metavar="METHOD",
                   help=f"distance method: {', '.join(methods.METHODS)}")
    p.add_argument("--n", type=_positive_int, required=True, help="rows of x")
    p.add_argument("--m", type=_positive_int, help="rows of y (default: n)")
    p.add_argument("--d", type=_positive_int, required=True, help="columns (dimensions)")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--threads", type=_positive_int, default=1, help="BLAS threads")
    p.add_argument("--backend", default="wheel", help="BLAS backend label (see `numperf backends`)")
    p.add_argument("--repeats", type=_positive_int, default=5, help="timed repetitions")
    p.add_argument("--warmup", type=_nonneg_int, default=1, help="untimed warm-up calls")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk-rows", type=_positive_int, help="rows per chunk (chunked)")
    p.add_argument("--block-rows", type=_positive_int, help="rows per block (blocked; default: auto)")
    p.add_argument("--accuracy-rows", type=_positive_int, default=32, help="rows sampled for the error check")
    p.add_argument("--time-limit-s", type=float, default=600.0, help="kill the case after this many seconds")
    p.add_argument("--mem-budget-mb", type=float, default=0.0,
                   help="skip if the modelled peak exceeds it; also caps the child's memory (0: none)")
    p.add_argument("--skip-reason", help="write a skipped record with this reason instead of running")
    p.add_argument("--allocated-cpus", type=_positive_int,
                   help="CPUs the scheduler gave this job; fewer than --threads refuses to run")
    p.add_argument("--out", help="record path (default: print the record JSON to stdout)")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(func=_cmd_run_case)


def _cmd_run_case(args) -> int:
    from numperf import report_text, runner

    params = {"chunk_rows": args.chunk_rows, "block_rows": args.block_rows}
    try:
        spec = runner.CaseSpec(method=args.method, n=args.n, m=args.m, d=args.d, dtype=args.dtype,
                               threads=args.threads, backend=args.backend, repeats=args.repeats,
                               warmup=args.warmup, seed=args.seed,
                               params={k: v for k, v in params.items() if v},
                               accuracy_rows=args.accuracy_rows, time_limit_s=args.time_limit_s,
                               mem_budget_bytes=int(args.mem_budget_mb * 1e6))
    except ValueError as exc:
        print(f"numperf run-case: error: {exc}", file=sys.stderr)
        return 2
    rec = runner.run_case(spec, skip_reason=args.skip_reason, allocated_cpus=args.allocated_cpus)
    if args.out:
        runner.write_record(rec, args.out)
    else:
        json.dump(rec, sys.stdout, indent=1, default=float)
        print()
    if not args.quiet:
        print(report_text.case_summary(rec), file=sys.stderr)
    return 0


def _add_memory_model(sub) -> None:
    p = sub.add_parser("memory-model", help="print the registry's memory model (seed table by default)",
                       description="Print predicted memory. Without --n: the seed notebook's table "
                       "(float64, y = x, MB = 10**6 bytes).")
    p.add_argument("--n", type=_positive_int)
    p.add_argument("--m", type=_positive_int)
    p.add_argument("--d", type=_positive_int, default=50)
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.set_defaults(func=_cmd_memory_model)


def _cmd_memory_model(args) -> int:
    from numperf import report_text

    if args.n is None:
        print(report_text.seed_table_text(methods.seed_table()))
        return 0
    m = args.m or args.n
    print(f"{'method':<18} {'input MB':>10} {'interm. MB':>11} {'output MB':>10} {'peak MB':>10}")
    for name in methods.METHODS:
        mm = methods.memory_model(name, args.n, m, args.d, args.dtype)
        print(f"{name:<18} {mm.input_bytes / 1e6:>10.3f} {mm.intermediate_bytes / 1e6:>11.3f} "
              f"{mm.output_bytes / 1e6:>10.3f} {mm.peak_bytes / 1e6:>10.3f}")
    return 0


def _add_methods(sub) -> None:
    p = sub.add_parser("methods", help="list the distance methods and whether they are available")
    p.set_defaults(func=_cmd_methods)


def _cmd_methods(args) -> int:
    for m in methods.METHODS.values():
        state = "" if m.available() else f"  [needs {m.requires}: not installed]"
        print(f"{m.name:<18} {m.description}{state}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``numperf`` argument parser with all subcommands."""
    parser = argparse.ArgumentParser(prog="numperf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_run_case, _add_memory_model, _add_methods):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``numperf`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)

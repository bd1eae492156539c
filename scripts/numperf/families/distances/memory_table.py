"""The seed notebook's memory table, exactly as the notebook defines it, beside what numperf's models
say the same calls hold at their peak, and the ``numperf memory-model`` command that prints it (or
the model of every distance method for any size)."""

from __future__ import annotations

import sys

from numperf.families.distances.methods import METHODS
from numperf.family import Command, MemoryModel


def memory_model(name: str, n: int, m: int, d: int, dtype: str, options: dict | None = None) -> MemoryModel:
    """A distance method's memory prediction for one case."""
    method = METHODS[name]
    params = {"n": n, "m": m, "d": d}
    return method.memory(params, dtype, method.resolve_options(options, params, dtype))


def seed_table(sizes=((100, 10), (500, 20), (1000, 50), (2000, 100))) -> list[dict]:
    """The seed notebook's memory table as it defines it, beside numperf's model of the same calls.

    The notebook (``analyze_memory_usage`` and its timing cell) hard-codes float64 and calls
    ``f(X, X)``: input = N·D·8 (x once; y is the same array), intermediate = N·N·D·8 (the
    difference array), output = N·N·8, peak = input + intermediate + output, amplification =
    intermediate / input, and the trick's peak = input + output. numperf's columns are what
    those same calls hold at their worst moment: the input plus the registry's
    ``kernel_peak_bytes`` (what peak RSS measures) for ``broadcast`` and ``gemm_trick``.
    Byte counts are exact; MB = 10**6 bytes.
    """
    rows = []
    for n, d in sizes:
        input_b, intermediate_b, output_b = n * d * 8, n * n * d * 8, n * n * 8
        rows.append({
            "N": n, "D": d,
            "input_MB": input_b / 1e6,
            "intermediate_MB": intermediate_b / 1e6,
            "output_MB": output_b / 1e6,
            "peak_MB": (input_b + intermediate_b + output_b) / 1e6,
            "amplification": intermediate_b / input_b,
            "trick_peak_MB": (input_b + output_b) / 1e6,
            "numperf_broadcast_peak_MB":
                (input_b + memory_model("broadcast", n, n, d, "float64").kernel_peak_bytes) / 1e6,
            "numperf_trick_peak_MB":
                (input_b + memory_model("gemm_trick", n, n, d, "float64").kernel_peak_bytes) / 1e6,
        })
    return rows


def seed_table_text(rows: list[dict]) -> str:
    """The seed notebook's memory table exactly as it defines it, numperf's model beside it, and why
    they differ (rows from ``seed_table``; MB = 10**6 bytes, 4 decimals so nothing rounds away)."""
    nb = [("N", "N", 6, "d"), ("D", "D", 5, "d"), ("input MB", "input_MB", 10, ".4f"),
          ("intermediate MB", "intermediate_MB", 16, ".4f"), ("output MB", "output_MB", 10, ".4f"),
          ("peak MB", "peak_MB", 11, ".4f"), ("amplification", "amplification", 14, "x"),
          ("trick peak MB", "trick_peak_MB", 14, ".4f")]
    ours = [("broadcast peak MB", "numperf_broadcast_peak_MB", 18, ".4f"),
            ("trick peak MB", "numperf_trick_peak_MB", 14, ".4f")]

    def line(cells, fmt):
        return " ".join(fmt(c) for c in cells)

    def value(r, c):
        text = f"{r[c[1]]:.1f}x" if c[3] == "x" else f"{r[c[1]]:{c[3]}}"
        return f"{text:>{c[2]}}"

    left_w = sum(c[2] + 1 for c in nb) - 1
    right_w = sum(c[2] + 1 for c in ours) - 1
    out = [
        "Seed notebook's memory table (analyze_memory_usage; the trick's peak from its timing cell),",
        "as the notebook defines it: float64, f(X, X) so y is x, input = N·D·8 (x once),",
        "intermediate = N·N·D·8 (the difference array), output = N·N·8, peak = input + intermediate",
        "+ output, amplification = intermediate / input, trick peak = input + output.",
        "Beside it, numperf's model of what the same calls hold at their peak: the input plus",
        "the kernel_peak_bytes of the broadcast and gemm_trick models (what peak RSS measures).",
        "",
        f"{'the seed notebook':-^{left_w}} | {'numperf: what the call holds':-^{right_w}}",
        line(nb, lambda c: f"{c[0]:>{c[2]}}") + " | " + line(ours, lambda c: f"{c[0]:>{c[2]}}"),
    ]
    for r in rows:
        out.append(line(nb, lambda c, r=r: value(r, c)) + " | " + line(ours, lambda c, r=r: value(r, c)))
    out += [
        "",
        "Why they differ:",
        "  * broadcast: (diff * diff) is a second N×N×D array, alive beside diff while .sum() runs, so",
        "    the call holds 2·N·N·D + N·N items: about twice the notebook's peak, which counts diff once.",
        "  * trick: the notebook counts only input + output, but x @ y.T, x2 + y2 and 2·xy are N×N arrays",
        "    alive together (the subtraction reuses a temporary, abs and sqrt make the result), so the",
        "    call holds 3·N·N + 2·N items: about three times the output, still far below broadcast.",
        "  * input: both count x once because the notebook passes the same array twice; numperf's own",
        "    sweep draws a separate y, so its records' input is (N + M)·D·itemsize.",
        "The right-hand columns are what the measurements confirm: memory.csv compares the model with",
        "each case's peak RSS, and tests/families/test_distances.py checks it against tracemalloc.",
    ]
    return "\n".join(out)


def _add_arguments(p) -> None:
    p.add_argument("--n", type=int, help="rows of x (without it: the seed notebook's table)")
    p.add_argument("--m", type=int, help="rows of y (default: n)")
    p.add_argument("--d", type=int, default=50, help="columns of x and y (default 50)")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])


def _run(args) -> int:
    if args.n is None:
        print(seed_table_text(seed_table()))
        return 0
    bad = [f"--{k} {v}" for k, v in (("n", args.n), ("m", args.m), ("d", args.d)) if v is not None and v < 1]
    if bad:
        print(f"numperf memory-model: error: {', '.join(bad)}: allowed: an integer >= 1", file=sys.stderr)
        return 2
    m = args.m or args.n
    print(f"{'method':<18} {'input MB':>10} {'interm. MB':>11} {'output MB':>10} {'peak MB':>10}")
    for name in METHODS:
        mm = memory_model(name, args.n, m, args.d, args.dtype)
        print(f"{name:<18} {mm.input_bytes / 1e6:>10.3f} {mm.intermediate_bytes / 1e6:>11.3f} "
              f"{mm.output_bytes / 1e6:>10.3f} {mm.peak_bytes / 1e6:>10.3f}")
    return 0


COMMAND = Command(
    name="memory-model", help="the distance methods' memory models (the seed notebook's table by default)",
    description="Print predicted memory. Without --n: the seed notebook's table exactly as it defines it "
                "(float64, y = x, MB = 10**6 bytes), beside numperf's model of what the same calls hold at "
                "their peak, and why they differ. With --n: every distance method's model at that size.",
    add_arguments=_add_arguments, run=_run)

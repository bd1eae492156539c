"""Plain-text renderings for the terminal: one case's summary, the seed memory table."""

from __future__ import annotations


def _mb(x) -> str:
    return "n/a" if x is None else f"{x / 1e6:.1f} MB"


def case_summary(rec: dict) -> str:
    """A few readable lines about one record: what ran where, how fast, how much memory."""
    c, h, b = rec["case"], rec["host"], rec.get("blas") or {}
    lines = [f"case     {c['case_id']}",
             f"status   {rec['status']}" + (f"  ({rec['reason']})" if rec["reason"] else "")]
    pools = [p for p in b.get("threadpool_info", []) if p.get("user_api") == "blas"]
    blas = ", ".join(f"{p.get('internal_api')} {p.get('version')} [{p.get('architecture')}]"
                     for p in pools) or b.get("verified_blas") or "n/a"
    lines.append(f"host     {h['host_id']} | {h['cpu_model']} | {h['cores_logical']} cores")
    lines.append(f"blas     {blas} | numpy {b.get('numpy_version')} | backend {c['backend']}")
    t = rec.get("timing")
    if t:
        lines.append(f"time     median {t['median_s'] * 1e3:.3f} ms  min {t['min_s'] * 1e3:.3f} ms  "
                     f"IQR {t['iqr_s'] * 1e3:.3f} ms  ({len(t['samples_s'])} samples of {t['loops']} "
                     f"call(s), process {c['process_index']} of {c['processes']}"
                     + (f"; {rec['gflops']:.2f} GFLOP/s)" if rec.get("gflops") else ")"))
    noise = rec.get("interference")
    if noise:
        lines.append(f"machine  other processes {noise['other_cpu_s'] / noise['cpu_capacity_s']:.0%} of the "
                     f"CPUs, steal {noise['steal_s'] / noise['cpu_capacity_s']:.0%}, "
                     f"{noise['involuntary_switches']} preemptions while timing")
    mem = rec["memory"]
    lines.append(f"memory   peak RSS {_mb(mem['peak_rss_bytes'])}  traced {_mb(mem['traced_peak_bytes'])}"
                 f"  modelled {_mb(mem['model']['kernel_peak_bytes'])} (above baseline)")
    a = rec.get("accuracy") or {}
    if a.get("max_abs_error") is not None:
        lines.append(f"error    max abs {a['max_abs_error']:.3g}  max rel {a['max_rel_error']:.3g}")
    facts = ((rec.get("check") or {}).get("facts")) or {}
    if facts:
        lines.append("checked  " + "  ".join(f"{k}={v}" for k, v in facts.items()))
    th = rec.get("threads")
    if th:
        lines.append(f"threads  requested {th['requested']}  effective {th['effective']}")
    return "\n".join(lines)


def seed_table_text(rows: list[dict]) -> str:
    """The seed notebook's memory table exactly as it defines it, numperf's model beside it, and why
    they differ (rows from ``methods.seed_table``; MB = 10**6 bytes, 4 decimals so nothing rounds away)."""
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
        "methods.memory_model(...).kernel_peak_bytes of broadcast and gemm_trick (what peak RSS measures).",
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
        "each case's peak RSS, and tests/test_methods.py checks it against tracemalloc.",
    ]
    return "\n".join(out)

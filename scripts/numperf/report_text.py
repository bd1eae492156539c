"""Plain-text rendering of one case's record for the terminal."""

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

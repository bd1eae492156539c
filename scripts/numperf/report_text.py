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
                     f"IQR {t['iqr_s'] * 1e3:.3f} ms  ({len(t['samples_s'])} samples, "
                     f"{rec['gflops']:.2f} GFLOP/s)")
    mem = rec["memory"]
    lines.append(f"memory   peak RSS {_mb(mem['peak_rss_bytes'])}  traced {_mb(mem['traced_peak_bytes'])}"
                 f"  modelled {_mb(mem['model']['kernel_peak_bytes'])} (above baseline)")
    a = rec.get("accuracy")
    if a:
        lines.append(f"error    max abs {a['max_abs_error']:.3g}  max rel {a['max_rel_error']:.3g} "
                     f"({a['sample_rows']} rows vs {a['reference']})")
    th = rec.get("threads")
    if th:
        lines.append(f"threads  requested {th['requested']}  effective {th['effective']}")
    return "\n".join(lines)


def seed_table_text(rows: list[dict]) -> str:
    """The seed notebook's memory table as aligned text."""
    head = (f"{'N':>6} {'D':>5} {'input MB':>10} {'intermediate MB':>16} {'output MB':>10} "
            f"{'peak MB':>10} {'trick peak MB':>14}")
    body = [f"{r['N']:>6} {r['D']:>5} {r['input_MB']:>10.3f} {r['intermediate_MB']:>16.3f} "
            f"{r['output_MB']:>10.3f} {r['peak_MB']:>10.3f} {r['trick_peak_MB']:>14.3f}" for r in rows]
    return "\n".join([head, *body])

"""The resolution check's figure (``make stability``): the planted slowdowns as measured, and the
two A/A checks' ratios, each case with its 95% interval."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from numperf import family, record  # noqa: E402
from numperf.plotting import style  # noqa: E402

#: Fixed y ranges (percent), so a few wild intervals do not flatten the rest; what lies beyond is
#: in stability.csv and speedup.csv.
PLANTED_YLIM, AA_YLIM = (-4, 12), (-30, 30)


def _planted_rows(speedup: pd.DataFrame) -> pd.DataFrame:
    """speedup.csv rows of planted methods with their planted effect; measured effect = 1/speedup - 1."""
    effect = {(f, m): e for f, fam in family.registry().items() for m, e in fam.planted.items()}
    keys = list(zip(speedup["family"], speedup["method"], strict=True))
    rows = speedup[[k in effect for k in keys]].copy()
    rows["planted"] = [effect[k] for k in zip(rows["family"], rows["method"], strict=True)]
    for src, dst in (("speedup_vs_baseline", "measured"), ("speedup_ci_high", "low"),
                     ("speedup_ci_low", "high")):
        rows[dst] = 1 / rows[src].astype(float) - 1
    return rows


def _twin_rows(speedup: pd.DataFrame) -> pd.DataFrame:
    twins = {(f, m) for f, fam in family.registry().items() for m in fam.twins}
    return speedup[[k in twins for k in zip(speedup["family"], speedup["method"], strict=True)]]


def _intervals(ax, x, mid, lo, hi, color, label):
    ax.errorbar(x, mid, yerr=[mid - lo, hi - mid], fmt="o", ms=3, lw=1, color=color, label=label)


def plot(workdir: str | Path, out: str | Path | None = None) -> Path:
    """Draw ``stability.png`` from ``speedup.csv``, ``stability.csv`` and ``stability.json`` in
    ``workdir``; return its path."""
    workdir = Path(workdir)
    summary = json.loads((workdir / "stability.json").read_text())
    speedup = pd.read_csv(workdir / "speedup.csv")
    separate = pd.read_csv(workdir / "stability.csv") if (workdir / "stability.csv").stat().st_size > 1 \
        else pd.DataFrame()
    fig, (ax_p, ax_a) = plt.subplots(1, 2, figsize=(2 * style.PANEL_W + 1.5, style.PANEL_H + 0.6),
                                     dpi=style.DPI)
    rows = _planted_rows(speedup).sort_values(["planted", "measured"])
    rng = np.random.default_rng(0)
    x = 100 * rows["planted"].to_numpy() + rng.uniform(-0.3, 0.3, len(rows))
    _intervals(ax_p, x, 100 * rows["measured"].to_numpy(), 100 * rows["low"].to_numpy(),
               100 * rows["high"].to_numpy(), "#c44e52", "one case, 95% interval")
    top = 100 * max(rows["planted"].max() if len(rows) else 0.05, 0.05) + 1
    ax_p.plot([0, top], [0, top], **style.REF, label="measured = planted")
    ax_p.axhline(0, color="0.3", lw=0.8)
    for p in summary["planted"]:
        ax_p.annotate(f"{p['detected_fraction']:.0%}\nfound", (100 * p["effect"], PLANTED_YLIM[1] - 1.2),
                      ha="center", fontsize=7)
    ax_p.set(xlabel="planted slowdown (% of the kernel's time)", ylabel="measured slowdown (%)",
             title="planted effects (share found slower above)", ylim=PLANTED_YLIM)
    ax_p.legend(fontsize=7, loc="lower right")
    twins = _twin_rows(speedup)
    sets = [("interleaved A/A (twin / baseline)", twins["speedup_vs_baseline"], twins["speedup_ci_low"],
             twins["speedup_ci_high"], "#4c72b0")]
    if not separate.empty:
        sets.append(("separate runs (run 1 / run 2)", separate["time_ratio_a_over_b"], separate["ci_low"],
                     separate["ci_high"], "#dd8452"))
    start = 0
    for label, mid, lo, hi, color in sets:
        mid, lo, hi = (100 * (v.astype(float).to_numpy() - 1) for v in (mid, lo, hi))
        order = np.argsort(mid)
        xs = start + np.arange(len(mid))
        _intervals(ax_a, xs, mid[order], lo[order], hi[order], color, label)
        start += len(mid) + 3
    ax_a.axhline(0, **style.REF)
    ax_a.set(xlabel="case (sorted by ratio)", ylabel="ratio - 1 (%)", title="identical work (A/A)",
             ylim=AA_YLIM)
    ax_a.set_xticks([])
    ax_a.legend(fontsize=7, loc="upper left")
    drift = summary.get("drift", {}).get("log_sd_per_run")
    host = summary.get("host", {}).get("cpu_model", "?")
    fig.suptitle(f"{host}: drift between runs {drift:.1%} per run" if drift is not None else host,
                 fontsize=9)
    fig.tight_layout()
    out = Path(out) if out else workdir / "stability.png"
    with record.atomic_write(out, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return out

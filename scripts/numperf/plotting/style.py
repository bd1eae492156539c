"""The look shared by every figure: sizes, colours per method and backend, line styles, legend
entries, reference lines, and the order of hosts, backends and dtypes in panels."""

from __future__ import annotations

import matplotlib
import pandas as pd
from matplotlib.lines import Line2D

from numperf import aggregate, family

DPI = 120
#: Size of one panel and the room kept for the legend column, in inches.
PANEL_W, PANEL_H, LEGEND_W = 4.0, 3.0, 2.3
LINESTYLES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 2))]
#: Colours for methods the registry does not know (results from an older or newer numperf): black
#: and tab10 colours the registry leaves unused while it has at most 7 methods.
FALLBACK_COLORS = ["#000000", "#bcbd22", "#17becf", "#7f7f7f"]
BACKEND_COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
                  "#8c8c8c", "#ccb974", "#64b5cd"]
NOISY_TEXT = ("hollow: noisy timing (other load,\n"
              f"steal or MAD/median > {aggregate.NOISY_REL_DISPERSION:.0%};\nsee noisy_reason)")
CI_TEXT = "error bar: 95% interval\n(between processes)"
#: Style of reference lines (ideal, 1.0, machine epsilon): wide and pale, unlike any data line.
REF = {"color": "0.55", "lw": 2.4, "alpha": 0.45, "ls": "-", "zorder": 0}
MB = 1e6


def _registry_order() -> list[str]:
    """Every method of every family, family by family, in declaration order."""
    return [m for fam in family.registry().values() for m in fam.methods]


def method_order(names) -> list[str]:
    """Registry order first, then any method the registry does not know, alphabetically."""
    names = {str(n) for n in names}
    known = _registry_order()
    return [m for m in dict.fromkeys(known) if m in names] + sorted(names - set(known))


def method_color(name: str) -> str:
    """Stable colour of a method (by its position in its family); unknown methods get a fallback."""
    for fam in family.registry().values():
        if name in fam.methods:
            known = list(fam.methods)
            cmap = matplotlib.colormaps["tab10" if len(known) <= 10 else "tab20"]
            return matplotlib.colors.to_hex(cmap(known.index(name) % cmap.N))
    return FALLBACK_COLORS[sum(map(ord, name)) % len(FALLBACK_COLORS)]


def method_handles(names) -> list:
    return [Line2D([], [], color=method_color(m), marker="o", ms=5, lw=1.6, label=m) for m in names]


def style_map(values) -> dict:
    return {v: LINESTYLES[i % len(LINESTYLES)] for i, v in enumerate(values)}


def style_handles(styles: dict, fmt=str) -> list:
    return [Line2D([], [], color="0.2", ls=ls, lw=1.4, label=fmt(v)) for v, ls in styles.items()]


def noisy_handle() -> Line2D:
    return Line2D([], [], color="0.2", marker="o", mfc="white", ls="none", ms=5, label=NOISY_TEXT)


def section(label: str) -> Line2D:
    """An invisible legend entry used as a heading (drawn bold)."""
    return Line2D([], [], ls="none", label=label, gid="section")


def ref_handle(label: str) -> Line2D:
    return Line2D([], [], label=label, **REF)


def ref_line(ax, y: float, text: str | None = None) -> None:
    """A horizontal reference line, optionally labelled at its right end."""
    ax.axhline(y, **REF)
    if text:
        ax.annotate(text, (0.99, y), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                    fontsize=7, color="0.35")


def threads_label(t) -> str:
    return f"{int(t)} BLAS thread" + ("" if int(t) == 1 else "s")


def host_backends(df: pd.DataFrame) -> list[tuple[str, str]]:
    """The (host, backend) pairs present, in a stable order."""
    return sorted({(str(h), str(b)) for h, b in zip(df["host_id"], df["backend"], strict=True)})


def setup_label(setup, many: bool) -> str:
    return f"{setup[0]} · {setup[1]}" if many else ""



def dtype_order(df: pd.DataFrame) -> list[str]:
    """The dtypes present, in the order the families declare them (then by name)."""
    declared = [d for fam in family.registry().values() for d in fam.dtypes]
    order = {d: i for i, d in reversed(list(enumerate(declared)))}
    return sorted(df["dtype"].astype(str).unique(), key=lambda d: (order.get(d, len(order)), d))

"""One tick helper for every figure: ticks at given values (the measured sizes) or, on a log axis,
at decades, 1-2-5 or 1..9 steps, whichever gives an axis of any span at least two; then a label on
each tick whose text does not run into a neighbour's, decided at draw time from the axis' real
length in pixels, so it holds at any figure size."""

from __future__ import annotations

import matplotlib
import matplotlib.ticker
import numpy as np

#: Minimum free space between two tick labels, in points.
TICK_GAP_PT = 3.0


def tick_text(v: float, power: bool = False) -> str:
    """A short tick label: plain (0.005, 250, 2500) or, with ``power``, m×10^k in mathtext."""
    if v == 0 or not np.isfinite(v):
        return f"{v:g}"
    if not power:
        return f"{v:.6g}"
    exp = int(np.floor(np.log10(abs(v)) + 1e-9))
    mant = float(f"{v / 10**exp:.3g}")
    return f"$10^{{{exp}}}$" if mant == 1 else f"${mant:g}{{\\times}}10^{{{exp}}}$"


def _roundness(v: float) -> int:
    """0 for powers of ten, 1 for 2·10^k and 5·10^k, 2 otherwise: rounder values keep their label."""
    if v <= 0:
        return 2
    mant = round(v / 10 ** np.floor(np.log10(v) + 1e-9), 6)
    return 0 if mant == 1 else 1 if mant in (2, 5) else 2


class LogTicks(matplotlib.ticker.Locator):
    """Log-axis ticks dense enough for any span: decades if at least three fall inside, else 1-2-5
    (three), else 1, 1.5, 2..9 per decade (two), else evenly spaced values (so even a factor of 1.1
    has some)."""

    def __call__(self):
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin, vmax):
        lo, hi = sorted((float(vmin), float(vmax)))
        if not (lo > 0 and np.isfinite(hi) and hi > lo):
            return []
        k0, k1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
        step = max(1, (k1 - k0) // 8)  # at most ~8 decades labelled
        for mants, least in (((1,), 3), ((1, 2, 5), 3), ((1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9), 2)):
            ticks = [m * 10.0**k for k in range(k0 - 1, k1 + 1) for m in mants
                     if len(mants) > 1 or (k - k0) % step == 0]
            if sum(lo <= t <= hi for t in ticks) >= least:
                return ticks
        return list(matplotlib.ticker.MaxNLocator(4).tick_values(lo, hi))


class FitFormatter(matplotlib.ticker.Formatter):
    """Tick labels that never overlap: a label whose text would run into a kept neighbour's is left
    empty (the tick mark stays). The axis ends and round values (10^k, then 2·10^k and 5·10^k) are
    kept first. Numbers print plainly unless the axis reaches below 0.001 or to 10^5 and beyond."""

    def __call__(self, x, pos=None):
        return tick_text(x)

    def format_ticks(self, values):
        values = np.asarray(values, float)
        lo, hi = sorted(self.axis.get_view_interval())
        inside = (values >= lo * (1 - 1e-9)) & (values <= hi * (1 + 1e-9)) & np.isfinite(values)
        seen = np.abs(values[inside & (values != 0)])
        power = bool(len(seen)) and (seen.min() < 1e-3 or seen.max() >= 1e5)
        texts = [tick_text(v, power) for v in values]
        keep = _fitting_labels(self.axis, values, texts, inside)
        return [t if k else "" for t, k in zip(texts, keep, strict=True)]


def _label_extent_px(axis, text: str, dpi: float) -> float:
    """Length a horizontal tick label takes along ``axis``, in pixels (width on x, height on y)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    size = matplotlib.rcParams[f"{axis.axis_name}tick.labelsize"]
    prop = FontProperties(size=size)
    if axis.axis_name == "y":
        return prop.get_size_in_points() * 1.2 * dpi / 72
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath="$" in text)
    return width * dpi / 72


def _fitting_labels(axis, values, texts, inside) -> list[bool]:
    """Which ticks keep their label so that no two labels overlap (greedy, ends and round values first)."""
    ax = axis.axes
    keep = [False] * len(values)
    idx = [i for i in range(len(values)) if inside[i]]
    if not idx:
        return keep
    scale = axis.get_transform()
    lo, hi = axis.get_view_interval()
    t = scale.transform(np.asarray([*values[idx], lo, hi], float).reshape(-1, 1)).ravel()
    length = ax.bbox.width if axis.axis_name == "x" else ax.bbox.height
    pos = dict(zip(idx, (t[:-2] - t[-2]) / (t[-1] - t[-2]) * length, strict=True))
    dpi = ax.figure.dpi
    ext = {i: _label_extent_px(axis, texts[i], dpi) for i in idx}
    gap = TICK_GAP_PT * dpi / 72
    by_pos = sorted(idx, key=pos.get)
    order = [by_pos[0], by_pos[-1], *sorted(by_pos[1:-1], key=lambda i: (_roundness(values[i]), pos[i]))]
    kept: list[int] = []
    for i in dict.fromkeys(order):
        if all(abs(pos[i] - pos[j]) >= (ext[i] + ext[j]) / 2 + gap for j in kept):
            kept.append(i)
            keep[i] = True
    return keep


def fit_ticks(ax, which: str, values=None) -> None:
    """The shared tick helper: major ticks at ``values`` (e.g. the measured N), or on a log axis
    ``LogTicks``, all labelled by ``FitFormatter``; minor ticks stay unlabelled."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    if values is not None:
        axis.set_major_locator(matplotlib.ticker.FixedLocator(sorted({float(v) for v in values})))
    elif axis.get_scale() == "log":
        axis.set_major_locator(LogTicks())
    axis.set_major_formatter(FitFormatter())
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


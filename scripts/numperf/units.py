"""Readable quantities for the terminal and the report: one formatter per unit, used everywhere."""

from __future__ import annotations

import math

#: (unit, seconds per unit), largest first.
_TIME_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


def format_seconds(seconds: float) -> str:
    """A duration with 3 significant digits in the unit that keeps it between 1 and 1000
    (``2.50e-05`` -> ``25.0 µs``); ``n/a`` for NaN or infinity, so a missing time reads as one."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if seconds == 0:
        return "0 s"
    rounded = float(f"{abs(seconds):.3g}")  # round first, so 999.96 µs becomes 1.00 ms
    unit, scale = next(((u, s) for u, s in _TIME_UNITS if rounded >= s), _TIME_UNITS[-1])
    value = rounded / scale
    text = f"{value:.{max(0, 2 - math.floor(math.log10(value)))}f}" if value >= 1 else f"{value:#.3g}"
    return f"{'-' if seconds < 0 else ''}{text} {unit}"

# ruff: noqa: F401 - the plotting API, re-exported
"""The plotting core: style (``style``), ticks (``ticks``), panels and facets (``panels``), the
figure registry (``registry``) and the cross-family figures (``cross``). Family figures draw with
the names exported here and are declared in their family (``FigureDecl``), never in the core."""

from numperf.plotting import cross  # noqa: E402,F401,I001 - registers the cross-family figures
from numperf.plotting.panels import (
    empty_panel,
    facet_bars,
    facet_lines,
    facets,
    footnote,
    grid,
    log_axes,
    message,
    no_ok_rows,
    ok_runs,
    palette,
    plottable,
    series,
    value_ticks,
    with_noisy,
)
from numperf.plotting.registry import (
    CROSS_CATEGORY,
    FIGURES,
    TABLES,
    Figure,
    draw,
    family_category,
    for_families,
    register,
    register_family_figures,
    render,
)
from numperf.plotting.style import (
    BACKEND_COLORS,
    CI_TEXT,
    DPI,
    FALLBACK_COLORS,
    LEGEND_W,
    LINESTYLES,
    MB,
    NOISY_TEXT,
    PANEL_H,
    PANEL_W,
    REF,
    dtype_order,
    method_color,
    method_handles,
    method_order,
    noisy_handle,
    ref_handle,
    ref_line,
    section,
    setup_label,
    host_backends,
    style_handles,
    style_map,
    threads_label,
)
from numperf.plotting.ticks import FitFormatter, LogTicks, fit_ticks, tick_text

register_family_figures()

__all__ = [name for name in dir() if not name.startswith("_")]

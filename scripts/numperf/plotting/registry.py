"""The figure registry: every report figure once, with its title, one-line caption, report category
and drawing function. Family figures come from each family's ``figures()`` (``FigureDecl``); the
cross-family figures (``plotting.cross``) register themselves. ``register`` gives all of them the
same title, legend column and footnote, and draws a family's figure from that family's rows only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.figure  # noqa: E402
import pandas as pd  # noqa: E402

from numperf import aggregate, family, record, tables  # noqa: E402
from numperf.plotting.panels import footnote  # noqa: E402
from numperf.plotting.style import DPI, LEGEND_W  # noqa: E402

#: The tables every figure may read (``tables.load`` requires them all).
TABLES = ("runs", "speedup", "scaling", "memory", "dtype", "failures")
#: Report category of the figures that compare hosts and backends across families.
CROSS_CATEGORY = "Backends and hosts"


@dataclass(frozen=True)
class Figure:
    """One report figure: what it is called, what to look for, how to draw it, and the family whose
    rows it shows (None: every family's)."""

    name: str
    title: str
    caption: str
    category: str
    draw: Callable[[dict[str, pd.DataFrame], matplotlib.figure.Figure], None]
    family: str | None = None
    topic: str = ""


FIGURES: dict[str, Figure] = {}


def family_category(name: str) -> str:
    """The report category of a family's figures: its name, capitalised."""
    return name.capitalize()


def _legend(fig, title: str, handles) -> None:
    """The left-aligned title clear of the legend column at the top right."""
    width, height = fig.get_size_inches()
    fig.set_size_inches(max(width, 0.13 * len(title) + LEGEND_W + 0.6), height)
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
    leg = fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False, handlelength=2.6)
    for handle, text in zip(handles, leg.get_texts(), strict=True):
        if handle.get_gid() == "section":
            text.set_fontweight("bold")


def register(name: str, title: str, caption: str, family_name: str | None = None, topic: str = ""):
    """Decorator: add a drawing function to ``FIGURES`` with the common title, footnote and legend.

    The wrapped function draws into ``fig`` from the rows of ``family_name`` only (its parameters as
    plain columns, ``aggregate.family_view``; None: every row) and returns ``(legend_handles,
    shown_rows)``; ``shown_rows`` (runs rows that were plotted, or None) selects what the footnote
    names.
    """
    if name in FIGURES:
        raise ValueError(f"figure {name!r} is declared twice")
    if "\n" in caption:
        raise ValueError("a figure caption must be one line")
    category = family_category(family_name) if family_name else CROSS_CATEGORY

    def deco(fn):
        def draw(data: dict[str, pd.DataFrame], fig) -> None:
            fig.clear()
            fig.set_layout_engine("constrained")
            if family_name:
                data = {k: aggregate.family_view(v, family_name) for k, v in data.items()}
            handles, shown = fn(data, fig)
            if handles:
                _legend(fig, title, handles)
            else:
                fig.suptitle(title, fontsize=13, fontweight="bold")
            fig.supxlabel(footnote(data, shown, fig.get_size_inches()[0]), fontsize=7, color="0.3",
                          x=0.005, ha="left", multialignment="left")

        draw.__doc__ = fn.__doc__
        FIGURES[name] = Figure(name, title, caption, category, draw, family_name, topic)
        return fn

    return deco


def for_families(names) -> list[str]:
    """The figures that show these families (and the cross-family ones), in registry order."""
    names = set(names)
    return [n for n, f in FIGURES.items() if f.family is None or f.family in names]


def draw(name: str, data: dict[str, pd.DataFrame]) -> matplotlib.figure.Figure:
    """A new matplotlib figure with ``FIGURES[name]`` drawn from ``data`` (not attached to pyplot)."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known figures: {', '.join(FIGURES)}")
    fig = matplotlib.figure.Figure()
    FIGURES[name].draw(data, fig)
    return fig


def render(name: str, tables_dir: str | Path, out_png: str | Path, out_svg: str | Path | None = None) -> None:
    """Draw one figure from the CSV tables in ``tables_dir``; write PNG (and SVG) atomically."""
    fig = draw(name, tables.load(tables_dir, required=TABLES))
    with record.atomic_write(out_png, "wb") as fh:
        fig.savefig(fh, format="png", dpi=DPI)
    if out_svg is not None:
        fig.set_layout_engine("none")  # keep the layout the PNG was drawn with; no second solve
        with record.atomic_write(out_svg, "wb") as fh:
            fig.savefig(fh, format="svg")


def register_family_figures() -> None:
    """Every family's declared figures (``figures()`` in its module), drawn by the common decorator."""
    for name in family.registry():
        for decl in family.declared("figures", [name]):
            if decl.name not in FIGURES:
                register(decl.name, decl.title, decl.caption, name, decl.topic)(decl.draw)

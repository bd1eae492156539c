"""The vectorize family's figures: the loop / vectorised speedup of every workload against its size,
and the bytes per element of a Python list against an array's.

Analysis side: imported by ``numperf.families.vectorize.figures()``, never by a measuring child. The
draw functions import ``numperf.figures`` when they run: that module collects every family's
``figures()`` as it is imported.
"""

from __future__ import annotations

import pandas as pd

from numperf import claims as cl
from numperf.families.vectorize import LOOP, VECTORIZED
from numperf.families.vectorize._claims import LARGE_FACTOR
from numperf.family import FigureDecl
from numperf.tables import as_bool


def speedup_frame(tables: dict):
    """Loop / vectorised speedup per host, backend and case, with the noisy flag of either row."""
    runs = tables.get("runs", pd.DataFrame())
    if runs is None or runs.empty or "workload" not in runs:
        return pd.DataFrame()
    parts = []
    for (host, backend), g in runs.groupby(["host_id", "backend"], sort=True):
        df = cl.speed_ratio(cl.Scope({"runs": g}, str(host), str(backend)), VECTORIZED, LOOP)
        if df.empty:
            continue
        keys = [k for k in cl.case_keys(g) if k in df]
        noisy = g.assign(noisy=as_bool(g["noisy"]) if "noisy" in g else False) \
            .groupby(keys, as_index=False)["noisy"].any()
        parts.append(df.merge(noisy, on=keys, how="left").assign(host_id=host, backend=backend))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _shown(tables: dict, workloads):
    """The ok runs rows a figure drew from (for the footnote naming hosts, BLAS and numpy)."""
    runs = tables["runs"]
    return runs[(runs["status"] == "ok") & runs["workload"].isin(list(workloads))]


def _draw_speedup(tables, fig):
    from numperf import plotting as F

    df = speedup_frame(tables)
    if df.empty:
        F.message(fig, "No workload measured with both python_loop and numpy_vectorized: nothing to "
                        "compare.")
        return None, None
    handles, _ = F.facet_lines(fig, df, x="elements", y="speedup", xlabel="elements (running_average: of "
                               "the matrix)", ylabel="loop time / vectorised time (×)", panels=("dtype",),
                               lines="workload", styles=None, ci=("low", "high"), ref=LARGE_FACTOR,
                               ref_label=f"{LARGE_FACTOR:g}× (the 'large factor' of the claims)")
    return handles, _shown(tables, df["workload"].unique())


MEASURES = ("array nbytes", "list: sys.getsizeof (the seed's number)", "list + its number objects",
            "tracemalloc peak of one call: array * 2", "tracemalloc peak of one call: list comprehension")


def list_memory_frame(tables: dict):
    """Bytes per element of the multiply workload: the facts and the two methods' measured peaks."""
    runs = tables.get("runs", pd.DataFrame())
    if runs is None or runs.empty or "check_list_total_bytes" not in runs or "workload" not in runs:
        return pd.DataFrame()
    ok = runs[(runs["status"] == "ok") & (runs["workload"] == "multiply")]
    rows = []
    for _, r in ok.iterrows():
        n = float(r["elements"])
        base = {"host_id": r["host_id"], "backend": r["backend"], "dtype": r["dtype"],
                # right-aligned in a fixed width, so that the string order of the bars is the numeric one
                "elements": f"{int(n):>14,} elements", "noisy": False}  # sizes, not timings
        if pd.notna(r.get("check_list_total_bytes")):
            facts = ("check_array_nbytes", "check_list_getsizeof_bytes", "check_list_total_bytes")
            rows += [{**base, "measure": m, "bytes_per_element": float(r[c]) / n}
                     for m, c in zip(MEASURES[:3], facts, strict=True)]
        traced = r.get("traced_peak_bytes")
        if traced is not None and pd.notna(traced):
            which = MEASURES[3] if r["method"] == VECTORIZED else MEASURES[4]
            rows.append({**base, "measure": which, "bytes_per_element": float(traced) / n})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["order"] = df["measure"].map(MEASURES.index)
    df = df.sort_values(["order"]).drop_duplicates(["host_id", "backend", "dtype", "elements", "measure"])
    return df.drop(columns="order")


def _draw_list_memory(tables, fig):
    from numperf import plotting as F

    df = list_memory_frame(tables)
    if df.empty:
        F.message(fig, "The multiply workload was not measured: no list or array memory to show.")
        return None, None
    df["measure"] = df["measure"].map(lambda m: f"{MEASURES.index(m) + 1}. {m}")
    handles, _ = F.facet_bars(fig, df, category="elements", value="bytes_per_element",
                              ylabel="bytes per element", panels=("dtype",),
                              hue="measure", log=False)
    return handles, _shown(tables, ["multiply"])


def figures() -> list[FigureDecl]:
    return [
        FigureDecl("vectorize_speedup", "Vectorisation speedup over Python loops",
                   "Loop time over vectorised time per workload against size, 95% between-process "
                   "intervals; the grey line is the 10× bound of the speed claims.", _draw_speedup),
        FigureDecl("vectorize_list_memory", "Python list vs NumPy array memory",
                   "Bytes per element: the array, the list as sys.getsizeof sees it, the list with its "
                   "number objects, and tracemalloc's peak of one call of each multiply method.",
                   _draw_list_memory),
    ]

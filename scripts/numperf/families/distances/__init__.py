"""The pairwise Euclidean distance family: the N x M distances between x (N x D) and y (M x D).

Everything distance-specific lives in this package: the methods (``methods/``, one module per
group, each kernel beside its memory model and flop count), the tiling and numba kernels of the
tiled methods, the input distributions, the accuracy check, the floor and its calibration, the
claims, figures and findings, and the seed notebook's memory table with its command. This module
declares the family to the core; a measuring child imports it (stdlib and numpy only here).
"""

from __future__ import annotations

from numperf import seeds
from numperf.families.distances import accuracy, floor, inputs
from numperf.families.distances.method import sizes
from numperf.families.distances.methods import METHODS
from numperf.family import Family, Param


def setup(params: dict, dtype: str, rng, method: str | None = None):
    """x and y drawn from the case's input distribution, cast to its dtype."""
    n, m, d = sizes(params)
    return inputs.make(params["inputs"], rng, n, m, d, dtype)


def normalize(params: dict) -> dict:
    """m = 0 means a square case (m = n)."""
    return {**params, "m": int(params.get("m") or params["n"])}


FAMILY = Family(
    name="distances",
    description="pairwise Euclidean distances: broadcasting, einsum, the GEMM trick, chunked, "
                "blocked and tiled methods, scipy and scikit-learn as peers",
    seeds=seeds.names("000", "001", "002"),
    params=(
        Param("n", "int", 1000, "rows of x", minimum=1),
        Param("m", "int", 0, "rows of y (0: same as n)", minimum=0),
        Param("d", "int", 50, "columns (dimension) of x and y", minimum=1),
        Param("inputs", "str", "uniform", "how x and y are drawn", choices=tuple(inputs.DISTRIBUTIONS)),
        Param("accuracy_rows", "int", 32, "rows of the result checked against the reference", minimum=1),
    ),
    dtypes=("float32", "float64"),
    methods=METHODS,
    setup=setup,
    check=accuracy.check,
    baseline="gemm_trick",
    optional_methods=("tiled_numba_plain",),
    normalize=normalize,
    calibrate=floor.calibrate,
    rates=floor.RATES,
    floor=floor.floor,
    dtype_pairs=(("float32", "float64"),),
)


def figures() -> list:
    from numperf.families.distances import plots, plots_floor

    return [*plots.FIGURES, *plots_floor.FIGURES]


def claims() -> list:
    from numperf.families.distances import claim_rules as own

    return list(own.CLAIMS)


def findings(tables: dict) -> list[str]:
    from numperf.families.distances import report as own

    return own.section(tables)


def commands() -> list:
    from numperf.families.distances import memory_table

    return [memory_table.COMMAND]

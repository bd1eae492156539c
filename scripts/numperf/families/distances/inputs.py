"""Input distributions of the distance family: how x (n x d) and y (m x d) are drawn.

Inputs are built outside the timed region from the case's seed, so every process of a case
sees the same data. ``uniform`` (the seed notebook's ``np.random.rand``) is the default;
``offset`` and ``clustered`` exist because uniform data in [0, 1) hide the float32 failures of
the GEMM trick (cancellation far from the origin and between near-duplicate points).
"""

from __future__ import annotations

import numpy as np

#: Where ``offset`` puts the data: every coordinate near this value.
OFFSET = 1e4
#: ``clustered``: number of centres shared by x and y, and the spread of points around them.
CLUSTERS = 10
JITTER = 1e-3


def _uniform(rng: np.random.Generator, n: int, m: int, d: int):
    return rng.random((n, d)), rng.random((m, d))


def _offset(rng: np.random.Generator, n: int, m: int, d: int):
    """Uniform data shifted to about 1e4 in every coordinate: distances of order 1, norms of 1e4.

    The GEMM trick subtracts squared norms of ~1e8·D to get squared distances of ~D, so in
    float32 it loses every digit, while difference-first methods stay exact. Distances do not
    depend on the origin; this distribution shows which methods do.
    """
    return OFFSET + rng.random((n, d)), OFFSET + rng.random((m, d))


def _clustered(rng: np.random.Generator, n: int, m: int, d: int):
    """Near-duplicates: x and y drawn around the same few centres with a tiny jitter.

    A tenth of all pairs lie in the same cluster, at distances ~1e-3 against norms of order 1,
    which is where the trick cancels catastrophically (and where exact methods must recompute).
    """
    centres = rng.random((CLUSTERS, d))

    def draw(k):
        return centres[rng.integers(CLUSTERS, size=k)] + JITTER * rng.standard_normal((k, d))

    return draw(n), draw(m)


#: name -> generator of float64 (x, y); the case casts them to its dtype.
DISTRIBUTIONS = {"uniform": _uniform, "offset": _offset, "clustered": _clustered}


def make(distribution: str, rng: np.random.Generator, n: int, m: int, d: int, dtype) -> tuple:
    """x and y of one case, drawn from ``distribution`` and cast to ``dtype``."""
    try:
        gen = DISTRIBUTIONS[distribution]
    except KeyError:
        raise ValueError(f"unknown input distribution {distribution!r}; known: "
                         f"{', '.join(DISTRIBUTIONS)}") from None
    x, y = gen(rng, n, m, d)
    return x.astype(dtype), y.astype(dtype)

"""Input distributions of the distance family: how x (n x d) and y (m x d) are drawn.

Inputs are built outside the timed region from the case's seed, so every process of a case
sees the same data. ``uniform`` (the seed notebook's ``np.random.rand``) is the default.
"""

from __future__ import annotations

import numpy as np


def _uniform(rng: np.random.Generator, n: int, m: int, d: int):
    return rng.random((n, d)), rng.random((m, d))


#: name -> generator of float64 (x, y); the case casts them to its dtype.
DISTRIBUTIONS = {"uniform": _uniform}


def make(distribution: str, rng: np.random.Generator, n: int, m: int, d: int, dtype) -> tuple:
    """x and y of one case, drawn from ``distribution`` and cast to ``dtype``."""
    try:
        gen = DISTRIBUTIONS[distribution]
    except KeyError:
        raise ValueError(f"unknown input distribution {distribution!r}; known: "
                         f"{', '.join(DISTRIBUTIONS)}") from None
    x, y = gen(rng, n, m, d)
    return x.astype(dtype), y.astype(dtype)

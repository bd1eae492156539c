"""Peers: the distance functions of scipy and scikit-learn, as a user would call them."""

from __future__ import annotations

from numperf.families.distances.method import distance_method, flops_direct, flops_gemm, input_bytes, pairwise
from numperf.family import MemoryModel

ORDER = 90


@pairwise(convert=False)
def scipy_cdist(x, y, **_):
    """scipy.spatial.distance.cdist (computes in float64)."""
    from scipy.spatial.distance import cdist

    return cdist(x, y, "euclidean")


@pairwise(convert=False)
def sklearn_euclidean(x, y, **_):
    """sklearn.metrics.pairwise.euclidean_distances (trick; float32 upcast in batches)."""
    from sklearn.metrics.pairwise import euclidean_distances

    return euclidean_distances(x, y)


def _mem_scipy(n, m, d, s, p):
    # cdist converts non-float64 inputs to float64 copies and returns float64.
    copies = 0 if s == 8 else (n + m) * d * 8
    return MemoryModel(input_bytes(n, m, d, s), copies, n * m * 8)


def _mem_sklearn(n, m, d, s, p):
    if s == 8:  # the product is scaled, shifted, clipped and rooted in place.
        return MemoryModel(input_bytes(n, m, d, s), (n + m) * s, n * m * s)
    # float32: upcast in batches of at most ~10 MB of float64 work memory.
    return MemoryModel(input_bytes(n, m, d, s), 10 * 2**20 + (n + m) * 8, n * m * s)


METHODS = [
    distance_method("scipy_cdist", scipy_cdist, _mem_scipy, flops_direct,
                    "scipy.spatial.distance.cdist (peer)", requires="scipy"),
    distance_method("sklearn", sklearn_euclidean, _mem_sklearn, flops_gemm,
                    "sklearn.metrics.pairwise.euclidean_distances (peer)", requires="sklearn"),
]

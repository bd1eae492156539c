"""The course's seed documents (``../shared/seeds/``): one name per document, used by every
family's declaration and claims."""

from __future__ import annotations

#: Short id -> file name of each seed document.
SEEDS = {
    "000": "000_c604aae697236f53.txt",  # lecture notes: strides, views, broadcasting, BLAS backends
    "001": "001_0e0fca5a6ccca26f.txt",  # the course notebook: distance methods, memory table
    "002": "002_966a0769f583f9c1.txt",  # advanced NumPy: sums against C, norms, transposes, views
    "003": "003_1e1e03449274e5cf.txt",  # dtypes, views, as_strided, cache effects of strided sums
}


def names(*ids: str) -> tuple[str, ...]:
    """The file names of the seeds with these short ids, in order; an unknown id is an error."""
    try:
        return tuple(SEEDS[i] for i in ids)
    except KeyError as exc:
        raise ValueError(f"unknown seed {exc.args[0]!r}; known: {', '.join(SEEDS)}") from None


def short(name: str) -> str:
    """The short id of a seed file name ("001_0e0f....txt" -> "001")."""
    return str(name).split("_")[0]

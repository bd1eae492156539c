"""The course's seed documents (``../shared/seeds/``) by short id, so that the families, their
claims and the report cite them by one spelling of each file name. Imports: none."""

from __future__ import annotations

#: Short id ("000".."003") -> file name in ../shared/seeds/.
FILES = {
    "000": "000_c604aae697236f53.txt",
    "001": "001_0e0fca5a6ccca26f.txt",
    "002": "002_966a0769f583f9c1.txt",
    "003": "003_1e1e03449274e5cf.txt",
}


def names(*ids: str) -> tuple[str, ...]:
    """The file names of the seeds ``ids`` (e.g. ``names("002", "000")``), in the order given."""
    return tuple(FILES[i] for i in ids)

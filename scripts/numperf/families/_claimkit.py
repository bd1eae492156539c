"""Small helpers the families' claim declarations share (the distances' claims have their own).

``claim_maker(family)`` returns a ``Claim`` constructor that fills the family and names the seeds by
short id (``"002 000"``, see numperf.seeds), so that a declaration states only what is its own;
``ratio_case`` turns one row of ``claims.speed_ratio`` into a ``Case`` (faster supports, slower or
equivalent contradicts, unless the rule says otherwise), ``exact_case`` makes the Case of a fact
without an interval; ``count`` writes an element count short.

Analysis side (imports pandas through numperf.claims): a family imports this only inside its
``claims()`` and rules, or from its ``_claims`` submodule, never where a measuring child imports the
family. The leading underscore keeps it out of family discovery.
"""

from __future__ import annotations

from collections.abc import Callable

from numperf import seeds
from numperf.claims import Case, Claim, from_verdict


def claim_maker(family: str) -> Callable[..., Claim]:
    """``claim(id, seed, section, text, **fields)``: a Claim of ``family`` whose ``seed`` is given as
    short ids separated by spaces, in the order the claim cites them; ``fields`` are Claim's others."""
    def claim(id: str, seed: str, section: str, text: str, **fields) -> Claim:
        return Claim(id=id, family=family, seed=seeds.names(*seed.split()), seed_section=section, text=text,
                     **fields)
    return claim


def faster(verdict) -> str:
    """Outcome of 'the first method is faster' from a speed_ratio verdict: ``faster`` supports,
    ``slower`` or ``equivalent`` contradicts, ``inconclusive`` leaves it undecided."""
    return from_verdict(str(verdict), "faster", ("slower", "equivalent"))


def ratio_case(r, label: str, group: str, note: str, outcome: str | None = None) -> Case:
    """The Case of one ``claims.speed_ratio`` row: its speedup with the between-process interval, and
    the outcome ``faster(verdict)`` unless the rule gives another."""
    return Case(label, faster(r["verdict"]) if outcome is None else outcome, float(r["speedup"]),
                float(r["low"]), float(r["high"]), group, note)


def exact_case(label: str, outcome: str, value: float, group: str = "", note: str = "") -> Case:
    """The Case of an exact fact (sizes, dtypes): its value with no interval around it."""
    return Case(label, outcome, value, value, value, group, note)


def count(n) -> str:
    """An element count in case labels: 1e7 for 10 000 000, 5e6 for 5 000 000; others in full."""
    n = int(n)
    mant, exp = f"{n:.0e}".split("e")
    return f"{mant}e{int(exp)}" if int(mant) * 10 ** int(exp) == n and n >= 1000 else f"{n:,}"

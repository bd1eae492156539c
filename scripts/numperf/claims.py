"""Claims: the performance statements of the course's seed documents, each decided from a run's tables.

A claim is one statement from a seed document (``../shared/seeds/``), in numperf's own words, with a
rule that decides it from the tables ``numperf aggregate`` writes, using their between-process
intervals and verdicts, never point estimates alone. An experiment family declares its claims next to
its methods as ``Claim`` objects returned by its module's ``claims()`` (the distances family returns
``numperf.distance_claims``); ``evaluate`` decides every registered claim for every host and BLAS
backend found in ``runs.csv`` and returns one row per (claim, host, backend), or per (claim, host) for
claims that compare backends.

Each rule turns the tables into *cases* (one per size, dtype and thread count, say), and each case
either ``supports`` the claim, ``contradicts`` it or is ``undecided`` (its interval allows both). The
cases combine into the verdict the same way for every claim:

* ``not measured``: no case in the claim's scope was measured (the methods, dtypes, thread counts or
  backends it needs are not in this run);
* ``fails``: at least one case contradicts it (the measured interval excludes what the claim says);
* ``holds``: no case contradicts it and more than half of its cases support it;
* ``inconclusive``: otherwise (too many cases whose interval allows both).

A claim that fails on a machine is a finding about that machine, not an error. Every row carries the
number that decided it with its interval (``value``, ``ci_low``, ``ci_high``; ``value_case`` names the
case: the weakest support when it holds, the strongest counter-example when it fails, the weakest
undecided case otherwise), the counts, every case with its own number, and the rule in words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from numperf import aggregate, family, measure, record, seeds, stats, tables

VERDICTS = ("holds", "fails", "inconclusive", "not measured")
SUPPORTS, CONTRADICTS, UNDECIDED = "supports", "contradicts", "undecided"
#: Tables a claim may read (``numperf claims`` loads those that exist; runs.csv is required).
TABLES = ("runs", "speedup", "scaling", "memory", "dtype")
#: ``backend`` of the rows of claims decided across backends.
ALL_BACKENDS = "all"
COLUMNS = ["claim_id", "family", "seed", "seed_section", "claim", "host_id", "backend", "verdict",
           "quantity", "value", "ci_low", "ci_high", "value_case", "n_cases", "supporting",
           "contradicting", "undecided", "evidence", "cases", "decided_by", "rule"]


@dataclass(frozen=True)
class Case:
    """One measured case of a claim: the number it contributes, its interval and what it says."""

    label: str  #: e.g. "300×200×16 float32 t2"
    outcome: str  #: SUPPORTS, CONTRADICTS or UNDECIDED
    value: float
    low: float = math.nan
    high: float = math.nan
    group: str = ""  #: cases are summarised per group in the evidence (e.g. "N=300")
    note: str = ""  #: anything else that decided it (a verdict, a second number)


@dataclass(frozen=True)
class Scope:
    """What a rule sees: the tables restricted to one host (and backend) and the claim's selection."""

    tables: dict[str, pd.DataFrame]
    host_id: str
    backend: str | None  #: None for claims decided across backends
    min_effect: float = stats.MIN_EFFECT

    def table(self, name: str) -> pd.DataFrame:
        """A table by name; an empty frame when the run did not write it."""
        return self.tables.get(name, pd.DataFrame())


def higher_supports(value: float) -> float:
    """Badness of a case's value for a claim that larger values support (speedups, ratios)."""
    return -value


def lower_supports(value: float) -> float:
    """Badness for a claim that smaller values support (errors, upper bounds on memory)."""
    return value


def near(target: float) -> Callable[[float], float]:
    """Badness for a claim that a value lies near ``target`` (distance on a log scale)."""
    return lambda value: abs(math.log(value / target)) if value > 0 else math.inf


@dataclass(frozen=True)
class Claim:
    """A seed's statement and the rule that decides it from a run's tables.

    ``cases(scope)`` returns the claim's cases for one host (and backend); ``combine`` turns them into
    the verdict. ``per`` is ``"backend"`` (one verdict per host and backend) or ``"host"`` (one verdict
    per host, comparing its backends). ``select`` restricts every table that has the column
    (e.g. ``{"inputs": "uniform"}``: the seed's own data).
    """

    id: str
    family: str
    seed: tuple[str, ...]  #: file names in ../shared/seeds/
    seed_section: str  #: where in the seed (paraphrased)
    text: str  #: the claim in numperf's words
    decided_by: str  #: tables and columns
    quantity: str  #: what value, ci_low and ci_high are
    rule: str  #: how a case supports or contradicts, in words
    needs: str  #: what must have been measured (said when it was not)
    cases: Callable[[Scope], list[Case]]
    badness: Callable[[float], float] = higher_supports
    per: str = "backend"
    select: dict = field(default_factory=dict)


def registry(declared: Iterable[Claim] | None = None) -> dict[str, Claim]:
    """Every claim the families declare (their ``claims()``), by id (ids are unique across families)."""

    out: dict[str, Claim] = {}
    for claim in family.declared("claims") if declared is None else declared:
        if claim.id in out:
            raise ValueError(f"claim id {claim.id!r} is declared twice ({claim.family})")
        if claim.per not in ("backend", "host"):
            raise ValueError(f"claim {claim.id!r}: per must be 'backend' or 'host', not {claim.per!r}")
        out[claim.id] = claim
    return out


# --- per-case outcomes shared by rules -------------------------------------------------------------

def from_verdict(verdict: str, supports: str, contradicts: Iterable[str]) -> str:
    """A case's outcome from a table's verdict: the claimed direction supports, the listed ones
    (the opposite direction, and ``equivalent`` where a difference is claimed) contradict, and
    ``inconclusive`` (or anything else) leaves it undecided."""
    if verdict == supports:
        return SUPPORTS
    return CONTRADICTS if verdict in tuple(contradicts) else UNDECIDED


def at_least(low: float, high: float, bound: float) -> str:
    """``value >= bound``: supports when even the low end reaches it, contradicts when the high end
    stays below it."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return UNDECIDED
    return SUPPORTS if low >= bound else CONTRADICTS if high < bound else UNDECIDED


def at_most(low: float, high: float, bound: float) -> str:
    """``value <= bound``: supports when the high end stays within it, contradicts when the low end
    already exceeds it."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return UNDECIDED
    return SUPPORTS if high <= bound else CONTRADICTS if low > bound else UNDECIDED


def within(low: float, high: float, lo_bound: float, hi_bound: float) -> str:
    """``lo_bound <= value <= hi_bound``: supports when the whole interval is inside, contradicts
    when it lies entirely outside."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return UNDECIDED
    if lo_bound <= low and high <= hi_bound:
        return SUPPORTS
    return CONTRADICTS if high < lo_bound or low > hi_bound else UNDECIDED


# --- combining cases into a verdict ---------------------------------------------------------------

def _fmt(v: float) -> str:
    return f"{v:.3g}" if isinstance(v, int | float) and math.isfinite(v) else "n/a"


def _interval(case: Case) -> str:
    if not (math.isfinite(case.low) and math.isfinite(case.high)):
        return f"{_fmt(case.value)} (no interval)"
    if case.low == case.high == case.value:
        return _fmt(case.value)
    return f"{_fmt(case.value)} ({_fmt(case.low)}–{_fmt(case.high)})"


def _case_text(case: Case) -> str:
    return f"{case.label}: {_interval(case)}" + (f", {case.note}" if case.note else "")


def _by_group(cases: list[Case]) -> str:
    groups: dict[str, dict[str, int]] = {}
    for c in cases:
        if c.group:
            groups.setdefault(c.group, {}).setdefault(c.outcome, 0)
            groups[c.group][c.outcome] += 1
    if len(groups) < 2:
        return ""
    parts = [f"{g}: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
             for g, counts in groups.items()]
    return " By case group: " + "; ".join(parts) + "."


def combine(cases: list[Case], badness: Callable[[float], float] = higher_supports,
            needs: str = "") -> dict:
    """The verdict of a claim from its cases (module docstring), with the deciding number."""
    counts = {o: sum(c.outcome == o for c in cases) for o in (SUPPORTS, CONTRADICTS, UNDECIDED)}
    base = {"n_cases": len(cases), "supporting": counts[SUPPORTS], "contradicting": counts[CONTRADICTS],
            "undecided": counts[UNDECIDED],
            "cases": "; ".join(f"{_case_text(c)} [{c.outcome}]" for c in cases)}
    if not cases:
        return {**base, "verdict": "not measured", "value": math.nan, "ci_low": math.nan,
                "ci_high": math.nan, "value_case": "", "evidence": f"Not measured: needs {needs}."}

    def worst(outcome: str) -> Case:
        pool = [c for c in cases if c.outcome == outcome]
        return max(pool, key=lambda c: badness(c.value) if math.isfinite(c.value) else -math.inf)

    n, sup, con, und = len(cases), counts[SUPPORTS], counts[CONTRADICTS], counts[UNDECIDED]
    if con:
        verdict, decisive = "fails", worst(CONTRADICTS)
        lead = (f"{con} of {n} case{'s' if n > 1 else ''} contradict{'s' if con == 1 else ''} the claim; "
                f"the strongest: {_case_text(decisive)}. Supporting: {sup}, undecided: {und}.")
    elif 2 * sup > n:
        verdict, decisive = "holds", worst(SUPPORTS)
        lead = (f"{sup} of {n} case{'s' if n > 1 else ''} support the claim, none contradicts"
                + (f", {und} undecided" if und else "") + f"; the weakest support: {_case_text(decisive)}.")
    else:
        verdict, decisive = "inconclusive", worst(UNDECIDED)
        lead = (f"No case contradicts the claim, but only {sup} of {n} support it (more than half must); "
                f"{und} undecided, the weakest: {_case_text(decisive)}.")
    return {**base, "verdict": verdict, "value": decisive.value, "ci_low": decisive.low,
            "ci_high": decisive.high, "value_case": decisive.label, "evidence": lead + _by_group(cases)}


# --- generic helpers for family claims ------------------------------------------------------------

def ok_rows(scope: Scope) -> pd.DataFrame:
    """The scope's runs rows that measured a time (status ok)."""
    return tables.ok_rows(scope.table("runs"))


def _finite(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def peaks(*rows) -> tuple[list[tuple[float, float]], str] | None:
    """(low, high) peak bytes of each runs.csv row, all of one kind: peak RSS (median to max over
    single calls) where RSS sees every one of them, else tracemalloc's peak of one call; None when
    neither was measured for all of them."""
    rss = [_finite(r.get("peak_rss_bytes")) for r in rows]
    if all(v is not None and v >= measure.RSS_VISIBLE_BYTES for v in rss):
        highs = [_finite(r.get("peak_rss_max_bytes")) for r in rows]
        return [(lo, max(hi or lo, lo)) for lo, hi in zip(rss, highs, strict=True)], "peak RSS"
    traced = [_finite(r.get("traced_peak_bytes")) for r in rows]
    if all(t is not None and t > 0 for t in traced):
        return [(t, t) for t in traced], "traced peak"
    return None


def peak_range(row) -> tuple[float, float, str] | None:
    """``peaks`` of one row as (low, high, kind)."""
    got = peaks(row)
    return None if got is None else (*got[0][0], got[1])


def case_keys(df: pd.DataFrame) -> list[str]:
    """Columns that identify a case of a family view apart from its method: dtype, threads and the
    family's parameters (as plain columns)."""

    names = set()
    for fam in df["family"].dropna().unique() if "family" in df else []:
        names |= set(family.get(str(fam)).param_names)
    return [c for c in ["dtype", "threads", *sorted(names)] if c in df.columns]


def speed_ratio(scope: Scope, fast: str, slow: str, on: list[str] | None = None) -> pd.DataFrame:
    """Per case measured with both methods: ``speedup`` = time of ``slow`` / time of ``fast`` with its
    between-process interval (``low``, ``high``) and the verdict for ``fast`` (faster, slower,
    equivalent, inconclusive), keyed by ``on`` (default: every case key). Empty when not measured."""
    runs = ok_rows(scope)
    cols = ["speedup", "low", "high", "verdict"]
    if runs.empty:
        return pd.DataFrame(columns=(on or []) + cols)
    on = on or case_keys(runs)
    keep = on + aggregate.TIMING
    both = runs[runs["method"] == fast][keep].merge(runs[runs["method"] == slow][keep], on=on,
                                                    suffixes=("_fast", "_slow"))
    if both.empty:
        return pd.DataFrame(columns=on + cols)
    r = aggregate.ratio_columns(both, "_slow", "_fast", scope.min_effect, ("slower", "faster"))
    return both.assign(speedup=r["ratio"], low=r["ci_low"], high=r["ci_high"], verdict=r["verdict"]) \
        .reset_index(drop=True)


# --- evaluation -----------------------------------------------------------------------------------

def _restrict(df: pd.DataFrame, **where) -> pd.DataFrame:
    for col, val in where.items():
        if val is not None and col in df.columns:
            df = df[df[col].astype(str) == str(val)]
    return df


def _scopes(claim: Claim, tables: dict[str, pd.DataFrame], min_effect: float):
    runs = tables.get("runs", pd.DataFrame())
    if runs.empty or "host_id" not in runs:
        yield "", "" if claim.per == "backend" else ALL_BACKENDS, None
        return
    pairs = runs[["host_id", "backend"]].astype(str).drop_duplicates().sort_values(["host_id", "backend"])
    keys = ([(h, b) for h, b in pairs.itertuples(index=False)] if claim.per == "backend"
            else [(h, None) for h in pairs["host_id"].unique()])
    for host, backend in keys:
        selected = {name: _restrict(aggregate.family_view(df, claim.family), host_id=host, backend=backend,
                                    **claim.select) for name, df in tables.items()}
        label = backend if backend is not None else ALL_BACKENDS
        yield host, label, Scope(selected, host, backend, min_effect)


def evaluate(tables: dict[str, pd.DataFrame], min_effect: float = stats.MIN_EFFECT,
             claims: dict[str, Claim] | None = None) -> pd.DataFrame:
    """Every claim's verdict per host and backend (per host for cross-backend claims), one row each."""
    claims = registry() if claims is None else claims
    rows = []
    for claim in claims.values():
        for host, backend, scope in _scopes(claim, tables, min_effect):
            cases = claim.cases(scope) if scope is not None else []
            rows.append({"claim_id": claim.id, "family": claim.family, "seed": " ".join(claim.seed),
                         "seed_section": claim.seed_section, "claim": claim.text, "host_id": host,
                         "backend": backend, "quantity": claim.quantity, "decided_by": claim.decided_by,
                         "rule": claim.rule, **combine(cases, claim.badness, claim.needs)})
    return pd.DataFrame(rows, columns=COLUMNS)


# --- the report's first page ------------------------------------------------------------------------

def _lit(name) -> str:
    return f"``{name}``"


def _seeds(seed: str) -> str:
    return ", ".join(seeds.short(s) for s in str(seed).split())


def _number(row) -> str:
    if row["verdict"] == "not measured":
        return "–"
    case = Case(str(row["value_case"]), "", float(row["value"]), float(row["ci_low"]), float(row["ci_high"]))
    return f"{_interval(case)} at {case.label} ({row['quantity']})"


def _counts(row) -> str:
    if row["verdict"] == "not measured":
        return str(row["evidence"]).removeprefix("Not measured: ")
    return (f"{int(row['n_cases'])}: {int(row['supporting'])} support, {int(row['contradicting'])} "
            f"contradict, {int(row['undecided'])} undecided")


def _cell(text: str) -> str:
    """One line of a list-table cell (RST treats a leading '*' or '-' as a list)."""
    return " ".join(str(text).split()).replace("*", "\\*") or "–"


def _folded(summary: str, lines: list[str]) -> list[str]:
    """RST lines shown folded in the HTML report (a <details> element)."""
    if not lines:
        return []
    return [".. raw:: html", "", f"   <details><summary>{summary}</summary>", "", *lines, "",
            ".. raw:: html", "", "   </details>", ""]


def to_rst(df: pd.DataFrame) -> str:
    """The claims as reStructuredText: what this run decided (a table of verdicts), then folded away
    the claims it did not measure and how each claim is decided."""
    out = ["Claims", "======", ""]
    hosts = sorted(h for h in df["host_id"].astype(str).unique() if h)
    counts = df["verdict"].value_counts()
    out += [f"The seed documents' performance statements about the families this run measured, decided "
            f"by ``numperf claims`` from its tables for host{'s' if len(hosts) != 1 else ''} "
            f"{', '.join(map(_lit, hosts)) or '(none)'}: "
            + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
            + ". A claim *holds* when no case contradicts it and more than half of its cases support it "
            "(by their 95% between-process intervals), *fails* when a case contradicts it (a finding "
            "about this machine, not an error), and is *inconclusive* otherwise. The number is the one "
            "that decided the verdict, with its interval; claims.csv has the evidence and every case.", ""]
    decided = df[df["verdict"] != "not measured"]
    many = len(hosts) > 1 or df.loc[df["backend"] != ALL_BACKENDS, "backend"].nunique() > 1
    header = (["claim", "seed"] + (["host, backend"] if many else [])
              + ["verdict", "deciding number (interval)", "cases"])
    widths = ["34", "6"] + (["10"] if many else []) + ["9", "26", "20"]
    rows = [header]
    for _, r in decided.iterrows():
        where = f"{_lit(r['host_id'])}, {_lit(r['backend'])}" if r["host_id"] else "–"
        rows.append([f"**{r['claim_id']}**: {_cell(r['claim'])}", _seeds(r["seed"])]
                    + ([where] if many else [])
                    + [f"**{r['verdict']}**", _cell(_number(r)), _cell(_counts(r))])
    if len(rows) > 1:
        out += [".. list-table::", "   :header-rows: 1", f"   :widths: {' '.join(widths)}", ""]
        for row in rows:
            out += [f"   {'*' if i == 0 else ' '} - {cell}" for i, cell in enumerate(row)]
        out.append("")
    else:
        out += ["This run decided no claim.", ""]
    missing = df[df["verdict"] == "not measured"].drop_duplicates("claim_id")
    out += _folded(f"{len(missing)} claim{'s' if len(missing) != 1 else ''} not measured by this run",
                   [f"* **{r['claim_id']}**: {_cell(r['claim'])} ({_cell(_counts(r))})"
                    for _, r in missing.iterrows()])
    out += _folded("How each claim is decided",
                   [f"* **{r['claim_id']}** (seed {_seeds(r['seed'])}, {_cell(r['seed_section'])}): "
                    f"{_cell(r['rule'])} From {_cell(r['decided_by'])}."
                    for _, r in df.drop_duplicates("claim_id").iterrows()])
    return "\n".join(out + [""])


def write(tables_dir: str | Path, out_csv: str | Path, out_rst: str | Path | None = None,
          min_effect: float = stats.MIN_EFFECT) -> pd.DataFrame:
    """Decide the claims of the families in the tables in ``tables_dir``; write the CSV (and RST)
    atomically."""
    data = tables.load(tables_dir, TABLES)
    runs = data["runs"]
    ran = sorted(set(runs["family"].astype(str)) & set(family.registry())) if "family" in runs else []
    df = evaluate(data, min_effect=min_effect, claims=registry(family.declared("claims", ran)))
    with record.atomic_write(out_csv) as fh:
        df.to_csv(fh, index=False)
    if out_rst:
        with record.atomic_write(out_rst) as fh:
            fh.write(to_rst(df))
    return df


def summary(df: pd.DataFrame) -> str:
    """One line: how many claims ended how."""
    counts = df["verdict"].value_counts()
    return f"{df['claim_id'].nunique()} claims, {len(df)} rows: " + ", ".join(
        f"{counts.get(v, 0)} {v}" for v in VERDICTS)


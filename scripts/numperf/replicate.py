"""Adaptive replication: more processes where an interval is still too wide to decide.

After a sweep's planned processes, every measuring unit (the cases of one point, measured together,
or a case alone) is looked at: each paired comparison with the unit's reference method and, for a
case alone, its own time interval. A unit is *open* while one of them is wider than
``target_resolution`` (relative half-width) and its verdict is still open (inconclusive). Open units
get one more process each, cheapest first, pass after pass, until each is resolved, has
``max_processes``, or the sweep's ``replication_budget_s`` is spent; ``replication.json`` says which,
per case, and how much of the wall time was spent inside timed samples.
"""

from __future__ import annotations

import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from numperf import config, family, measure, metadata, record, runner, stats

STOPS = ("resolved", "cap_reached", "budget_spent", "not_measured", "failed")


def _records(unit, count: int) -> list[list[dict | None]]:
    """The unit's records of processes 0..count-1, per case (None where missing or unreadable)."""
    out = []
    for item, _ in unit:
        recs = []
        for k in range(count):
            path = Path(item["path"].format(process=k))
            try:
                recs.append(record.load_record(path) if path.exists() else None)
            except record.RecordError:
                recs.append(None)
        out.append(recs)
    return out


def _medians(recs: list[dict | None]) -> tuple[list[float], list[str | None], list[list[float]]]:
    meds, keys, samples = [], [], []
    for rec in recs:
        if rec and rec["status"] == "ok" and rec.get("timing"):
            meds.append(rec["timing"]["median_s"])
            keys.append((rec.get("pairing") or {}).get("process_uid"))
            samples.append(rec["timing"]["samples_s"])
    return meds, keys, samples


def reference_method(methods: list[str], fam: family.Family) -> str:
    """What a unit's comparisons divide by: the family's baseline when measured, else its first."""
    return fam.baseline if fam.baseline in methods else methods[0]


def widths(unit, recs, min_effect: float) -> dict[str, tuple[float, str, bool]]:
    """Per case of the unit: (relative half-width, verdict, decides) of its paired ratio to the unit's
    reference method, or of its own time interval (verdict "open") for the reference and for a case
    alone. ``decides`` is False for a reference that its comparisons decide."""
    series = {spec.method: _medians(r) for (_, spec), r in zip(unit, recs, strict=True)}
    ref = reference_method(list(series), unit[0][1].family_spec)
    out = {}
    for (_, spec), (meds, keys, samples) in zip(unit, series.values(), strict=True):
        if len(unit) == 1 or spec.method == ref:
            _, lo, hi = stats.median_interval(meds)
            out[spec.case_id] = (stats.resolvable_effect(lo, hi), "open", len(unit) == 1)
            continue
        rmeds, rkeys, rsamples = series[ref]
        ratio, lo, hi = stats.ratio_interval(meds, rmeds, keys_a=keys, keys_b=rkeys, samples_a=samples,
                                             samples_b=rsamples)
        verdict = stats.verdict(ratio, lo, hi, min_effect, ("faster", "slower"))
        out[spec.case_id] = (stats.resolvable_effect(lo, hi), verdict, True)
    return out


def _is_open(unit, recs, target: float, min_effect: float) -> bool:
    return any(decides and (not math.isfinite(w) or w > target) and v in ("open", "inconclusive")
               for w, v, decides in widths(unit, recs, min_effect).values())


def _cost_s(recs) -> float:
    """Wall seconds one more process of the unit is expected to take (its last one's)."""
    last = [rs[-1] for rs in recs if rs and rs[-1]]
    group = [r["run"]["group_wall_s"] for r in last if r["run"].get("group_wall_s")]
    return float(group[0]) if group else float(sum(r["run"].get("wall_s") or 0.0 for r in last))


def _timed_s(recs) -> float:
    return sum(sum(r["timing"]["samples_s"]) * r["timing"]["loops"] for rs in recs for r in rs
               if r and r.get("timing"))


def _wall_s(recs) -> float:
    return sum(r["run"].get("wall_s") or 0.0 for rs in recs for r in rs if r)


def _count(unit) -> int:
    """Processes of the unit on disk, measured by this code for this spec (the first gap ends it)."""
    count, cap = 0, unit[0][1].process_cap
    while count < cap and all(runner.reusable(Path(i["path"].format(process=count)), s, count)
                              for i, s in unit):
        count += 1
    return count


def _drop_stale(unit, count: int) -> None:
    """Remove records of extra processes past ``count`` (an older run's replication, other code); the
    planned processes' records belong to the batches and are never removed here."""
    for item, spec in unit:
        for k in range(max(count, spec.processes), max(count, spec.process_cap, 100)):
            path = Path(item["path"].format(process=k))
            if path.exists():
                print(f"replicate: removing stale {path}", file=sys.stderr)
                path.unlink()


def _state(unit, target, min_effect) -> tuple[int, list, str | None]:
    """(processes on disk, their records, a closed unit's stop reason or None while open)."""
    count = _count(unit) if unit[0][0]["runs"] else 0
    recs = _records(unit, count)
    if not unit[0][0]["runs"] or count == 0:
        return count, recs, "not_measured"
    if any(r is None or r["status"] != "ok" for rs in recs for r in rs[-1:]):
        return count, recs, "failed"
    if not _is_open(unit, recs, target, min_effect):
        return count, recs, "resolved"
    if count >= unit[0][1].process_cap:
        return count, recs, "cap_reached"
    return count, recs, None


def _say(unit, index: int, target: float, min_effect: float, left_s: float) -> None:
    """One console line per extra process: the unit, its widest open interval, the budget left."""
    recs = _records(unit, index + 1)
    found = [w for w, v, decides in widths(unit, recs, min_effect).values()
             if decides and v in ("open", "inconclusive") and math.isfinite(w)]
    widest = f"widest open interval +-{max(found):.1%}" if found else "decided"
    print(f"replicate: {runner.unit_label(unit)} process {index + 1}/{unit[0][1].process_cap}: {widest} "
          f"(target {target:.0%}); {max(0.0, left_s):.0f} s of budget left", flush=True)


def replicate(case_files: list[str | Path], out: str | Path, target_resolution: float, budget_s: float,
              min_effect: float = stats.MIN_EFFECT, allocated_cpus: int | None = None) -> dict:
    """Top up the open units of the sweep (``case_files``: its batches' case lists); write and return
    the summary (per case: processes, stop reason, half-width and verdict)."""
    items = [item for path in case_files for item in config.read_case_file(path)]
    units = runner.units(items)
    t0, spent, measured = time.perf_counter(), 0.0, 0
    stops: dict[int, str] = {}
    measure.wait_for_quiet()
    while True:
        opened = []
        for i, unit in enumerate(units):
            if i in stops:
                continue
            count, recs, stop = _state(unit, target_resolution, min_effect)
            if stop:
                stops[i] = stop
            else:
                opened.append((_cost_s(recs), i, count))
        if not opened:
            break
        for cost, i, count in sorted(opened):
            if spent + cost > budget_s:
                stops[i] = "budget_spent"
                continue
            start = time.perf_counter()
            runner.measure_unit(units[i], count, allocated_cpus)
            spent += time.perf_counter() - start
            measured += 1
            _say(units[i], count, target_resolution, min_effect, budget_s - spent)
    rows, timed, wall = [], 0.0, 0.0
    for i, unit in enumerate(units):
        count, recs, _ = _state(unit, target_resolution, min_effect)
        if unit[0][0]["runs"]:
            _drop_stale(unit, count)
        timed, wall = timed + _timed_s(recs), wall + _wall_s(recs)
        found = widths(unit, recs, min_effect) if count else {}
        for (_, spec), _r in zip(unit, recs, strict=True):
            width, verdict, _ = found.get(spec.case_id, (math.nan, "open", False))
            rows.append({"case_id": spec.case_id, "backend": spec.backend, "processes": count,
                         "planned_processes": spec.processes, "stop_reason": stops.get(i, "resolved"),
                         "resolvable_effect": width, "verdict": verdict})
    summary = {"schema": "numperf.replication/1", "host_id": metadata.host_id(),
               "target_resolution": target_resolution, "budget_s": budget_s,
               "spent_s": time.perf_counter() - t0, "extra_processes": measured,
               "measuring_wall_s": wall, "timed_s": timed,
               "timed_share": timed / wall if wall > 0 else math.nan,
               "stops": {s: sum(r["stop_reason"] == s for r in rows) for s in STOPS},
               "end_utc": datetime.now(UTC).isoformat(), "cases": rows}
    record.write_json(out, summary)
    return summary

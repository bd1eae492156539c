"""Interleaved measurement in real child processes: the methods of one point share each process,
in rounds of a seeded random order that the records keep, and every case still gets its own record."""

from __future__ import annotations

import pytest

from numperf import measure, runner
from numperf.runner import CaseSpec

METHODS = ("gemm_trick", "blocked", "broadcast")


def _specs(**kw) -> list[CaseSpec]:
    base = {"family": "distances", "params": {"n": 60, "d": 4}, "dtype": "float64", "threads": 1,
            "min_sample_time_s": 0.002, "repeats": 6, "processes": 2, "timed_s_per_process": 0.0, **kw}
    return [CaseSpec(method=m, **base) for m in METHODS]


@pytest.fixture(scope="module")
def two_processes():
    specs = _specs()
    return [runner.run_group(specs, [None] * len(specs), allocated_cpus=1, process_index=k) for k in (0, 1)]


def test_a_point_is_measured_in_one_process_with_a_recorded_random_round_order(two_processes):
    for recs in two_processes:
        assert [r["status"] for r in recs] == ["ok"] * 3
        pairing = [r["pairing"] for r in recs]
        assert {p["mode"] for p in pairing} == {"interleaved"}
        assert len({p["process_uid"] for p in pairing}) == 1  # one process measured them all
        orders = pairing[0]["round_orders"]
        assert len(orders) == 6 and all(sorted(o) == sorted(METHODS) for o in orders)
        assert len({tuple(o) for o in orders}) > 1  # not one fixed order
        assert all(len(r["timing"]["samples_s"]) == 6 for r in recs)
    first, second = (recs[0]["pairing"] for recs in two_processes)
    assert first["process_uid"] != second["process_uid"]
    assert first["round_orders"] != second["round_orders"]  # each process draws its own orders


def test_round_orders_are_seeded_by_case_seed_and_process():
    specs = _specs(repeats=4)
    again = runner.run_group(specs, [None] * 3, allocated_cpus=1, process_index=0)
    other = runner.run_group(_specs(repeats=4, seed=5), [None] * 3, allocated_cpus=1, process_index=0)
    orders = again[0]["pairing"]["round_orders"]
    assert runner.run_group(specs, [None] * 3, allocated_cpus=1, process_index=0)[0]["pairing"][
        "round_orders"] == orders
    assert other[0]["pairing"]["round_orders"] != orders or len(orders) < 2


def test_rounds_are_added_until_the_timed_seconds_are_reached():
    recs = runner.run_group(_specs(repeats=2, timed_s_per_process=0.06), [None] * 3, allocated_cpus=1,
                            process_index=0)
    orders = recs[0]["pairing"]["round_orders"]
    counts = [len(r["timing"]["samples_s"]) for r in recs]
    assert len(orders) == max(counts) > 2 and min(counts) >= 2
    for r, n in zip(recs, counts, strict=True):  # each method joins as many rounds as it has samples
        assert sum(r["case"]["method"] in o for o in orders) == n
    # each method about timed_s_per_process of samples (at least repeats, none much over it)
    timed = [sum(r["timing"]["samples_s"]) * r["timing"]["loops"] for r in recs]
    assert all(t < 1.0 for t in timed) and sum(t > 0.03 for t in timed) >= 1


def test_kernels_of_like_speed_share_every_round_and_only_slow_ones_join_fewer():
    wanted = measure.rounds_wanted({"a": 0.005, "b": 0.007, "c": 0.004, "slow": 0.5}, 3, 0.15)
    assert wanted["a"] == wanted["b"] == wanted["c"] == 25  # 0.15 s of the median 6 ms: pair by round
    assert wanted["slow"] == 3  # its repeats: 0.15 s is less than one of its samples
    assert measure.rounds_wanted({"a": 0.005}, 3, 0.0) == {"a": 3}


def test_a_slow_kernel_joins_fewer_rounds_spread_over_them():
    plan = measure.round_plan({"fast": 12, "slow": 3, "same": 12})
    assert len(plan) == 12 and all("fast" in r and "same" in r for r in plan)
    slow = [i for i, r in enumerate(plan) if "slow" in r]
    assert len(slow) == 3 and slow[0] < 4 <= slow[1] < 8 <= slow[2]  # one in each third
    assert measure.round_plan({}) == []


def test_only_the_check_process_checks_and_every_case_keeps_its_own_record(two_processes):
    first, second = two_processes
    assert all(r["check"] is not None and not r["check"]["failed"] for r in first)
    assert all(r["check"] is None for r in second)
    assert [r["case"]["method"] for r in first] == list(METHODS)


def test_a_skipped_case_beside_runnable_ones_is_a_row_with_its_reason():
    specs = _specs(repeats=2)
    recs = runner.run_group(specs, [None, "excluded: test", None], allocated_cpus=1, process_index=0)
    assert [r["status"] for r in recs] == ["ok", "skipped", "ok"]
    assert recs[1]["reason"] == "excluded: test" and recs[1]["pairing"] is None
    assert recs[0]["pairing"]["methods"] == ["gemm_trick", "broadcast"]


def test_isolated_mode_measures_each_case_in_a_process_of_its_own(tmp_path):
    specs = _specs(repeats=2, isolation="process")
    items = [{"spec": s.to_json(), "skip_reason": None, "runs": True,
              "path": str(tmp_path / s.case_id / "p{process}.json")} for s in specs]
    units = runner.units(items)
    assert [len(u) for u in units] == [1, 1, 1]
    rows = runner.measure_unit(units[0], 0, allocated_cpus=1)
    assert rows[0]["status"] == "ok" and not rows[0]["reused"]
    assert runner.measure_unit(units[0], 0, allocated_cpus=1)[0]["reused"]


def test_an_interleaved_unit_is_reused_whole_or_measured_again_whole(tmp_path):
    specs = _specs(repeats=2)
    items = [{"spec": s.to_json(), "skip_reason": None, "runs": True,
              "path": str(tmp_path / s.case_id / "p{process}.json")} for s in specs]
    (unit,) = runner.units(items)
    runner.measure_unit(unit, 0, allocated_cpus=1)
    assert all(r["reused"] for r in runner.measure_unit(unit, 0, allocated_cpus=1))
    (tmp_path / specs[1].case_id / "p0.json").unlink()
    assert not any(r["reused"] for r in runner.measure_unit(unit, 0, allocated_cpus=1))


def test_the_process_cap_bounds_the_process_index():
    spec = _specs(max_processes=4)[0]
    assert spec.process_cap == 4
    with pytest.raises(ValueError, match="process index"):
        runner.run_case(spec, process_index=4)
    with pytest.raises(ValueError, match="max_processes"):
        _specs(processes=3, max_processes=2)
    with pytest.raises(ValueError, match="isolation"):
        _specs(isolation="threads")

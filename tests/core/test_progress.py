"""The console progress of a sweep: a ledger shared by the batch jobs, plain or in-place lines."""

from __future__ import annotations

import io
import json

from numperf.progress import Progress, format_eta


class FakeTty(io.StringIO):
    def isatty(self):
        return True


def test_ledger_counts_across_two_jobs(tmp_path):
    ledger = tmp_path / "host" / "progress.json"
    first = Progress(ledger, total_cases=10, stream=io.StringIO())
    first.start("distances broadcast n=120 d=8 float32 t1")
    first.done(1, "ok", rounds=3, why="ci narrow", seconds=2.0)
    first.start("distances blocked n=120 d=8 float32 t1 (2 cases)")
    first.done(2, "ok", seconds=4.0)
    first.finish()

    second_out = io.StringIO()
    second = Progress(ledger, total_cases=10, stream=second_out)  # the next Snakemake job
    second.start("distances gemm_trick n=300 d=16 float64 t2")
    second.done(1, "reused", seconds=0.0)
    state = json.loads(ledger.read_text())
    assert state == {"done": 4, "timed": 3, "seconds": 6.0, "total": 10}
    line = second_out.getvalue()
    assert line.startswith("[ 4/10  40%] distances gemm_trick n=300 d=16 float64 t2 reused")
    assert "~12 s left" in line  # 2 s per measured case, 6 cases left


def test_plain_lines_when_not_a_tty(tmp_path):
    out = io.StringIO()
    p = Progress(tmp_path / "progress.json", total_cases=2, stream=out)
    p.start("case a")
    assert out.getvalue() == ""  # no line until a case is done
    p.done(1, "ok", rounds=5, why="time limit", seconds=1.5)
    p.start("case b")
    p.done(1, "timeout", seconds=3.0)
    p.finish()
    lines = out.getvalue().split("\n")
    assert lines[-1] == "" and len(lines) == 3
    assert lines[0] == "[1/2  50%] case a ok | 1.50 s | 5 rounds | stopped: time limit | ~1.50 s left"
    assert lines[1] == "[2/2 100%] case b timeout | 3.00 s"
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_in_place_on_a_tty(tmp_path):
    out = FakeTty()
    p = Progress(tmp_path / "progress.json", total_cases=3, stream=out)
    p.start("case a")
    p.done(1, "ok", rounds=2, seconds=1.0)
    p.start("case b")
    p.finish()
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert text.split("\r\x1b[K")[-1] == "[1/3  33%] case b ... ~2.00 s left\n"


def test_eta_present_after_the_first_case(tmp_path):
    p = Progress(tmp_path / "progress.json", total_cases=208, stream=io.StringIO())
    assert p.eta() is None
    p.start("case a")
    p.done(1, "ok", seconds=0.6)
    assert p.eta() == "~2 min 4 s left"
    assert format_eta(3725) == "1 h 02 min" and format_eta(42.4) == "42 s"


def test_a_broken_ledger_or_stream_does_not_raise(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = io.StringIO()
    p = Progress(blocker / "progress.json", total_cases=2, stream=out)
    p.start("case a")
    p.done(1, "ok", seconds=1.0)
    p.finish()
    assert out.getvalue().startswith("[1/2  50%] case a ok")

    garbage = tmp_path / "progress.json"
    garbage.write_text("{not json")
    closed = FakeTty()
    closed.close()
    q = Progress(garbage, total_cases=2, stream=closed)
    q.start("case a")
    q.done(1, "ok", seconds=1.0)
    q.finish()
    assert json.loads(garbage.read_text())["done"] == 1


def test_a_ledger_of_another_sweep_starts_afresh(tmp_path):
    ledger = tmp_path / "progress.json"
    ledger.write_text(json.dumps({"done": 208, "timed": 208, "seconds": 99.0, "total": 208}))
    p = Progress(ledger, total_cases=12, stream=io.StringIO())
    p.start("case a")
    p.done(1, "ok", seconds=1.0)
    assert json.loads(ledger.read_text())["done"] == 1

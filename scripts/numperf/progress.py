"""Sweep-wide progress on the console: cases done of the total, the case running, and time left.

A sweep is several Snakemake jobs run one after another, so the count lives in a small JSON
ledger (e.g. ``results/<host>/progress.json``) that each batch job reads and updates. On a
terminal the line updates in place; elsewhere (CI logs) each finished case prints one line.
Nothing here may stop a measurement: errors on the ledger or the stream are ignored.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from pathlib import Path

from numperf.record import write_json
from numperf.units import format_seconds

_CLEAR = "\r\x1b[K"  # back to the start of the line, then clear to its end
_STREAM_ERRORS = (OSError, ValueError, AttributeError)


def start_ledger(ledger_path, total_cases: int) -> None:
    """A fresh count for a sweep of ``total_cases`` case measurements (the workflow's onstart)."""
    try:
        write_json(ledger_path, {"done": 0, "timed": 0, "seconds": 0.0, "total": int(total_cases)})
    except OSError:
        pass


def format_eta(seconds: float) -> str:
    """A rough duration for a person: ``45 s``, ``2 min 10 s``, ``1 h 05 min``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "n/a"
    if seconds < 10:
        return format_seconds(seconds)
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """The console line of one batch job, counting cases against the whole sweep's total.

    The ledger holds ``done`` (cases finished), ``timed`` and ``seconds`` (the cases that were
    measured, not reused, and their time: the rate behind the estimate) and ``total``. A ledger
    written for another total belongs to another sweep and is started afresh.
    """

    def __init__(self, ledger_path, total_cases: int, stream=None):
        self.ledger_path = Path(ledger_path)
        self.total = max(0, int(total_cases)) or self._ledger_total()
        self.stream = sys.stdout if stream is None else stream
        self.label = ""
        self._t0: float | None = None
        self._state = self._read()
        try:
            self.tty = bool(self.stream.isatty())
        except _STREAM_ERRORS:
            self.tty = False

    def _ledger_total(self) -> int:
        """The total a fresh ledger was started with (``start_ledger``), for jobs that are not told it."""
        try:
            return max(0, int(json.loads(self.ledger_path.read_text())["total"]))
        except (OSError, ValueError, TypeError, KeyError):
            return 0

    def _read(self) -> dict:
        """The ledger's counts; zeros when it is missing, unreadable or from another sweep."""
        fresh = {"done": 0, "timed": 0, "seconds": 0.0, "total": self.total}
        try:
            data = json.loads(self.ledger_path.read_text())
            if int(data["total"]) != self.total:
                return fresh
            return {"done": int(data["done"]), "timed": int(data.get("timed", data["done"])),
                    "seconds": float(data["seconds"]), "total": self.total}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return fresh

    def eta(self) -> str | None:
        """Time left: seconds per measured case so far (over all jobs) times the cases left."""
        st = self._state
        left = self.total - st["done"]
        if st["timed"] <= 0 or st["seconds"] <= 0 or left <= 0:
            return None
        return f"~{format_eta(st['seconds'] / st['timed'] * left)} left"

    def _counter(self) -> str:
        done, width = self._state["done"], len(str(self.total))
        pct = 100 * done / self.total if self.total else 100
        return f"[{done:>{width}}/{self.total} {pct:3.0f}%]"

    def _show(self, text: str, final: bool) -> None:
        """On a tty, rewrite the line in place (cut to the terminal's width, so it never wraps);
        elsewhere print only final lines."""
        try:
            if self.tty:
                width = shutil.get_terminal_size((120, 24)).columns - 1
                self.stream.write(_CLEAR + (text if len(text) <= width else text[:width - 1] + "…"))
            elif final:
                self.stream.write(text + "\n")
            else:
                return
            self.stream.flush()
        except _STREAM_ERRORS:
            pass

    def start(self, label: str) -> None:
        """A case (or a group of cases measured together) begins."""
        self._state = self._read()  # an earlier job may have moved it on
        self.label, self._t0 = label, time.perf_counter()
        eta = self.eta()
        self._show(f"{self._counter()} {label} ..." + (f" {eta}" if eta else ""), final=False)

    def done(self, count: int, status: str, rounds: int | None = None, why: str | None = None,
             seconds: float | None = None) -> None:
        """``count`` cases finished with ``status`` (``reused`` ones do not count towards the rate);
        record them in the ledger and show them, with the rounds and why it stopped if given.
        ``seconds`` defaults to the time since ``start``."""
        if seconds is None:
            seconds = time.perf_counter() - self._t0 if self._t0 is not None else 0.0
        count, seconds = max(0, int(count)), max(0.0, float(seconds))
        st = self._state = self._read()
        st["done"] += count
        if status != "reused":
            st["timed"] += count
            st["seconds"] = round(st["seconds"] + seconds, 3)
        self._t0 = None
        try:
            write_json(self.ledger_path, st)
        except (OSError, TypeError, ValueError):
            pass
        parts = [f"{self._counter()} {self.label} {status}", format_eta(seconds)]
        if rounds is not None:
            parts.append(f"{rounds} round{'' if rounds == 1 else 's'}")
        if why:
            parts.append(f"stopped: {why}")
        if eta := self.eta():
            parts.append(eta)
        self._show(" | ".join(parts), final=True)

    def finish(self) -> None:
        """End the line: a newline on a tty (plain output already ends each line)."""
        if self.tty:
            try:
                self.stream.write("\n")
                self.stream.flush()
            except _STREAM_ERRORS:
                pass

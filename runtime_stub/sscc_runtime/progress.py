"""The progress line of a run and its final summary (on stderr).

One line for the whole pipeline, refreshed by the loop about once a second: records in and out,
dead-lettered, the rate over the last interval and the lag (records not read yet). On a
terminal rich redraws it in place, with a row per service when there are several
(richprogress.py; without rich the line rewrites itself with `\\r`); into a pipe or file each
refresh is a plain line,
so logs stay readable, and only when a count changed: an idle run adds nothing to its log.
"""

from __future__ import annotations

import time
from typing import TextIO

from .loop import Counters


def totals(counters: dict[str, Counters]) -> tuple[int, int, int, int]:
    """(in, out, dead-lettered, lag) summed over services."""
    values = counters.values()
    return (
        sum(c.records_in for c in values),
        sum(c.records_out for c in values),
        sum(c.dead_lettered for c in values),
        sum(c.lag for c in values),
    )


class Progress:
    def __init__(self, stream: TextIO, name: str, tty: bool | None = None, rich: bool | None = None):
        self.stream, self.name = stream, name
        self.tty = stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self._last = (self.started, 0)  # (when, records in) of the previous refresh
        self._shown = False  # a \r line is on the terminal and needs clearing
        self._printed: tuple | None = None  # the counts of the last plain line
        self._view = None  # on a terminal with rich: a table redrawn in place (richprogress.py)
        if rich or (rich is None and tty is None and self.tty):  # a real terminal, or asked for
            from . import richprogress

            if richprogress.available():
                self._view = richprogress.RunView(stream, force_terminal=bool(rich))

    def update(self, counters: dict[str, Counters]) -> None:
        now = time.monotonic()
        counts = totals(counters)
        records_in, records_out, dead, lag = counts
        if not self.tty and counts == self._printed:
            return  # an idle run following its topics writes nothing to a log file
        when, before = self._last
        rate = (records_in - before) / max(now - when, 1e-9)
        self._last = (now, records_in)
        line = (
            f"{self.name} {_clock(now - self.started)}  in {records_in:,}  out {records_out:,}"
            f"  dead {dead:,}  {rate:,.0f} rec/s  lag {lag:,}"
        )
        if self._view is not None:
            self._view.show(line, counters)
            return
        if self.tty:
            self.stream.write(f"\r{line}\x1b[K")
            self._shown = True
        else:
            self.stream.write(line + "\n")
            self._printed = counts
        self.stream.flush()

    def clear(self) -> None:
        """Before another line is written to the stream: take a `\\r` progress line away."""
        if self._view is not None:
            self._view.clear()
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = False

    def finish(self, counters: dict[str, Counters], stopped_by: str | None) -> None:
        """The summary line, once, at exit."""
        elapsed = time.monotonic() - self.started
        records_in, records_out, dead, lag = totals(counters)
        how = f"stopped by {stopped_by}" if stopped_by else "done"
        rate = records_in / max(elapsed, 1e-9)
        line = (
            f"{self.name}: {how} after {elapsed:.1f}s: in {records_in:,}  out {records_out:,}"
            f"  dead {dead:,}  ({rate:,.0f} rec/s)  lag {lag:,}"
        )
        late = sum(c.late for c in counters.values())
        if late:  # windowed services: records past every window (they are among the dead)
            line += f"  late {late:,}"
        self.clear()
        self.stream.write(line + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02}:{seconds % 60:02}"

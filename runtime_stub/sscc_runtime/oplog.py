"""The run's log of operator output: `println!` / `eprintln!` lines, prefixed and rate-limited.

Operators are built for wasm32-wasi; what they write to stdout or stderr reaches the host's
`fd_write` (wasi.py) and ends here, as whole lines on the run's stderr:

    [service/operator] the line

A chatty operator must not flood a terminal or the disk a run's stderr is redirected to, so
every (service, operator) has a token bucket: `burst` lines at once, then `rate` lines per
second. Lines over the budget are counted, not written; the next line that is written (and the
end of the run) first says how many were dropped. A line longer than MAX_LINE bytes is cut.
`run --quiet` makes no OperatorLog at all: the host then discards operator output.
"""

from __future__ import annotations

import time
from typing import Callable, TextIO

DEFAULT_RATE = 100  # lines per second per operator, after the burst
BURST_SECONDS = 10  # the bucket holds this many seconds' worth of lines
MAX_LINE = 4096  # bytes of one line that are kept
MAX_PENDING = 64 * 1024  # bytes of an unfinished line kept before it is written as a line


class _Bucket:
    def __init__(self, rate: float, burst: float, now: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, now
        self.dropped = 0

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False


class OperatorLog:
    """Assembles lines per (service, stream) and writes them prefixed, within each operator's budget.

    `clock` (seconds, monotonic) is injectable so tests can show the cap without timing anything;
    `before_line` runs before each written line (the progress line clears itself on a terminal)."""

    def __init__(
        self,
        stream: TextIO,
        rate: float = DEFAULT_RATE,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        before_line: Callable[[], None] | None = None,
    ):
        self.stream, self.rate = stream, rate
        self.burst = max(1.0, rate * BURST_SECONDS if burst is None else burst)
        self.clock, self.before_line = clock, before_line
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._partial: dict[tuple[str, int], tuple[str, bytes]] = {}
        self.written = 0
        self.dropped = 0

    def write(self, service: str, operator: str, fd: int, data: bytes) -> None:
        """Bytes an operator wrote to fd 1 or 2; complete lines are logged at once."""
        key = (service, fd)
        op, pending = self._partial.pop(key, (operator, b""))
        pending += data
        *lines, rest = pending.split(b"\n")
        for line in lines:
            self._line(service, op, line)
            op = operator
        if len(rest) > MAX_PENDING:
            self._line(service, op, rest)
            rest = b""
        if rest:
            self._partial[key] = (op, rest)

    def close(self) -> None:
        """End of the run: unfinished lines, then how many lines each operator had dropped."""
        for (service, _fd), (op, rest) in sorted(self._partial.items()):
            self._line(service, op, rest)
        self._partial.clear()
        for (service, op), bucket in sorted(self._buckets.items()):
            self._note_dropped(service, op, bucket)
        self.stream.flush()

    def _line(self, service: str, operator: str, line: bytes) -> None:
        bucket = self._buckets.get((service, operator))
        now = self.clock()
        if bucket is None:
            bucket = self._buckets[(service, operator)] = _Bucket(self.rate, self.burst, now)
        if not bucket.take(now):
            self.dropped += 1
            return
        self._note_dropped(service, operator, bucket)
        if len(line) > MAX_LINE:
            line = line[:MAX_LINE] + b" ... (%d bytes cut)" % (len(line) - MAX_LINE)
        text = line.rstrip(b"\r").decode("utf-8", "replace")
        self._emit(f"[{service}/{operator}] {text}")
        self.written += 1

    def _note_dropped(self, service: str, operator: str, bucket: _Bucket) -> None:
        if bucket.dropped:
            n, bucket.dropped = bucket.dropped, 0
            self._emit(
                f"[{service}/{operator}] ... {n:,} line{'s' if n != 1 else ''} dropped"
                f" (rate limit: {self.rate:g} lines/s, bursts of {self.burst:g})"
            )

    def _emit(self, text: str) -> None:
        if self.before_line is not None:
            self.before_line()
        self.stream.write(text + "\n")

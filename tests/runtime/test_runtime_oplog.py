"""The run's log of operator output: lines assembled from fd_write pieces, prefixed, and capped
per operator by a token bucket on an injected clock (no timing in the test)."""

from __future__ import annotations

import io

import runtime_fixtures  # noqa: F401

from sscc_runtime.oplog import MAX_LINE, OperatorLog


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pieces_become_prefixed_lines_per_stream():
    out = io.StringIO()
    log = OperatorLog(out)
    log.write("svc", "parse", 1, b"hello ")
    log.write("svc", "parse", 2, b"oops\n")
    log.write("svc", "parse", 1, b"world\nsecond\npartial")
    log.close()
    assert out.getvalue().splitlines() == [
        "[svc/parse] oops",
        "[svc/parse] hello world",
        "[svc/parse] second",
        "[svc/parse] partial",
    ]


def test_each_operator_gets_a_burst_then_the_rate_and_drops_are_counted():
    out, clock = io.StringIO(), Clock()
    log = OperatorLog(out, rate=2, burst=3, clock=clock)
    for i in range(10):
        log.write("svc", "chatty", 1, b"line %d\n" % i)
    log.write("svc", "quiet-one", 1, b"still heard\n")  # another operator has its own budget
    clock.now += 1.0  # two more tokens
    log.write("svc", "chatty", 1, b"after a second\n")
    log.close()
    assert out.getvalue().splitlines() == [
        "[svc/chatty] line 0",
        "[svc/chatty] line 1",
        "[svc/chatty] line 2",
        "[svc/quiet-one] still heard",
        "[svc/chatty] ... 7 lines dropped (rate limit: 2 lines/s, bursts of 3)",
        "[svc/chatty] after a second",
    ]
    assert (log.written, log.dropped) == (5, 7)


def test_drops_at_the_end_are_reported_and_long_lines_are_cut():
    out, clock = io.StringIO(), Clock()
    log = OperatorLog(out, rate=1, burst=1, clock=clock)
    log.write("s", "op", 1, b"x" * (MAX_LINE + 10) + b"\n")
    log.write("s", "op", 1, b"dropped\n")
    log.close()
    first, last = out.getvalue().splitlines()
    assert first == "[s/op] " + "x" * MAX_LINE + " ... (10 bytes cut)"
    assert last == "[s/op] ... 1 line dropped (rate limit: 1 lines/s, bursts of 1)"

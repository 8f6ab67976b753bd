"""Next-fire computation of schedule sources against a brute-force walk over every second, and
the ticker's cursor on a real store: armed at the first start, never firing a time twice."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import runtime_fixtures  # noqa: F401

from sscc_runtime import frames
from sscc_runtime.backend import PositionConflict
from sscc_runtime.schedules import Ticker, next_after
from sscc_runtime.service import Schedule, Source
from sscc_runtime.store import Store
from sscc.syntax.cron import parse_cron


def schedule(cron: str) -> Schedule:
    spec = parse_cron(cron)
    return Schedule(
        "event", cron, spec.seconds, spec.minutes, spec.hours, spec.days_of_month, spec.months,
        spec.days_of_week, spec.days_either,
    )  # fmt: skip


def matches(s: Schedule, ms: int) -> bool:
    t = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    dom, dow = t.day in s.days_of_month, t.isoweekday() % 7 in s.days_of_week
    day = (dom or dow) if s.days_either else (dom and dow)
    return day and t.month in s.months and t.hour in s.hours and t.minute in s.minutes and t.second in s.seconds


def brute_next(s: Schedule, after_ms: int, days: int) -> int | None:
    """Walk every second (every minute when the schedule fires at second 0 only)."""
    step = 1000 if s.seconds != {0} else 60_000
    t = (after_ms // step + 1) * step
    for _ in range(days * 86_400_000 // step):
        if matches(s, t):
            return t
        t += step
    return None


START = 1_709_164_800_500  # 2024-02-29 00:00:00.5 UTC (a leap day, a Thursday)


@pytest.mark.parametrize(
    "cron",
    ["* * * * *", "*/15 * * * *", "30 9 * * MON-FRI", "0 0 1,15 * 5", "5/20 8-10 * * *", "*/7 * * * * *", "0 0 * FEB *", "0 12 29 2 *"],
)
def test_next_after_agrees_with_walking_every_second(cron):
    s = schedule(cron)
    at = START
    for _ in range(2 if "29 2" in cron else 6):
        want = brute_next(s, at, 5 * 366 if "29 2" in cron else 400)
        assert next_after(s, at) == want, cron
        if want is None:
            break
        at = want


def test_a_schedule_that_never_matches_gives_none():
    assert next_after(schedule("0 0 30 2 *"), START) is None


def _source() -> Source:
    return Source("svc.schedule.event", 1, {"position": "Beginning", "value": 0}, (), schedule("* * * * *"))


def test_the_ticker_arms_then_fires_each_time_once_across_restarts(tmp_path):
    t0 = 1_700_000_030_000  # 10 s before a whole minute
    topic = "svc.schedule.event"
    with Store(tmp_path / "store.db") as store:
        store.ensure_topic(topic, 1)
        assert Ticker(store, "svc", _source()).fire(t0 + 600_000) == 0, "the first start only arms"
        assert store.bounds(topic, 0) == (0, 0)
    with Store(tmp_path / "store.db") as store:  # a restart, ten minutes on
        ticker = Ticker(store, "svc", _source())
        assert ticker.cursor == t0 + 600_000
        assert ticker.fire(t0 + 600_000 + 125_000) == 2  # the marks at +610 s and +670 s
        stale = Ticker(store, "svc", _source())
        assert ticker.fire(t0 + 600_000 + 125_000) == 0
        assert ticker.fire(t0 + 600_000 + 130_000) == 1
        with pytest.raises(PositionConflict):  # a second runner behind the cursor cannot fire again
            stale.fire(t0 + 600_000 + 130_000)
        batch = store.read(topic, 0, 0, 10)
    values = [int(r.value) for r in frames.iter_records(batch.data)]
    assert values == [t0 + 610_000, t0 + 670_000, t0 + 730_000]
    assert [r.timestamp for r in frames.iter_records(batch.data)] == values

"""Schedule sources (0.6 `type: schedule`): cron times fired as records, exactly once.

Every schedule source of a service has a store topic, `<service>.schedule.<event>`, that the
service reads like any other source, from the beginning. A Ticker appends one record per fire
time t to it (value: t in ms since the Unix epoch as decimal text, which is the internal JSON of
the i64 the service's first operator takes; event time t; no key) and moves its cursor in the
same store commit. The cursor is a consumer position of the pseudo-service `<service>#schedule`
on that topic whose value is the time (ms) fired up to, so it is fenced like every position (a
second runner of the service cannot fire the same times) and a restart continues after it:
nothing fired is fired again.

Times are UTC, on the run's clock (clock.py: the wall clock, or SSCC_NOW_MS). The first start
arms the schedule at "now": nothing before it fires. Times missed while the pipeline was down
fire on the next start, oldest first, at most MAX_FIRES per loop step. With `--until-idle` the
ticker fires what fell due up to the start of the run, then nothing more (docs/schedules.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from . import clock, frames
from .backend import Output, Position, TopicBackend
from .service import Schedule, Source

MAX_FIRES = 1000  # records one step fires at most (catching up after a long stop)
SEARCH_YEARS = 8  # a schedule that matches no time within this (`0 0 30 2 *`) never fires
FENCE_SUFFIX = "#schedule"


def next_after(s: Schedule, after_ms: int) -> int | None:
    """The first time (ms, UTC, whole seconds) strictly after `after_ms` that `s` matches."""
    t = datetime.fromtimestamp(after_ms // 1000 + 1, tz=timezone.utc)
    last_year = t.year + SEARCH_YEARS
    while t.year <= last_year:
        if t.month not in s.months:
            t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
        elif not _day_matches(s, t):
            t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
        elif t.hour not in s.hours:
            t = t.replace(minute=0, second=0) + timedelta(hours=1)
        elif t.minute not in s.minutes:
            t = t.replace(second=0) + timedelta(minutes=1)
        elif t.second not in s.seconds:
            t += timedelta(seconds=1)
        else:
            return int(t.timestamp()) * 1000
    return None


def _day_matches(s: Schedule, t: datetime) -> bool:
    in_month = t.day in s.days_of_month
    in_week = t.isoweekday() % 7 in s.days_of_week  # isoweekday: Monday 1 .. Sunday 7
    return in_month or in_week if s.days_either else in_month and in_week


class Ticker:
    """Fires one schedule source of one service into its topic."""

    def __init__(self, store: TopicBackend, service: str, source: Source):
        assert source.schedule is not None
        self.store, self.source, self.schedule = store, source, source.schedule
        self.fence = service + FENCE_SUFFIX
        self.cursor = store.position(self.fence, source.topic, 0)
        self._next = None if self.cursor is None else next_after(self.schedule, self.cursor)

    def fire(self, now_ms: int) -> int:
        """Append the records due up to `now_ms`; how many (0 when nothing was due)."""
        if self.cursor is None:  # first start: armed now, nothing earlier fires
            self._commit([], now_ms)
            self._next = next_after(self.schedule, now_ms)
            return 0
        times: list[int] = []
        while self._next is not None and self._next <= now_ms and len(times) < MAX_FIRES:
            times.append(self._next)
            self._next = next_after(self.schedule, self._next)
        if times:
            self._commit(times, times[-1])
        return len(times)

    def _commit(self, times: list[int], cursor: int) -> None:
        outputs = []
        if times:
            data, count = frames.build((None, str(t).encode(), t) for t in times)
            outputs.append(Output(self.source.topic, 0, data, count))
        self.store.commit(outputs, [Position(self.fence, self.source.topic, 0, self.cursor, cursor)])
        self.cursor = cursor


class Tickers:
    """The schedule sources of one service. `horizon_ms` (batch mode): never fire past it."""

    def __init__(self, store: TopicBackend, service: str, sources: tuple[Source, ...]):
        self.tickers = [Ticker(store, service, s) for s in sources if s.schedule is not None]
        self.horizon_ms: int | None = None

    def fire(self) -> int:
        if not self.tickers:
            return 0
        now = clock.now_ms()
        if self.horizon_ms is not None:
            now = min(now, self.horizon_ms)
        return sum(t.fire(now) for t in self.tickers)

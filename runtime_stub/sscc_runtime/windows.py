"""The event-time window engine: window assignment, the watermark, lateness, and which windows close.

Pure standard-library Python working on timestamps (i64 milliseconds) and window bounds only,
never on record payloads, so the run loop can feed it frame timestamps or per-batch summaries in
bulk. It reads no clock: every method that needs wall time takes `now` (ms) from the caller, so
the same calls always give the same answers, and its state serializes to bytes that are committed
with the batch that produced it (a restart restores exactly what the last commit saw).

The rules implemented here are the ones docs/semantics.md decides:

- a window is the half-open interval [start, end) in ms; `window()` returns (start, end);
- tumbling(duration, offset): starts are `offset + k*duration`; each timestamp is in exactly one;
- sliding(duration, slide, offset): starts are `offset + k*slide`; a timestamp is in every window
  [start, start + duration) that contains it (duration/slide of them when slide divides duration);
- the watermark W is the largest event time seen (plus idleness advance, below); it never moves back;
- a window closes when W >= end + grace; a record is late when every window containing it has
  closed (W_before >= end + grace for its last window), and then it belongs to none;
- idleness: when no record arrived for `idleness` ms of wall time, W moves forward with wall time
  from where it stood at the last record (a quiet source still closes its windows);
- drain (end of input in batch mode) advances W just far enough to close every open window.
"""

from __future__ import annotations

import json
from .records import record as dataclass  # records.py: dataclass's methods without its import cost
from typing import Iterable, Sequence

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1

#: what `window()` returns outside any window (SDF: the global window)
GLOBAL_WINDOW = (I64_MIN, I64_MAX)

#: bumped when the serialized layout changes; `restore` refuses other versions
STATE_VERSION = 1

Window = tuple[int, int]


def _clamp(value: int) -> int:
    # bounds must fit the i64 that window() hands to the guest; only timestamps within one
    # window length of the i64 limits are affected
    return I64_MIN if value < I64_MIN else I64_MAX if value > I64_MAX else value


@dataclass(frozen=True)
class Assigner:
    """Which windows a timestamp belongs to. Tumbling is the case slide == duration.

    `offset` shifts the grid of window starts away from the Unix epoch; only its remainder
    modulo the slide matters (a 24 h window with offset 2h starts at 02:00 UTC every day).
    """

    duration: int
    slide: int
    offset: int = 0

    def __post_init__(self) -> None:
        if self.duration <= 0 or self.slide <= 0 or self.slide > self.duration:
            raise ValueError(f"window needs 0 < slide <= duration, got duration {self.duration} ms, slide {self.slide} ms")
        if self.offset < 0:
            raise ValueError(f"window offset must not be negative, got {self.offset} ms")

    @property
    def kind(self) -> str:
        return "tumbling" if self.slide == self.duration else "sliding"

    def last_start(self, ts: int) -> int:
        """The largest window start <= ts (unclamped)."""
        phase = self.offset % self.slide
        return ts - (ts - phase) % self.slide

    def windows(self, ts: int) -> list[Window]:
        """Every window containing ts, in order of start (one for tumbling)."""
        start = self.last_start(ts)
        if self.slide == self.duration:
            return [(_clamp(start), _clamp(start + self.duration))]
        out = []
        while start + self.duration > ts:
            out.append((_clamp(start), _clamp(start + self.duration)))
            start -= self.slide
        out.reverse()
        return out

    def last_end(self, ts: int) -> int:
        """End of the last window containing ts: the record is late once that one has closed."""
        return _clamp(self.last_start(ts) + self.duration)

    def spec(self) -> dict:
        return {"duration": self.duration, "slide": self.slide, "offset": self.offset}


def tumbling(duration_ms: int, offset_ms: int | None = None) -> Assigner:
    return Assigner(duration_ms, duration_ms, offset_ms or 0)


def sliding(duration_ms: int, slide_ms: int, offset_ms: int | None = None) -> Assigner:
    return Assigner(duration_ms, slide_ms, offset_ms or 0)


def assigner_for(kind: str, duration_ms: int, slide_ms: int | None = None, offset_ms: int | None = None) -> Assigner:
    """From the fields of an IR `Window` node (kind, duration_ms, slide_ms, offset_ms)."""
    if kind == "tumbling":
        return tumbling(duration_ms, offset_ms)
    if kind == "sliding":
        if slide_ms is None:
            raise ValueError("a sliding window needs a slide")
        return sliding(duration_ms, slide_ms, offset_ms)
    raise ValueError(f"unknown window kind {kind!r} (tumbling or sliding)")


@dataclass
class Watermark:
    """The event-time clock of one windowed service.

    `value` is None until the first record. `anchor_wall`/`anchor_value` remember the wall time
    and watermark at the last record (or the last `resume`): idleness advances from there.
    """

    grace: int = 0
    idleness: int | None = None
    value: int | None = None
    anchor_wall: int | None = None
    anchor_value: int | None = None

    def observe(self, ts: int, now: int) -> None:
        """A record with event time ts arrived at wall time now. Observing only the largest
        timestamp of a batch moves W exactly as observing each in turn (W is a running max)."""
        if self.value is None or ts > self.value:
            self.value = ts
        self.anchor_wall, self.anchor_value = now, self.value

    def idle(self, now: int) -> bool:
        """Apply idleness at wall time now; True if the watermark moved."""
        if self.idleness is None or self.anchor_wall is None or self.anchor_value is None:
            return False
        quiet = now - self.anchor_wall
        if quiet < self.idleness:
            return False
        advanced = self.anchor_value + quiet
        if self.value is not None and advanced <= self.value:
            return False
        self.value = advanced
        return True

    def resume(self, now: int) -> None:
        """After a restart: re-anchor the idleness clock, so downtime does not count as idle
        time (else a backlog produced while the service was down would all arrive late)."""
        if self.value is not None:
            self.anchor_wall, self.anchor_value = now, self.value

    def closed(self, end: int) -> bool:
        """Has the window ending at `end` closed (W >= end + grace)?"""
        return self.value is not None and self.value >= end + self.grace


@dataclass(frozen=True)
class Classified:
    """Where one record goes: the windows it counts in (empty when late)."""

    windows: tuple[Window, ...]

    @property
    def late(self) -> bool:
        return not self.windows


class WindowEngine:
    """Host-side bookkeeping of one windowed service: the watermark, the windows that hold state
    (opened by an on-time record, not yet flushed), lateness counts, and durable snapshots."""

    def __init__(self, assigner: Assigner, grace: int = 0, idleness: int | None = None):
        if grace < 0 or (idleness is not None and idleness < 0):
            raise ValueError("grace period and idleness must not be negative")
        self.assigner = assigner
        self.watermark = Watermark(grace=grace, idleness=idleness)
        self.open: set[Window] = set()
        self.late_count = 0

    # -- records ---------------------------------------------------------------------------

    def classify(self, ts: int, now: int = 0) -> Classified:
        """Assign one record (in stream order) and advance the watermark past it. Windows already
        closed by the watermark *before* this record are left out; none left = late."""
        wm = self.watermark
        windows = self.assigner.windows(ts)
        if wm.value is not None:
            windows = [w for w in windows if not wm.closed(w[1])]
        wm.observe(ts, now)
        if not windows:
            self.late_count += 1
            return Classified(())
        self.open.update(windows)
        return Classified(tuple(windows))

    def classify_batch(self, timestamps: Iterable[int], now: int = 0) -> list[Classified]:
        """`classify` for each timestamp in order (the reference a guest-side classifier must match)."""
        return [self.classify(ts, now) for ts in timestamps]

    def absorb(self, max_ts: int | None, touched: Iterable[Window], late: int, now: int) -> None:
        """Take a batch classified elsewhere (by the guest, with the same rules): the windows its
        on-time records went to, how many were late, and its largest timestamp."""
        self.open.update(touched)
        self.late_count += late
        if max_ts is not None:
            self.watermark.observe(max_ts, now)

    # -- closing ---------------------------------------------------------------------------

    def closable(self, now: int | None = None) -> list[Window]:
        """Open windows whose end + grace <= watermark, ordered by (end, start). With `now`,
        idleness is applied first. Does not close them: the caller flushes, then calls `close`."""
        if now is not None:
            self.watermark.idle(now)
        wm = self.watermark
        return sorted((w for w in self.open if wm.closed(w[1])), key=lambda w: (w[1], w[0]))

    def close(self, windows: Sequence[Window]) -> None:
        """Forget windows that have been flushed (their state is dropped or published)."""
        self.open.difference_update(windows)

    def drain(self) -> list[Window]:
        """End of input (batch mode): advance W just enough to close every open window and return
        them in order. Later records for those windows are late; newer windows open normally."""
        if self.open:
            needed = max(end for _, end in self.open) + self.watermark.grace
            # the idleness anchor stays at the last record: idle time is still counted from there
            if self.watermark.value is None or needed > self.watermark.value:
                self.watermark.value = needed
        return self.closable()

    # -- durability ------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """Canonical JSON bytes of everything a restart needs; committed with the batch."""
        wm = self.watermark
        state = {
            "version": STATE_VERSION,
            "window": self.assigner.spec(),
            "grace": wm.grace,
            "idleness": wm.idleness,
            "watermark": wm.value,
            "anchor": None if wm.anchor_wall is None else [wm.anchor_wall, wm.anchor_value],
            "open": sorted([list(w) for w in self.open], key=lambda w: (w[1], w[0])),
            "late": self.late_count,
        }
        return json.dumps(state, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def restore(cls, data: bytes) -> "WindowEngine":
        try:
            state = json.loads(data)
            if state.get("version") != STATE_VERSION:
                raise ValueError(f"window state version {state.get('version')!r}, expected {STATE_VERSION}")
            spec = state["window"]
            engine = cls(Assigner(spec["duration"], spec["slide"], spec["offset"]), state["grace"], state["idleness"])
            wm = engine.watermark
            wm.value = state["watermark"]
            if state["anchor"] is not None:
                wm.anchor_wall, wm.anchor_value = state["anchor"]
            engine.open = {(int(s), int(e)) for s, e in state["open"]}
            engine.late_count = int(state["late"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"unreadable window state: {exc}") from None
        return engine

    def same_spec(self, other: "WindowEngine") -> bool:
        """Restoring under a changed window definition would misfile state: the caller refuses."""
        return (
            self.assigner == other.assigner
            and self.watermark.grace == other.watermark.grace
            and self.watermark.idleness == other.watermark.idleness
        )

"""Host side of a windowed service (docs/runtime.md, "Windowed services").

The guest classifies records (its window stage reports the windows it touched and the largest
event time, docs/abi.md "Windows"); this module keeps the service's `WindowEngine` (windows.py):
it absorbs each batch's report, says which windows close (watermark, idleness, end of input), frames
the flush stage's input (one frame per closing window) and produces the engine snapshot that is
committed with every batch as the store `state` row (service, "__window", b"").
"""

from __future__ import annotations

import json
import struct
import time

from . import frames
from .backend import StateChange, TopicBackend
from .service import Service
from .wasm_host import WindowReport
from .windows import Window, WindowEngine, assigner_for

SNAPSHOT_STATE = "__window"  # the store `state` rows: b"" = the engine snapshot,
CURSOR_KEY = b"next"  # ... b"next" = index of the source partition the next round starts at
PARTITIONS_KEY = b"partitions"  # ... b"partitions" = each input partition's watermark (JSON)
_FLUSH_FRAME = struct.Struct("<qqB")


def now_ms() -> int:
    return int(time.time() * 1000)


class WindowMismatch(RuntimeError):
    """The stored window progress was made under another window definition."""


class Windowing:
    """The engine of one windowed task, with a watermark per input partition: the task's
    watermark is the minimum over its input partitions that have data (docs/semantics.md, "The
    watermark"). `inputs`: the (topic, partition) pairs the task reads."""

    def __init__(self, store: TopicBackend, service: Service, now: int, inputs: list[tuple[str, int]] = ()):
        spec = service.window
        assert spec is not None
        self.service = service.name
        self.inputs = list(inputs)
        self.idleness = spec.idleness_ms
        # (topic, partition) -> the largest event time read from it (committed with each batch)
        self.marks: dict[tuple[str, int], int] = {}
        saved = store.state_get(service.name, SNAPSHOT_STATE, PARTITIONS_KEY)  # type: ignore[attr-defined]
        if saved:
            self.marks = {(t, int(p)): int(v) for t, p, v in json.loads(saved)}
        # wall time each partition last gave records (not committed: a restart re-anchors, as
        # Watermark.resume does, so downtime does not make a partition idle)
        self.heard: dict[tuple[str, int], int] = {key: now for key in self.inputs}
        self.engine = WindowEngine(
            assigner_for(spec.kind, spec.duration_ms, spec.slide_ms, spec.offset_ms),
            spec.grace_ms,
            spec.idleness_ms,
        )
        saved = store.state_get(service.name, SNAPSHOT_STATE, b"")  # type: ignore[attr-defined]
        if saved is not None:
            restored = WindowEngine.restore(saved)
            if not restored.same_spec(self.engine):
                raise WindowMismatch(
                    f"service {service.title}: the window definition changed since its window state was"
                    " stored; use a new store (or delete this one) to start over"
                )
            self.engine = restored
            # downtime is not idle time (docs/semantics.md, "Idleness")
            self.engine.watermark.resume(now)

    @property
    def watermark(self) -> int | None:
        """W before the next batch: what the guest classifies against."""
        return self.engine.watermark.value

    def absorb(
        self, report: WindowReport | None, late: int, now: int, where: tuple[str, int] | None = None, pending=None
    ) -> None:
        """Take a batch read from input partition `where`; `pending(key)` says whether an input
        partition holds records not read yet (one that has never given a record then holds the
        watermark back)."""
        if report is None:
            if late:
                self.engine.absorb(None, (), late, now)
            return
        if where is None or len(self.inputs) <= 1:  # one input: its own running maximum
            self.engine.absorb(report.max_ts, report.touched, late, now)
            return
        if report.max_ts is not None:
            self.heard[where] = now
            if where not in self.marks or report.max_ts > self.marks[where]:
                self.marks[where] = report.max_ts
        self.engine.absorb(self.low(now, pending), report.touched, late, now)

    def refresh(self, now: int, pending=None) -> None:
        """A round that read nothing: partitions may have gone idle, which can raise the minimum
        (the idleness anchor stays where the last record put it)."""
        if len(self.inputs) > 1:
            low, wm = self.low(now, pending), self.engine.watermark
            if low is not None and (wm.value is None or low > wm.value):
                wm.value = low

    def low(self, now: int, pending=None) -> int | None:
        """The minimum watermark over the input partitions that have data; None while one with
        unread records has given none yet. A partition with nothing to read that gave no record
        for `idleness` ms of wall time is idle and left out (SDF's idleness)."""
        low = None
        for key in self.inputs:
            mark = self.marks.get(key)
            waiting = pending is not None and pending(key)
            if mark is None:
                if waiting:
                    return None
                continue
            quiet = now - self.heard.get(key, now)
            if not waiting and self.idleness is not None and quiet >= self.idleness:
                continue
            low = mark if low is None else min(low, mark)
        return low

    def closing(self, now: int) -> list[Window]:
        """Windows to flush now, in (end, start) order (idleness applied)."""
        return self.engine.closable(now)

    def drain(self) -> list[Window]:
        """End of input: every open window, the watermark moved just past them."""
        return self.engine.drain()

    def close(self, windows: list[Window]) -> None:
        self.engine.close(windows)

    def snapshot(self) -> list[StateChange]:
        out = [StateChange(self.service, SNAPSHOT_STATE, b"", self.engine.snapshot())]
        if self.marks:
            marks = sorted([t, p, v] for (t, p), v in self.marks.items())
            out.append(StateChange(self.service, SNAPSHOT_STATE, PARTITIONS_KEY, json.dumps(marks).encode()))
        return out


def flush_input(windows: list[Window], run: bool = True) -> tuple[bytes, int]:
    """The flush stage's input: per window a frame with no key, value = start, end (i64 LE) and a
    flag (1 = run the flush and drop the window, 0 = only drop it), timestamp end - 1, no origin."""
    return frames.build(
        (None, _FLUSH_FRAME.pack(start, end, 1 if run else 0), end - 1, -1) for start, end in windows
    )

"""Host side of a windowed service (docs/runtime.md, "Windowed services").

The guest classifies records (its window stage reports the windows it touched and the largest
event time, docs/abi.md "Windows"); this module keeps the service's `WindowEngine` (windows.py):
it absorbs each batch's report, says which windows close (watermark, idleness, end of input), frames
the flush stage's input (one frame per closing window) and produces the engine snapshot that is
committed with every batch as the store `state` row (service, "__window", b"").
"""

from __future__ import annotations

import struct
import time

from . import frames
from .backend import StateChange, TopicBackend
from .service import Service
from .wasm_host import WindowReport
from .windows import Window, WindowEngine, assigner_for

SNAPSHOT_STATE = "__window"  # the store `state` rows: b"" = the engine snapshot,
CURSOR_KEY = b"next"  # ... b"next" = index of the source partition the next round starts at
_FLUSH_FRAME = struct.Struct("<qqB")


def now_ms() -> int:
    return int(time.time() * 1000)


class WindowMismatch(RuntimeError):
    """The stored window progress was made under another window definition."""


class Windowing:
    def __init__(self, store: TopicBackend, service: Service, now: int):
        spec = service.window
        assert spec is not None
        self.service = service.name
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

    def absorb(self, report: WindowReport | None, late: int, now: int) -> None:
        if report is None:
            if late:
                self.engine.absorb(None, (), late, now)
            return
        self.engine.absorb(report.max_ts, report.touched, late, now)

    def closing(self, now: int) -> list[Window]:
        """Windows to flush now, in (end, start) order (idleness applied)."""
        return self.engine.closable(now)

    def drain(self) -> list[Window]:
        """End of input: every open window, the watermark moved just past them."""
        return self.engine.drain()

    def close(self, windows: list[Window]) -> None:
        self.engine.close(windows)

    def snapshot(self) -> StateChange:
        return StateChange(self.service, SNAPSHOT_STATE, b"", self.engine.snapshot())


def flush_input(windows: list[Window], run: bool = True) -> tuple[bytes, int]:
    """The flush stage's input: per window a frame with no key, value = start, end (i64 LE) and a
    flag (1 = run the flush and drop the window, 0 = only drop it), timestamp end - 1, no origin."""
    return frames.build(
        (None, _FLUSH_FRAME.pack(start, end, 1 if run else 0), end - 1, -1) for start, end in windows
    )

"""An independent reference for tests/windows: brute-force windows, one watermark, per-record
lateness, drain at the end of each run (docs/semantics.md). Plain integer arithmetic; it does not
import sscc_runtime.windows (the engine the runtime uses), so agreeing with it means something.

`simulate(runs, duration, slide, offset, grace)` takes the records of each `sscc run
--until-idle` in stream order, as (id, ts, traps) tuples, and returns the flushes in output order,
the late records and the watermark after the last run.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    flushes: list = field(default_factory=list)  # (start, end, sorted ids) in output order
    late: list = field(default_factory=list)  # (id, ts, reason)
    watermark: int | None = None


def windows_of(ts: int, duration: int, slide: int, offset: int) -> list[tuple[int, int]]:
    """Every [s, s + duration) with s = offset + k*slide (any integer k) holding ts, by start."""
    out = []
    k = (ts - offset) // slide + 1
    while True:
        k -= 1
        start = offset + k * slide
        if start + duration <= ts:
            break
        if start <= ts:
            out.append((start, start + duration))
    return sorted(out)


def simulate(runs, duration: int, slide: int, offset: int = 0, grace: int = 0) -> Result:
    result = Result()
    open_windows: dict[tuple[int, int], set] = {}
    wm = None
    for records in runs:
        for ident, ts, traps in records:
            windows = windows_of(ts, duration, slide, offset)
            on_time = [w for w in windows if wm is None or wm < w[1] + grace]
            if not on_time:
                start, end = windows[-1]
                result.late.append(
                    (ident, ts, f"late: event time {ts} ms is past window [{start}, {end}) + grace {grace} ms (watermark {wm} ms)")
                )
            elif not traps:  # a trapping record's state changes vanish, and it opens no window
                for w in on_time:
                    open_windows.setdefault(w, set()).add(ident)
            wm = ts if wm is None else max(wm, ts)
            # flush what closed (order by (end, start) overall, see semantics.md)
            for w in sorted((w for w in open_windows if wm >= w[1] + grace), key=lambda w: (w[1], w[0])):
                result.flushes.append((w[0], w[1], sorted(open_windows.pop(w))))
        if open_windows:  # end of input: drain
            needed = max(end for _, end in open_windows) + grace
            wm = needed if wm is None else max(wm, needed)
            for w in sorted(open_windows, key=lambda w: (w[1], w[0])):
                result.flushes.append((w[0], w[1], sorted(open_windows[w])))
            open_windows.clear()
    result.watermark = wm
    return result

"""Windows and partitions: the shape SDF needs before it can run them.

window:
  tumbling: {duration: 10s}
  sliding: {duration: 1m, slide: 2m}   # E063 both kinds; E065 slide longer than duration
  flush: ...                           # E064 no assign-timestamp
"""

from __future__ import annotations

from .. import ast as A
from .context import Ctx, lines_of, service_lines, window_lines


def check_windows(ctx: Ctx) -> None:
    """E063 one kind; E064 assign-timestamp; E065 durations; W041 no flush."""
    for svc in ctx.pipe.services.values():
        w = svc.window
        if w is None:
            continue
        lines = window_lines(w)
        if len(w.kinds_given) != 1:
            many = len(w.kinds_given) > 1
            ctx.shape_error(
                "E063",
                w.span,
                lines,
                "a window is either `tumbling` or `sliding`, " + ("not both" if many else "and this one is neither"),
                "keep one of them" if many else "add `tumbling: {duration: 10s}` (or `sliding: {duration: 1m, slide: 10s}`)",
            )
        if w.assign_timestamp is None:
            ctx.shape_error(
                "E064",
                w.span,
                lines,
                f"the window of service `{svc.name}` has no `assign-timestamp`",
                "windows are event-time: add `assign-timestamp:` with `fn f(value: T, event_time: i64) -> Result<i64>`",
            )
        if w.kind and w.duration_ms is not None and w.duration_ms <= 0:
            ctx.error(
                "E065",
                w.duration_span or w.span,
                f"the window duration must be longer than 0, found `{w.duration}`",
                "give a duration such as `10s`",
            )
        if w.kind == "sliding":
            if w.slide is None:
                ctx.error(
                    "E065",
                    w.span,
                    "a sliding window needs `slide:`",
                    "add `slide:` no longer than the duration, e.g. `slide: 10s`",
                )
            elif w.slide_ms is not None and w.duration_ms is not None and (w.slide_ms <= 0 or w.slide_ms > w.duration_ms):
                ctx.error(
                    "E065",
                    w.slide_span or w.span,
                    f"the slide ({w.slide}) must be longer than 0 and at most the duration ({w.duration})",
                    "a slide longer than the window would skip records; make it <= the duration",
                )
        if w.flush is None:
            ctx.warning(
                "W041",
                w.span,
                f"the window of service `{svc.name}` has no `flush`: nothing leaves it",
                "add `flush:` with `fn f() -> Result<T>` to emit a result when each window closes",
            )


def check_partitions(ctx: Ctx) -> None:
    """E068 partition without assign-key; E069 partition and window side by side; W042 empty partition;
    E081 sinks after a partition that ends in update-state (no window, so nothing is emitted)."""
    for svc in ctx.pipe.services.values():
        if svc.partition is not None and svc.window is not None:
            ctx.shape_error(
                "E069",
                svc.partition.span,
                service_lines(svc),
                f"service `{svc.name}` has both `partition` and `window` at the top level",
                "a service has one of them; move the partition inside the window (`window: partition:`)",
            )
        for part in (svc.partition, svc.window.partition if svc.window else None):
            if part is None:
                continue
            if part.assign_key is None:
                ctx.shape_error(
                    "E068",
                    part.span,
                    lines_of(part.span),
                    f"the partition of service `{svc.name}` has no `assign-key`",
                    "add `assign-key:` with a function returning the key, e.g. `fn key(v: T) -> Result<String>`",
                )
            if not part.transforms and part.update_state is None:
                ctx.warning(
                    "W042",
                    part.span,
                    f"the partition of service `{svc.name}` does nothing after assigning the key",
                    "add `update-state:` or `transforms:` to the partition",
                )
        if svc.partition is not None and svc.window is None and svc.sinks and is_terminal(svc.partition):
            # Without a window there is no flush: update-state swallows every record, so the
            # sinks could only ever receive nothing (compile would fail on it later).
            ctx.error(
                "E081",
                svc.sinks[0].span,
                f"nothing reaches the sinks of service `{svc.name}`: its partition ends in `update-state`, which emits no records",
                "to emit what the state holds, put the partition in a `window:` with a `flush:`; "
                "to keep the state only, remove `sinks:` (other services read it with `from:`)",
            )


def is_terminal(part: A.Partition) -> bool:
    """A partition ending in update-state lets nothing through."""
    if part.update_state is not None:
        return True
    return bool(part.transforms) and part.transforms[-1].operator == "update-state"

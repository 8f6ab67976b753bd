"""`reset SERVICE --to-beginning|--to-end|--to-offset N`: move a service's committed positions
(docs/compile.md, "reset").

A position is the next offset a service reads from one partition of one source topic; a run
commits it with every batch. Moving it makes the next run re-read (or skip) records. What the
service built from the records it already read is NOT rewound by a move: its keyed states and
its window progress stay as they are, unless `--drop-state` deletes them (every state's
changelog and the window snapshot), so the next run rebuilds them from what it reads.
"""

from __future__ import annotations

from .backend import Position, StateChange
from .records import record

TO = ("beginning", "end", "offset")
WINDOW_STATE = "__window"  # windowing.SNAPSHOT_STATE (not imported: it pulls in the window engine)
WINDOW_KEYS = (b"", b"next")  # the engine snapshot, the round's cursor


class ResetError(ValueError):
    """What the user asked cannot be done (no such service, an offset out of range)."""


@record(frozen=True)
class Move:
    topic: str
    partition: int
    old: int | None  # None: the service never committed a position here
    new: int
    first: int  # the partition's first stored offset
    end: int  # its next offset


def plan(
    store,
    service: str,
    to: str,
    offset: int | None = None,
    topic: str | None = None,
    partition: int | None = None,
    sources: tuple[str, ...] = (),
) -> list[Move]:
    """The moves `reset` would make: every committed position of `service` (and every partition
    of `sources`, its source topics when the pipeline is known), narrowed to `topic`/`partition`."""
    if to not in TO:
        raise ValueError(f"unknown target {to!r}")
    committed = {(t, p): at for t, p, at in store.positions(service)}
    known = store.topics()
    for name in sources:
        for p in range(known.get(name, 0)):
            committed.setdefault((name, p), None)
    if not committed:
        raise ResetError(
            f"service {service!r} has no committed positions in the store (services with some: "
            f"{', '.join(store.services()) or 'none'}); a service that never ran starts where its"
            " default_starting_offset says"
        )
    if topic is not None and all(t != topic for t, _ in committed):
        raise ResetError(
            f"service {service!r} does not read topic {topic!r} (it reads {', '.join(sorted({t for t, _ in committed}))})"
        )
    moves = []
    for (name, p), old in sorted(committed.items()):
        if (topic is not None and name != topic) or (partition is not None and p != partition):
            continue
        first, end = store.bounds(name, p)
        if to == "beginning":
            new = first
        elif to == "end":
            new = end
        else:
            if not first <= offset <= end:  # type: ignore[operator]
                raise ResetError(
                    f"offset {offset} is outside {name}[{p}], which holds offsets {first}..{end}"
                    f" ({end} = the end: only records produced later)"
                )
            new = offset  # type: ignore[assignment]
        moves.append(Move(name, p, old, new, first, end))
    if not moves:
        raise ResetError(f"service {service!r} reads no partition {partition} of {topic or 'its topics'}")
    return moves


def apply(store, service: str, moves: list[Move]) -> None:
    """Commit the moves in one transaction, each fenced on the position it was planned from."""
    store.commit(positions=[Position(service, m.topic, m.partition, m.old, m.new) for m in moves])


def drop_window(store, service: str) -> bool:
    """Delete the service's window progress (watermark, open windows); whether it had any."""
    had = any(store.state_get(service, WINDOW_STATE, key) is not None for key in WINDOW_KEYS)
    if had:
        store.commit(state_changes=[StateChange(service, WINDOW_STATE, key, None) for key in WINDOW_KEYS])
    return had


def describe(move: Move) -> str:
    old = "none (never committed)" if move.old is None else f"{move.old:,}"
    span = f"holds {move.first:,}..{move.end:,}"
    delta = "" if move.old is None else _delta(move.new - move.old)
    return f"  {move.topic}[{move.partition}]: {old} -> {move.new:,}  ({span}{delta})"


def _delta(n: int) -> str:
    if n > 0:
        return f"; skips {n:,} record{'s' if n != 1 else ''}"
    if n < 0:
        return f"; re-reads {-n:,} record{'s' if n != -1 else ''}"
    return "; unchanged"

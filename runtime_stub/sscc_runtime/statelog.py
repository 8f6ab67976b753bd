"""Change records of keyed value states (docs/state-design.md §4) as the host sees them.

The run loop never decodes them: it commits the guest's framed change records to the state's
changelog topic `<service>.<state>.changelog` and, to load a fresh instance, reads the whole
changelog back as one framed buffer (`read_all`). Only the inspection commands
(`state list|show`) and the SQL mirror decode records, here: timestamp/origin = the window's
start/end (`GLOBAL` outside windows), key = the state key as text, value = `U` + JSON (upsert),
`D` (delete the key) or `C` (no key: drop the whole window, after its flush). Checkpoints and changelog retention are not implemented yet, so a
restart replays the whole changelog.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from . import frames
from .names import title
from .backend import TopicBackend

CHANGELOG_SUFFIX = ".changelog"
_CHUNK = 65_536  # records per read while replaying


def changelog(service: str, state: str) -> str:
    return f"{service}.{state}{CHANGELOG_SUFFIX}"


def changelog_owner(changelog: str) -> str:
    """The service of `<service>.<state>.changelog` (state names hold no dot)."""
    return changelog[: -len(CHANGELOG_SUFFIX)].rsplit(".", 1)[0]


def read_all(store: TopicBackend, topic: str, partition: int | None = None) -> bytes:
    """The changelog's committed records, framed, oldest first: of one partition (a task's
    shard), or with None of every partition one after the other (the whole table: shards hold
    disjoint keys, and a windowed state, whose `C` records drop a window of every key, has one
    shard; docs/scale-out.md)."""
    if partition is None:
        return b"".join(read_all(store, topic, p) for p in range(store.partitions(topic)))
    first, end = store.bounds(topic, partition)
    # A backend without transactions (NATS) may hold the changes of a batch whose commit a
    # crash cut short: the batch is re-run, so its changes must not be loaded as state too.
    committed_end = getattr(store, "committed_end", None)
    if committed_end is not None:
        end = min(end, committed_end(topic, partition))
    return read_from(store, topic, first, partition, end)[0]


def records(store: TopicBackend, topic: str) -> int:
    """How many change records the changelog holds, over all its partitions (shards)."""
    return sum(end - first for first, end in (store.bounds(topic, p) for p in range(store.partitions(topic))))


def read_from(store: TopicBackend, topic: str, offset: int, partition: int = 0, end: int | None = None) -> tuple[bytes, int]:
    """The committed records from `offset` on (up to `end`), framed, and the offset after them."""
    if end is None:
        end = store.bounds(topic, partition)[1]
    parts = []
    while offset < end:
        batch = store.read(topic, partition, offset, min(_CHUNK, end - offset))
        if batch.count == 0:
            break
        parts.append(batch.data)
        offset = batch.base_offset + batch.count
    return b"".join(parts), offset


GLOBAL = (-(2**63), 2**63 - 1)  # the window of state outside windows: (i64::MIN, i64::MAX)

Window = tuple[int, int]


UPSERT, DELETE, CLEAR = ord("U"), ord("D"), ord("C")


def changes(data: bytes) -> Iterator[tuple[Window, str, int, bytes]]:
    """(window, key text, op, JSON payload) of every change record of `data`; op is UPSERT,
    DELETE, CLEAR (key "") or 0 for a record without one. The SQL mirror files every change a
    batch makes with this, so it reads the frame header itself instead of building a
    frames.Record per record (half the time on bench/win.py's 215,000 records)."""
    unpack, size, end, pos = frames.HEADER.unpack_from, frames.HEADER_SIZE, len(data), 0
    while pos < end:
        if pos + size > end:
            raise ValueError(f"truncated change record at byte {pos}")
        length, start, stop, key_len = unpack(data, pos)
        body, nxt = pos + size, pos + 4 + length
        at = body if key_len == frames.NO_KEY else body + key_len
        if length < 20 or nxt > end or at > nxt:
            raise ValueError(f"malformed change record at byte {pos}")
        key = "" if at == body else data[body:at].decode("utf-8", "replace")
        yield (start, stop), key, data[at] if at < nxt else 0, data[at + 1 : nxt]
        pos = nxt


def replay_windows(data: bytes) -> dict[Window, dict[str, Any]]:
    """The live state a changelog describes: window -> key text -> value (decoded JSON).
    Windows that were flushed and cleared are gone."""
    windows: dict[Window, dict[str, Any]] = {}
    for window, key, op, payload in changes(data):
        if op == CLEAR:
            windows.pop(window, None)
        elif op == UPSERT:
            windows.setdefault(window, {})[key] = json.loads(payload)
        elif op == DELETE:
            windows.get(window, {}).pop(key, None)
    return {w: keys for w, keys in windows.items() if keys}


def replay(data: bytes, window: Window = GLOBAL) -> dict[str, Any]:
    """The state of one window (by default the global one): key text -> value (decoded JSON)."""
    return replay_windows(data).get(window, {})


def is_windowed(data: bytes) -> bool:
    """Does the changelog hold any window other than the global one (a windowed state)?"""
    return any((r.timestamp, r.origin) != GLOBAL for r in frames.iter_records(data))


def parse_window(text: str, open_windows) -> Window:
    """`start..end`, or a start in ms naming one of `open_windows`; ValueError otherwise."""
    start_text, dots, end_text = text.partition("..")
    try:
        start = int(start_text)
        end = int(end_text) if dots else None
    except ValueError:
        raise ValueError(f"window {text!r}: expected START..END or START (ms)") from None
    if end is not None:
        return (start, end)
    matches = sorted(w for w in open_windows if w[0] == start)
    if len(matches) != 1:
        raise ValueError(f"no open window starts at {start} ms")
    return matches[0]


SCHEMA_STATE = "__columns"  # `state` rows: (service, SCHEMA_STATE, state name) -> its table's shape


def shape(state) -> dict:
    """A state's kind and SQL columns, as a run records them (`schema_row`)."""
    return {"kind": state.kind, "columns": [list(c) for c in state.columns]}


def schema_row(service: str, state) -> "StateChange":
    """A `state` row recording a state's kind and columns (what `sql` builds its table from)."""
    from .backend import StateChange

    return StateChange(service, SCHEMA_STATE, state.name.encode(), json.dumps(shape(state)).encode())


class StateShapeChanged(RuntimeError):
    """A state's type changed between runs while its changelog still holds the old records."""


def check_shape(store: TopicBackend, service: str, state) -> None:
    """Refuse to load a changelog written for another type of the state: its change records
    would not decode (the guest fails on them), and `sql` would build a table of the wrong shape.
    Widening within one SQL type (u32 -> u64) keeps the shape; an empty changelog is no conflict."""
    old, new = schema(store, service, state.name), shape(state)
    if old is None or old == new:
        return
    try:
        held = records(store, state.changelog)
    except KeyError:  # no changelog yet
        return
    if not held:
        return
    raise StateShapeChanged(
        f"state `{state.name}` of service `{title(service)}` changed its type since this store was written: "
        f"it was {_describe(old)}, it is {_describe(new)} now, and its changelog holds {held:,} change "
        f"records of the old type.\n  to keep the old data: run this version of the pipeline on another store (--store DIR)"
        f"\n  to drop it: sscc state drop {title(service)}.{state.name} --yes, then run again"
    )


def _describe(shape: dict) -> str:
    columns = ", ".join(f"{name} {kind}" for name, kind in shape["columns"])
    article = "an" if shape["kind"][:1] in "aeiou" else "a"
    return f"{article} {shape['kind']} state ({columns})"


def schema(store: TopicBackend, service: str, state: str) -> dict | None:
    """{"kind", "columns"} recorded by a run of the service, or None (an older store)."""
    get = getattr(store, "state_get", None)
    raw = get(service, SCHEMA_STATE, state.encode()) if get else None
    return json.loads(raw) if raw else None

"""Change records of keyed value states (docs/state-design.md §4) as the host sees them.

The run loop never decodes them: it commits the guest's framed change records to the state's
changelog topic `<service>.<state>.changelog` and, to load a fresh instance, reads the whole
changelog back as one framed buffer (`read_all`). Only the inspection commands
(`state list|show`) decode records, here: key = the state key as text, value = `U` + JSON
(upsert) or `D` (delete). Checkpoints and changelog retention are not implemented yet, so a
restart replays the whole changelog.
"""

from __future__ import annotations

import json
from typing import Any

from . import frames
from .backend import TopicBackend

CHANGELOG_SUFFIX = ".changelog"
_CHUNK = 65_536  # records per read while replaying


def changelog(service: str, state: str) -> str:
    return f"{service}.{state}{CHANGELOG_SUFFIX}"


def read_all(store: TopicBackend, topic: str, partition: int = 0) -> bytes:
    """The changelog's committed records, framed, oldest first."""
    first, end = store.bounds(topic, partition)
    parts, offset = [], first
    while offset < end:
        batch = store.read(topic, partition, offset, _CHUNK)
        if batch.count == 0:
            break
        parts.append(batch.data)
        offset = batch.base_offset + batch.count
    return b"".join(parts)


def replay(data: bytes) -> dict[str, Any]:
    """The state a changelog describes: key text -> value (decoded JSON)."""
    state: dict[str, Any] = {}
    for record in frames.iter_records(data):
        key = (record.key or b"").decode("utf-8", "replace")
        op = record.value[:1]
        if op == b"U":
            state[key] = json.loads(record.value[1:])
        elif op == b"D":
            state.pop(key, None)
    return state

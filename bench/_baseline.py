"""The orders store and the plain-Python baseline that bench/abi_overhead.py and bench/chain.py
measure the wasm pipelines against.

`fill` writes N orders into partition 0 of topic `orders`, in batches as `topic produce` would.
`store_to_store` runs a Python function over every batch of that partition the way the runtime's
loop runs a service: read a batch, compute its outputs, commit the outputs and the new position
in one transaction, and times it. The caller's function gets a whole framed batch and unframes it
itself (see HEADER), so the baseline pays no extra Python call per record for being shared.

Import it after runtime_stub/ is on sys.path (each bench puts it there first).
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Callable, Iterable

from sscc_runtime import frames
from sscc_runtime.backend import Output, Position
from sscc_runtime.store import Store

HEADER = struct.Struct("<IqqI")  # frame_len, timestamp, origin, key_len (docs/abi.md §1)
NO_KEY = 0xFFFFFFFF
SOURCE = "orders"

# work(framed batch, offset of its first record) -> (outputs to commit, records out, dead letters)
BatchWork = Callable[[bytes, int], "tuple[list[Output], int, int]"]


def fill(db: Path, records: int, batch: int, order: Callable[[int], bytes]) -> None:
    """`records` orders, `order(i)` each, into partition 0 of `orders` in `batch`-record appends."""
    with Store(db) as store:
        store.ensure_topic(SOURCE)
        for start in range(0, records, batch):
            n = min(batch, records - start)
            store.append(SOURCE, 0, *frames.build([(None, order(i), i) for i in range(start, start + n)]))


def store_to_store(db: Path, batch: int, name: str, topics: Iterable[str], work: BatchWork) -> tuple[float, int, int]:
    """Seconds, records out and dead letters of `work` run over all of `orders` as service `name`
    (fresh positions). `topics` (the sinks `work` writes) are created before the clock starts."""
    produced = dead = 0
    with Store(db) as store:
        for topic in topics:
            store.ensure_topic(topic)
        position = 0
        store.commit(positions=[Position(name, SOURCE, 0, None, 0)])
        start = time.perf_counter()
        while True:
            got = store.read(SOURCE, 0, position, batch)
            if not got.count:
                break
            outputs, n, d = work(got.data, got.base_offset)
            new = got.base_offset + got.count
            store.commit(outputs, [Position(name, SOURCE, 0, position, new)])
            position = new
            produced += n
            dead += d
        return time.perf_counter() - start, produced, dead

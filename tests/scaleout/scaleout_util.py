"""Helpers of tests/scaleout: compile a pipeline once, fill a store, run tasks in process."""

from __future__ import annotations

import json
import random
from pathlib import Path

from kill_harness import compile_project  # noqa: F401  (puts runtime_stub/ on sys.path)
from sscc_runtime import frames, service, statelog
from sscc_runtime.loop import Loop
from sscc_runtime.store import Store


def services(project: Path, package: str) -> list:
    root = project / package
    return service.load(json.loads((root / "services.json").read_text()), root)


def produce(db: Store, topic: str, lines: list[str], partitions: int, spread: str = "random", seed: int = 7) -> None:
    """Lines into `partitions` partitions of `topic`: `random` (seeded) or `round-robin`."""
    db.ensure_topic(topic, partitions)
    rng = random.Random(seed)
    parts: list[list[str]] = [[] for _ in range(partitions)]
    for i, line in enumerate(lines):
        parts[i % partitions if spread == "round-robin" else rng.randrange(partitions)].append(line)
    for p, part in enumerate(parts):
        for b in range(0, len(part), 5000):  # several stored batches per partition
            data, count = frames.build((None, line.encode()) for line in part[b : b + 5000])
            db.append(topic, p, data, count)


def run(db: Store, svcs: list, tasks=None, batch_records: int | None = None) -> dict:
    """`run --until-idle` in process: batch mode (End reads from the beginning), all tasks or `tasks`."""
    from sscc_runtime import records
    from sscc_runtime.app import batch_mode

    svcs = [batch_mode(s) for s in svcs]
    if batch_records:
        svcs = [records.replace(s, batch_records=batch_records) for s in svcs]
    loop = Loop(db, svcs, until_idle=True, tasks=tasks)
    loop.fresh_starts()
    return loop.run()


def topic(db: Store, name: str) -> list[frames.Record]:
    return list(frames.iter_records(statelog.read_all(db, name)))

"""The embedded durable store: topics, consumer positions and state in one SQLite file (WAL).

Needs no server. One row holds one appended batch of framed records (frames.py), so Python
never touches single records on the hot path. `commit` writes outputs, consumer positions and
state changes in ONE transaction, which is what makes a run exactly-once across kill -9: either
a batch's outputs and the input position that produced them are both durable, or neither is.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Sequence

from . import frames
from .backend import Batch, Output, Position, PositionConflict, StateChange

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    partitions INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    base_offset INTEGER NOT NULL,
    count INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (topic, partition, base_offset)
);
CREATE TABLE IF NOT EXISTS positions (
    service TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (service, topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
    service TEXT NOT NULL,
    state TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (service, state, key)
) WITHOUT ROWID;
"""

# Batch rows are large (often 100 KB+) and read whole, which favours big pages; but every commit
# also rewrites a page of `positions`, `state` (window snapshot) and the batch b-tree, whole, into
# the WAL. 16 KiB keeps most of the read speed of 64 KiB and made a windowed service's commits
# ~2.3x cheaper (bench/win.py: 0.28 -> 0.12 s of commits per 1M events; 4 KiB: 0.09 s, but
# bench/wc.py and bench/chain.py read slower). Only takes effect when the file is created.
PAGE_SIZE = 16384


class Store:
    """SQLite implementation of backend.TopicBackend.

    synchronous="NORMAL" (default) survives any process crash; "FULL" also survives power
    loss at the cost of an fsync per commit. Either way a commit is all-or-nothing.
    """

    def __init__(
        self,
        path: str | Path,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = 30_000,
    ):
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.path = Path(path)
        self._db = sqlite3.connect(
            self.path, isolation_level=None, timeout=busy_timeout_ms / 1000
        )
        self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        if self._schema_version() == 0:  # only a new file takes the write lock
            with self._write():
                if self._schema_version() == 0:
                    for statement in _SCHEMA.split(";"):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        version = self._schema_version()
        if version != SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: store schema {version}, this runtime reads {SCHEMA_VERSION}"
            )
        self._partitions: dict[str, int] = {}

    def _schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # topics -----------------------------------------------------------------------------

    def ensure_topic(self, topic: str, partitions: int = 1) -> int:
        if partitions < 1:
            raise ValueError("a topic needs at least one partition")
        with self._write():
            self._db.execute(
                "INSERT OR IGNORE INTO topics VALUES (?, ?)", (topic, partitions)
            )
        return self.partitions(topic)

    def partitions(self, topic: str) -> int:
        if topic not in self._partitions:
            row = self._db.execute(
                "SELECT partitions FROM topics WHERE name = ?", (topic,)
            ).fetchone()
            if row is None:
                raise KeyError(f"no topic {topic!r}")
            self._partitions[topic] = row[0]
        return self._partitions[topic]

    def topics(self) -> dict[str, int]:
        return dict(
            self._db.execute("SELECT name, partitions FROM topics ORDER BY name")
        )

    def bounds(self, topic: str, partition: int) -> tuple[int, int]:
        first = self._db.execute(
            "SELECT base_offset FROM batches WHERE topic = ? AND partition = ? ORDER BY base_offset LIMIT 1",
            (topic, partition),
        ).fetchone()
        if first is None:
            return (0, 0)
        end = self._db.execute(
            "SELECT base_offset + count FROM batches WHERE topic = ? AND partition = ?"
            " ORDER BY base_offset DESC LIMIT 1",
            (topic, partition),
        ).fetchone()
        return (first[0], end[0])

    # records ----------------------------------------------------------------------------

    def append(self, topic: str, partition: int, data: bytes, count: int) -> int:
        return self.commit([Output(topic, partition, data, count)])[0]

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> Batch:
        """Whole stored batches joined, the first sliced to start at `offset` and the last cut
        at `max_records` (walking frame lengths only in those two batches)."""
        rows = self._db.execute(
            "SELECT base_offset, count, data FROM batches WHERE topic = ?1 AND partition = ?2"
            " AND base_offset >= COALESCE((SELECT base_offset FROM batches WHERE topic = ?1"
            " AND partition = ?2 AND base_offset <= ?3 ORDER BY base_offset DESC LIMIT 1), 0)"
            " ORDER BY base_offset",
            (topic, partition, offset),
        )
        parts: list[bytes] = []
        start = total = 0
        for base, count, data in rows:
            if not parts:
                start = max(offset, base)
            skip = start - base if not parts else 0
            if skip >= count:
                continue
            take = min(count - skip, max_records - total)
            begin = frames.skip(data, skip) if skip else 0
            end = len(data) if skip + take == count else frames.skip(data, take, begin)
            parts.append(data[begin:end])
            total += take
            if total >= max_records:
                break
        rows.close()
        return Batch(start if parts else offset, total, b"".join(parts))

    # consumers, state and the atomic commit ---------------------------------------------

    def position(self, service: str, topic: str, partition: int) -> int | None:
        row = self._db.execute(
            "SELECT next_offset FROM positions WHERE service = ? AND topic = ? AND partition = ?",
            (service, topic, partition),
        ).fetchone()
        return None if row is None else row[0]

    def state_get(self, service: str, state: str, key: bytes) -> bytes | None:
        row = self._db.execute(
            "SELECT value FROM state WHERE service = ? AND state = ? AND key = ?",
            (service, state, key),
        ).fetchone()
        return None if row is None else row[0]

    def commit(
        self,
        outputs: Sequence[Output] = (),
        positions: Sequence[Position] = (),
        state_changes: Sequence[StateChange] = (),
    ) -> list[int]:
        db = self._db
        bases = []
        with self._write():
            for pos in positions:
                current = self.position(pos.service, pos.topic, pos.partition)
                if current != pos.expected:
                    raise PositionConflict(
                        f"{pos.service}: position of {pos.topic}[{pos.partition}] is {current},"
                        f" expected {pos.expected}; is another runner of this service alive?"
                    )
                db.execute(
                    "INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?)",
                    (pos.service, pos.topic, pos.partition, pos.next_offset),
                )
            for out in outputs:
                if not 0 <= out.partition < self.partitions(out.topic):
                    raise ValueError(
                        f"topic {out.topic!r} has no partition {out.partition}"
                    )
                base = self.bounds(out.topic, out.partition)[1]
                if out.count:
                    db.execute(
                        "INSERT INTO batches VALUES (?, ?, ?, ?, ?)",
                        (out.topic, out.partition, base, out.count, out.data),
                    )
                bases.append(base)
            for change in state_changes:
                if change.value is None:
                    db.execute(
                        "DELETE FROM state WHERE service = ? AND state = ? AND key = ?",
                        (change.service, change.state, change.key),
                    )
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?)",
                        (change.service, change.state, change.key, change.value),
                    )
        return bases

    def drop_state(self, service: str, state: str, changelog: str, schema_state: str) -> int:
        """Delete a state's changelog records and its recorded shape (`sscc state drop`): the
        next run starts that state empty. Returns the number of change records deleted."""
        first, end = self.bounds(changelog, 0)
        with self._write():
            self._db.execute("DELETE FROM batches WHERE topic = ?", (changelog,))
            self._db.execute(
                "DELETE FROM state WHERE service = ? AND state = ? AND key = ?", (service, schema_state, state.encode())
            )
        return end - first

    def _write(self) -> "_Transaction":
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (writers never deadlock)."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")

"""The embedded durable store: topics, consumer positions and state in one SQLite file (WAL),
the framed bytes of every stored batch in an append-only record log beside it (`<file>-log`).

Needs no server. One row holds one appended batch of framed records (frames.py), so Python
never touches single records on the hot path. `commit` writes outputs, consumer positions and
state changes in ONE transaction, which is what makes a run exactly-once across kill -9: either
a batch's outputs and the input position that produced them are both durable, or neither is.

Why a log file: a batch written as a SQLite blob went to the WAL page by page and again to the
database at every checkpoint, each checkpoint with two fsyncs; that was a quarter of a stateless
chain's run (docs/benchmarks.md, "The hot path"). Now a commit writes the batch bytes once, with
one `pwritev` at the log's committed end while it holds SQLite's write lock, and then commits
the rows that point at them (`pos`, `len`). Bytes past the committed end are never read, and the
next commit overwrites them, so a crash between the write and the COMMIT leaves no trace. Reads
take a batch's bytes with one `pread` per run of adjacent batches.
"""

from __future__ import annotations

import fcntl
import os
import queue
import sqlite3
import threading
from pathlib import Path
from typing import Sequence

from . import frames
from .backend import Batch, Fence, Output, Position, PositionConflict, StateChange, StoreDamaged
from .storeleases import SCHEMA_V3, StoreLeases, check_fence

SCHEMA_VERSION = 3  # 3: leases and workers (storeleases.py); 1 and 2 are upgraded in place
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
# Version 2, also run on a version-1 file (whose rows keep their bytes in `data`): a batch's
# bytes are `len` bytes at `pos` of the record log; `log.end_pos` is the log's committed end.
_SCHEMA_V2 = """
ALTER TABLE batches ADD COLUMN pos INTEGER;
ALTER TABLE batches ADD COLUMN len INTEGER;
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    end_pos INTEGER NOT NULL
);
INSERT OR IGNORE INTO log VALUES (0, 0);
"""

# What a commit rewrites, whole, into the WAL is a page of `positions`, `state` (window snapshot),
# `log` and the batch b-tree; batch bytes are in the record log. When they were blobs in this
# file, 16 KiB pages read them faster, but 4 KiB made a windowed service's commits cheapest
# (bench/win.py: 0.09 s of commits per 1M events; 16 KiB: 0.12 s, 64 KiB: 0.28 s). Only takes
# effect when the file is created.
PAGE_SIZE = 4096


class Store(StoreLeases):
    """SQLite implementation of backend.TopicBackend.

    synchronous="NORMAL" (default) survives any process crash; "FULL" also survives power
    loss at the cost of an fsync per commit. Either way a commit is all-or-nothing.
    """

    FENCES_COMMITS = True  # commit(..., fence=) is checked in the commit's transaction (storeleases.py)

    def __init__(
        self,
        path: str | Path,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = 30_000,
    ):
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.path = Path(path)
        self._timeout = busy_timeout_ms / 1000
        # Writers of every process and thread queue on an flock of `<file>-lock` before BEGIN
        # IMMEDIATE: the kernel wakes the next one when the lock is free, where SQLite's busy
        # handler sleeps and polls (1, 2, 5 ... 100 ms), which cost two workers committing side
        # by side most of their time (docs/scale-out.md). One open file per connection.
        self._lock_path = self.path.with_name(self.path.name + "-lock")
        self._main_lock = _open_lock(self._lock_path)
        self._side_lock = -1
        self._side: sqlite3.Connection | None = None  # commit_soon's connection, opened on first use
        self._pending: _Pending | None = None
        self._db = sqlite3.connect(
            self.path, isolation_level=None, timeout=busy_timeout_ms / 1000
        )
        self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self.log_path = self.path.with_name(self.path.name + "-log")
        if self._schema_version() == 0 and _size(self.log_path):
            self._db.close()
            raise StoreDamaged(
                f"{self.path} is empty but its record log {self.log_path.name} holds"
                f" {_size(self.log_path):,} bytes: the database file was truncated or replaced;"
                " restore both files from a copy, or move them away to start a new store"
            )
        if self._schema_version() in (0, 1, 2):  # only a new (or older) file takes the write lock
            with self._write():
                version = self._schema_version()
                if version in (0, 1, 2):
                    # Version 1 kept every batch in `data`; its rows stay readable as they are.
                    # Version 2 had no leases: a store without them simply has none yet.
                    script = ("" if version else _SCHEMA) + (_SCHEMA_V2 if version < 2 else "") + SCHEMA_V3
                    for statement in script.split(";"):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        version = self._schema_version()
        if version != SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: store schema {version}, this runtime reads {SCHEMA_VERSION}"
            )
        self._partitions: dict[str, int] = {}
        self._log = os.open(self.log_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._full = synchronous == "FULL"
        # verify(): the files this store opened, and the largest size seen of the database
        found = os.stat(self.path)
        self._db_id, self._db_size = (found.st_dev, found.st_ino), found.st_size

    def verify(self) -> None:
        """Raise StoreDamaged when the store's files were deleted, replaced or truncated while this
        process had them open (a run calls this about once a second and when it ends): SQLite and
        the log keep writing to a deleted file without an error, and the run would say `done`."""
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            raise StoreDamaged(
                f"{self.path} was deleted while the run was using it: what it committed is gone with it"
            ) from None
        if (found.st_dev, found.st_ino) != self._db_id:
            raise StoreDamaged(f"{self.path} was replaced by another file while the run was using it")
        if found.st_size < self._db_size:
            raise StoreDamaged(
                f"{self.path} shrank from {self._db_size:,} to {found.st_size:,} bytes while the run was"
                " using it: it was truncated; restore the store from a copy"
            )
        self._db_size = found.st_size
        try:
            log = os.stat(self.log_path)
        except FileNotFoundError:
            log = None
        if log is None or not os.path.samestat(log, os.fstat(self._log)):
            raise StoreDamaged(f"{self.log_path} was deleted or replaced while the run was using it")
        end = self._db.execute("SELECT end_pos FROM log").fetchone()[0]
        size = os.fstat(self._log).st_size
        if size < end:
            raise StoreDamaged(
                f"{self.log_path} holds {size:,} bytes but the store's batches reach byte {end:,}:"
                " it was truncated; restore the store from a copy"
            )

    def _schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        try:
            self.settle()
        finally:
            if self._side is not None:
                self._committer.jobs.put(None)
                self._committer.join()
                self._side.close()
                self._side = None
            self._db.close()
        if self._log >= 0:
            os.close(self._log)
            self._log = -1
        for fd in (self._main_lock, self._side_lock):
            if fd >= 0:
                os.close(fd)
        self._main_lock = self._side_lock = -1

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

    def grow_topic(self, topic: str, partitions: int) -> None:
        """More partitions for an existing topic (`topic create`); the new ones start empty.
        A running process keeps the count it read until it restarts."""
        with self._write():
            self._db.execute(
                "UPDATE topics SET partitions = ? WHERE name = ? AND partitions < ?", (partitions, topic, partitions)
            )
        self._partitions.pop(topic, None)

    def partitions(self, topic: str) -> int:
        if topic not in self._partitions:
            row = self._db.execute(
                "SELECT partitions FROM topics WHERE name = ?", (topic,)
            ).fetchone()
            if row is None:
                raise KeyError(f"no topic {topic!r}")
            self._partitions[topic] = row[0]
        return self._partitions[topic]

    def _partition_count(self, db: sqlite3.Connection, topic: str) -> int:
        """`partitions`, through `db` (a commit thread's connection) when not cached yet."""
        if topic not in self._partitions:
            row = db.execute("SELECT partitions FROM topics WHERE name = ?", (topic,)).fetchone()
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
        return (first[0], self._end(topic, partition))

    def _end(self, topic: str, partition: int, db: sqlite3.Connection | None = None) -> int:
        """The next offset of a partition (0 when empty)."""
        end = (db or self._db).execute(
            "SELECT base_offset + count FROM batches WHERE topic = ? AND partition = ?"
            " ORDER BY base_offset DESC LIMIT 1",
            (topic, partition),
        ).fetchone()
        return 0 if end is None else end[0]

    # records ----------------------------------------------------------------------------

    def append(self, topic: str, partition: int, data: bytes, count: int) -> int:
        return self.commit([Output(topic, partition, data, count)])[0]

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> Batch:
        """Whole stored batches joined, the first sliced to start at `offset` and the last cut
        at `max_records` (walking frame lengths only in those two batches)."""
        rows = self._db.execute(
            "SELECT base_offset, count, pos, len, data FROM batches WHERE topic = ?1 AND partition = ?2"
            " AND base_offset >= COALESCE((SELECT base_offset FROM batches WHERE topic = ?1"
            " AND partition = ?2 AND base_offset <= ?3 ORDER BY base_offset DESC LIMIT 1), 0)"
            " ORDER BY base_offset",
            (topic, partition, offset),
        )
        # [pos, len] of runs of adjacent bytes in the log, or [None, blob] for a version-1 row
        pieces: list[list] = []
        start = total = skip = size = 0
        last_at = last_take = last_count = 0  # the last batch: its byte start, records taken, stored
        for base, count, pos, length, blob in rows:
            if not pieces:
                start = max(offset, base)
                skip = start - base
                if skip >= count:
                    continue
            take = min(count - (skip if not pieces else 0), max_records - total)
            if pos is None:
                pieces.append([None, blob])
                length = len(blob)
            elif pieces and pieces[-1][0] is not None and pieces[-1][0] + pieces[-1][1] == pos:
                pieces[-1][1] += length
            else:
                pieces.append([pos, length])
            last_at, last_take, last_count = size, take, count - (skip if total == 0 else 0)
            size += length
            total += take
            if total >= max_records:
                break
        rows.close()
        if not pieces:
            return Batch(offset, 0, b"")
        try:
            parts = [blob if pos is None else self._read_log(pos, blob) for pos, blob in pieces]
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            # Only the first and the last batch are walked: skip into the first, cut the last.
            begin = frames.skip(data, skip) if skip else 0
            end = size
            if last_take < last_count:
                end = frames.skip(data, last_take, begin if last_at == 0 else last_at)
        except (ValueError, StoreDamaged) as exc:
            raise self.damaged(topic, partition, start, str(exc)) from None
        if begin or end != size:
            data = data[begin:end]
        return Batch(start, total, data)

    def damaged(self, topic: str, partition: int, offset: int, detail: str) -> StoreDamaged:
        """A stored batch that cannot be read: where it is, and what to do."""
        return StoreDamaged(
            f"{self.log_path}: the stored records of {topic}[{partition}] at offset {offset:,} are"
            f" corrupt ({detail}); restore the store from a copy, or move a reader past them with"
            " `reset SERVICE --to-offset N`"
        )

    def _read_log(self, pos: int, length: int) -> bytes:
        data = os.pread(self._log, length, pos)
        while len(data) < length:  # a regular file returns short reads only at its end
            more = os.pread(self._log, length - len(data), pos + len(data))
            if not more:
                raise StoreDamaged(
                    f"{self.log_path} ends at byte {pos + len(data)}; the store's rows point to"
                    f" {pos + length} (was the log file removed or truncated?)"
                )
            data += more
        return data

    # consumers, state and the atomic commit ---------------------------------------------

    def position(self, service: str, topic: str, partition: int) -> int | None:
        row = self._db.execute(
            "SELECT next_offset FROM positions WHERE service = ? AND topic = ? AND partition = ?",
            (service, topic, partition),
        ).fetchone()
        return None if row is None else row[0]

    def positions(self, service: str) -> list[tuple[str, int, int]]:
        """(topic, partition, next offset) of every committed position of `service` (`reset`)."""
        return list(self._db.execute(
            "SELECT topic, partition, next_offset FROM positions WHERE service = ? ORDER BY topic, partition",
            (service,),
        ))

    def services(self) -> list[str]:
        """Every service with a committed position (schedule cursors `svc#schedule` left out)."""
        rows = self._db.execute("SELECT DISTINCT service FROM positions ORDER BY service")
        return [name for (name,) in rows if "#" not in name]

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
        fence: Fence | None = None,
    ) -> list[int]:
        self.settle()
        return self._commit(self._db, outputs, positions, state_changes, fence)

    def commit_soon(
        self,
        outputs: Sequence[Output] = (),
        positions: Sequence[Position] = (),
        state_changes: Sequence[StateChange] = (),
        fence: Fence | None = None,
    ) -> None:
        """`commit`, done by a thread on a second connection while the caller goes on with its
        next batch (SQLite, `pwritev` and guest calls all release the GIL, so on two cores the
        commit costs the run almost nothing). One at a time and in order: this and every other
        write first wait for the previous one; `settle()` waits for it and raises its error.
        Until then the caller's reads do not see it (they see only committed data)."""
        self.settle()
        if self._side is None:
            self._side = sqlite3.connect(
                self.path, isolation_level=None, timeout=self._timeout, check_same_thread=False
            )
            self._side.execute(f"PRAGMA synchronous={'FULL' if self._full else 'NORMAL'}")
            self._side_lock = _open_lock(self._lock_path)
            self._committer = _Committer()
            self._committer.start()
        job = _Pending(self._commit, (self._side, outputs, positions, state_changes, fence))
        self._pending = job
        self._committer.jobs.put(job)

    def settle(self) -> bool:
        """Wait for the commit `commit_soon` started, if any, and raise what it raised; whether
        there was one."""
        job, self._pending = self._pending, None
        if job is None:
            return False
        job.join()
        if job.error is not None:
            raise job.error
        return True

    def _commit(
        self,
        db: sqlite3.Connection,
        outputs: Sequence[Output],
        positions: Sequence[Position],
        state_changes: Sequence[StateChange],
        fence: Fence | None = None,
    ) -> list[int]:
        bases = []
        with _Transaction(db, self._main_lock if db is self._db else self._side_lock):
            if fence is not None:  # a zombie worker's commit goes no further (docs/scale-out.md)
                check_fence(db, fence)
            for pos in positions:
                row = db.execute(
                    "SELECT next_offset FROM positions WHERE service = ? AND topic = ? AND partition = ?",
                    (pos.service, pos.topic, pos.partition),
                ).fetchone()
                current = None if row is None else row[0]
                if current != pos.expected:
                    raise PositionConflict(
                        f"{pos.service}: position of {pos.topic}[{pos.partition}] is {current},"
                        f" expected {pos.expected}; is another runner of this service alive?"
                    )
                db.execute(
                    "INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?)",
                    (pos.service, pos.topic, pos.partition, pos.next_offset),
                )
            log_end = at = None
            written: list[bytes] = []
            for out in outputs:
                if not 0 <= out.partition < self._partition_count(db, out.topic):
                    raise ValueError(
                        f"topic {out.topic!r} has no partition {out.partition}"
                    )
                base = self._end(out.topic, out.partition, db)
                if out.count:
                    if at is None:
                        log_end = at = db.execute("SELECT end_pos FROM log").fetchone()[0]
                    db.execute(
                        "INSERT INTO batches VALUES (?, ?, ?, ?, X'', ?, ?)",
                        (out.topic, out.partition, base, out.count, at, len(out.data)),
                    )
                    written.append(out.data)
                    at += len(out.data)
                bases.append(base)
            if written:
                # The bytes go to the log before COMMIT makes the rows that point at them visible.
                self._write_log(written, log_end)
                db.execute("UPDATE log SET end_pos = ?", (at,))
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

    def adopt(self, legacy: str, key: str) -> list[str]:
        """A store written before services were namespaced (names.py): what the bare service name
        `legacy` holds — positions, state rows, its dead-letter, changelog and schedule topics —
        moves to `key` in one transaction, unless `key` holds something already. Returns what
        moved (for the run's note); [] when nothing did."""
        if legacy == key:
            return []
        from .names import OWNED_INFIXES, OWNED_SUFFIXES

        fences = (legacy, legacy + "#schedule")  # schedules.FENCE_SUFFIX
        with self._write():
            db = self._db
            taken = db.execute(
                "SELECT 1 FROM positions WHERE service IN (?, ?) UNION ALL SELECT 1 FROM state WHERE service = ? LIMIT 1",
                (key, key + "#schedule", key),
            ).fetchone()
            if taken:
                return []
            names = set(self.topics())
            rest = lambda t: t[len(legacy) :]  # noqa: E731
            topics = [
                t
                for t in sorted(names)
                if t.startswith(legacy + ".")
                and (rest(t).endswith(OWNED_SUFFIXES) or any(i in rest(t) for i in OWNED_INFIXES))
                and key + rest(t) not in names
            ]
            moved = []
            for old in fences:
                new = key + old[len(legacy) :]
                if db.execute("UPDATE positions SET service = ? WHERE service = ?", (new, old)).rowcount:
                    moved.append(f"positions of {old}")
            if db.execute("UPDATE state SET service = ? WHERE service = ?", (key, legacy)).rowcount:
                moved.append(f"state rows of {legacy}")
            for old in topics:
                new = key + rest(old)
                db.execute("UPDATE topics SET name = ? WHERE name = ?", (new, old))
                db.execute("UPDATE batches SET topic = ? WHERE topic = ?", (new, old))
                db.execute("UPDATE positions SET topic = ? WHERE topic = ?", (new, old))
                moved.append(f"topic {old}")
        self._partitions.clear()
        return moved

    def drop_state(self, service: str, state: str, changelog: str, schema_state: str) -> int:
        """Delete a state's changelog records and its recorded shape (`sscc state drop`): the
        next run starts that state empty. Returns the number of change records deleted."""
        held = sum(end - first for first, end in (self.bounds(changelog, p) for p in range(self.partitions(changelog))))
        with self._write():
            self._db.execute("DELETE FROM batches WHERE topic = ?", (changelog,))
            self._db.execute(
                "DELETE FROM state WHERE service = ? AND state = ? AND key = ?", (service, schema_state, state.encode())
            )
        return held

    def _write_log(self, parts: list[bytes], at: int) -> None:
        while parts:
            done = os.pwritev(self._log, parts[:1024], at)  # IOV_MAX
            at += done
            while parts and done >= len(parts[0]):
                done -= len(parts[0])
                parts = parts[1:]
            if done:
                parts[0] = memoryview(parts[0])[done:]
        if self._full:
            os.fdatasync(self._log)

    def _write(self) -> "_Transaction":
        self.settle()
        return _Transaction(self._db, self._main_lock)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


class _Pending:
    """One commit handed to the committer thread; `error` is what it raised."""

    def __init__(self, commit, args):
        self.commit, self.args = commit, args
        self.error: BaseException | None = None
        self.done = threading.Lock()
        self.done.acquire()  # released by the committer when the commit has run

    def run(self) -> None:
        try:
            self.commit(*self.args)
        except BaseException as exc:  # handed to the caller by settle()
            self.error = exc
        finally:
            self.done.release()

    def join(self) -> None:
        self.done.acquire()


class _Committer(threading.Thread):
    """The thread `commit_soon` hands its commits to (a thread per commit made the caller wait
    for each thread to start: a scheduling delay per batch on a busy machine)."""

    def __init__(self):
        super().__init__(name="sscc-commit", daemon=True)
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()

    def run(self) -> None:
        while (job := self.jobs.get()) is not None:
            job.run()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (writers never deadlock)."""

    def __init__(self, db: sqlite3.Connection, lock: int = -1):
        self._db, self._lock = db, lock

    def __enter__(self) -> None:
        if self._lock >= 0:
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            if self._lock >= 0:
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            if self._lock >= 0:
                fcntl.flock(self._lock, fcntl.LOCK_UN)


def _open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

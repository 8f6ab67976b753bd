"""Task leases, fencing and the worker registry of the embedded store (backend.LeaseBackend).

A lease says which worker runs a task (service, task partition) until when; every acquisition of
a free, released or expired lease bumps its epoch. Every commit of a task carries the epoch it
was acquired with (backend.Fence) and `check_fence` refuses it inside the commit's own SQLite
transaction when the epoch moved on, so a worker that was paused (SIGSTOP, a long GC, a swapped
out VM) past its lease and woke up after another worker took its task over can never commit.
Times are wall-clock unix seconds (`time.time()`), the same clock for every process of a machine.

The `workers` table is what `status` shows and what `--until-idle` agrees on: each worker's pid,
its last heartbeat, its counters, and the store fingerprint at which it last found every task it
owns idle (`idle_at`, see `fingerprint`).
"""

from __future__ import annotations

import os
import sqlite3
import time

from .backend import Fence, Fenced, Lease, idle_at

# Run by Store when it creates or upgrades a file (no ";" inside a statement: split on it).
SCHEMA_V3 = """
CREATE TABLE IF NOT EXISTS leases (
    service TEXT NOT NULL,
    task INTEGER NOT NULL,
    worker TEXT,
    epoch INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (service, task)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started REAL NOT NULL,
    heartbeat REAL NOT NULL,
    ttl REAL NOT NULL,
    idle_at TEXT,
    counters TEXT
) WITHOUT ROWID;
"""


def check_fence(db: sqlite3.Connection, fence: Fence) -> None:
    """Inside a write transaction: raise Fenced unless the lease of the fence's task has its epoch.
    Only the epoch counts, not the expiry: a worker whose lease ran out but that nobody took
    over may still commit (nobody else has read the task's positions or state since)."""
    row = db.execute(
        "SELECT epoch, worker FROM leases WHERE service = ? AND task = ?", (fence.service, fence.task)
    ).fetchone()
    if row is None or row[0] != fence.epoch:
        current, owner = (row[0], row[1]) if row else (None, None)
        refused = Fenced(
            f"{fence.service}[task {fence.task}]: lease epoch is {current} (owner {owner}),"
            f" this commit carries epoch {fence.epoch}: refused"
        )
        refused.fence, refused.current, refused.owner = fence, current, owner
        raise refused


class StoreLeases:
    """The LeaseBackend half of store.Store (mixed in; uses its `_db` and `_write`)."""

    _db: sqlite3.Connection

    def acquire(self, service: str, task: int, worker: str, ttl: float) -> int | None:
        now = time.time()
        with self._write():
            row = self._db.execute(
                "SELECT worker, epoch, expires_at FROM leases WHERE service = ? AND task = ?", (service, task)
            ).fetchone()
            if row is not None and row[2] > now:
                return None  # held (by another worker, or by this one under another epoch)
            epoch = (row[1] if row else 0) + 1
            self._db.execute(
                "INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?)", (service, task, worker, epoch, now + ttl)
            )
        return epoch

    def renew(self, service: str, task: int, worker: str, epoch: int, ttl: float) -> bool:
        with self._write():
            cursor = self._db.execute(
                "UPDATE leases SET expires_at = ? WHERE service = ? AND task = ? AND worker = ? AND epoch = ?",
                (time.time() + ttl, service, task, worker, epoch),
            )
        return cursor.rowcount == 1

    def renew_all(self, worker: str, held: list[tuple[str, int, int]], ttl: float, beat: dict) -> list[tuple[str, int, int]]:
        """Renew every lease in `held` ((service, task, epoch)) and write the worker's heartbeat
        (`beat`: counters, idle_at) in one transaction; returns the leases that moved on."""
        now = time.time()
        lost = []
        with self._write():
            for service, task, epoch in held:
                cursor = self._db.execute(
                    "UPDATE leases SET expires_at = ? WHERE service = ? AND task = ? AND worker = ? AND epoch = ?",
                    (now + ttl, service, task, worker, epoch),
                )
                if cursor.rowcount != 1:
                    lost.append((service, task, epoch))
            self._db.execute(
                "UPDATE workers SET heartbeat = ?, ttl = ?, idle_at = ?, counters = ? WHERE id = ?",
                (now, ttl, beat.get("idle_at"), beat.get("counters"), worker),
            )
        return lost

    def release(self, service: str, task: int, worker: str, epoch: int) -> None:
        with self._write():
            self._db.execute(
                "UPDATE leases SET expires_at = 0 WHERE service = ? AND task = ? AND worker = ? AND epoch = ?",
                (service, task, worker, epoch),
            )

    def leases(self, service: str | None = None) -> list[Lease]:
        """Every lease (of `service`; of every service without one), by service and task."""
        query = "SELECT service, task, worker, epoch, expires_at FROM leases"
        rows = self._db.execute(
            query + (" WHERE service = ?" if service is not None else "") + " ORDER BY service, task",
            (service,) if service is not None else (),
        )
        return [Lease(*row) for row in rows]

    # workers ------------------------------------------------------------------------------

    def register_worker(self, worker: str, pid: int, host: str, ttl: float) -> None:
        now = time.time()
        with self._write():
            self._db.execute(
                "INSERT OR REPLACE INTO workers VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)", (worker, pid, host, now, now, ttl)
            )

    def remove_worker(self, worker: str, release: bool = True) -> None:
        """Forget a worker; with `release`, free its leases at once (it stopped or is known
        dead: its process is gone, so it cannot commit any more)."""
        with self._write():
            self._db.execute("DELETE FROM workers WHERE id = ?", (worker,))
            if release:
                self._db.execute("UPDATE leases SET expires_at = 0 WHERE worker = ?", (worker,))

    def set_idle(self, worker: str, fingerprint: str | None) -> None:
        with self._write():
            self._db.execute("UPDATE workers SET idle_at = ? WHERE id = ?", (fingerprint, worker))

    def worker_stopped(self, worker: str) -> None:
        """A worker that stopped cleanly: not live any more (its row keeps its final counters)."""
        with self._write():
            self._db.execute("UPDATE workers SET heartbeat = 0, idle_at = NULL WHERE id = ?", (worker,))

    def workers(self) -> list[tuple]:
        """(id, pid, host, started, heartbeat, ttl, idle_at, counters) of every registered worker."""
        return self._db.execute(
            "SELECT id, pid, host, started, heartbeat, ttl, idle_at, counters FROM workers ORDER BY started, id"
        ).fetchall()

    def consumer_positions(self) -> list[tuple[str, str, int, int]]:
        """(service, topic, partition, next offset) of every committed consumer position."""
        return self._db.execute("SELECT service, topic, partition, next_offset FROM positions ORDER BY 1, 2, 3").fetchall()

    def fingerprint(self) -> str:
        """Changes whenever anything is committed that a task could read: the record log's end
        (every non-empty append moves it) and the consumer positions (count and sum). A worker
        that found its tasks idle at fingerprint F, with F unchanged around its round, knows none
        of them had anything to read at F."""
        row = self._db.execute(
            "SELECT (SELECT end_pos FROM log), (SELECT count(*) FROM batches),"
            " (SELECT count(*) FROM positions), (SELECT total(next_offset) FROM positions)"
        ).fetchone()
        return f"{row[0]}:{row[1]}:{row[2]}:{int(row[3])}"

    def all_idle(self, tasks: list[tuple[str, int]], drained: bool = False) -> str | None:
        """In one snapshot: is every task leased by a live worker that found it idle at the
        current fingerprint (`idle_at` = `idle:F` or `done:F`)? With `drained`, also with its
        windows drained (`done:F`): then `--until-idle` is over, nothing is left to read or flush
        anywhere. Returns F, or None."""
        now = time.time()
        with _Read(self._db):
            current = self.fingerprint()
            live = {
                worker: idle
                for worker, heartbeat, ttl, idle in self._db.execute("SELECT id, heartbeat, ttl, idle_at FROM workers")
                if heartbeat + ttl > now
            }
            held = {
                (service, task): worker
                for service, task, worker, _, expires in self._db.execute(
                    "SELECT service, task, worker, epoch, expires_at FROM leases"
                )
                if expires > now
            }
        return idle_at(tasks, held, live, current, drained)


class _Read:
    """One read snapshot (BEGIN DEFERRED ... COMMIT): every SELECT inside sees the same commit."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, *exc) -> None:
        self._db.execute("COMMIT")


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this machine still exists (a worker row's owner)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

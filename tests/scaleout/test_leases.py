"""Leases and fencing in the embedded store (storeleases.py, backend.LeaseBackend), on real
SQLite files: acquisition bumps the epoch, renewal and release need the current epoch, a commit
carrying an old epoch is refused whole inside its own transaction, and a version-2 store file
(before leases) is upgraded in place and keeps its records."""

from __future__ import annotations

import sqlite3
import time

import pytest

import workers_util  # noqa: F401  (puts runtime_stub on sys.path)
from sscc_runtime import frames
from sscc_runtime.backend import Fence, Fenced, Output, Position, PositionConflict
from sscc_runtime.store import SCHEMA_VERSION, Store


def values(store: Store, topic: str) -> list[bytes]:
    return [r.value for r in frames.iter_records(store.read(topic, 0, 0, 10**6).data)]


def test_acquire_bumps_the_epoch_and_a_held_lease_is_refused(tmp_path):
    with Store(tmp_path / "s.db") as store:
        assert store.acquire("svc", 0, "a", ttl=30) == 1
        assert store.acquire("svc", 0, "b", ttl=30) is None  # held by a
        assert store.acquire("svc", 1, "b", ttl=30) == 1  # another task is another lease
        assert store.renew("svc", 0, "a", 1, ttl=30)
        assert not store.renew("svc", 0, "b", 1, ttl=30)  # not b's
        store.release("svc", 0, "a", 1)
        assert store.acquire("svc", 0, "b", ttl=30) == 2
        assert not store.renew("svc", 0, "a", 1, ttl=30)  # a's epoch is gone
        store.release("svc", 0, "a", 1)  # a stale release changes nothing
        assert [(l.task, l.worker, l.epoch) for l in store.leases("svc")] == [(0, "b", 2), (1, "b", 1)]
        assert store.leases("svc")[0].expires_at > time.time()


def test_an_expired_lease_is_taken_over_with_a_new_epoch(tmp_path):
    with Store(tmp_path / "s.db") as store:
        assert store.acquire("svc", 0, "a", ttl=0.05) == 1
        time.sleep(0.1)
        assert store.acquire("svc", 0, "b", ttl=30) == 2


def test_a_commit_with_an_old_epoch_is_refused_whole(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.ensure_topic("in")
        store.ensure_topic("out")
        old = Fence("svc", 0, store.acquire("svc", 0, "a", ttl=0.05))
        store.commit([Output("out", 0, *frames.build([(None, b"first")]))], [Position("svc", "in", 0, None, 1)], fence=old)
        time.sleep(0.1)
        new = Fence("svc", 0, store.acquire("svc", 0, "b", ttl=30))
        # the zombie: its position expectation still holds, its epoch does not
        with pytest.raises(Fenced) as refused:
            store.commit([Output("out", 0, *frames.build([(None, b"zombie")]))], [Position("svc", "in", 0, 1, 2)], fence=old)
        assert isinstance(refused.value, PositionConflict)
        assert refused.value.current == 2 and refused.value.owner == "b"
        assert store.position("svc", "in", 0) == 1 and values(store, "out") == [b"first"]
        # the same through the committer thread: raised by the next settle, nothing stored
        store.commit_soon([Output("out", 0, *frames.build([(None, b"zombie")]))], [Position("svc", "in", 0, 1, 2)], fence=old)
        with pytest.raises(Fenced):
            store.settle()
        store.commit([Output("out", 0, *frames.build([(None, b"second")]))], [Position("svc", "in", 0, 1, 2)], fence=new)
        assert store.position("svc", "in", 0) == 2 and values(store, "out") == [b"first", b"second"]
        # a lease that expired but that nobody took over still commits (nobody read past it)
        time.sleep(0.01)
        with sqlite3.connect(tmp_path / "s.db") as db:
            db.execute("UPDATE leases SET expires_at = 1")
        store.commit(positions=[Position("svc", "in", 0, 2, 3)], fence=new)
        assert store.position("svc", "in", 0) == 3


def test_a_version_2_store_is_upgraded_and_keeps_its_records(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.ensure_topic("t")
        store.append("t", 0, *frames.build([(None, b"kept")]))
    db = sqlite3.connect(tmp_path / "s.db")
    db.executescript("DROP TABLE leases; DROP TABLE workers; PRAGMA user_version = 2;")
    db.close()
    with Store(tmp_path / "s.db") as store:
        assert values(store, "t") == [b"kept"]
        assert store.acquire("svc", 0, "a", ttl=30) == 1
        assert store.workers() == []
    assert sqlite3.connect(tmp_path / "s.db").execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3


def test_all_idle_needs_every_task_held_by_a_live_worker_idle_at_the_current_fingerprint(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.ensure_topic("t")
        tasks = [("svc", 0), ("svc", 1)]
        store.register_worker("a", 1, "h", ttl=30)
        store.register_worker("b", 2, "h", ttl=30)
        store.acquire("svc", 0, "a", ttl=30)
        f = store.fingerprint()
        store.set_idle("a", f"done:{f}")
        assert store.all_idle(tasks, drained=True) is None  # task 1 is nobody's
        store.acquire("svc", 1, "b", ttl=30)
        store.set_idle("b", f"idle:{f}")
        assert store.all_idle(tasks) == f and store.all_idle(tasks, drained=True) is None
        store.set_idle("b", f"done:{f}")
        assert store.all_idle(tasks, drained=True) == f
        store.append("t", 0, *frames.build([(None, b"new")]))  # something to read: not idle any more
        assert store.fingerprint() != f and store.all_idle(tasks) is None

"""Fencing: a worker paused (SIGSTOP) past its lease, whose tasks another worker took over,
commits nothing when it wakes (issue 14: "a zombie worker can never commit").

The run has 2 workers and a 1 s lease TTL (SSCC_LEASE_TTL). The test stops a worker that holds
leases in the middle of the work, waits until the other worker holds every one of those tasks
under a newer epoch and has committed past them, lets more input in, then wakes the paused worker.
Whatever it had in flight is refused by the store (backend.Fenced) or found lost by its lease
heartbeat; it says so on stderr, drops those tasks, and the run ends with exactly the outputs
and the state of one uninterrupted process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from workers_util import (
    PARTITIONS, PIPELINE, assert_same_outputs, children, committed, dropped_tasks, expected_state, lag, lines, new_store, produce, require_toolchain,
    snapshot, sscc, wait_for,
)  # fmt: skip
from sscc_runtime.store import Store

FIRST, SECOND = 60_000, 20_000


def test_a_paused_worker_that_lost_its_leases_commits_nothing(tmp_path):
    require_toolchain()
    chunks = [lines(FIRST), lines(SECOND, start=FIRST)]
    reference = new_store(tmp_path / "reference", tmp_path, chunks)
    sscc("run", str(PIPELINE), "--store", str(reference), "--until-idle", "--batch-records", "100")
    want = snapshot(reference)
    assert want["state"] == expected_state(chunks[0] + chunks[1])

    store = new_store(tmp_path / "store", tmp_path, [])
    # created empty: the run follows its input, and a source starts at End (the SDF default)
    sscc("topic", "create", "lines", "--store", str(store), "--partitions", str(PARTITIONS))
    err = open(tmp_path / "run.err", "w+")
    run = subprocess.Popen(
        ["sscc", "run", str(PIPELINE), "--store", str(store), "--batch-records", "100", "--workers", "2"],
        stderr=err, stdout=subprocess.DEVNULL, env=dict(os.environ, SSCC_LEASE_TTL="1.0"),
    )  # fmt: skip
    watch = Store(store / "store.db")
    host = os.uname().nodename
    victim = None
    try:
        wait_for(lambda: len(children(run.pid)) == 2 and len(watch.workers()) == 2, 60, "two workers")
        produce(store, tmp_path, chunks[0], "first")
        for attempt in range(5):
            wait_for(lambda: committed(watch) >= 5_000 * (attempt + 1) or lag(watch) == 0, 60, "progress", poll=0.001)

            def holder():
                holders = {lease.worker for lease in watch.leases() if lease.expires_at > time.time()}
                return next((p for p in children(run.pid) if f"{host}:{p}" in holders), None)

            pid = wait_for(holder, 30, "a worker holding leases")
            os.kill(pid, signal.SIGSTOP)
            held = [(lease.service, lease.task, lease.epoch) for lease in watch.leases() if lease.worker == f"{host}:{pid}"]

            def taken_over():
                now = {(lease.service, lease.task): lease for lease in watch.leases()}
                return all(
                    now[(s, t)].epoch > e and now[(s, t)].worker not in (None, f"{host}:{pid}") and now[(s, t)].expires_at > time.time()
                    for s, t, e in held
                )

            try:
                wait_for(taken_over, 15, "the other worker to take the paused worker's tasks over", poll=0.02)
            except AssertionError:
                # Paused inside a commit it holds SQLite's write lock, so nobody can take over
                # until it wakes (and then it commits legitimately): wake it, try another moment.
                os.kill(pid, signal.SIGCONT)
                continue
            victim = pid
            break
        assert victim is not None, "could not pause a worker outside a commit in 5 attempts"
        mark = committed(watch)
        produce(store, tmp_path, chunks[1], "second")
        wait_for(lambda: committed(watch) > mark, 30, "the other worker to commit after the takeover")
        os.kill(victim, signal.SIGCONT)
        wait_for(lambda: lag(watch) == 0, 120, "the run to catch up", poll=0.05)
        time.sleep(1.0)  # the woken worker rejoins; its share comes back to it through the leases
        assert victim in children(run.pid), "the woken worker goes on running (it did not fail)"
    finally:
        watch.close()
        for pid in children(run.pid):
            os.kill(pid, signal.SIGCONT)
        run.send_signal(signal.SIGTERM)
        code = run.wait(60)
    err.seek(0)
    log = err.read()
    assert code == 0, log[-4000:]
    assert "Traceback" not in log and "error:" not in log, log[-4000:]
    dropped = dropped_tasks(log, f"{host}:{victim}")

    got = snapshot(store)
    assert_same_outputs(got, want)
    print("\n".join(dropped))


def test_sigterm_to_one_worker_hands_its_tasks_over_cleanly(tmp_path):
    """A worker told to stop finishes its batch, commits, releases its leases (expires_at 0: no
    waiting for a TTL) and exits 0; the other takes its tasks, and nothing is lost or repeated."""
    require_toolchain()
    chunk = lines(FIRST)
    reference = new_store(tmp_path / "reference", tmp_path, [chunk])
    sscc("run", str(PIPELINE), "--store", str(reference), "--until-idle", "--batch-records", "100")
    want = snapshot(reference)

    store = new_store(tmp_path / "store", tmp_path, [])
    sscc("topic", "create", "lines", "--store", str(store), "--partitions", str(PARTITIONS))
    err = open(tmp_path / "run.err", "w+")
    run = subprocess.Popen(
        ["sscc", "run", str(PIPELINE), "--store", str(store), "--batch-records", "100", "--workers", "2"],
        stderr=err, stdout=subprocess.DEVNULL, env=dict(os.environ, SSCC_LEASE_TTL="60"),  # expiry never helps here
    )  # fmt: skip
    host = os.uname().nodename
    try:
        with Store(store / "store.db") as watch:
            wait_for(lambda: len(children(run.pid)) == 2 and len(watch.workers()) == 2, 60, "two workers")
            produce(store, tmp_path, chunk, "first")
            wait_for(lambda: committed(watch) >= 20_000, 60, "progress", poll=0.001)
            leaving = children(run.pid)[0]
            os.kill(leaving, signal.SIGTERM)
            wait_for(lambda: leaving not in children(run.pid), 30, "the worker to exit")
            assert [c for c in children(run.pid)] and all(l.worker != f"{host}:{leaving}" or l.expires_at == 0 for l in watch.leases())
            wait_for(lambda: lag(watch) == 0, 60, "the other worker to finish every task")
            assert {l.worker for l in watch.leases() if l.expires_at > time.time()} == {f"{host}:{children(run.pid)[0]}"}
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(60)
    err.seek(0)
    log = err.read()
    assert code == 0 and "error:" not in log and "dropped task" not in log, log[-4000:]
    got = snapshot(store)
    assert got["words"] == want["words"] and got["dead"] == want["dead"] and got["state"] == want["state"]

"""Takeover between the workers of `run --workers 2 --broker nats://` (docs/scale-out.md, "Takeover").

The kill pipeline of tests/scaleout follows its input on a real nats-server while the test
- kill -9s a worker holding leases at random moments (the supervisor frees its leases and starts
  a replacement; the other worker takes the tasks over from the committed positions and the batch
  in flight, whose records JetStream de-duplicates by message id), and
- SIGSTOPs a worker past its 1 s lease until the other took every one of its tasks over with a
  newer epoch and committed past them, then wakes it: whatever it had in flight is refused
  (`Fenced`: the epoch in the service's commit document moved) and it drops those tasks.
Both end with exactly the outputs and the state of one uninterrupted run on the embedded store.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from conftest import ROOT
from nats_servers import nats_server, nats_url  # noqa: F401 - fixtures

sys.path.insert(0, os.path.join(ROOT, "tests", "scaleout"))

from workers_util import (  # noqa: E402
    CLEAN, COUNT, PARTITIONS, PIPELINE, assert_same_outputs, children, dropped_tasks, expected_state, lines, new_store, require_toolchain, snapshot, sscc,
    wait_for,
)  # fmt: skip
from test_nats_workers import prepare, produce, read_all  # noqa: E402
from sscc_runtime import brokers, statelog  # noqa: E402

SEED = int(os.environ.get("SSCC_CRASH_SEED", "1515"))


def reference(tmp_path, chunks) -> dict:
    store = new_store(tmp_path / "reference", tmp_path, chunks)
    sscc("run", str(PIPELINE), "--store", str(store), "--until-idle", "--batch-records", "100")
    return snapshot(store)


def broker_snapshot(url: str) -> dict:
    """As workers_util.snapshot, from the broker."""
    import json

    backend = brokers.open_broker(url)
    try:
        words = {p: [(r.value, r.origin) for r in read_all(backend, "words", p)] for p in range(PARTITIONS)}
        letters = [json.loads(r.value) for r in read_all(backend, f"{CLEAN}.dead-letters", 0)]
        state = statelog.replay(statelog.read_all(backend, f"{COUNT}.count-per-word.changelog"))
    finally:
        backend.close()
    dead = {p: sorted((d["offset"], d["kind"], d["reason"]) for d in letters if d["partition"] == p) for p in range(PARTITIONS)}
    return {"words": words, "dead": dead, "state": state}


def lag(backend) -> int:
    """Records not consumed yet, the keyed part's repartition topic included (its records are
    counted only once the keyed task read them)."""
    total = 0
    for service, topic in ((CLEAN, "lines"), (COUNT, "words"), (COUNT, f"{COUNT}.repartition")):
        for p in range(PARTITIONS):
            try:
                end = backend.bounds(topic, p)[1]
            except KeyError:  # the repartition topic before the first run made it
                continue
            total += end - (backend.position(service, topic, p) or 0)
    return total


def committed(backend) -> int:
    return sum(backend.position(s, t, p) or 0 for s, t in ((CLEAN, "lines"), (COUNT, "words")) for p in range(PARTITIONS))


def start(url: str, tmp_path, ttl: str) -> tuple[subprocess.Popen, object]:
    err = open(tmp_path / "run.err", "w+")
    run = subprocess.Popen(
        ["sscc", "run", str(PIPELINE), "--broker", url, "--batch-records", "100", "--workers", "2"],
        stderr=err, stdout=subprocess.DEVNULL, env=dict(os.environ, SSCC_LEASE_TTL=ttl),
    )  # fmt: skip
    return run, err


def finish(run: subprocess.Popen, err) -> str:
    for pid in children(run.pid):
        os.kill(pid, signal.SIGCONT)
    run.send_signal(signal.SIGTERM)
    code = run.wait(60)
    err.seek(0)
    log = err.read()
    assert code == 0 and "Traceback" not in log and "error:" not in log, log[-4000:]
    return log


def holder(watch, run) -> int | None:
    host = os.uname().nodename
    holders = {lease.worker for lease in watch.leases() if lease.expires_at > time.time()}
    return next((p for p in children(run.pid) if f"{host}:{p}" in holders), None)


def test_kill_9_of_a_worker_on_nats_keeps_outputs_and_state_exact(nats_url, tmp_path):
    require_toolchain()
    rng = random.Random(SEED)
    chunks = [lines(4_000, start=i * 4_000) for i in range(5)]
    want = reference(tmp_path, chunks)
    assert want["state"] == expected_state([line for chunk in chunks for line in chunk])
    prepare(nats_url, tmp_path, [])
    run, err = start(nats_url, tmp_path, "1.0")
    watch = brokers.open_broker(nats_url)
    kills = 0
    try:
        wait_for(lambda: len(children(run.pid)) == 2 and len(watch.workers()) == 2, 60, "two workers", poll=0.1)
        for i, chunk in enumerate(chunks):
            before = committed(watch)
            produce(nats_url, tmp_path, chunk, f"chunk{i}")
            target = before + rng.randrange(500, 6_000)
            wait_for(lambda: committed(watch) >= target or lag(watch) == 0, 60, "progress", poll=0.005)
            time.sleep(rng.random() * 0.05)
            pid = holder(watch, run)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                kills += 1
                wait_for(lambda: pid not in children(run.pid) and len(children(run.pid)) == 2, 30, "a replacement worker", poll=0.05)
        wait_for(lambda: lag(watch) == 0, 120, "the run to catch up", poll=0.1)
    finally:
        watch.close()
        log = finish(run, err)
    assert kills >= 3, log[-2000:]
    print(f"{kills} kills")
    assert log.count("was killed by SIGKILL") == kills, log[-4000:]
    got = broker_snapshot(nats_url)
    assert_same_outputs(got, want)


def test_a_paused_worker_on_nats_that_lost_its_leases_commits_nothing(nats_url, tmp_path):
    require_toolchain()
    chunks = [lines(20_000), lines(8_000, start=20_000)]
    want = reference(tmp_path, chunks)
    prepare(nats_url, tmp_path, [])
    run, err = start(nats_url, tmp_path, "1.0")
    watch = brokers.open_broker(nats_url)
    host = os.uname().nodename
    try:
        wait_for(lambda: len(children(run.pid)) == 2 and len(watch.workers()) == 2, 60, "two workers", poll=0.1)
        produce(nats_url, tmp_path, chunks[0], "first")
        wait_for(lambda: committed(watch) >= 6_000, 60, "progress", poll=0.005)
        victim = wait_for(lambda: holder(watch, run), 30, "a worker holding leases")
        os.kill(victim, signal.SIGSTOP)
        held = [(lease.service, lease.task, lease.epoch) for lease in watch.leases() if lease.worker == f"{host}:{victim}"]
        assert held

        def taken_over():
            now = {(lease.service, lease.task): lease for lease in watch.leases()}
            return all(now[(s, t)].epoch > e and now[(s, t)].worker != f"{host}:{victim}" and now[(s, t)].expires_at > time.time()
                       for s, t, e in held)  # fmt: skip

        # no lock on a broker: the takeover never waits for the paused worker
        wait_for(taken_over, 30, "the other worker to take the paused worker's tasks over", poll=0.05)
        mark = committed(watch)
        produce(nats_url, tmp_path, chunks[1], "second")
        wait_for(lambda: committed(watch) > mark, 30, "the other worker to commit after the takeover", poll=0.05)
        os.kill(victim, signal.SIGCONT)
        wait_for(lambda: lag(watch) == 0, 120, "the run to catch up", poll=0.1)
        time.sleep(1.0)  # the woken worker rejoins
        assert victim in children(run.pid), "the woken worker goes on running (it did not fail)"
    finally:
        watch.close()
        log = finish(run, err)
    dropped = dropped_tasks(log, f"{host}:{victim}")
    got = broker_snapshot(nats_url)
    assert_same_outputs(got, want)
    print("\n".join(dropped))

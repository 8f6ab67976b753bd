"""Exactly-once across kill -9: a run SIGKILLed at random moments and restarted must leave the
sink and the dead letters exactly as an uninterrupted run does, in order per partition.
"""

import json
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from kill_harness import Command, kill_9_and_restart
from runtime_fixtures import fixture_wasm  # noqa: F401

from sscc_runtime import frames, service
from sscc_runtime.store import Store

RUNTIME = str(Path(service.__file__).resolve().parents[1])
RECORDS = 200_000
PARTITIONS = 2


def order(i):
    if i % 997 == 0:
        return b'{"id": %d, "broken' % i
    item = "boom" if i % 1511 == 0 else "widget"
    return json.dumps({"id": i, "item": item, "qty": 1 + i % 4, "price": 0.25}).encode()


@pytest.fixture
def workload(tmp_path, fixture_wasm):
    """A store holding 200,000 orders in uneven batches, and the description that prices them."""
    db = tmp_path / "input.db"
    rng = random.Random(7)
    with Store(db) as store:
        store.ensure_topic("orders", PARTITIONS)
        i = 0
        while i < RECORDS:
            n = min(rng.randint(50, 700), RECORDS - i)
            recs = [(b"%d" % j, order(j), j) for j in range(i, i + n)]
            store.append("orders", i % PARTITIONS, *frames.build(recs))
            i += n
    desc = tmp_path / "services.json"
    desc.write_text(
        json.dumps(
            {
                "format": 1,
                "services": [
                    {
                        "name": "pricing",
                        "sources": [
                            {
                                "topic": "orders",
                                "partitions": PARTITIONS,
                                "starting_offset": {"position": "Beginning"},
                            }
                        ],
                        "stages": [
                            {"module": str(fixture_wasm), "export": "sscc_stage_0"}
                        ],
                        "sinks": [{"topic": "totals", "partitions": PARTITIONS}],
                        "batch_records": 300,
                    }
                ],
            }
        )
    )
    return db, desc


def runtime(db, desc, *extra) -> Command:
    """`python -m sscc_runtime run DESC --store DB --quiet EXTRA`, the runtime on its own."""
    argv = [sys.executable, "-m", "sscc_runtime", "run", str(desc), "--store", str(db), "--quiet", *extra]
    return Command(argv, env=dict(os.environ, PYTHONPATH=RUNTIME))


def snapshot(db):
    """Sink records per partition and dead letters per source partition, in stored order."""
    with Store(db) as store:
        sinks = {
            p: list(frames.iter_records(store.read("totals", p, 0, 10**9).data))
            for p in range(PARTITIONS)
        }
        dead = [
            json.loads(r.value)
            for r in frames.iter_records(
                store.read("pricing.dead-letters", 0, 0, 10**9).data
            )
        ]
        positions = [store.position("pricing", "orders", p) for p in range(PARTITIONS)]
    by_partition = {
        p: [(d["offset"], d["kind"], d["reason"]) for d in dead if d["partition"] == p]
        for p in range(PARTITIONS)
    }
    return sinks, by_partition, positions


def reference(db, desc, tmp_path):
    clean = tmp_path / "reference.db"
    shutil.copy(db, clean)
    shutil.copy(f"{db}-log", f"{clean}-log")  # a store is its database and its record log
    began = time.monotonic()
    runtime(clean, desc, "--until-idle").run(120)
    return snapshot(clean), time.monotonic() - began


def committed(store):
    return sum(store.position("pricing", "orders", p) or 0 for p in range(PARTITIONS))


def test_kill_9_at_random_moments_neither_loses_nor_duplicates(workload, tmp_path):
    db, desc = workload
    expected, _ = reference(db, desc, tmp_path)
    sinks, dead, _ = expected
    assert (
        sum(len(v) for v in sinks.values()) > RECORDS * 8 // 10
        and sum(len(v) for v in dead.values()) > 50
    )

    # One kill during start-up, then kills once random amounts of work are committed, each
    # delayed by a few random milliseconds more so they land anywhere in a batch or a commit.
    # The targets stop at half the records: a whole run takes well under a second, and a target
    # near the end could be passed and the run finished before the kill lands.
    seen = kill_9_and_restart(
        runtime(db, desc, "--until-idle"), store_db=db, progress=committed,
        kills=7, after=(1_000, RECORDS // 2), seed=2024, final_timeout=120,
    ).seen  # fmt: skip

    assert snapshot(db) == expected
    assert len(seen) >= 6 and all(0 < n < RECORDS for n in seen[1:])


def test_sigterm_stops_cleanly_after_a_commit(workload, tmp_path):
    db, desc = workload
    (sinks, dead, ends), _ = reference(db, desc, tmp_path)
    proc = runtime(db, desc).start()  # no --until-idle: runs until told to stop
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    got_sinks, got_dead, positions = snapshot(db)
    # what was committed is exactly the outputs of the records before each committed position
    for p in range(PARTITIONS):
        assert got_sinks[p] == [r for r in sinks[p] if r.origin < positions[p]]
        assert got_dead[p] == [d for d in dead[p] if d[0] < positions[p]]

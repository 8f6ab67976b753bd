"""kill -9 of one of 2 workers at random moments, 12 times over 100,000 lines (200,000 records
through two services), ends with exactly the outputs and the state of one uninterrupted process
(issue 14: "the same outputs, exactly once, as one worker").

The run follows its input (no --until-idle) while the test produces it in 10 chunks; after each
chunk it SIGKILLs a random worker a random moment later (two in some chunks), and waits for the
supervisor to start a replacement. The killed worker's tasks, the stateful `count` among them
whenever it held it, are taken over: restored from the changelog, resumed from the committed
positions. At the end the run is stopped with SIGTERM (exit 0) and the store compared with a
plain `sscc run --until-idle` over the same chunks.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

from workers_util import (
    PARTITIONS, PIPELINE, assert_same_outputs, children, committed, copy_store, expected_state, lag, lines, new_store, produce,
    require_toolchain, snapshot, sscc, wait_for,
)  # fmt: skip
from sscc_runtime.store import Store

CHUNK = 10_000  # a multiple of 8: every chunk spreads over the partitions as one produce would
CHUNKS = 10
KILLS = 12
SEED = int(os.environ.get("SSCC_CRASH_SEED", "1414"))


def test_kill_9_one_of_two_workers_keeps_outputs_and_state_exact(tmp_path):
    require_toolchain()
    rng = random.Random(SEED)
    chunks = [lines(CHUNK, start=i * CHUNK) for i in range(CHUNKS)]
    reference = new_store(tmp_path / "reference", tmp_path, chunks)
    sscc("run", str(PIPELINE), "--store", str(reference), "--until-idle", "--batch-records", "200")
    want = snapshot(reference)
    all_lines = [line for chunk in chunks for line in chunk]
    assert want["state"] == expected_state(all_lines)

    store = new_store(tmp_path / "store", tmp_path, [])
    sscc("topic", "create", "lines", "--store", str(store), "--partitions", str(PARTITIONS))
    err = open(tmp_path / "run.err", "w+")
    run = subprocess.Popen(
        ["sscc", "run", str(PIPELINE), "--store", str(store), "--batch-records", "100", "--workers", "2"],
        stderr=err, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    watch = Store(store / "store.db")
    extra = set(rng.sample(range(CHUNKS), KILLS - CHUNKS))  # chunks after which a second kill lands
    kills, busy = [], 0
    try:
        wait_for(lambda: len(children(run.pid)) == 2 and len(watch.workers()) == 2, 60, "two workers")
        for i, chunk in enumerate(chunks):
            before = committed(watch)
            produce(store, tmp_path, chunk, f"chunk{i}")
            for k in range(2 if i in extra else 1):
                # a random point of this chunk's work (2 records per line: both services), a
                # few random milliseconds more: kills fall anywhere in a batch or a commit
                target = before + rng.randrange(100, int(CHUNK * 1.9)) // (k + 1)
                wait_for(lambda: committed(watch) >= target or lag(watch) == 0, 60, "progress", poll=0.001)
                time.sleep(rng.uniform(0.0, 0.005))
                victim = rng.choice(children(run.pid))
                busy += lag(watch) > 0
                os.kill(victim, signal.SIGKILL)
                kills.append((victim, committed(watch)))
                # the supervisor reaps it, frees its leases and starts a replacement
                wait_for(lambda: victim not in children(run.pid) and len(children(run.pid)) == 2, 30, "a replacement")
                wait_for(lambda: len(watch.workers()) == 2, 30, "the replacement registered")
            assert run.poll() is None, "the run stopped"
        wait_for(lambda: lag(watch) == 0, 120, "the run to catch up", poll=0.05)
    finally:
        watch.close()
        run.send_signal(signal.SIGTERM)
        code = run.wait(60)
    err.seek(0)
    log = err.read()
    assert code == 0, log[-4000:]
    assert "Traceback" not in log and "error:" not in log, log[-4000:]
    assert log.count("was killed by SIGKILL") == KILLS, log[-4000:]

    got = snapshot(store)
    assert_same_outputs(got, want, f" (seed {SEED})")
    assert got["count_dead"] == want["count_dead"] == 0
    print(f"seed {SEED}: {len(kills)} kills, {busy} with records not yet consumed; committed at each:", [c for _, c in kills])
    assert len(kills) == KILLS and busy >= 1

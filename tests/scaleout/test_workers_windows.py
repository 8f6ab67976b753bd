"""A windowed service fed by a stateless service of 8 tasks: with 2 workers the windows are
drained only once every task of the run is idle, so the averages equal one process's.

window-pipeline.yaml: `relay` (8 tasks) upper-cases the sensor of each reading into `readings`;
`sensor-average` averages them in sliding windows whose grace outlasts the input, so every window
closes at the end of the input. Draining when only the window's own worker is idle (while the
other worker's relay tasks still write) would flush windows early and turn later readings late:
the second test makes that moment happen by pausing the relay-only worker (with the drain
condition removed from workers.py it fails with 10,700 late readings).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from workers_util import PARTITIONS, copy_store, require_toolchain, sscc
from sscc_runtime import frames
from sscc_runtime.store import Store

PIPELINE = Path(__file__).resolve().parent / "window-pipeline.yaml"
PER_PARTITION = 2_500


def averages(store: Path) -> tuple[list, int]:
    with Store(store / "store.db") as db:
        out = [json.loads(r.value) for r in frames.iter_records(db.read("averages", 0, 0, 10**9).data)]
        dead = sum(db.bounds(t, 0)[1] for t in db.topics() if t.endswith(".dead-letters"))
    for window in out:
        window["sensors"].sort(key=lambda s: s["sensor"])
    return out, dead


def test_windows_drain_after_every_task_is_idle(tmp_path):
    require_toolchain()
    rng = random.Random(5)
    lines = []
    for i in range(PER_PARTITION):  # round-robin: partition p gets every 8th line, times rising
        for p in range(PARTITIONS):
            ts = i * 200 + p * 10  # 500 s of event time in all
            lines.append(json.dumps({"sensor": f"s{rng.randrange(20)}", "value": rng.randrange(-50, 100), "ts": ts}))
    (tmp_path / "raw.txt").write_text("".join(line + "\n" for line in lines))
    pristine = tmp_path / "pristine"
    sscc("topic", "produce", "raw", "--store", str(pristine), "--file", str(tmp_path / "raw.txt"),
         "--partitions", str(PARTITIONS), "--quiet")  # fmt: skip
    sscc("topic", "create", "readings", "--store", str(pristine), "--partitions", str(PARTITIONS))
    one = copy_store(pristine, tmp_path / "one")
    sscc("run", str(PIPELINE), "--store", str(one), "--until-idle", "--batch-records", "500")
    want, dead = averages(one)
    assert dead == 0 and len(want) == 500 // 10 + 5  # slides of 10 s over 500 s, 60 s windows
    assert sum(s["readings"] for w in want for s in w["sensors"]) == len(lines) * 6  # each reading in 6 windows
    for workers in ("2", "3"):
        store = copy_store(pristine, tmp_path / f"workers-{workers}")
        sscc("run", str(PIPELINE), "--store", str(store), "--until-idle", "--batch-records", "500", "--workers", workers)
        assert averages(store) == (want, 0), f"--workers {workers}"


def test_no_drain_while_another_worker_still_feeds_the_window(tmp_path):
    """The worker running `sensor-average` finds its own tasks idle while the other worker, paused
    (SIGSTOP, shorter than the lease TTL), still has relay input to write: it must not drain its
    windows then. Draining would flush every window, and the readings relayed after the pause
    would come too late for them (dead letters, different averages)."""
    require_toolchain()
    import os
    import signal
    import subprocess
    import time

    from workers_util import children, wait_for

    rng = random.Random(6)
    lines = [
        json.dumps({"sensor": f"s{rng.randrange(20)}", "value": rng.randrange(100), "ts": i * 200 + p * 10})
        for i in range(PER_PARTITION)
        for p in range(PARTITIONS)
    ]
    (tmp_path / "raw.txt").write_text("".join(line + "\n" for line in lines))
    pristine = tmp_path / "pristine"
    sscc("topic", "produce", "raw", "--store", str(pristine), "--file", str(tmp_path / "raw.txt"),
         "--partitions", str(PARTITIONS), "--quiet")  # fmt: skip
    sscc("topic", "create", "readings", "--store", str(pristine), "--partitions", str(PARTITIONS))
    one = copy_store(pristine, tmp_path / "one")
    sscc("run", str(PIPELINE), "--store", str(one), "--until-idle", "--batch-records", "50")
    want = averages(one)
    assert want[1] == 0

    store = copy_store(pristine, tmp_path / "two")
    run = subprocess.Popen(
        ["sscc", "run", str(PIPELINE), "--store", str(store), "--until-idle", "--batch-records", "50", "--workers", "2",
         "--quiet"], env=dict(os.environ, SSCC_LEASE_TTL="30"), stderr=subprocess.PIPE,
    )  # fmt: skip
    host = os.uname().nodename
    with Store(store / "store.db") as watch:

        def relay_only():  # the worker holding relay tasks but not the window, once it has some
            leases = [lease for lease in watch.leases() if lease.expires_at > time.time()]
            window = {lease.worker for lease in leases if lease.service == "tests.scaleout-windows.sensor-average"}
            relays = {lease.worker for lease in leases if lease.service == "tests.scaleout-windows.relay"} - window
            return next((p for p in children(run.pid) if f"{host}:{p}" in relays), None)

        paused = wait_for(relay_only, 60, "a worker running only relay tasks")
        wait_for(lambda: sum(watch.position("tests.scaleout-windows.relay", "raw", p) or 0 for p in range(PARTITIONS)) >= 2_000, 60, "progress")
        os.kill(paused, signal.SIGSTOP)
        relayed = sum(watch.position("tests.scaleout-windows.relay", "raw", p) or 0 for p in range(PARTITIONS))
        time.sleep(2.0)  # the window's worker is idle well before this ends
        os.kill(paused, signal.SIGCONT)
    assert relayed < len(lines), "the paused worker had nothing left to relay: no test"
    assert run.wait(120) == 0, run.stderr.read().decode()[-3000:]
    assert averages(store) == want

"""`sscc topic create` and `sscc status` on a store shared by workers (issue 14 item 4)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from workers_util import CLEAN, COUNT, PARTITIONS, PIPELINE, lag, lines, new_store, produce, require_toolchain, sscc, wait_for
from sscc_runtime.store import Store


def fails(*args: str) -> str:
    proc = subprocess.run(["sscc", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


def test_topic_create_grows_stateless_inputs_and_refuses_moving_keys(tmp_path):
    require_toolchain()
    store = str(tmp_path / "store")
    assert "created topic fresh with 3 partitions" in sscc("topic", "create", "fresh", "--store", store, "--partitions", "3").stdout
    assert "has 3 partitions already" in sscc("topic", "create", "fresh", "--store", store, "--partitions", "3").stdout
    assert "a topic never shrinks" in fails("topic", "create", "fresh", "--store", store, "--partitions", "2")
    new_store(tmp_path / "store", tmp_path, [lines(2_000)])
    sscc("run", str(PIPELINE), "--store", store, "--until-idle", "--workers", "2")
    # `words` feeds `count`, whose keyed state is sharded by its input's partitions: refused
    error = fails("topic", "create", "words", "--store", store, "--partitions", "12")
    assert f"read by stateful service {COUNT}" in error and "re-sharding is not supported" in error
    assert "internal" in fails("topic", "create", f"{COUNT}.count-per-word.changelog", "--store", store, "--partitions", "16")
    # `lines` feeds only the stateless `clean`: it grows, and the next run reads the new partitions
    assert "grew from 8 to 12 partitions" in sscc("topic", "create", "lines", "--store", store, "--partitions", "12").stdout
    with Store(tmp_path / "store" / "store.db") as db:
        assert db.partitions("lines") == 12 and db.partitions("words") == PARTITIONS


def test_status_shows_workers_their_tasks_and_lag_per_partition(tmp_path):
    require_toolchain()
    store = tmp_path / "store"
    new_store(store, tmp_path, [])
    sscc("topic", "create", "lines", "--store", str(store), "--partitions", str(PARTITIONS))
    run = subprocess.Popen(["sscc", "run", str(PIPELINE), "--store", str(store), "--workers", "2", "--quiet"])
    try:
        with Store(store / "store.db") as watch:
            wait_for(lambda: len(watch.workers()) == 2 and len([l for l in watch.leases() if l.worker]) == 2 * PARTITIONS,
                     60, "two workers holding every task (count: 8 shards)")  # fmt: skip
            produce(store, tmp_path, lines(4_000))
            wait_for(lambda: lag(watch) == 0, 60, "the run to catch up")
        out = sscc("status", str(PIPELINE), "--store", str(store)).stdout
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(60) == 0
    workers, leases, lags = re.split(r"\n\s*\n", out.strip())
    rows = workers.splitlines()[2:]
    assert len(rows) == 2 and all(" alive " in row for row in rows), workers
    tasks = " ".join(rows)
    assert all(f"{CLEAN}[{p}]" in tasks for p in range(PARTITIONS)) and f"{COUNT}[0]" in tasks
    assert len(leases.splitlines()) == 2 + 2 * PARTITIONS and "expires in" in leases
    lag_rows = [row.split() for row in lags.splitlines()[2:]]
    # (the keyed service's repartition topic may show too)
    assert {(r[0], r[1], int(r[2])) for r in lag_rows} >= {(CLEAN, "lines", p) for p in range(PARTITIONS)} | {
        (COUNT, "words", p) for p in range(PARTITIONS)}  # fmt: skip
    assert all(r[-1] == "0" for r in lag_rows), lags
    after = sscc("status", "--store", str(store)).stdout
    assert "no worker has registered" in after and "free" in after


def test_the_emitted_project_runs_workers_and_has_status_and_topic_create(tmp_path):
    """`python -m NAME run --workers N`, `status` and `topic create` in a project from `sscc compile`."""
    require_toolchain()
    project = tmp_path / "project"
    sscc("compile", str(PIPELINE), "-o", str(project))
    env = dict(os.environ, PYTHONPATH=str(project))

    def app(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "scaleout_kill", *args], cwd=project, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        return proc.stdout + proc.stderr

    store = str(tmp_path / "store")
    assert "created topic words with 8 partitions" in app("topic", "create", "words", "--partitions", "8", "--store", store)
    (tmp_path / "lines.txt").write_text("".join(line + "\n" for line in lines(3_000)))
    app("topic", "produce", "lines", "--partitions", "8", "--file", str(tmp_path / "lines.txt"), "--store", store)
    assert "done after" in app("run", "--until-idle", "--workers", "3", "--store", store)
    out = app("status", "--store", store)
    assert "no worker has registered" in out and re.search(rf"{re.escape(CLEAN)}\s+7\s", out)
    with Store(tmp_path / "store" / "store.db") as db:
        assert lag(db) == 0 and len({lease.worker for lease in db.leases()}) == 3

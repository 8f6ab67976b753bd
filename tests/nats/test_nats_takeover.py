"""Takeover between two worker processes through JetStream leases (docs/backends.md, "Leases and
fencing"): worker A holds the lease of the order-totals service and runs; it is SIGKILLed mid-run
(its lease is never released); worker B, started at once, waits until A's lease runs out, takes
it with the next epoch, resumes from A's committed position and the batch A had in flight, and
finishes: the sink and the dead letters equal one uninterrupted run on the embedded store. A
backend still holding A's epoch is fenced. (N workers splitting a service's partitions is the
`workers` branch's `--workers`; this branch tests the lease and takeover underneath it.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from kill_harness import Command, compile_project
from nats_servers import nats_server, nats_url  # noqa: F401 - fixtures
from order_records import order, read_all

from sscc_runtime import brokers  # noqa: E402
from sscc_runtime.backend import Fenced, Position  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

ORDERS = Path(ROOT) / "examples" / "order-totals" / "dataflow.yaml"
WORKER = Path(__file__).with_name("lease_worker.py")
RECORDS = 60_000
TTL = 3.0


def worker(url: str, description: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), url, str(description), name, str(TTL)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_a_second_worker_takes_over_a_killed_workers_lease(nats_url, tmp_path_factory, tmp_path):
    project = compile_project(ORDERS, tmp_path_factory.mktemp("compiled") / "order-totals")
    (description,) = project.rglob("services.json")
    lines = tmp_path / "orders.txt"
    lines.write_text("".join(order(i) + "\n" for i in range(RECORDS)))

    def app(*args: str) -> Command:
        return Command.emitted(project, "order_totals", *args)

    reference = tmp_path / "reference"
    app("topic", "produce", "orders", "--store", str(reference), "--file", str(lines), "--quiet").run(120)
    app("run", "--store", str(reference), "--until-idle", "--quiet", "--batch-records", "2048").run(300)
    with Store(reference / "store.db") as db:
        expected = read_all(db, "totals"), read_all(db, "examples.order-totals.pricing.dead-letters")
    app("topic", "produce", "orders", "--broker", nats_url, "--file", str(lines), "--quiet").run(300)
    data = json.loads(description.read_text())
    for svc in data["services"]:
        svc["batch_records"] = 2048
    description.write_text(json.dumps(data))

    watch = brokers.open_broker(nats_url)
    try:
        a = worker(nats_url, description, "worker-a")
        assert a.stdout.readline().startswith("acquired 1 ")
        while (watch.position("examples.order-totals.pricing", "orders", 0) or 0) < RECORDS // 4:
            assert a.poll() is None, a.stderr.read()[-3000:]
            time.sleep(0.01)
        time.sleep(0.05)
        a.send_signal(signal.SIGKILL)
        a.wait()
        killed_at = watch.position("examples.order-totals.pricing", "orders", 0)
        assert killed_at < RECORDS
        b = worker(nats_url, description, "worker-b")
        acquired = b.stdout.readline().split()
        assert acquired[:2] == ["acquired", "2"], b.stderr.read()[-3000:]
        assert float(acquired[3]) > 0.5  # it waited for A's lease to run out
        assert b.wait(300) == 0, b.stderr.read()[-3000:]
        assert watch.position("examples.order-totals.pricing", "orders", 0) == RECORDS
        got = read_all(watch, "totals"), read_all(watch, "examples.order-totals.pricing.dead-letters")
        (lease,) = watch.leases("examples.order-totals.pricing")
        assert (lease.worker, lease.epoch, lease.expires_at) == ("worker-b", 2, 0)
        # A process still holding A's epoch can no longer commit.
        stale = brokers.open_broker(nats_url)
        try:
            stale._held[("examples.order-totals.pricing", 0)] = 1
            with pytest.raises(Fenced):
                stale.commit(positions=[Position("examples.order-totals.pricing", "orders", 0, RECORDS, RECORDS)])
        finally:
            stale.close()
    finally:
        watch.close()
    assert got[0] == expected[0]
    assert [json.loads(r[1])["offset"] for r in got[1]] == [json.loads(r[1])["offset"] for r in expected[1]]

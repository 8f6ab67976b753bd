"""A 3-node JetStream cluster (R3 streams and KV buckets): SIGKILL of the node leading the
source partition's stream in the middle of `python -m order_totals run --broker n1,n2,n3
--until-idle`; the run waits out the election (publishes and reads fail meanwhile and are
retried, consumers lost with the node are made again) and finishes with exactly the outputs of
an uninterrupted run on the embedded store. The killed node is restarted at the end and catches
up from its disk."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import ROOT
from kill_harness import Command, compile_project
from nats_servers import nats_cluster  # noqa: F401 - fixture
from order_records import order, read_all

from sscc_runtime import brokers  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

ORDERS = Path(ROOT) / "examples" / "order-totals" / "dataflow.yaml"
RECORDS = 60_000


def test_kill_9_of_the_leading_node_mid_run(nats_cluster, tmp_path_factory, tmp_path):
    project = compile_project(ORDERS, tmp_path_factory.mktemp("compiled") / "order-totals")
    lines = tmp_path / "orders.txt"
    lines.write_text("".join(order(i) + "\n" for i in range(RECORDS)))
    url = nats_cluster.url

    def app(*args: str) -> Command:
        return Command.emitted(project, "order_totals", *args)

    reference = tmp_path / "reference"
    app("topic", "produce", "orders", "--store", str(reference), "--file", str(lines), "--quiet").run(120)
    app("run", "--store", str(reference), "--until-idle", "--quiet", "--batch-records", "2048").run(300)
    with Store(reference / "store.db") as db:
        expected = read_all(db, "totals"), read_all(db, "examples.order-totals.pricing.dead-letters")
    assert len(expected[0]) > RECORDS // 2

    app("topic", "produce", "orders", "--broker", url, "--file", str(lines), "--quiet").run(300)
    watch = brokers.open_broker(url)
    assert watch.replicas == 3
    try:
        run = app("run", "--broker", url, "--until-idle", "--quiet", "--batch-records", "2048").start()
        while (watch.position("examples.order-totals.pricing", "orders", 0) or 0) < RECORDS // 4:
            assert run.poll() is None, run.stderr.read().decode()[-3000:]
            time.sleep(0.02)
        leader = watch._call(watch.js.stream_info("sscc-orders__0")).cluster.leader
        (victim,) = [s for s in nats_cluster.servers if s.name == leader]
        victim.kill()
        killed_at = watch.position("examples.order-totals.pricing", "orders", 0)
        code = run.wait(600)
        stderr = run.stderr.read().decode()
        assert code == 0, stderr[-3000:]
        assert "Traceback" not in stderr
        assert killed_at < RECORDS, "the run finished before the node was killed"
        assert watch.position("examples.order-totals.pricing", "orders", 0) == RECORDS
        got = read_all(watch, "totals"), read_all(watch, "examples.order-totals.pricing.dead-letters")
    finally:
        watch.close()
    assert len(got[0]) == len(expected[0])
    assert got[0] == expected[0]
    assert [json.loads(r[1])["offset"] for r in got[1]] == [json.loads(r[1])["offset"] for r in expected[1]]
    victim.start()  # the node comes back and catches up from its disk
    again = brokers.open_broker(f"nats://{victim.url}")
    try:
        deadline = time.monotonic() + 60
        while again.bounds("totals", 0)[1] != len(expected[0]):
            assert time.monotonic() < deadline
            time.sleep(0.5)
    finally:
        again.close()

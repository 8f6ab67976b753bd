"""Exactly-once on JetStream across kill -9 of the running pipeline.

examples/order-totals compiled with `sscc compile`, run as `python -m order_totals run --broker
nats://... --until-idle` over 100,000 orders in two partitions (some not JSON, some rejected),
SIGKILLed at 10 random moments (one during start-up) and restarted: the sink and the dead letters
must equal one uninterrupted run of the same project on the embedded store, record for record
(key, value, origin) per partition. The word-count pipeline of tests/state does the same for
keyed state: the replayed changelog must equal an independent Counter.

The kills land between any two steps of a commit: before the batch in flight is recorded, while
its records are published, after they are acknowledged but before the position moved (the
restart then re-publishes the same message ids, which the stream's duplicate window drops).
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import ROOT
from kill_harness import Command, compile_project, crash_seed
from nats_servers import nats_server, nats_url  # noqa: F401 - fixtures
from order_records import read_all

from sscc_runtime import brokers, statelog  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

ORDERS = Path(ROOT) / "examples" / "order-totals" / "dataflow.yaml"
WORDS_PIPELINE = Path(ROOT) / "tests" / "state" / "word_count_state.yaml"
RECORDS = 100_000
KILLS = 10
PARTITIONS = 2


def order(i: int) -> str:
    """As tests/test_kill_compiled.py: every 997th not JSON, every 1511th a qty that is not a
    u32, every 1999th one the map rejects, a quarter filtered out."""
    if i % 997 == 0:
        return '{"id": %d, "broken' % i
    qty = -1 if i % 1511 == 0 else 5000 if i % 1999 == 0 else i % 4
    return json.dumps({"id": i, "item": f"item-{i % 100}", "qty": qty, "price": 0.25})


def kill_9_and_restart(run: Command, progress, *, kills: int, after: tuple[int, int], seed: int) -> list[int]:
    """kill_harness.kill_9_and_restart with progress read from the broker: one kill during
    start-up, the others once `progress()` passed a random target (plus 0-0.3 s); then a last
    run to the end. Returns the progress seen right after each kill."""
    used = crash_seed(seed)
    rng = random.Random(used)
    targets = [0] + sorted(rng.sample(range(*after), kills - 1))
    seen = []
    for target in targets:
        at_start = progress()
        proc = run.start()
        if target == 0:
            time.sleep(rng.uniform(0.2, 1.0))
        else:
            # past the target, and this run committed at least once (so it is past start-up)
            while (progress() < target or progress() == at_start) and proc.poll() is None:
                time.sleep(0.005)
            # anywhere in the next batch's cycle (read, compute, record the batch in flight,
            # publish, acknowledgements, position): a 4096-record batch takes ~0.1-0.3 s here
            time.sleep(rng.uniform(0.0, 0.3))
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before the kill at {target} (seed {used}): {proc.stderr.read().decode()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        seen.append(progress())
    run.run(600)
    return seen


@pytest.fixture(scope="module")
def orders_project(tmp_path_factory) -> Path:
    return compile_project(ORDERS, tmp_path_factory.mktemp("compiled") / "order-totals")


def snapshot(backend):
    sinks = {p: read_all(backend, "totals", p) for p in range(PARTITIONS)}
    letters = [json.loads(r[1]) for r in read_all(backend, "examples.order-totals.pricing.dead-letters", 0)]
    dead = {p: [(d["offset"], d["kind"], d["reason"]) for d in letters if d["partition"] == p] for p in range(PARTITIONS)}
    return sinks, dead


def test_kill_9_of_the_run_on_jetstream_neither_loses_nor_duplicates(orders_project, nats_url, tmp_path):
    lines = tmp_path / "orders.txt"
    lines.write_text("".join(order(i) + "\n" for i in range(RECORDS)))
    empty = tmp_path / "empty.txt"
    empty.write_text("")

    def app(*args: str) -> Command:
        return Command.emitted(orders_project, "order_totals", *args)

    # The reference: one uninterrupted run on the embedded store.
    reference = tmp_path / "reference"
    for topic, path in (("orders", lines), ("totals", empty)):
        app("topic", "produce", topic, "--store", str(reference), "--file", str(path), "--partitions", "2", "--quiet").run(120)
        app("topic", "produce", topic, "--broker", nats_url, "--file", str(path), "--partitions", "2", "--quiet").run(300)
    app("run", "--store", str(reference), "--until-idle", "--quiet", "--batch-records", "4096").run(300)
    with Store(reference / "store.db") as db:
        expected = snapshot(db)
    assert all(len(expected[0][p]) > RECORDS // 3 // PARTITIONS for p in range(PARTITIONS))

    watch = brokers.open_broker(nats_url)
    try:
        def committed() -> int:
            return sum(watch.position("examples.order-totals.pricing", "orders", p) or 0 for p in range(PARTITIONS))

        seen = kill_9_and_restart(
            app("run", "--broker", nats_url, "--until-idle", "--quiet", "--batch-records", "4096"),
            committed, kills=KILLS, after=(5_000, RECORDS // 2), seed=2718,
        )  # fmt: skip
        assert committed() == RECORDS
        got = snapshot(watch)
    finally:
        watch.close()
    for p in range(PARTITIONS):
        assert len(got[0][p]) == len(expected[0][p]), f"partition {p}"
        assert got[0][p] == expected[0][p], f"partition {p}"
        assert got[1][p] == expected[1][p], f"partition {p}"
    print("committed at each kill:", seen)
    assert len(seen) == KILLS and all(0 < n < RECORDS for n in seen[1:]), seen


def test_kill_9_keeps_the_state_exactly_once_on_jetstream(tmp_path_factory, nats_url, tmp_path):
    project = compile_project(WORDS_PIPELINE, tmp_path_factory.mktemp("compiled") / "word-count-state")
    rng = random.Random(7)
    words = ["Apple", "apple", "pear", "Plum", "fig", "kiwi"] + [f"w{i}" for i in range(300)]
    text = []
    for i in range(RECORDS):
        sentence = [rng.choice(words) for _ in range(rng.randint(0, 4))]
        if i % 1009 == 0:
            sentence.insert(rng.randint(0, len(sentence)), "boom")  # traps after counting
        text.append(" ".join(sentence))
    source = tmp_path / "sentences.txt"
    source.write_text("".join(line + "\n" for line in text))

    def app(*args: str) -> Command:
        return Command.emitted(project, "word_count_state", *args)

    app("topic", "produce", "sentences", "--broker", nats_url, "--file", str(source), "--partitions", "2", "--quiet").run(300)
    watch = brokers.open_broker(nats_url)
    try:
        def committed() -> int:
            return sum(watch.position("test.word-count-state.count-words", "sentences", p) or 0 for p in range(PARTITIONS))

        seen = kill_9_and_restart(
            app("run", "--broker", nats_url, "--until-idle", "--quiet", "--batch-records", "4096"),
            committed, kills=KILLS, after=(3_000, RECORDS - 20_000), seed=4242,
        )  # fmt: skip
        assert committed() == RECORDS
        log = statelog.read_all(watch, "test.word-count-state.count-words.count-per-word.changelog")
        first, end = watch.bounds("test.word-count-state.count-words.dead-letters", 0)
    finally:
        watch.close()
    # Two source partitions shard the state (a KEYED layout, docs/scale-out.md): words cross the
    # repartition topic as records of their own, so a trap costs the word `boom`, not its sentence.
    counted = Counter(w.lower() for line in text for w in line.split() if w != "boom")
    assert statelog.replay(log) == dict(counted)
    assert end - first == sum(1 for line in text if "boom" in line.split())
    print("committed at each kill:", seen)
    assert len(seen) == KILLS and all(0 < n < RECORDS for n in seen[1:]), seen

"""Runs on a real tansu broker through the real command line: interop with plain Kafka clients,
two workers sharing a service as one consumer group (and one taking over when the other dies),
and kill -9 of a worker again and again without losing a record."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ck = pytest.importorskip("confluent_kafka")
from confluent_kafka import TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from example_cli import EXAMPLES, require_toolchain  # noqa: E402

PIPELINE = EXAMPLES / "split-sentence" / "dataflow.yaml"  # sentences -> words (+ word-lengths)


def create(servers: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": servers})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(10)


def produce(servers: str, topic: str, records, partitions: int) -> None:
    """Plain confluent-kafka: (key, value, timestamp) records, round-robin over partitions."""
    producer = ck.Producer({"bootstrap.servers": servers, "linger.ms": 20})
    for i, (key, value, ts) in enumerate(records):
        while True:
            try:
                producer.produce(topic, value, key, i % partitions, timestamp=ts)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(30) == 0


def consume(servers: str, topic: str) -> list:
    """Every record of `topic` (read_committed) as (partition, key, value, timestamp), per partition in order."""
    consumer = ck.Consumer({"bootstrap.servers": servers, "group.id": "test-reader", "enable.partition.eof": True,
                            "isolation.level": "read_committed", "enable.auto.commit": False})
    partitions = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(partitions)])
    got, ends = [], set()
    deadline = time.monotonic() + 60
    while len(ends) < partitions:
        assert time.monotonic() < deadline, "no end of partition within 60 s"
        for m in consumer.consume(10_000, 0.5):
            if m.error():
                ends.add(m.partition())
            else:
                ends.discard(m.partition())
                got.append((m.partition(), m.key(), m.value(), m.timestamp()[1]))
    consumer.close()
    return got


def sscc_run(url: str, *extra: str, env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen(["sscc", "run", str(PIPELINE), "--broker", url, *extra],
                            env={**os.environ, **(env or {})}, **popen)


def test_plain_kafka_clients_produce_the_input_and_read_the_output(tansu):
    require_toolchain()
    create(tansu.servers, "sentences", 2)
    sentences = [(f"k{i}".encode(), f"  The Quick{i} brown FOX  ".encode(), 1_700_000_000_000 + i) for i in range(1000)]
    produce(tansu.servers, "sentences", sentences, 2)
    proc = sscc_run(tansu.url, "--until-idle", "--quiet", stderr=subprocess.PIPE, text=True)
    assert proc.wait(300) == 0, proc.stderr.read()
    words = consume(tansu.servers, "words")  # one partition: both source partitions' words
    # each source partition's order is kept, and every word keeps its sentence's key and timestamp
    for p in (0, 1):
        want = [(key, word.encode(), ts) for i, (key, value, ts) in enumerate(sentences) if i % 2 == p
                for word in value.decode().strip().lower().split()]
        keys = {key for i, (key, _, _) in enumerate(sentences) if i % 2 == p}
        assert [(k, v, ts) for _, k, v, ts in words if k in keys] == want
    lengths = consume(tansu.servers, "word-lengths")
    assert sorted(int(v) for _, _, v, _ in lengths) == sorted(len(w) for _, _, w, _ in words)


def test_two_workers_share_the_partitions_and_one_takes_over(tansu, tmp_path):
    require_toolchain()
    create(tansu.servers, "sentences", 4)
    first_half = [(None, f"a{i} b{i}".encode(), 0) for i in range(20_000)]
    second_half = [(None, f"c{i} d{i}".encode(), 0) for i in range(20_000)]
    logs = [open(tmp_path / f"worker{n}.log", "w+") for n in (0, 1)]
    workers = [sscc_run(tansu.url, "--batch-records", "1000", env={"SSCC_TRANSACTIONAL_ID": f"worker-{n}"},
                        stderr=logs[n]) for n in (0, 1)]
    try:
        produce(tansu.servers, "sentences", first_half, 4)
        wait_for_words(tansu.servers, 40_000)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        produce(tansu.servers, "sentences", second_half, 4)
        wait_for_words(tansu.servers, 80_000)  # worker 1 took worker 0's partitions over
        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(60) == 0
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    logs[1].seek(0)
    summary = logs[1].read()
    assert "stopped by SIGTERM" in summary, summary
    read_by_survivor = int(summary.split("stopped by SIGTERM")[1].split("in ")[1].split()[0].replace(",", ""))
    print(f"\nsurvivor read {read_by_survivor:,} of 40,000 sentences")
    # it read the whole second half, and the dead worker had read its share of the first
    assert 20_000 <= read_by_survivor < 40_000, summary
    words = Counter(v for _, _, v, _ in consume(tansu.servers, "words"))
    want = {f"{c}{i}".encode() for c in "abcd" for i in range(20_000)}
    assert set(words) == want  # nothing lost, nothing foreign
    duplicates = sum(words.values()) - len(want)
    print(f"two workers, one killed: {duplicates} duplicate words (records of the killed worker's open transaction)")


def wait_for_words(servers: str, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len({v for _, _, v, _ in consume(servers, "words")}) < n:
        assert time.monotonic() < deadline, f"fewer than {n:,} distinct words after {timeout:g} s"
        time.sleep(1)


def words_end(consumer, partitions: int) -> int:
    return sum(consumer.get_watermark_offsets(TopicPartition("words", p), timeout=10, cached=False)[1] for p in range(partitions))


def test_kill_9_again_and_again_loses_no_record(tansu, tmp_path):
    require_toolchain()
    total, kills = 100_000, 10
    create(tansu.servers, "sentences", 2)
    create(tansu.servers, "words", 1)
    produce(tansu.servers, "sentences", [(None, f"x{i} y{i}".encode(), 0) for i in range(total)], 2)
    probe = ck.Consumer({"bootstrap.servers": tansu.servers, "group.id": "kill-probe"})
    rng = random.Random(16)
    env = {"SSCC_TRANSACTIONAL_ID": "the-worker"}  # a restart fences its dead predecessor
    done = 0
    for _ in range(kills):
        before = words_end(probe, 1)
        worker = sscc_run(tansu.url, "--batch-records", "500", "--quiet", env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while words_end(probe, 1) == before and worker.poll() is None:  # kill it mid-stream
            assert time.monotonic() < deadline, "the worker made no progress in 120 s"
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 0.5))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            done += 1
        worker.wait(30)
    probe.close()
    last = sscc_run(tansu.url, "--until-idle", "--quiet", env=env, stderr=subprocess.PIPE, text=True)
    assert last.wait(600) == 0, last.stderr.read()
    words = Counter(v for _, _, v, _ in consume(tansu.servers, "words"))
    want = {f"{c}{i}".encode() for c in "xy" for i in range(total)}
    assert want - set(words) == set(), "records lost"
    assert set(words) - want == set()
    duplicates = sum(words.values()) - len(want)
    print(f"\nkill -9 x{done} over {total:,} sentences: 0 lost, {duplicates:,} duplicate words"
          " (tansu shows aborted transactions' records to read_committed readers)")
    assert done >= kills
    # at most the batch in flight at each kill (500 sentences, 2 words each) comes twice
    assert duplicates <= done * 500 * 2

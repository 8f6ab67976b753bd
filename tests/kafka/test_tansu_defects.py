"""The defects of the test broker (tansu 0.6), each pinned by a test that passes WHILE the broker
has it: when tansu fixes one, its test fails and docs/backends.md ("Kafka") must be updated.
Next to each, what sscc does about it (tested here too)."""

from __future__ import annotations

import time

import pytest

ck = pytest.importorskip("confluent_kafka")
from confluent_kafka import TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def create(servers: str, topic: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": servers})  # kept alive until the futures resolve
    futures = admin.create_topics([NewTopic(topic, partitions, 1)])
    for f in futures.values():
        f.result(10)


def read_all(servers: str, topic: str, partitions: int = 1, isolation: str = "read_committed") -> list:
    consumer = ck.Consumer({"bootstrap.servers": servers, "group.id": "defects", "enable.partition.eof": True,
                            "isolation.level": isolation, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(partitions)])
    got, ends = [], set()
    deadline = time.monotonic() + 20
    while len(ends) < partitions and time.monotonic() < deadline:
        for m in consumer.consume(1000, 0.5):
            if m.error():
                ends.add(m.partition())
            else:
                got.append(m.value())
    consumer.close()
    assert len(ends) == partitions, "no end of partition within 20 s"
    return got


def test_defect_read_committed_consumers_see_aborted_records(tansu):
    create(tansu.servers, "t")
    producer = ck.Producer({"bootstrap.servers": tansu.servers, "transactional.id": "defect-1"})
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce("t", b"committed", partition=0)
    producer.commit_transaction(10)
    producer.begin_transaction()
    producer.produce("t", b"aborted", partition=0)
    producer.flush(10)
    producer.abort_transaction(10)
    # Kafka: [b"committed"]. tansu hands the aborted record to a read_committed consumer too.
    assert read_all(tansu.servers, "t") == [b"committed", b"aborted"]


def test_defect_high_watermark_is_the_start_of_the_last_batch_plus_one(tansu):
    create(tansu.servers, "t")
    producer = ck.Producer({"bootstrap.servers": tansu.servers, "linger.ms": 200})
    for i in range(1000):
        producer.produce("t", b"%d" % i, partition=0)
    producer.flush(10)
    consumer = ck.Consumer({"bootstrap.servers": tansu.servers, "group.id": "defects"})
    low, high = consumer.get_watermark_offsets(TopicPartition("t", 0), timeout=10, cached=False)
    consumer.close()
    assert len(read_all(tansu.servers, "t")) == 1000
    # Kafka: high = 1000. tansu: the last (here the only) batch starts at 0, so high = 1.
    assert (low, high) == (0, 1)


def test_sscc_finds_the_real_end_despite_the_high_watermark(tansu):
    from sscc.runtime_stub.sscc_runtime.kafka_backend import KafkaBackend

    create(tansu.servers, "t", 2)
    producer = ck.Producer({"bootstrap.servers": tansu.servers, "linger.ms": 200})
    for i in range(1000):
        producer.produce("t", b"%d" % i, partition=i % 2)
    producer.flush(10)
    with KafkaBackend(tansu.servers, {}) as backend:
        assert [backend.bounds("t", p) for p in (0, 1)] == [(0, 500), (0, 500)]
        batch = backend.read("t", 1, 0, 10_000)
        assert (batch.base_offset, batch.count) == (0, 500)


def test_defect_cooperative_sticky_leaves_partitions_unassigned(tansu):
    create(tansu.servers, "t", 4)
    settings = {"bootstrap.servers": tansu.servers, "group.id": "coop", "partition.assignment.strategy": "cooperative-sticky",
                "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    first, second = ck.Consumer(settings), ck.Consumer(settings)
    first.subscribe(["t"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        first.poll(0.1)
    assert len(first.assignment()) == 4  # alone in the group: every partition
    second.subscribe(["t"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # long past a rebalance on Kafka
        first.poll(0.1)
        second.poll(0.1)
    owned = {tp.partition for c in (first, second) for tp in c.assignment()}
    first.close()
    second.close()
    # Kafka: the two members split the 4 partitions. tansu: some stay with nobody.
    assert owned != {0, 1, 2, 3}


def test_defect_offsets_of_a_transaction_without_records_are_not_kept(tansu):
    create(tansu.servers, "t")
    producer = ck.Producer({"bootstrap.servers": tansu.servers, "transactional.id": "defect-4"})
    producer.init_transactions(10)
    member = ck.Consumer({"bootstrap.servers": tansu.servers, "group.id": "g4"})
    committed = []
    for offset in (7, 9):
        producer.begin_transaction()
        producer.send_offsets_to_transaction([TopicPartition("t", 0, offset)], member.consumer_group_metadata(), 10)
        producer.commit_transaction(10)
        reader = ck.Consumer({"bootstrap.servers": tansu.servers, "group.id": "g4"})
        committed.append(reader.committed([TopicPartition("t", 0)], timeout=10)[0].offset)
        reader.close()
    member.close()
    # Kafka: [7, 9]. tansu keeps the second transaction's offsets only if it also wrote a record.
    assert committed == [7, 7]


def test_sscc_keeps_offsets_of_a_commit_without_records(tansu):
    from sscc.runtime_stub.sscc_runtime.backend import Position
    from sscc.runtime_stub.sscc_runtime.kafka_backend import KafkaBackend

    create(tansu.servers, "t")
    with KafkaBackend(tansu.servers, {}) as backend:
        for offset in (7, 9, 12):
            backend.commit(positions=[Position("svc", "t", 0, None, offset)])
            with KafkaBackend(tansu.servers, {}) as other:
                assert other.position("svc", "t", 0) == offset

"""The JetStream backend on a real nats-server: layout, interoperability with a plain nats-py
client, the commit's order (publish, acknowledge, then move the position), the duplicate window
absorbing a crashed commit's re-publish, and leases with epochs fencing a stale worker."""

from __future__ import annotations

import asyncio
import copy
import time
from contextlib import contextmanager

import pytest

from nats_servers import nats_server, nats_url  # noqa: F401 - fixtures

from sscc_runtime import brokers, frames, statelog  # noqa: E402 - nats_servers puts runtime_stub on sys.path
from sscc_runtime.backend import Fenced, Output, Position, PositionConflict


@pytest.fixture
def backend(nats_url):
    b = brokers.open_broker(nats_url)
    yield b
    b.close()


def records(batch) -> list[tuple]:
    return [(r.key, r.value, r.timestamp) for r in frames.iter_records(batch.data)]


def test_records_round_trip_with_keys_and_event_times(backend):
    assert backend.ensure_topic("orders.in", 3) == 3
    assert backend.ensure_topic("orders.in", 5) == 3  # the first count stays
    sent = [(b"k1", b"v1", 11), (None, b"no key", 12), (b"\x00\xffbin", b"binary key", 13), (b"", b"empty key", 14), (b" pad", b"x", 15)]
    data, n = frames.build(sent)
    assert backend.append("orders.in", 2, data, n) == 0
    assert backend.append("orders.in", 2, *frames.build([(b"k2", b"v2", 16)])) == 5
    assert backend.bounds("orders.in", 2) == (0, 6)
    assert backend.bounds("orders.in", 0) == (0, 0)
    assert records(backend.read("orders.in", 2, 0, 100)) == [*sent, (b"k2", b"v2", 16)]
    part = backend.read("orders.in", 2, 3, 2)
    assert (part.base_offset, part.count) == (3, 2) and records(part) == sent[3:5]
    assert backend.read("orders.in", 2, 6, 100).count == 0
    # a frame's origin (a state change record's window end) survives as header Sscc-Origin
    backend.append("orders.in", 0, *frames.build([(b"w", b"change", -5, 77), (None, b"plain", 6)]))
    assert [(r.timestamp, r.origin) for r in frames.iter_records(backend.read("orders.in", 0, 0, 9).data)] == [(-5, 77), (6, -1)]
    assert backend.topics() == {"orders.in": 3}
    with pytest.raises(KeyError):
        backend.partitions("missing")
    with pytest.raises(ValueError, match="NATS subject"):
        backend.ensure_topic("has space", 1)


def test_a_plain_nats_client_writes_and_reads_a_topic(backend, nats_url):
    import nats

    backend.ensure_topic("plain", 2)
    backend.append("plain", 1, *frames.build([(b"from-sscc", b"hello", 1234)]))
    before = int(time.time() * 1000)

    async def client():
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await js.publish("plain.1", b"with headers", headers={"Sscc-Key": "user-7", "Sscc-Timestamp": "99"})
        await js.publish("plain.1", b"bare")
        sub = await js.pull_subscribe("plain.1", durable=None, stream=None)
        got = [(m.data, m.headers) for m in await sub.fetch(3, timeout=5)]
        await nc.close()
        return got

    got = asyncio.run(client())
    # what sscc wrote, as a plain consumer sees it
    assert got[0][0] == b"hello" and got[0][1]["Sscc-Key"] == "from-sscc" and got[0][1]["Sscc-Timestamp"] == "1234"
    # what the plain publisher wrote, as sscc reads it: key and event time from the headers, or
    # none and the time the stream stored the message
    (k1, v1, t1), (k2, v2, t2) = records(backend.read("plain", 1, 1, 10))
    assert (k1, v1, t1) == (b"user-7", b"with headers", 99)
    assert (k2, v2) == (None, b"bare") and before - 1000 <= t2 <= int(time.time() * 1000) + 1000


def test_commit_moves_the_position_after_the_outputs_and_refuses_a_stale_runner(backend):
    backend.ensure_topic("src", 1)
    backend.ensure_topic("dst", 1)
    out = frames.build([(None, b"a", 1), (None, b"b", 2)])
    assert backend.position("svc", "src", 0) is None
    backend.commit([Output("dst", 0, *out)], [Position("svc", "src", 0, None, 2)])
    assert backend.position("svc", "src", 0) == 2 and backend.bounds("dst", 0) == (0, 2)
    with pytest.raises(PositionConflict):
        backend.commit([Output("dst", 0, *out)], [Position("svc", "src", 0, None, 2)])
    # the refused commit published nothing
    assert backend.bounds("dst", 0) == (0, 2)


class Killed(Exception):
    """Stands for a kill -9 between two steps of a commit."""


@contextmanager
def killed_before_the_position_moves(backend):
    """The backend's next commit dies where a kill -9 can leave it: the batch in flight recorded
    (its first document write) and every output published, the position not moved (its second).
    Yields the documents the commit wrote or meant to write."""
    real_put = backend._put_doc
    docs = []

    async def dies_at_the_position(service, doc, revision):
        docs.append(copy.deepcopy(doc))
        if len(docs) == 2:
            raise Killed("killed")
        return await real_put(service, doc, revision)

    backend._put_doc = dies_at_the_position
    try:
        with pytest.raises(Killed):
            yield docs
    finally:
        backend._put_doc = real_put


def test_a_crashed_commit_is_replayed_exactly_and_deduplicated(nats_url):
    """Kill after the outputs are acknowledged but before the position moved: the restart reads
    exactly the batch in flight (even though more records arrived), re-publishes the same message
    ids, and the stream keeps one copy."""
    first = brokers.open_broker(nats_url)
    first.ensure_topic("src", 1)
    first.ensure_topic("dst", 1)
    first.append("src", 0, *frames.build([(None, b"r%d" % i, i) for i in range(3)]))
    assert first.position("svc", "src", 0) is None
    first.commit(positions=[Position("svc", "src", 0, None, 0)])
    batch = first.read("src", 0, 0, 100)
    out = Output("dst", 0, batch.data, batch.count)
    with killed_before_the_position_moves(first) as calls:
        first.commit([out], [Position("svc", "src", 0, 0, batch.count)])
    first.close()
    assert calls[0]["inflight"] == {"0:src": [0, 3]}

    second = brokers.open_broker(nats_url)
    try:
        second.append("src", 0, *frames.build([(None, b"late", 9)]))  # arrived meanwhile
        assert second.bounds("dst", 0) == (0, 3)  # the dead run's outputs are there
        start = second.position("svc", "src", 0)
        again = second.read("src", 0, start, 100)
        assert (again.base_offset, again.count) == (0, 3)  # exactly the batch in flight
        second.commit([Output("dst", 0, again.data, again.count)], [Position("svc", "src", 0, 0, 3)])
        assert second.bounds("dst", 0) == (0, 3)  # re-published, de-duplicated
        assert [r[1] for r in records(second.read("dst", 0, 0, 10))] == [b"r0", b"r1", b"r2"]
        assert second.read("src", 0, 3, 100).count == 1
    finally:
        second.close()


def test_state_loads_without_the_changes_of_a_crashed_commit(nats_url):
    """Kill after a batch's state changes reached the changelog but before its position moved:
    the restart re-runs the batch, so the state it loads must end before those changes, or the
    batch would be counted twice (as a kill -9 test of a word count once showed)."""
    changelog = "ns.pipe.svc.counts.changelog"
    first = brokers.open_broker(nats_url)
    first.ensure_topic("words", 1)
    first.ensure_topic(changelog, 1)
    first.append("words", 0, *frames.build([(None, b"w%d" % i, i) for i in range(4)]))
    first.commit(positions=[Position("ns.pipe.svc", "words", 0, None, 0)])
    first.commit([Output(changelog, 0, *frames.build([(b"a", b"1", 0)]))], [Position("ns.pipe.svc", "words", 0, 0, 2)])
    with killed_before_the_position_moves(first):
        first.commit([Output(changelog, 0, *frames.build([(b"a", b"2", 2), (b"b", b"1", 3)]))], [Position("ns.pipe.svc", "words", 0, 2, 4)])
    first.close()

    second = brokers.open_broker(nats_url)
    try:
        assert second.bounds(changelog, 0) == (0, 3)  # the cut commit's changes are stored
        assert [r.value for r in frames.iter_records(statelog.read_all(second, changelog, 0))] == [b"1"]
        assert second.position("ns.pipe.svc", "words", 0) == 2
        again = second.read("words", 0, 2, 100)
        second.commit([Output(changelog, 0, *frames.build([(b"a", b"2", 2), (b"b", b"1", 3)]))], [Position("ns.pipe.svc", "words", 0, 2, 4)])
        loaded = [(r.key, r.value) for r in frames.iter_records(statelog.read_all(second, changelog, 0))]
        assert again.count == 2 and loaded == [(b"a", b"1"), (b"a", b"2"), (b"b", b"1")]
    finally:
        second.close()


def test_a_replay_killed_again_keeps_the_first_cut(nats_url):
    """Killed twice in a row at the same batch: the second attempt's own cut would include the
    changes the first attempt stored; the state must still load only up to the first cut."""
    svc, changelog = "ns.pipe.svc", "ns.pipe.svc.counts.changelog"
    backend = brokers.open_broker(nats_url)
    backend.ensure_topic("words", 1)
    backend.ensure_topic(changelog, 1)
    backend.append("words", 0, *frames.build([(None, b"w%d" % i, i) for i in range(3)]))
    backend.commit(positions=[Position(svc, "words", 0, None, 0)])
    with killed_before_the_position_moves(backend):
        backend.commit([Output(changelog, 0, *frames.build([(b"a", b"1", 0)]))], [Position(svc, "words", 0, 0, 3)])
    backend.close()
    again = brokers.open_broker(nats_url)  # the replay, with the same records but one more change
    assert again.position(svc, "words", 0) == 0
    with killed_before_the_position_moves(again):
        again.commit([Output(changelog, 0, *frames.build([(b"a", b"1", 0), (b"b", b"1", 1)]))], [Position(svc, "words", 0, 0, 3)])
    again.close()
    third = brokers.open_broker(nats_url)
    try:
        assert third.bounds(changelog, 0) == (0, 2)  # both attempts stored something
        assert statelog.read_all(third, changelog, 0) == b""  # none of it is state
    finally:
        third.close()


def test_a_cut_commit_survives_a_commit_of_another_task_of_the_service(nats_url):
    """One document per service holds every task's batch in flight: a commit of task 1 (input
    partition 1, changelog shard 1) must leave task 0's cut commit in it, or task 0's restart
    re-reads a different batch and loads state that includes the cut changes."""
    svc, changelog = "ns.pipe.svc", "ns.pipe.svc.counts.changelog"
    first = brokers.open_broker(nats_url)
    first.ensure_topic("words", 2)
    first.ensure_topic(changelog, 2)
    for p in (0, 1):
        first.append("words", p, *frames.build([(None, b"w%d" % i, i) for i in range(4)]))
        first.commit(positions=[Position(svc, "words", p, None, 0)])
    with killed_before_the_position_moves(first):
        first.commit([Output(changelog, 0, *frames.build([(b"a", b"1", 0)]))], [Position(svc, "words", 0, 0, 3)])
    first.close()

    other = brokers.open_broker(nats_url)  # task 1, in another worker, commits meanwhile
    try:
        other.commit([Output(changelog, 1, *frames.build([(b"b", b"1", 0)]))], [Position(svc, "words", 1, 0, 2)])
    finally:
        other.close()

    second = brokers.open_broker(nats_url)
    try:
        assert statelog.read_all(second, changelog, 0) == b""  # the cut change is not state
        assert second.position(svc, "words", 0) == 0
        again = second.read("words", 0, 0, 100)
        assert (again.base_offset, again.count) == (0, 3)  # exactly task 0's batch in flight
        assert len(list(frames.iter_records(statelog.read_all(second, changelog, 1)))) == 1
    finally:
        second.close()


def test_leases_have_epochs_and_fence_the_previous_holder(nats_url):
    a, b = brokers.open_broker(nats_url), brokers.open_broker(nats_url)
    try:
        a.ensure_topic("src", 1)
        assert a.acquire("svc", 0, "worker-a", ttl=1.0) == 1
        assert b.acquire("svc", 0, "worker-b", ttl=1.0) is None  # held
        assert a.renew("svc", 0, "worker-a", 1, ttl=1.0)
        a.commit(positions=[Position("svc", "src", 0, None, 0)])
        time.sleep(1.3)  # worker-a stops renewing: its lease runs out
        assert b.acquire("svc", 0, "worker-b", ttl=5.0) == 2
        assert [(l.task, l.worker, l.epoch) for l in b.leases("svc")] == [(0, "worker-b", 2)]
        with pytest.raises(Fenced):
            a.commit(positions=[Position("svc", "src", 0, 0, 0)])
        assert not a.renew("svc", 0, "worker-a", 1, ttl=1.0)
        assert b.position("svc", "src", 0) == 0
        b.commit(positions=[Position("svc", "src", 0, 0, 0)])  # the new holder commits
        b.release("svc", 0, "worker-b", 2)
        assert b.leases("svc")[0].expires_at == 0
        assert a.acquire("svc", 0, "worker-a", ttl=1.0) == 3  # released: free at once
    finally:
        a.close()
        b.close()

"""Kafka topics as the run loop's backend, with confluent-kafka (librdkafka); docs/backends.md.

Topics are Kafka topics, a record's key, value and timestamp are the Kafka record's, partitions
are Kafka partitions, and each service is a consumer group (`sscc.<app>.<service>`, or the
`sscc.group.id` setting with `{app}` and `{service}` in it). Exactly once is Kafka Streams' EOS
v2: one transactional producer per worker, and ONE transaction per loop commit holding the
batch's outputs, its dead letters, its state changelog records and its input offsets
(`send_offsets_to_transaction` with the group's metadata, so the group coordinator fences a
commit of a member that lost its partitions); consumers read `read_committed`.

Data crosses the backend interface as framed batches (frames.py); the conversion to and from
Kafka records is here, one pass each way. Changelog topics (`*.changelog`) are compacted; their
Kafka key carries the frame's window (timestamp, origin) before the state key, so compaction
keeps the latest record per (window, key) and a window's clear record has a key too.

The broker's end offset (high watermark) is not trusted (tansu reports the start of the last
batch plus one): a partition's end is where a read from the last batch reaches end of partition.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import uuid
from typing import Sequence

import confluent_kafka as ck
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from . import backend, frames
from .backend import Batch, Output, Position, PositionConflict, StateChange

CHANGELOG_SUFFIX = ".changelog"
STATE_TOPIC = "_sscc.state"  # compacted: (service, state, key) -> value rows (window snapshots, shapes)
_WINDOW = struct.Struct(">qq")  # a changelog record's frame timestamp and origin, in its Kafka key
_HEADER = frames.HEADER.pack
_EOF = KafkaError._PARTITION_EOF
_FENCED_CODES = {getattr(KafkaError, n) for n in ("_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH") if hasattr(KafkaError, n)}
WAIT_S = 30.0  # longest wait for a broker answer (a first assignment, an end of partition)
MORE_S = 0.05  # how long a read waits to fill a batch once it has some records
FETCH = 10_000  # messages per consume() call


class Fenced(getattr(backend, "Fenced", PositionConflict)):  # backend.Fenced once scale-out lands
    """This worker's transactional producer was fenced by a newer one with the same id."""


class BrokerUnavailable(RuntimeError):
    """The broker did not answer (in time)."""


def open_backend(servers: str, config: dict[str, str], app: str) -> "KafkaBackend":
    return KafkaBackend(servers, config, app)


def _check(fn, what: str):
    try:
        return fn()
    except KafkaException as exc:
        raise BrokerUnavailable(f"kafka: {what}: {exc.args[0].str() if exc.args else exc}") from None


class KafkaBackend:
    """backend.TopicBackend over a Kafka cluster; `for_service(name)` gives a service's view
    (its consumer group) to the run loop."""

    def __init__(self, servers: str, config: dict[str, str], app: str = "sscc"):
        config = dict(config)
        self.app = app
        self.url = f"kafka://{servers}"
        self._group_template = config.pop("sscc.group.id", "sscc.{app}.{service}")
        self._txn_id = config.pop("transactional.id", None) or os.environ.get("SSCC_TRANSACTIONAL_ID")
        self._client = {"bootstrap.servers": servers, **config}
        self._admin = AdminClient({**self._client, "logger": _quiet})
        self._partitions: dict[str, int] = {}
        self._producer: ck.Producer | None = None  # transactional, made on the first commit
        self._plain: ck.Producer | None = None  # idempotent, for `topic produce` (append)
        self._probe: _Fetcher | None = None  # assign-mode reader: bounds, random reads
        self._groups: dict[str, ck.Consumer] = {}  # group id -> standalone consumer (positions)
        self.views: dict[str, "ServiceView"] = {}
        self._state: dict[bytes, bytes] | None = None  # STATE_TOPIC, loaded on first use
        # (topic, partition) -> the offset after the last record this backend committed there:
        # an end of partition seen before that is stale (a read must fetch again).
        self.produced_upto: dict[tuple[str, int], int] = {}
        self.dropped = 0  # batches aborted because their partition moved to another worker

    # clients --------------------------------------------------------------------------

    def consumer(self, extra: dict) -> ck.Consumer:
        settings = {
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 20,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
            # eager: cooperative-sticky leaves partitions unassigned on tansu (docs/backends.md)
            "partition.assignment.strategy": "range",
            **self._client,
            **extra,
        }
        return ck.Consumer(settings, logger=_quiet)

    def group_id(self, service: str) -> str:
        return self._group_template.format(app=self.app, service=service)

    def _group(self, service: str) -> ck.Consumer:
        """A consumer of the service's group that never subscribes: committed offsets, and the
        group metadata of a commit made outside a subscription (schedules, fresh starts)."""
        group = self.group_id(service)
        if group not in self._groups:
            self._groups[group] = self.consumer({"group.id": group})
        return self._groups[group]

    def _fetcher(self) -> "_Fetcher":
        if self._probe is None:
            self._probe = _Fetcher(self, self.consumer({"group.id": f"sscc.{self.app}.reader"}), assign_mode=True)
        return self._probe

    def producer(self) -> ck.Producer:
        if self._producer is None:
            tid = self._txn_id or f"sscc.{self.app}.{socket.gethostname()}.{uuid.uuid4().hex[:8]}"
            self._producer = ck.Producer(
                {
                    "transactional.id": tid,
                    "transaction.timeout.ms": 10_000,
                    "linger.ms": 5,
                    "batch.num.messages": 10_000,
                    "queue.buffering.max.messages": 1_000_000,
                    "queue.buffering.max.kbytes": 1_048_576,
                    **self._client,
                },
                logger=_quiet,
            )
            _check(lambda: self._producer.init_transactions(WAIT_S), "init_transactions")
        return self._producer

    def close(self) -> None:
        for view in self.views.values():
            view.close()
        self.views.clear()
        if self._plain is not None:
            self._plain.flush(WAIT_S)
        if self._probe is not None:
            self._probe.consumer.close()
        for consumer in self._groups.values():
            consumer.close()
        self._groups.clear()
        self._probe = self._plain = self._producer = None

    def __enter__(self) -> "KafkaBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def settle(self) -> bool:
        """Wait for every view's transaction in flight (`ServiceView.commit_soon`)."""
        return any([view.settle() for view in self.views.values()])

    # topics ---------------------------------------------------------------------------

    def _metadata(self, topic: str | None = None):
        return _check(lambda: self._admin.list_topics(timeout=WAIT_S), "list topics")

    def topics(self) -> dict[str, int]:
        meta = self._metadata()
        return {
            name: len(t.partitions)
            for name, t in sorted(meta.topics.items())
            if not name.startswith("_") and t.error is None
        }

    def partitions(self, topic: str) -> int:
        if topic not in self._partitions:
            meta = self._metadata().topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                raise KeyError(f"no topic {topic!r} on {self.url}")
            self._partitions[topic] = len(meta.partitions)
        return self._partitions[topic]

    def ensure_topic(self, topic: str, partitions: int = 1) -> int:
        if partitions < 1:
            raise ValueError("a topic needs at least one partition")
        try:
            return self.partitions(topic)
        except KeyError:
            pass
        compacted = topic.endswith(CHANGELOG_SUFFIX) or topic == STATE_TOPIC
        config = {"cleanup.policy": "compact"} if compacted else {}
        future = self._admin.create_topics([NewTopic(topic, partitions, 1, config=config)])[topic]
        try:
            future.result(WAIT_S)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise BrokerUnavailable(f"kafka: create topic {topic!r}: {exc.args[0].str()}") from None
        deadline = time.monotonic() + WAIT_S
        while True:  # metadata may lag the creation a moment
            try:
                return self.partitions(topic)
            except KeyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def delete_topic(self, topic: str) -> None:
        future = self._admin.delete_topics([topic])[topic]
        _check(lambda: future.result(WAIT_S), f"delete topic {topic!r}")
        self._partitions.pop(topic, None)
        if self._probe is not None:  # librdkafka crashed reading on with a consumer that had read it
            self._probe.consumer.close()
            self._probe = None

    def bounds(self, topic: str, partition: int) -> tuple[int, int]:
        """(first offset, end); the end is where reading the last batch reaches end of partition,
        not the broker's high watermark (tansu: start of the last batch + 1)."""
        return self._fetcher().bounds(topic, partition)

    # records --------------------------------------------------------------------------

    def append(self, topic: str, partition: int, data: bytes, count: int) -> int:
        """`topic produce`: an idempotent (not transactional) producer; returns -1 (the base
        offset is not waited for)."""
        if self._plain is None:
            self._plain_errors: list[str] = []
            self._plain = ck.Producer(
                {"enable.idempotence": True, "linger.ms": 5, "batch.num.messages": 10_000,
                 "queue.buffering.max.messages": 1_000_000, "delivery.report.only.error": True,
                 "on_delivery": _collect(self._plain_errors), **self._client},
                logger=_quiet,
            )
        produce_frames(self._plain, topic, partition, data, framed(topic))
        _flush(self._plain, self._plain_errors)
        return -1

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> Batch:
        return self._fetcher().read(topic, partition, offset, max_records)

    # positions, state, the transaction -------------------------------------------------

    def position(self, service: str, topic: str, partition: int) -> int | None:
        consumer = self._group(service)
        got = _check(lambda: consumer.committed([TopicPartition(topic, partition)], timeout=WAIT_S), "committed offsets")
        return got[0].offset if got and got[0].offset >= 0 else None

    def state_get(self, service: str, state: str, key: bytes) -> bytes | None:
        return self._states().get(_state_key(service, state, key))

    def _states(self) -> dict[bytes, bytes]:
        if self._state is None:
            self.ensure_topic(STATE_TOPIC, 1)
            table: dict[bytes, bytes] = {}
            fetcher = self._fetcher()
            first, end = fetcher.bounds(STATE_TOPIC, 0)
            offset = first
            while offset < end:
                msgs = fetcher.messages(STATE_TOPIC, 0, offset, FETCH)
                if not msgs:
                    break
                for m in msgs:
                    if m.value() is None:
                        table.pop(m.key(), None)
                    else:
                        table[m.key()] = m.value()
                offset = msgs[-1].offset() + 1
            self._state = table
        return self._state

    def metadata_for(self, service: str):
        view = self.views.get(service)
        if view is not None:
            return view.consumer.consumer_group_metadata()
        return self._group(service).consumer_group_metadata()

    def commit(
        self,
        outputs: Sequence[Output] = (),
        positions: Sequence[Position] = (),
        state_changes: Sequence[StateChange] = (),
    ) -> list[int]:
        if threading.current_thread() is threading.main_thread():
            self.settle()  # one transaction at a time: the producer's
        return self._transaction(outputs, positions, state_changes)

    def _transaction(self, outputs, positions, state_changes) -> list[int]:
        """ONE Kafka transaction: outputs, state rows, then every position as the offsets of
        its service's group. A fenced producer raises Fenced; any other failure aborts."""
        producer = self.producer()
        last: dict[tuple[str, int], int] = {}

        def delivered(err, msg) -> None:  # the last record of each output batch: its offset
            if err is None:
                key = (msg.topic(), msg.partition())
                last[key] = max(last.get(key, -1), msg.offset() + 1)

        try:
            producer.begin_transaction()
            for out in outputs:
                if out.count:
                    produce_frames(producer, out.topic, out.partition, out.data, framed(out.topic), delivered)
            if state_changes:
                self._states()
                for change in state_changes:
                    _produce(producer, STATE_TOPIC, 0, _state_key(change.service, change.state, change.key), change.value, 0, None)
            if positions and not state_changes and not any(out.count for out in outputs):
                # tansu keeps the offsets of a transaction only when it wrote a record too
                # (docs/backends.md): a tombstone of no key the state table ever holds.
                self._partitions.get(STATE_TOPIC) or self.ensure_topic(STATE_TOPIC, 1)
                _produce(producer, STATE_TOPIC, 0, b"\x00offsets", None, 0, None)
            by_group: dict[str, list[TopicPartition]] = {}
            for pos in positions:
                by_group.setdefault(pos.service, []).append(TopicPartition(pos.topic, pos.partition, pos.next_offset))
            for service, offsets in by_group.items():
                producer.send_offsets_to_transaction(offsets, self.metadata_for(service), WAIT_S)
            producer.commit_transaction(WAIT_S)
        except KafkaException as exc:
            self._fail(producer, exc)
        for key, end in last.items():
            self.produced_upto[key] = max(self.produced_upto.get(key, 0), end)
        if state_changes:
            for change in state_changes:
                key = _state_key(change.service, change.state, change.key)
                if change.value is None:
                    self._state.pop(key, None)
                else:
                    self._state[key] = change.value
        return []

    def _fail(self, producer: ck.Producer, exc: KafkaException) -> None:
        error = exc.args[0]
        if error.fatal() or error.code() in _FENCED_CODES:
            self._producer = None
            raise Fenced(f"kafka: this worker was fenced ({error.str()}); another worker with its transactional.id took over") from None
        if error.txn_requires_abort():
            try:
                producer.abort_transaction(WAIT_S)
            except KafkaException:
                self._producer = None
        raise PositionConflict(f"kafka: transaction aborted: {error.str()}") from None

    def drop_state(self, service: str, state: str, changelog: str, schema_state: str) -> int:
        first, end = self.bounds(changelog, 0)
        self.delete_topic(changelog)
        self.commit(state_changes=[StateChange(service, schema_state, state.encode(), None)])
        return end - first

    # the run loop's view --------------------------------------------------------------

    def for_service(self, service: str, topics=()) -> "ServiceView":
        """The service's view; its group subscribes to `topics` now, so every service of a run
        joins its group at the same time."""
        if service not in self.views:
            self.views[service] = ServiceView(self, service)
        self.views[service].subscribe(topics)
        return self.views[service]


class ServiceView:
    """One service's side of the backend: its consumer group, subscribed to its source topics
    (eager rebalancing). The loop asks `owned(topic)` which partitions this worker holds; a batch
    whose partition was reassigned meanwhile is aborted, not committed."""

    def __init__(self, backend: KafkaBackend, service: str):
        self.backend, self.service = backend, service
        self.consumer = backend.consumer({"group.id": backend.group_id(service)})
        self.fetcher = _Fetcher(backend, self.consumer)
        self.topics: set[str] = set()
        self.assigned: set[tuple[str, int]] = set()
        self.epoch = 0  # bumped by every assignment change
        self._joined = False
        self._read_epoch: dict[tuple[str, int], int] = {}

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def subscribe(self, topics) -> None:
        topics = set(topics)
        if topics - self.topics:
            self.topics |= topics
            self.consumer.subscribe(sorted(self.topics), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke)

    def _on_assign(self, consumer, parts) -> None:
        if parts:
            committed = consumer.committed(parts, timeout=WAIT_S)
            for tp, c in zip(parts, committed):
                tp.offset = c.offset if c.offset >= 0 else ck.OFFSET_BEGINNING
                self.fetcher.expect[(tp.topic, tp.partition)] = c.offset if c.offset >= 0 else None
        consumer.assign(parts)
        self.assigned = {(tp.topic, tp.partition) for tp in parts}
        self.epoch += 1
        if self._joined:  # another worker may have committed window snapshots meanwhile
            self.backend._state = None
        self._joined = True

    def _on_revoke(self, consumer, parts) -> None:
        for tp in parts:
            self.fetcher.forget((tp.topic, tp.partition))
        consumer.unassign()
        self.assigned = set()
        self.epoch += 1

    def owned(self, topic: str) -> tuple[list[int], int]:
        """(partitions of `topic` assigned to this worker, assignment epoch); waits for the
        group's first assignment."""
        self.subscribe([topic])
        deadline = time.monotonic() + WAIT_S
        self.fetcher.pump(0)
        while not self._joined:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(f"kafka: consumer group {self.backend.group_id(self.service)} got no assignment in {WAIT_S:g} s")
            self.fetcher.pump(0.1)
        return sorted(p for t, p in self.assigned if t == topic), self.epoch

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> Batch:
        if topic not in self.topics:
            return self.backend.read(topic, partition, offset, max_records)
        key = (topic, partition)
        if key not in self.assigned:
            return Batch(offset, 0, b"")
        self._read_epoch[key] = self.epoch
        return self.fetcher.read(topic, partition, offset, max_records, lambda: key in self.assigned)

    def bounds(self, topic: str, partition: int) -> tuple[int, int]:
        """An owned partition caught up ends where its reader stands (lag 0), whatever the
        broker's high watermark says."""
        end = self.fetcher.caught_up((topic, partition)) if topic in self.topics else None
        if end is not None:
            return (0, end)
        return self.backend.bounds(topic, partition)

    def position(self, service: str, topic: str, partition: int) -> int | None:
        if service != self.service:
            return self.backend.position(service, topic, partition)
        got = _check(lambda: self.consumer.committed([TopicPartition(topic, partition)], timeout=WAIT_S), "committed offsets")
        return got[0].offset if got and got[0].offset >= 0 else None

    def commit(self, outputs=(), positions=(), state_changes=()) -> list[int]:
        self.backend.settle()
        for pos in positions:
            key = (pos.topic, pos.partition)
            if pos.service == self.service and pos.topic in self.topics and (
                key not in self.assigned or self._read_epoch.get(key, self.epoch) != self.epoch
            ):
                self.backend.dropped += 1  # reassigned since it was read: its new owner redoes it
                return []
        return self.backend.commit(outputs, positions, state_changes)

    def commit_soon(self, outputs=(), positions=(), state_changes=()) -> None:
        """`commit` on a thread while the loop runs the next batch: the transaction's produce
        calls and its commit round trips overlap the guest (which releases the GIL). One in
        flight per worker (one transactional producer); `settle` waits for it."""
        self.backend.settle()
        for pos in positions:  # checked now: the assignment belongs to this thread
            key = (pos.topic, pos.partition)
            if pos.service == self.service and pos.topic in self.topics and (
                key not in self.assigned or self._read_epoch.get(key, self.epoch) != self.epoch
            ):
                self.backend.dropped += 1
                return
        job = _Job(self.backend._transaction, (outputs, positions, state_changes))
        self._pending = job
        job.start()

    def settle(self) -> bool:
        job, self._pending = self._pending, None
        if job is None:
            return False
        job.join()
        if job.error is not None:
            raise job.error
        return True

    _pending = None

    def close(self) -> None:
        try:
            self.settle()
        finally:
            try:
                self.consumer.close()  # leaves the group at once: the others rebalance now
            except (KafkaException, RuntimeError):
                pass


class _Job(threading.Thread):
    """One transaction committed off the loop's thread; `error` is what it raised."""

    def __init__(self, commit, args):
        super().__init__(name="sscc-kafka-commit", daemon=True)
        self.commit, self.args, self.error = commit, args, None

    def run(self) -> None:
        try:
            self.commit(*self.args)
        except BaseException as exc:  # handed to the loop by settle()
            self.error = exc


class _Fetcher:
    """Messages of one consumer kept per partition, handed out as framed batches of consecutive
    offsets. `eof[key]`: where the partition's end was reached, valid until newer records come
    or this process commits past it (`produced_upto`)."""

    def __init__(self, backend: KafkaBackend, consumer: ck.Consumer, assign_mode: bool = False):
        self.backend, self.consumer, self.assign_mode = backend, consumer, assign_mode
        self.buf: dict[tuple[str, int], list] = {}  # key -> [messages, index of the next]
        self.eof: dict[tuple[str, int], int] = {}
        self.expect: dict[tuple[str, int], int | None] = {}  # where the consumer reads next
        self.keys: set[tuple[str, int]] = set()  # assign mode: the partitions assigned so far

    def forget(self, key) -> None:
        self.buf.pop(key, None)
        self.eof.pop(key, None)
        self.expect.pop(key, None)

    def pump(self, timeout: float) -> int:
        msgs = self.consumer.consume(FETCH, timeout)
        buf, eof = self.buf, self.eof
        for m in msgs:
            err = m.error()
            key = (m.topic(), m.partition())
            if err is not None:
                if err.code() == _EOF:
                    eof[key] = m.offset()
                    continue
                if err.fatal():
                    raise BrokerUnavailable(f"kafka: {err.str()}")
                continue  # transient (a broker restarting): librdkafka retries
            entry = buf.get(key)
            if entry is None:
                buf[key] = [[m], 0]
            else:
                entry[0].append(m)
            eof.pop(key, None)
        return len(msgs)

    def _trim(self, key, offset: int) -> int:
        """Drop buffered records before `offset` (fetched before a seek); how many are left."""
        entry = self.buf.get(key)
        if not entry:
            return 0
        msgs, index = entry
        while index < len(msgs) and msgs[index].offset() < offset:
            index += 1
        if index >= len(msgs):
            del self.buf[key]
            return 0
        entry[1] = index
        return len(msgs) - index

    def _have(self, key) -> int:
        entry = self.buf.get(key)
        return len(entry[0]) - entry[1] if entry else 0

    def _eof_valid(self, key) -> bool:
        at = self.eof.get(key)
        return at is not None and at >= self.backend.produced_upto.get(key, 0)

    def caught_up(self, key) -> int | None:
        if self._have(key) == 0 and self._eof_valid(key):
            expect = self.expect.get(key)
            return expect if expect is not None else self.eof[key]
        return None

    def _seek(self, key, offset: int) -> None:
        self.forget(key)
        tp = TopicPartition(key[0], key[1], offset)
        if self.assign_mode and key not in self.keys:
            self.consumer.incremental_assign([tp])
            self.keys.add(key)
        else:
            deadline = time.monotonic() + WAIT_S
            while True:
                try:
                    self.consumer.seek(tp)
                    break
                except KafkaException:  # the partition's fetcher is not started yet
                    if time.monotonic() > deadline:
                        raise
                    self.pump(0.05)
                    self.forget(key)
        self.expect[key] = offset

    def _unassign(self, key) -> None:
        if key in self.keys:
            self.consumer.incremental_unassign([TopicPartition(*key)])
            self.keys.discard(key)
        self.forget(key)

    def messages(self, topic: str, partition: int, offset: int, max_records: int, owned=None) -> list:
        """Up to `max_records` messages of consecutive offsets from `offset` on (a control record
        or an aborted transaction before them is skipped); [] when the partition is at its end."""
        key = (topic, partition)
        if self.expect.get(key, -1) != offset:
            self._seek(key, offset)
        self.pump(0)
        deadline = time.monotonic() + WAIT_S
        more = None
        while True:
            have = self._trim(key, offset)
            if have >= max_records or (have and self._eof_valid(key)):
                break
            if not have and self._eof_valid(key):
                return []
            if owned is not None and not owned():
                return []
            now = time.monotonic()
            if have:
                more = more or now + MORE_S
                if now > more:
                    break
            elif now > deadline:
                return []  # the broker gave neither records nor an end: try again next round
            self.pump(0.02 if have else 0.1)
        msgs, index = self.buf[key]
        take = msgs[index : index + max_records]
        # consecutive offsets only, so the frame origins (base + index) are the records' offsets
        first = take[0].offset()
        if take[-1].offset() - first != len(take) - 1:
            n = 1
            while n < len(take) and take[n].offset() == first + n:
                n += 1
            take = take[:n]
        index += len(take)
        if index >= len(msgs):
            del self.buf[key]
        else:
            self.buf[key][1] = index
        self.expect[key] = take[-1].offset() + 1
        return take

    def read(self, topic: str, partition: int, offset: int, max_records: int, owned=None) -> Batch:
        take = self.messages(topic, partition, offset, max_records, owned)
        if not take:
            return Batch(offset, 0, b"")
        return Batch(take[0].offset(), len(take), to_frames(take, framed(topic)))

    def bounds(self, topic: str, partition: int) -> tuple[int, int]:
        tp = TopicPartition(topic, partition)
        low, high = _check(lambda: self.consumer.get_watermark_offsets(tp, timeout=WAIT_S, cached=False), "watermarks")
        if high <= low:
            return (low, low)
        key = (topic, partition)
        self._seek(key, max(low, high - 1))
        deadline = time.monotonic() + WAIT_S
        while not self._eof_valid(key):
            if time.monotonic() > deadline:
                return (low, high)
            self.pump(0.1)
        end = self.eof[key]
        self._unassign(key)
        return (low, end)


# --------------------------------------------------------------------------------- conversion


def framed(topic: str) -> bool:
    """Changelog records keep their frame's timestamp and origin (a window) in the Kafka key."""
    return topic.endswith(CHANGELOG_SUFFIX)


def to_frames(msgs: list, window_keys: bool = False) -> bytes:
    """Kafka messages -> one framed batch (frames.py), origin -1 (a changelog's: its own)."""
    parts = []
    add = parts.append
    header = _HEADER
    no_key, no_origin = frames.NO_KEY, frames.NO_ORIGIN
    if window_keys:
        unwindow = _WINDOW.unpack_from
        for m in msgs:
            raw, value = m.key(), m.value() or b""
            ts, origin = unwindow(raw)
            key = raw[17:] if raw[16] else None
            if key is None:
                add(header(20 + len(value), ts, origin, no_key))
            else:
                add(header(20 + len(key) + len(value), ts, origin, len(key)))
                add(key)
            add(value)
        return b"".join(parts)
    for m in msgs:
        key, value = m.key(), m.value()
        if value is None:
            value = b""
        ts = m.timestamp()[1]
        if key is None:
            add(header(20 + len(value), ts, no_origin, no_key))
        else:
            add(header(20 + len(key) + len(value), ts, no_origin, len(key)))
            add(key)
        add(value)
    return b"".join(parts)


def produce_frames(producer, topic: str, partition: int, data: bytes, window_keys: bool, last=None) -> None:
    """Every frame of a batch as a Kafka record of `topic`/`partition`; `last(err, msg)` hears
    the delivery of the batch's last record. A changelog batch (`window_keys`) is cut to the last
    change of each (window, key) first, as Kafka Streams' record cache does: replaying it gives the
    same state, and a word count writes one record per word and batch, not one per word seen."""
    if window_keys:
        return _produce_changes(producer, topic, partition, data, last)
    unpack = frames.HEADER.unpack_from
    pos, end = 0, len(data)
    produce = producer.produce
    while pos < end:
        length, ts, origin, key_len = unpack(data, pos)
        body, stop = pos + 24, pos + 4 + length
        if key_len == frames.NO_KEY:
            key, value = None, data[body:stop]
        else:
            key, value = data[body : body + key_len], data[body + key_len : stop]
        callback = last if stop >= end else None  # one Python callback per batch, not per record
        try:
            produce(topic, value, key, partition, on_delivery=callback, timestamp=ts if ts > 0 else 0)
        except BufferError:  # the local queue is full: let it drain
            producer.poll(0.05)
            continue
        pos = stop


def _produce_changes(producer, topic: str, partition: int, data: bytes, last=None) -> None:
    """Change records with their window in the Kafka key; only the last per (window, key) when
    the batch clears no window (a clear record has no state key and orders what is around it)."""
    unpack, pack = frames.HEADER.unpack_from, _WINDOW.pack
    pos, end = 0, len(data)
    records: list[tuple[bytes, bytes]] = []
    keyed = True
    while pos < end:
        length, ts, origin, key_len = unpack(data, pos)
        body, stop = pos + 24, pos + 4 + length
        if key_len == frames.NO_KEY:
            keyed = False
            records.append((pack(ts, origin) + b"\x00", data[body:stop]))
        else:
            records.append((pack(ts, origin) + b"\x01" + data[body : body + key_len], data[body + key_len : stop]))
        pos = stop
    if keyed:
        latest = dict(records)  # insertion order: first change of each key; value: its last
        records = list(latest.items())
    for i, (key, value) in enumerate(records):
        _produce(producer, topic, partition, key, value, 0, last if i == len(records) - 1 else None)


def _produce(producer, topic, partition, key, value, ts, callback) -> None:
    while True:
        try:
            producer.produce(topic, value, key, partition, on_delivery=callback, timestamp=ts)
            return
        except BufferError:
            producer.poll(0.05)


def _collect(errors: list):
    def on_delivery(err, _msg) -> None:
        if err is not None:
            errors.append(err.str())

    return on_delivery


def _flush(producer, errors: list) -> None:
    left = producer.flush(WAIT_S)
    if left:
        raise BrokerUnavailable(f"kafka: {left:,} records not delivered in {WAIT_S:g} s")
    if errors:
        raise BrokerUnavailable(f"kafka: produce failed: {errors[0]}")


def _state_key(service: str, state: str, key: bytes) -> bytes:
    return service.encode() + b"\x00" + state.encode() + b"\x00" + key


class _Quiet:
    """librdkafka's log lines (a broker going away, a rebalance) are not the user's output."""

    def __getattr__(self, _name):
        return lambda *a, **k: None


_quiet = _Quiet()

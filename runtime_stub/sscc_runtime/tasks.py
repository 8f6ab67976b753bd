"""Tasks: the unit of parallelism of a run (docs/scale-out.md).

A task is (service, task partition p). How a service's work is cut into tasks (`layout`):

- **partitioned** (a service without own keyed state): task p reads partition p of every
  source that has a partition p; T = the largest source partition count.
- **keyed** (a service with a `partition` step whose keyed state is sharded, more than one
  shard): task p runs the chain up to assign-key on partition p of its sources and routes each
  record by `stable_hash(key) % P` to partition of the repartition topic `<service>.repartition`;
  it also runs the rest of the partition on repartition partition p (if p < P), with shard p of
  every state in its own guest instance and changelog partition p. P = the changelog's partition
  count once it exists (state is never moved between shards), else the largest source partition
  count. T = max(source partitions, P).
- **single** (a windowed service, a service whose code reads its own state through `sql()`, or a
  keyed service whose changelog has one partition, as every store before scale-out has): one
  task reads every partition of every source, as a single runner always did.

`tasks_of(service, backend)` lists a service's tasks; `runner(backend, service, task)` builds the
runner of one task (loop.TaskRunner), so a worker process can run any subset of them; a
single-process run runs all of them, round-robin (loop.Loop).
"""

from __future__ import annotations

import zlib

from .backend import TopicBackend
from .records import record as dataclass  # records.py: dataclass's methods without its import cost
from .frames import HEADER, HEADER_SIZE, NO_KEY
from .service import Service

REPARTITION_SUFFIX = ".repartition"

SINGLE, PARTITIONED, KEYED = "single", "partitioned", "keyed"


@dataclass(frozen=True)
class TaskId:
    service: str
    partition: int

    def __str__(self) -> str:
        return f"{self.service}[{self.partition}]"


@dataclass(frozen=True)
class Layout:
    """How one service is cut into tasks (module doc): the mode, the task count T and the state
    shard count P (1 outside keyed mode)."""

    mode: str
    tasks: int
    shards: int = 1


class LayoutError(RuntimeError):
    """The store's topics say something the service cannot run with (shown as `error: ...`)."""


def repartition_topic(service: str) -> str:
    return f"{service}{REPARTITION_SUFFIX}"


def stable_hash(key: bytes | None) -> int:
    """The repartition hash: CRC-32 (zlib, IEEE 802.3) of the key's bytes as they travel in the
    repartition topic (the key's internal encoding, serde_json: a string key `w1` is the 4 bytes
    `"w1"`); a record without a key hashes to 0. Every process and backend must use exactly this."""
    return 0 if key is None else zlib.crc32(key)


def shardable(service: Service) -> bool:
    """Can the service's keyed state be split by key? Not when windowed (its window stage runs
    assign-key after classifying records against the watermark) or when its code queries its own
    state through `sql()` (a query must see every key)."""
    return bool(service.states) and service.repartition is not None and service.window is None and not service.sql


def layout(service: Service, backend: TopicBackend) -> Layout:
    """The service's layout; creates its source topics (declared partition counts) and, for a
    keyed service, its changelogs and repartition topic, so the shard count is fixed from the
    first call on."""
    widest = max(backend.ensure_topic(src.topic, src.partitions) for src in service.sources)
    if not service.states:
        if service.window is not None:
            return Layout(SINGLE, 1)
        return Layout(PARTITIONED, widest)
    existing = set()
    for state in service.states:
        try:
            existing.add(backend.partitions(state.changelog))
        except KeyError:
            pass
    if len(existing) > 1:
        raise LayoutError(
            f"service {service.name}: its state changelogs have different partition counts"
            f" ({', '.join(str(n) for n in sorted(existing))}); drop the states (sscc state drop) or use a new store"
        )
    # A consumer-group backend (kafka_backend.py) assigns source partitions to workers itself and
    # has no task leases for a repartition topic: keyed state stays one shard there (docs/backends.md).
    groups = hasattr(backend, "for_service")
    shards = existing.pop() if existing else (widest if shardable(service) and not groups else 1)
    if shards > 1 and not shardable(service):
        raise LayoutError(
            f"service {service.name}: its state changelog has {shards} partitions, but this version of the"
            " service cannot shard its state (windowed, or reading its own state through sql()); use a new store"
        )
    for state in service.states:
        backend.ensure_topic(state.changelog, shards)
    if shards == 1:
        return Layout(SINGLE, 1)
    backend.ensure_topic(repartition_topic(service.name), shards)
    return Layout(KEYED, max(widest, shards), shards)


def tasks_of(service: Service, backend: TopicBackend) -> list[TaskId]:
    return [TaskId(service.name, p) for p in range(layout(service, backend).tasks)]


def runner(backend: TopicBackend, service: Service, task: TaskId | int, env=None, http=None, counters=None):
    """The runner of one task (loop.TaskRunner); `counters` may be shared by a service's tasks."""
    from .loop import TaskRunner  # loop imports this module

    partition = task.partition if isinstance(task, TaskId) else task
    return TaskRunner(backend, service, env, http, task=partition, counters=counters)


def route(data: bytes, parts: int) -> list[tuple[bytes, int]]:
    """Split a framed batch into `parts` framed batches by `stable_hash(key) % parts`, keeping
    the records' order within each. Frames are sliced, never decoded."""
    buckets: list[list[bytes]] = [[] for _ in range(parts)]
    unpack, crc, end, pos = HEADER.unpack_from, zlib.crc32, len(data), 0
    while pos < end:  # bytes slices: twice as fast as memoryview slices here
        length, _, _, key_len = unpack(data, pos)
        stop = pos + 4 + length
        if key_len == NO_KEY:
            buckets[0].append(data[pos:stop])
        else:
            body = pos + HEADER_SIZE
            buckets[crc(data[body : body + key_len]) % parts].append(data[pos:stop])
        pos = stop
    return [(b"".join(bucket), len(bucket)) for bucket in buckets]

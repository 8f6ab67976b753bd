"""The topic-backend interface every store implements, and the starting-offset rule.

Small on purpose (create/describe topics, append, read, positions, one atomic commit) so a
Kafka, NATS JetStream or Redis Streams backend can sit behind the same loop. Data crosses it only
as framed batches (frames.py), never as single records.
"""

from __future__ import annotations

from .records import record as dataclass  # records.py: dataclass's methods without its import cost
from typing import Protocol, Sequence


@dataclass(frozen=True)
class Batch:
    """Contiguous records of one partition: offsets base_offset .. base_offset+count-1."""

    base_offset: int
    count: int
    data: bytes


@dataclass(frozen=True)
class Output:
    """A framed batch to append to one topic partition."""

    topic: str
    partition: int
    data: bytes
    count: int


@dataclass(frozen=True)
class Position:
    """Move a consumer position; `expected` fences a second runner of the same service."""

    service: str
    topic: str
    partition: int
    expected: int | None
    next_offset: int


@dataclass(frozen=True)
class StateChange:
    """Upsert (value is bytes) or delete (value is None) one key of a service's state."""

    service: str
    state: str
    key: bytes
    value: bytes | None


class PositionConflict(RuntimeError):
    """Another runner moved the position: committing would duplicate records."""


@dataclass(frozen=True)
class Fence:
    """Carried by every commit of a task run under a lease (docs/scale-out.md, "Fencing"): the
    backend refuses the commit, in the same transaction, unless the task's lease still has this
    epoch."""

    service: str
    task: int
    epoch: int


class Fenced(PositionConflict):
    """The task's lease moved on to a newer epoch (another worker took it over): this commit
    was refused and nothing of it is stored. The worker drops the task and never retries."""

    def __init__(self, fence: Fence, current: int | None, owner: str | None):
        self.fence, self.current, self.owner = fence, current, owner
        super().__init__(
            f"{fence.service}[task {fence.task}]: lease epoch is {current} (owner {owner}),"
            f" this commit carries epoch {fence.epoch}: refused"
        )


@dataclass(frozen=True)
class Lease:
    """Who runs task `task` of `service`: `worker` until `expires_at` (unix seconds; 0 = released)."""

    service: str
    task: int
    worker: str | None
    epoch: int
    expires_at: float


class LeaseBackend(Protocol):
    """Task leases with fencing epochs (docs/scale-out.md). A NATS backend maps a lease to a KV
    entry updated by revision compare-and-set; Kafka to the consumer group's generation."""

    def acquire(self, service: str, task: int, worker: str, ttl: float) -> int | None:
        """Take the lease if it is free, released or expired: the new epoch (previous + 1), or
        None when another worker holds it."""

    def renew(self, service: str, task: int, worker: str, epoch: int, ttl: float) -> bool:
        """Extend a lease this worker holds at `epoch`; False when it moved on (then drop the task)."""

    def release(self, service: str, task: int, worker: str, epoch: int) -> None:
        """Give the lease up (expires_at = 0) if still held at `epoch`; the epoch stays."""

    def leases(self, service: str | None = None) -> list[Lease]:
        """Every lease (of `service`), sorted by service and task."""


class TopicBackend(Protocol):
    def ensure_topic(self, topic: str, partitions: int = 1) -> int:
        """Create the topic if missing; return its partition count."""

    def partitions(self, topic: str) -> int:
        """Partition count; KeyError if the topic does not exist."""

    def bounds(self, topic: str, partition: int) -> tuple[int, int]:
        """(first offset still stored, next offset to be written)."""

    def append(self, topic: str, partition: int, data: bytes, count: int) -> int:
        """Append one framed batch on its own; return its base offset."""

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> Batch:
        """Records from `offset` on, at most `max_records`; count 0 when caught up."""

    def position(self, service: str, topic: str, partition: int) -> int | None:
        """Committed next offset of a consumer, None if it never committed."""

    def commit(
        self,
        outputs: Sequence[Output] = (),
        positions: Sequence[Position] = (),
        state_changes: Sequence[StateChange] = (),
        fence: Fence | None = None,
    ) -> list[int]:
        """Append outputs, move positions and apply state changes all-or-nothing; return base
        offsets. With `fence`, refuse it all (`Fenced`) unless the task's lease has that epoch."""


def starting_offset(spec: dict | None, first: int, end: int) -> int:
    """SDF `default_starting_offset` (SDF-FORMAT.md §3): Beginning/End count `value` records
    from the first/last offset, Offset is absolute; clamped to what is stored. Absent = End.
    """
    spec = spec or {"position": "End"}
    position, value = spec.get("position", "End"), int(spec.get("value", 0) or 0)
    if position == "Beginning":
        offset = first + value
    elif position == "End":
        offset = end - value
    elif position == "Offset":
        offset = value
    else:
        raise ValueError(
            f"unknown starting position {position!r} (Beginning, End or Offset)"
        )
    return min(max(offset, first), end)

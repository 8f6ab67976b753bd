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


class StoreDamaged(RuntimeError):
    """The store's files were deleted, replaced or truncated under a run, or a stored batch does
    not frame: the message names the file and, for a batch, its topic, partition and offset."""


class PositionConflict(RuntimeError):
    """Another runner moved the position: committing would duplicate records."""


class Fenced(PositionConflict):
    """The commit of a task whose lease another worker took (its epoch moved): the worker drops
    that task and never retries the commit (docs/scale-out.md, the scale-out contract)."""


@dataclass(frozen=True)
class Lease:
    """Who runs task `task` of `service`: the owner, its epoch, when the lease runs out (epoch s)."""

    service: str
    task: int
    worker: str
    epoch: int
    expires_at: float


class LeaseBackend(Protocol):
    def acquire(self, service: str, task: int, worker: str, ttl: float) -> int | None:
        """Take a free, expired or own lease (bumping its epoch); the epoch, or None if held."""

    def renew(self, service: str, task: int, worker: str, epoch: int, ttl: float) -> bool:
        """Extend a lease still held with `epoch`; False if it was lost."""

    def release(self, service: str, task: int, worker: str, epoch: int) -> None:
        """Give a lease up at once (expires_at = 0)."""

    def leases(self, service: str) -> list[Lease]:
        """Every lease of a service, by task."""


def idle_at(tasks, held: dict, live: dict, fingerprint: str, drained: bool) -> str | None:
    """`all_idle`'s answer from one consistent reading (storeleases.py, natscoord.py): `held`
    task -> its live lease's worker, `live` worker -> its `idle_at` mark. Every task must be held
    by a live worker idle at `fingerprint` (`idle:F` or `done:F`; only `done:F`, windows drained
    too, with `drained`). Returns the fingerprint, or None."""
    accepted = {f"done:{fingerprint}"} if drained else {f"idle:{fingerprint}", f"done:{fingerprint}"}
    for task in tasks:
        worker = held.get(task)
        if worker is None or live.get(worker) not in accepted:
            return None
    return fingerprint


@dataclass(frozen=True)
class Fence:
    """What a commit of a task carries on the embedded store (`commit(..., fence=)`): the store
    refuses it (`Fenced`), inside the same transaction, unless the task's lease still has this
    epoch. A broker backend may fence through the leases it holds instead (nats_backend)."""

    service: str
    task: int
    epoch: int


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

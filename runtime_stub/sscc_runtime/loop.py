"""The run loop: read a batch -> run its stages -> commit outputs, dead letters and offsets at once.

Per source partition and batch, Python moves only framed bytes: store -> guest memory -> store.
Each batch ends in ONE store commit (sink outputs, dead letters, the new input position, fenced
against a second runner), so a kill -9 at any moment neither loses nor duplicates a record.
Stops when asked (SIGINT/SIGTERM, after the current commit) or, with `until_idle`, when a full
round over every source partition of every service found nothing to read.
"""

from __future__ import annotations

import bisect
import signal
import sys
import threading
import time
from .records import field, record as dataclass  # records.py: dataclass's methods without its import cost
from .records import record as record_class
from typing import Callable, Collection, Sequence

from . import clock, deadletter, frames, statelog, statesql
from . import tasks
from . import tasks as tasks_  # Loop's `tasks` argument shadows the module there
from .backend import Output, Position, StateChange, StoreDamaged, TopicBackend, starting_offset
from .schedules import Tickers
from .service import Service, Source, Stage
from .wasi import Environment
from .http_client import HttpClient
from . import wasm_host
from .sigwatch import SignalWatcher
from .wasm_host import Guest, Interrupted, MalformedInput, WindowReport
from .windowing import CURSOR_KEY, SNAPSHOT_STATE, Windowing, flush_input, now_ms


# Upper bounds (seconds) of the batch-latency histogram buckets (read, stages, commit hand-off).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Counters:
    """What the progress line shows; `lag` is filled in when the line is made."""

    records_in: int = 0
    records_out: int = 0
    dead_lettered: int = 0
    batches: int = 0
    lag: int = 0
    late: int = 0  # records of a windowed service past every window (also dead-lettered)
    started: float = field(default_factory=time.monotonic)
    # Per stage (wasm call) [in, out, dead], keyed by (module, export), counted per batch; dead
    # letters per (stage name, operator); batch latency as counts per LATENCY_BUCKETS bound
    # (+Inf last) and their sum. Read by the web page and /metrics (webserver.py) from a snapshot.
    stages: dict = field(default_factory=dict)
    dead_by_operator: dict = field(default_factory=dict)
    latency: list = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    def stage(self, stage: Stage) -> list:
        tally = self.stages.get((stage.module, stage.export))
        if tally is None:
            tally = self.stages[(stage.module, stage.export)] = [0, 0, 0]
        return tally

    def observe(self, seconds: float) -> None:
        self.latency[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    def rate(self) -> float:
        return self.records_in / max(time.monotonic() - self.started, 1e-9)

    def line(self) -> str:
        return (
            f"in {self.records_in:,}  out {self.records_out:,}  dead {self.dead_lettered:,}"
            f"  {self.rate():,.0f} rec/s  lag {self.lag:,}"
            + (f"  late {self.late:,}" if self.late else "")
        )


@dataclass(frozen=True)
class FreshStart:
    """A source partition that had no committed position: where it started, and how many
    stored records that start skipped (those before it)."""

    service: str
    topic: str
    partition: int
    offset: int
    skipped: int


REPARTITION_READ = 262_144  # records per read of a repartition partition (at most)


@record_class
class _Input:
    """One partition a task reads: its source (the repartition topic has a made-up one), the
    stages its batches run through, and `route` = the repartition partition count when the
    result goes to the repartition topic by key instead of to the sinks."""

    source: Source
    partition: int
    chain: tuple
    route: int = 0
    repartitioned: bool = False  # reads the repartition topic (its records were counted in once)
    max_records: int = 0  # records per read; 0: the service's batch_records

    @property
    def where(self) -> tuple[str, int]:
        return (self.source.topic, self.partition)


class TaskRunner:
    """Runs one task of a service (tasks.py, docs/scale-out.md): owns its guests (and so its
    shard of the service's keyed state), its consumer positions; counts into `counters` (shared
    by the service's tasks in one process). Task 0 of a single-task service reads every source
    partition, as one runner per service always did."""

    def __init__(
        self,
        store: TopicBackend,
        service: Service,
        env: Environment | None = None,
        http: HttpClient | None = None,
        *,
        task: int = 0,
        counters: Counters | None = None,
    ):
        self.store, self.service, self.task = store, service, task
        self.counters = counters if counters is not None else Counters()
        self.layout = tasks.layout(service, store)
        if not 0 <= task < self.layout.tasks:
            raise ValueError(f"service {service.name} has {self.layout.tasks} tasks, no task {task}")
        if hasattr(store, "for_service"):
            # A consumer-group backend (kafka_backend.py): the service's own view, its group
            # subscribed to its sources, says which partitions this worker owns (`owned`).
            store = store.for_service(service.name, [s.topic for s in service.sources])
            self.store = store
        self._epoch = None  # the backend's assignment epoch the positions below belong to
        self._sink_partitions = [
            store.ensure_topic(s.topic, s.partitions) for s in service.sinks
        ]
        store.ensure_topic(service.dead_letters, 1)
        self.inputs = self._inputs()
        # Schedule sources fire into their topics before each round (schedules.py); task 0 fires.
        self.tickers = Tickers(store, service.name, service.sources if task == 0 else ())
        modules = {st.module for st in _all_stages(service)}
        self._guests = {
            path: Guest(path, service.limits, env=env, service=service.title) for path in sorted(modules)
        }
        for guest in self._guests.values():
            guest.http = http  # the run's HTTP policy for sdf-http (None: the default policy)
        self._positions: dict[tuple[str, int], int] = {}
        # This task's state shard: the changelog partition it loads and appends to.
        self.shard = task if self.layout.mode == tasks.KEYED else 0
        self._owns_shard = self.shard < self.layout.shards
        if service.states:
            # The working state lives in the guest; a (re)started instance replays the
            # committed changelogs (docs/state-design.md §2). One module per service.
            for state in service.states:
                statelog.check_shape(store, service.name, state)
            # What each state's SQL table looks like, for `sscc sql` over the store alone.
            store.commit(state_changes=[statelog.schema_row(service.name, st) for st in service.states])
            for guest in self._guests.values():
                guest.states = len(service.states)
                guest.state_names = [state.name for state in service.states]
                guest.committed_state = self._committed_state
                guest.restore()
        # A windowed service: the engine (restored from the last commit) and this batch's report.
        self._window = (
            Windowing(store, service, now_ms(), [i.where for i in self.inputs]) if service.window else None
        )
        self._report: WindowReport | None = None
        self._cursor = self._cursor_after = 0
        if self._window is not None:
            saved = store.state_get(service.name, SNAPSHOT_STATE, CURSOR_KEY)  # type: ignore[attr-defined]
            self._cursor = self._cursor_after = int(saved or 0)
        self._late = 0
        self._mirror = self._start_mirror() if service.sql else None
        # A store that can commit on another thread (store.Store.commit_soon) does so for plain
        # batches; the loop settles it before deciding it is idle and when it stops.
        self._commit_soon = getattr(store, "commit_soon", None) if not service.sql else None

    @property
    def task_id(self) -> tasks.TaskId:
        return tasks.TaskId(self.service.name, self.task)

    def _inputs(self) -> list[_Input]:
        """The partitions this task reads, in round-robin order (module doc of tasks.py)."""
        service, layout, store = self.service, self.layout, self.store
        counts = [store.partitions(src.topic) for src in service.sources]
        if layout.mode == tasks.SINGLE:
            return [
                _Input(src, q, src.stages + service.stages)
                for src, n in zip(service.sources, counts)
                for q in range(n)
            ]
        if layout.mode == tasks.PARTITIONED:
            return [
                _Input(src, self.task, src.stages + service.stages)
                for src, n in zip(service.sources, counts)
                if self.task < n
            ]
        split = service.repartition
        inputs = [
            _Input(src, self.task, split.sources[i] + split.stages, layout.shards)
            for i, (src, n) in enumerate(zip(service.sources, counts))
            if self.task < n
        ]
        if self.task < layout.shards:
            topic = tasks.repartition_topic(service.name)
            keyed = Source(topic, layout.shards, {"position": "Beginning", "value": 0}, ())
            # Whole stored batches (each a source batch's share) unless there are very many: a
            # read that cuts a stored batch walks its frames in Python (frames.skip).
            reads = max(service.batch_records, REPARTITION_READ)
            inputs.append(_Input(keyed, self.task, split.keyed, repartitioned=True, max_records=reads))
        return inputs

    def _start_mirror(self) -> statesql.Mirror:
        """The SQL tables of the service's states (rows sent by the guest with each query) and
        `from:` references (loaded from their owners' committed changelogs), docs/state-design.md §5."""
        states = (*self.service.states, *self.service.refs)
        mirror = statesql.Mirror(
            (statesql.Table(st.name, st.kind, st.columns) for st in states),
            own=[st.name for st in self.service.states],
            aliases=[(_owner_state(ref.changelog), ref.name) for ref in self.service.refs],
        )
        # every shard of the owners' states: (changelog, partition) -> offset read up to. A reader
        # never creates an owner's changelog: the owner's layout decides its partition count.
        self._read_upto: dict[tuple[str, int], int] = {}
        for guest in self._guests.values():
            guest.sql = mirror.query
        self._mirror = mirror
        self._refresh_refs()
        return mirror

    EXPIRE_EVERY_MS = 1000  # how often rows past their `ttl` are looked for (an O(state) scan)

    def _clock(self, changes: dict) -> None:
        """Give the guests the batch's wall clock; delete rows past their `ttl` at most once per
        EXPIRE_EVERY_MS, their `D` records committed with this batch."""
        now = int(time.time() * 1000)
        for guest in self._guests.values():
            if not guest.expires:
                continue
            if now - self._expired_at >= self.EXPIRE_EVERY_MS:
                self._expired_at = now
                for index, change in guest.expire(now).items():
                    changes.setdefault(index, []).append(change)
            guest.set_now(now)

    _expired_at = 0

    def _refresh_refs(self) -> None:
        """What the owners of the `from:` references committed since the last batch."""
        for ref in self.service.refs:
            try:
                shards = self.store.partitions(ref.changelog)
            except KeyError:  # the owner has not started yet
                continue
            for q in range(shards):
                at = (ref.changelog, q)
                if at not in self._read_upto:
                    self._read_upto[at] = self.store.bounds(ref.changelog, q)[0]
                data, self._read_upto[at] = statelog.read_from(self.store, ref.changelog, self._read_upto[at], q)
                if data:
                    self._mirror.apply(ref.name, data)

    def _committed_state(self) -> dict[int, bytes]:
        """Every state's committed change records, for loading into a fresh instance."""
        settle = getattr(self.store, "settle", None)
        if settle is not None:  # the previous batch's changes may still be on their way
            settle()
        if not self._owns_shard:  # a source-only task of a keyed service holds no state
            return {}
        return {
            i: statelog.read_all(self.store, state.changelog, self.shard)
            for i, state in enumerate(self.service.states)
        }

    def step(self, stopping: threading.Event) -> int:
        """One batch from every input partition; returns the number of records read.

        A windowed service starts each round at the partition after the one it last committed
        (the cursor is committed with every batch), so a restart reads batches in the same order
        as an uninterrupted run: the watermark, and so lateness, come out the same."""
        read = 0
        self.tickers.fire()
        inputs = self._live_inputs()
        if not inputs:  # another worker owns every partition (a consumer-group backend)
            return 0
        first = self._cursor % len(inputs) if self._window is not None else 0
        for j in range(len(inputs)):
            if stopping.is_set():
                return read
            self._cursor_after = (first + j + 1) % len(inputs)
            got = self._batch(inputs[(first + j) % len(inputs)])
            if got:
                self._cursor = self._cursor_after
            read += got
        if read == 0 and self._window is not None:
            now = now_ms()
            self._window.refresh(now, self._pending)  # idle partitions leave the minimum
            self._close_windows(self._window.closing(now))  # idleness
        return read

    def drain(self) -> int:
        """End of input (`until_idle`): flush every open window; returns how many closed."""
        if self._window is None:
            return 0
        return self._close_windows(self._window.drain())

    def _close_windows(self, windows: list) -> int:
        """Flush `windows` and commit that on its own (no input moved)."""
        if not windows:
            return 0
        dead: list[tuple] = []
        changes: dict[int, list[tuple[bytes, int]]] = {}
        outputs = self._flush(windows, dead, changes)
        self._window.close(windows)
        self._commit(outputs, dead, changes, [])
        return len(windows)

    def _flush(self, windows: list, dead: list, changes: dict) -> list[Output]:
        """Run the flush chain over the closing windows, in order; outputs for every sink.
        A second, drop-only call makes sure a window whose flush trapped is dropped too."""
        spec = self.service.window
        where = ("", -1)
        data, count = flush_input(windows)
        flushed, n, _ = self._run(spec.flush[:1], data, count, -1, where, dead, changes)
        drop = spec.flush[0]
        self._run([drop], *flush_input(windows, run=False), -1, where, dead, changes, tally=False)
        flushed, n, _ = self._run(spec.flush[1:], flushed, n, -1, where, dead, changes)
        outputs = []
        for sink in self.service.sinks:
            out, m, _ = self._run(sink.stages, flushed, n, -1, where, dead, changes)
            outputs.append(Output(sink.topic, 0, out, m))
            self.counters.records_out += m
        return outputs

    def _commit(self, outputs: list, dead: list, changes: dict, positions: list, soon: bool = False) -> None:
        """ONE store commit: outputs, changelogs, dead letters, positions, window snapshot.
        `soon`: the store may finish it on another thread while the next batch runs."""
        service = self.service
        for index, parts in sorted(changes.items()):
            # Same commit as the outputs and the position: state and input move together.
            changelog = service.states[index].changelog
            outputs.append(
                Output(changelog, self.shard, b"".join(p[0] for p in parts), sum(p[1] for p in parts))
            )
        if dead:
            # Source-offset order, whatever stage each failed in (as a fused chain gives it).
            dead.sort(key=lambda letter: letter[3])
            outputs.append(Output(service.dead_letters, 0, *frames.build(dead)))
        state = []
        if self._window is not None:
            cursor = str(self._cursor_after if positions else self._cursor).encode()
            state = [*self._window.snapshot(), StateChange(service.name, SNAPSHOT_STATE, CURSOR_KEY, cursor)]
        if soon and self._commit_soon is not None:
            self._commit_soon(outputs, positions, state)
        else:
            self.store.commit(outputs, positions, state)
        self.counters.dead_lettered += len(dead)

    def lag(self) -> int:
        return sum(self.lags().values())

    def lags(self) -> dict[tuple[str, int], int]:
        """Records not read yet, per input partition (topic, partition) of this task."""
        return {i.where: self.store.bounds(*i.where)[1] - self._position(i.source, i.partition) for i in self._live_inputs()}

    def _live_inputs(self) -> list:
        """The inputs this task reads now: all of them, or with a consumer-group backend those
        whose partition is assigned to this worker. A new assignment drops the cached positions
        (another worker may have moved them) and reloads the state from the changelog."""
        owned = getattr(self.store, "owned", None)
        if owned is None:
            return self.inputs
        live = []
        for i in self.inputs:
            partitions, epoch = owned(i.source.topic)
            if epoch != self._epoch:
                if self._epoch is not None:
                    self._positions.clear()
                    if self.service.states:
                        for guest in self._guests.values():
                            guest.reset()
                    if self._window is not None:  # the engine and the round as last committed
                        self._window = Windowing(self.store, self.service, now_ms(), [i.where for i in self.inputs])
                        saved = self.store.state_get(self.service.name, SNAPSHOT_STATE, CURSOR_KEY)
                        self._cursor = self._cursor_after = int(saved or 0)
                self._epoch = epoch
            if i.partition in partitions:
                live.append(i)
        return live

    def fresh_starts(self) -> list[FreshStart]:
        starts = []
        for i in self._live_inputs():
            key = i.where
            if key in self._positions:
                continue
            fresh = self.store.position(self.service.name, *key) is None
            offset = self._position(i.source, i.partition)
            if fresh:
                first = self.store.bounds(*key)[0]
                starts.append(FreshStart(self.service.name, *key, offset, offset - first))
        return starts

    def _position(self, source: Source, partition: int) -> int:
        key = (source.topic, partition)
        if key not in self._positions:
            name = self.service.name
            committed = self.store.position(name, source.topic, partition)
            if committed is None:
                # Resolve Beginning/End/Offset once and persist it, so a restart does not
                # re-resolve End against a topic that has grown meanwhile.
                committed = starting_offset(
                    source.starting_offset, *self.store.bounds(*key)
                )
                self.store.commit(
                    positions=[Position(name, source.topic, partition, None, committed)]
                )
            self._positions[key] = committed
        return self._positions[key]

    def _pending(self, where: tuple[str, int]) -> bool:
        """Does an input partition hold records this task has not read yet?"""
        source = next(i.source for i in self.inputs if i.where == where)
        return self.store.bounds(*where)[1] > self._position(source, where[1])

    def _batch(self, input: _Input) -> int:
        service = self.service
        began = time.perf_counter()
        source, partition = input.source, input.partition
        start = self._position(source, partition)
        batch = self.store.read(source.topic, partition, start, input.max_records or service.batch_records)
        if batch.count == 0:
            return 0
        where = input.where
        dead: list[tuple] = []
        changes: dict[int, list[tuple[bytes, int]]] = {}
        if self._mirror is not None:
            self._refresh_refs()
        self._clock(changes)
        data, count, base = batch.data, batch.count, batch.base_offset
        if len(data) > service.limits.record_bytes:  # only then can a record be over the limit
            data, count, base = self._oversized(data, count, base, where, dead, "")
        try:
            data, count, base = self._run(input.chain, data, count, base, where, dead, changes)
        except MalformedInput:
            raise self._corrupt(source, partition, batch) from None
        outputs = []
        if input.route:
            # keyed records to the task that owns their key's shard (tasks.route)
            topic = tasks.repartition_topic(service.name)
            if count:
                # in the guest when the module can (one call per batch), else frame by frame here
                routed = self._guests[input.chain[-1].module].route(data, input.route) if input.chain else None
                if routed is None:
                    routed = tasks.route(data, input.route)
                outputs = [Output(topic, q, d, n) for q, (d, n) in enumerate(routed) if n]
        else:
            for sink, partitions in zip(service.sinks, self._sink_partitions):
                out, n, _ = self._run(sink.stages, data, count, base, where, dead, changes)
                if len(out) > service.limits.record_bytes:
                    out, n, _ = self._oversized(out, n, -1, where, dead, sink.topic)
                outputs.append(Output(sink.topic, partition % partitions, out, n))
                self.counters.records_out += n
        if self._window is not None:
            # The guest classified the batch; the engine absorbs its report and closes windows.
            now = now_ms()
            late = self._late
            self.counters.late += late
            self._window.absorb(self._report, late, now, where, self._pending)
            self._report, self._late = None, 0
            closing = self._window.closing(now)
            if closing:
                outputs += self._flush(closing, dead, changes)
                self._window.close(closing)
        end = batch.base_offset + batch.count
        self._commit(
            outputs,
            dead,
            changes,
            [Position(service.name, source.topic, partition, start, end)],
            soon=self._window is None,  # windowed: in line, as before (not measured with the thread)
        )
        self._positions[where] = end
        if not input.repartitioned:
            self.counters.records_in += batch.count  # source records (not their repartitioned copies)
        self.counters.batches += 1
        self.counters.observe(time.perf_counter() - began)
        return batch.count

    KEEP_OF_OVERSIZED = 1024  # bytes of an oversized record's value its dead letter keeps

    def _oversized(
        self, data: bytes, count: int, base_offset: int, where: tuple[str, int], dead: list, sink: str
    ) -> tuple[bytes, int, int]:
        """Dead-letter the records over `limits.record_bytes` (key + value) of a batch read from
        a topic (`sink` empty) or about to be written to `sink`; the rest goes on. Records keep
        their source offsets: when some are cut out of a batch read from a topic, the kept frames
        carry them in `origin` and the batch goes on with base offset -1."""
        limit = self.service.limits.record_bytes
        starts = frames.positions(data)
        ends = starts[1:] + [len(data)]
        over = [i for i, (a, b) in enumerate(zip(starts, ends)) if b - a - frames.HEADER_SIZE > limit]
        if not over:
            return data, count, base_offset
        into = f" for topic {sink}" if sink else ""
        for i in over:
            failed = frames.record_at(data, starts[i])
            size = ends[i] - starts[i] - frames.HEADER_SIZE
            dead.append(
                deadletter.record(
                    failed,
                    service=self.service.title,
                    stage="",
                    operator="",
                    kind="limit",
                    reason=f"the record{into} is {size:,} bytes, over the limit of {limit:,} bytes per record"
                    " (limits.record_bytes, run --max-record-bytes)",
                    topic=where[0],
                    partition=where[1],
                    offset=base_offset + i if base_offset >= 0 else failed.origin,
                    keep_bytes=self.KEEP_OF_OVERSIZED,
                )
            )
        cut = set(over)
        kept = bytearray()
        for i, (a, b) in enumerate(zip(starts, ends)):
            if i not in cut:
                at = len(kept)
                kept += data[a:b]
                if base_offset >= 0:  # the offset the guest would have derived from its index
                    frames.HEADER.pack_into(kept, at, *_origin(frames.HEADER.unpack_from(kept, at), base_offset + i))
        return bytes(kept), count - len(over), -1 if base_offset >= 0 else base_offset

    def _corrupt(self, source: Source, partition: int, batch) -> Exception:
        """The stored batch a guest could not frame: the first bad record's offset (docs/runtime.md)."""
        bad = frames.first_bad(batch.data, batch.count)
        index, detail = bad if bad is not None else (0, "a guest found malformed frames")
        offset = batch.base_offset + index
        damaged = getattr(self.store, "damaged", None)
        if damaged is not None:
            return damaged(source.topic, partition, offset, detail)
        return StoreDamaged(f"the stored records of {source.topic}[{partition}] at offset {offset:,} are corrupt ({detail})")

    def _run(
        self,
        stages: Sequence[Stage],
        data: bytes,
        count: int,
        base_offset: int,
        where: tuple[str, int],
        dead: list,
        changes: dict | None = None,
        tally: bool = True,
    ) -> tuple[bytes, int, int]:
        """Run a chain of stages; failed records are appended to `dead` as dead-letter tuples.
        `base_offset` stays the topic offset of the first record until a stage has run.
        `tally`: count the records in the per-stage counters (not for a repeated call).
        """
        for stage in stages:
            if not count:
                break
            # a trap makes a fresh instance: it needs this batch's earlier state changes too
            self._guests[stage.module].uncommitted = (lambda: changes) if changes else None
            window = self._window is not None and stage.export == self.service.window.stage
            if window:
                out = self._guests[stage.module].run(
                    stage.export, data, base_offset, window=True, watermark=self._window.watermark
                )
                self._report = out.window
                self._late = sum(1 for e in out.errors if e.kind == "late")
            else:
                out = self._guests[stage.module].run(stage.export, data, base_offset)
            if changes is not None:
                for index, change in out.changes.items():
                    changes.setdefault(index, []).append(change)
            if tally:
                counts = self.counters.stage(stage)
                counts[0] += count
                counts[1] += out.count
                counts[2] += len(out.errors)
            if out.errors:
                by_operator = self.counters.dead_by_operator
                for error in out.errors:
                    if tally:
                        op = (stage.name, error.operator or stage.name)
                        by_operator[op] = by_operator.get(op, 0) + 1
                    dead.append(
                        deadletter.record(
                            frames.record_at(data, error.pos),
                            service=self.service.title,
                            stage=stage.name,
                            operator=error.operator,
                            kind=error.kind,
                            reason=error.message,
                            topic=where[0],
                            partition=where[1],
                            offset=error.origin,
                        )
                    )
            data, count, base_offset = out.data, out.count, -1
        return data, count, base_offset


def _all_stages(service: Service) -> list[Stage]:
    split = service.repartition
    return [
        *service.stages,
        *((*split.stages, *split.keyed, *(st for part in split.sources for st in part)) if split else ()),
        *(st for source in service.sources for st in source.stages),
        *(st for sink in service.sinks for st in sink.stages),
        *(service.window.flush if service.window else ()),
    ]


class Loop:
    """Round-robin over services until idle or stopped; reports progress every `every` seconds."""

    def __init__(
        self,
        store: TopicBackend,
        services: Sequence[Service],
        *,
        until_idle: bool = False,
        idle_sleep: float = 0.05,
        on_progress: Callable[[str], None] | None = None,
        on_counters: Callable[[dict[str, Counters]], None] | None = None,
        every: float = 1.0,
        stopping: threading.Event | None = None,
        env: Environment | None = None,
        http: HttpClient | None = None,
        tasks: Collection[tasks_.TaskId] | None = None,
    ):
        self._store = store
        # `env`: the variables operators see and where their output goes (wasi.py, oplog.py);
        # `http`: the run's HTTP policy for sdf-http (http_client.py)
        adopt = getattr(store, "adopt", None)
        # A store from before namespacing: each service takes over what its bare name holds, all
        # before any runner creates a topic (a `from:` reader creates its owner's changelog).
        self.adopted = {s.name: adopt(s.title, s.name) for s in services if adopt is not None and s.title != s.name}
        # One runner per task (tasks.py), or per task of `tasks` (a worker's share); a service's
        # tasks share its counters.
        self.runners: list[TaskRunner] = []
        for s in services:
            counters = Counters()
            self.runners += [
                TaskRunner(store, s, env, http, task=t.partition, counters=counters)
                for t in tasks_.tasks_of(s, store)
                if tasks is None or t in tasks
            ]
        if until_idle:  # batch mode fires what fell due up to the start of the run, no more
            start = clock.now_ms()
            for runner in self.runners:
                runner.tickers.horizon_ms = start
        self.until_idle, self.idle_sleep = until_idle, idle_sleep
        self.on_progress, self.on_counters, self.every = on_progress, on_counters, every
        # A caller may pass its own event so a signal that arrives while the modules are
        # still being compiled (before run()) also stops the loop cleanly.
        self.stopping = stopping or threading.Event()
        # "SIGINT" / "SIGTERM" when a signal stopped it
        self.stopped_by: str | None = None
        # Ctrl-C interrupted a guest call: that batch was not committed (the next run redoes it)
        self.interrupted = False
        self._watcher: SignalWatcher | None = None

    def fresh_starts(self) -> list[FreshStart]:
        """Resolve (and commit) the starting position of every source partition that has none
        yet, and say where each started; positions that exist are left alone."""
        return [start for runner in self.runners for start in runner.fresh_starts()]

    def run(self) -> dict[str, Counters]:
        wasm_host.clear_interrupt()
        previous = self._install_signals()
        last = time.monotonic()
        reporting = self.on_progress or self.on_counters
        try:
            while not self.stopping.is_set():
                try:
                    read = sum(runner.step(self.stopping) for runner in self.runners)
                except Interrupted:  # Ctrl-C inside a guest call: that batch is dropped, not committed
                    self.interrupted = True
                    break
                if time.monotonic() - last >= self.every:
                    self._verify()  # the store's files still there and whole (store.Store.verify)
                    if reporting:
                        self.report()
                    last = time.monotonic()
                if read == 0 and self._settle():
                    continue  # the last commit may feed another service: look once more
                if read == 0:
                    # End of input: flush every open window (docs/semantics.md); their
                    # outputs may feed other services, so go round once more.
                    if self.until_idle and not sum(r.drain() for r in self.runners):
                        break
                    if self.until_idle:
                        continue
                    self.stopping.wait(self.idle_sleep)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None
            if sys.exc_info()[0] is None:
                self._settle()
                self._verify()
            else:  # already failing: let the commit in flight finish, keep the first error
                try:
                    self._settle()
                except Exception:
                    pass
        # The final lag goes into the returned counters; `on_counters` is only for the
        # periodic refresh (its caller prints the summary from what run() returns).
        self._lag()
        if self.on_progress:
            for name, counters in self.counters().items():
                self.on_progress(f"{name}: {counters.line()}")
        return self.counters()

    def counters(self) -> dict[str, Counters]:
        return {runner.service.name: runner.counters for runner in self.runners}

    def _lag(self) -> None:
        """Each service's lag: the sum over its tasks."""
        lags: dict[str, int] = {}
        for runner in self.runners:
            lags[runner.service.name] = lags.get(runner.service.name, 0) + runner.lag()
        for runner in self.runners:
            runner.counters.lag = lags[runner.service.name]

    def _settle(self) -> bool:
        """Wait for a commit still in flight; whether there was one."""
        settle = getattr(self._store, "settle", None)
        return bool(settle()) if settle is not None else False

    def _verify(self) -> None:
        verify = getattr(self._store, "verify", None)
        if verify is not None:
            verify()

    def report(self) -> None:
        self._lag()
        if self.on_progress:
            for name, counters in self.counters().items():
                self.on_progress(f"{name}: {counters.line()}")
        if self.on_counters:
            self.on_counters(self.counters())

    def stop(self) -> None:
        self.stopping.set()

    def _install_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, self._on_signal)
        # SIGINT reaches a guest call in progress through this thread (sigwatch.py)
        self._watcher = SignalWatcher(self._interrupt)
        return previous

    def _on_signal(self, signum: int, _frame) -> None:
        self.stopped_by = self.stopped_by or signal.Signals(signum).name
        self.stopping.set()

    def _interrupt(self) -> None:
        """The first Ctrl-C (from the watcher thread): stop, and stop the guest call in progress."""
        self.stopped_by = "SIGINT"
        self.stopping.set()
        wasm_host.interrupt_guests()


def _origin(header: tuple, offset: int) -> tuple:
    """A frame header (frame_len, timestamp, origin, key_len) with its origin set."""
    return (header[0], header[1], offset, header[3])


ServiceRunner = TaskRunner  # the name before tasks: a runner of task 0 of a single-task service


def _owner_state(changelog: str) -> str:
    """`commentlist` of the changelog `dedup-tracker-comment.commentlist.changelog`."""
    return changelog[: -len(".changelog")].rsplit(".", 1)[-1] if changelog.endswith(".changelog") else changelog

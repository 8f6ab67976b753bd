"""One worker process of `run --workers N` (docs/scale-out.md): runs the tasks it holds leases on.

A task is (service, task partition). The worker registers in the store, takes its fair share of
the tasks (at most ceil(tasks / live workers)) by acquiring their leases, runs a ServiceRunner per
task over a store connection of its own whose every commit carries the task's lease epoch
(`FencedStore`), renews its leases and heartbeat every second on a thread, hands tasks back when
more workers are live, and takes over tasks whose leases expired. A commit refused because the
epoch moved on (`Fenced`: this worker was paused past its lease and another took the task over)
drops that task and its uncommitted batch; it is never retried.

With `until_idle` a worker publishes `idle:F` when a whole round over its tasks read nothing with
the store fingerprint F unchanged around it; when every task of the run is idle at F it drains
its windows (as one process does at the end of its input) and, once nothing was left to flush,
publishes `done:F`. The supervisor ends the run when every task is held by a live worker `done`
at the current fingerprint (storeleases.StoreLeases.all_idle).
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from typing import Callable, Sequence

from .backend import Fence, Fenced
from . import tasks
from .loop import Counters, ServiceRunner
from .service import Service
from .store import Store

DEFAULT_TTL = 4.0  # seconds a lease lives without renewal; SSCC_LEASE_TTL overrides (tests)
IDLE_SLEEP = 0.05


def lease_ttl() -> float:
    try:
        ttl = float(os.environ.get("SSCC_LEASE_TTL", DEFAULT_TTL))
    except ValueError:
        ttl = DEFAULT_TTL
    return ttl if ttl > 0 else DEFAULT_TTL


def renew_every(ttl: float) -> float:
    """How often leases are renewed: every second, more often for a short TTL."""
    return min(1.0, ttl / 4)


def tasks_of(store, svc: Service) -> list[int]:
    """The task partitions of a service (tasks.py: one per partition of a stateless service, P of
    a keyed one, one of a windowed one), the same list in every worker and the supervisor."""
    return [t.partition for t in tasks.tasks_of(svc, store)]


def all_tasks(store, services: Sequence[Service]) -> list[tuple[str, int]]:
    for svc in services:
        for source in svc.sources:
            store.ensure_topic(source.topic, source.partitions)
    return [(svc.name, task) for svc in services for task in tasks_of(store, svc)]


class FencedStore:
    """A task's view of the store: every commit carries the task's lease epoch (on a backend
    that takes a `fence`; a broker backend is told which lease it commits under, `hold`, and
    fences through it itself: NATS compares the epoch in the service's commit document)."""

    def __init__(self, store: Store, fence: Fence):
        self._store, self.fence = store, fence
        self._extra = {"fence": fence} if getattr(store, "FENCES_COMMITS", False) else {}
        if not self._extra:
            store.hold(fence.service, fence.task, fence.epoch)

    def commit(self, outputs=(), positions=(), state_changes=()):
        return self._store.commit(outputs, positions, state_changes, **self._extra)

    def commit_soon(self, outputs=(), positions=(), state_changes=()):
        return self._store.commit_soon(outputs, positions, state_changes, **self._extra)

    def __getattr__(self, name):
        return getattr(self._store, name)


class _Task:
    """A task this worker holds: its lease epoch, its store connection and its runner."""

    def __init__(self, service: Service, task: int, epoch: int):
        self.service, self.task, self.epoch = service, task, epoch
        self.store: Store | None = None
        self.runner: ServiceRunner | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.service.name, self.task)

    def close(self) -> None:
        if self.store is not None:
            try:
                self.store.close()
            except Fenced:  # the commit in flight was refused: nothing of it is stored
                pass
            self.store = None


def _add(total: Counters, c: Counters) -> None:
    total.records_in += c.records_in
    total.records_out += c.records_out
    total.dead_lettered += c.dead_lettered
    total.batches += c.batches
    total.late += c.late


class Worker:
    def __init__(
        self,
        connect: Callable[[], Store],
        services: Sequence[Service],
        *,
        expected: int,
        until_idle: bool,
        stopping: threading.Event,
        make_runner: Callable[[FencedStore, Service, int | None], ServiceRunner],
        index: int = 0,
        ttl: float | None = None,
        log=sys.stderr,
    ):
        # a new connection to the store (or broker): one per task, the heartbeat's, the worker's
        self.connect, self.services = connect, list(services)
        self.by_name = {svc.name: svc for svc in self.services}
        self.expected, self.index, self.until_idle = expected, index, until_idle
        self.stopping, self.make_runner, self.log = stopping, make_runner, log
        self.ttl = ttl or lease_ttl()
        self.id = f"{os.uname().nodename}:{os.getpid()}"
        self.owned: dict[tuple[str, int], _Task] = {}
        self.retired = Counters()  # counters of tasks this worker no longer runs
        self._lock = threading.Lock()  # guards `held` and `lost` between the loop and the heartbeat
        self.held: dict[tuple[str, int], int] = {}
        self.lost: set[tuple[str, int, int]] = set()
        self._idle_at: str | None = None
        self._beat_error: BaseException | None = None

    # the lease heartbeat -------------------------------------------------------------------

    def _heartbeat(self, done: threading.Event) -> None:
        """Renew every lease held and write the heartbeat (with the counters for the progress
        line and `status`) every `renew_every(ttl)` seconds, on a connection of its own."""
        try:
            with self.connect() as store:
                while not done.wait(renew_every(self.ttl)):
                    self._beat(store)
        except BaseException as exc:  # noqa: BLE001 - the loop reports it and stops
            self._beat_error = exc
            self.stopping.set()

    def _beat(self, store: Store, final: bool = False) -> None:
        with self._lock:
            held = [(service, task, epoch) for (service, task), epoch in self.held.items()]
        lost = store.renew_all(self.id, held, 0 if final else self.ttl, {"idle_at": self._idle_at, "counters": self.counters_json()})
        if lost:
            with self._lock:
                self.lost.update(lost)

    def counters(self) -> Counters:
        total = Counters()
        _add(total, self.retired)
        for own in list(self.owned.values()):
            if own.runner is not None:
                _add(total, own.runner.counters)
        return total

    def counters_json(self) -> str:
        c = self.counters()
        return json.dumps({"in": c.records_in, "out": c.records_out, "dead": c.dead_lettered,
                           "batches": c.batches, "late": c.late})  # fmt: skip

    # leases ----------------------------------------------------------------------------------

    def _balance(self, store: Store, tasks: list[tuple[str, int]]) -> bool:
        """Drop lost tasks, hand back tasks above the fair share, take free or expired ones up
        to it; whether the set of tasks changed."""
        changed = False
        with self._lock:
            lost, self.lost = self.lost, set()
        for service, task, epoch in lost:
            own = self.owned.get((service, task))
            if own is not None and own.epoch == epoch:
                self._drop(own, "its lease expired and another worker took it over")
                changed = True
        now = time.time()
        live = sum(1 for row in store.workers() if row[4] + row[5] > now)
        share = math.ceil(len(tasks) / max(live, 1))
        while len(self.owned) > share:
            own = self.owned[sorted(self.owned)[-1]]
            self._release(own)
            changed = True
        if len(self.owned) < share:
            held = {(lease.service, lease.task) for lease in store.leases() if lease.expires_at > now}
            # Each worker starts looking at its own place in the list, so that workers starting
            # together take different tasks instead of racing for the same ones.
            start = (self.index * share) % max(len(tasks), 1)
            for key in tasks[start:] + tasks[:start]:
                if len(self.owned) >= share or self.stopping.is_set():
                    break
                if key in self.owned or key in held:
                    continue
                epoch = store.acquire(key[0], key[1], self.id, self.ttl)
                if epoch is not None:
                    self._start(key, epoch)
                    changed = True
        return changed

    def _start(self, key: tuple[str, int], epoch: int) -> None:
        svc = self.by_name[key[0]]
        own = _Task(svc, key[1], epoch)
        with self._lock:
            self.held[key] = epoch  # renewed from now on, even while the runner restores its state
        self.owned[key] = own
        try:
            own.store = self.connect()
            fenced = FencedStore(own.store, Fence(svc.name, key[1], epoch))
            own.runner = self.make_runner(fenced, svc, key[1])
        except Fenced as exc:
            self._drop(own, f"its lease moved on while it started ({exc})")

    def _forget(self, own: _Task) -> None:
        self.owned.pop(own.key, None)
        with self._lock:
            if self.held.get(own.key) == own.epoch:
                del self.held[own.key]
        if own.runner is not None:
            _add(self.retired, own.runner.counters)
            own.runner = None

    def _drop(self, own: _Task, why: str) -> None:
        """A task lost to another worker: forget it without committing anything more."""
        self._forget(own)
        own.close()
        print(
            f"worker {self.id}: dropped task {own.service.name}[{own.task}] (epoch {own.epoch}): {why};"
            " its uncommitted batch, if any, was not committed",
            file=self.log,
            flush=True,
        )

    def _release(self, own: _Task) -> None:
        """Hand a task over cleanly: commit what is in flight, then free the lease."""
        try:
            own.store.settle()
        except Fenced as exc:
            self._drop(own, f"a commit was refused: {exc}")
            return
        self._forget(own)
        try:  # on the task's own connection: a broker connection costs a connect
            own.store.release(own.service.name, own.task, self.id, own.epoch)
        finally:
            own.close()

    # the loop ----------------------------------------------------------------------------------

    def _guarded(self, own: _Task, call: Callable[[ServiceRunner], int]) -> int:
        try:
            return call(own.runner)
        except Fenced as exc:
            self._drop(own, f"a commit was refused: {exc}")
            return 0

    def _settle(self, own: _Task) -> int:
        return int(bool(own.store.settle()))

    def run(self) -> None:
        store = self.connect()
        store.register_worker(self.id, os.getpid(), os.uname().nodename, self.ttl)
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(done,), name="sscc-lease", daemon=True)
        beat.start()
        try:
            tasks = all_tasks(store, self.services)
            # Workers started together wait (briefly) for each other, so the first one does not
            # take every task only to hand most of them back a second later.
            deadline = time.monotonic() + 1.0
            while len(store.workers()) < self.expected and time.monotonic() < deadline and not self.stopping.is_set():
                time.sleep(0.01)
            self._loop(store, tasks)
        except BaseException:
            done.set()
            beat.join()
            try:  # hand over what can be handed over; the first error is the one reported
                self._stop(store)
            except Exception:  # noqa: BLE001
                pass
            store.close()
            raise
        done.set()
        beat.join()
        self._stop(store)
        store.close()
        if self._beat_error is not None:
            raise self._beat_error

    def _loop(self, store: Store, tasks: list[tuple[str, int]]) -> None:
        every = renew_every(self.ttl)
        next_balance = 0.0
        previous: str | None = None  # the fingerprint after the last idle round
        while not self.stopping.is_set():
            if time.monotonic() >= next_balance:
                if self._balance(store, tasks):
                    previous = None
                next_balance = time.monotonic() + every
            read = sum(self._guarded(own, lambda r: r.step(self.stopping)) for own in list(self.owned.values()))
            if read:
                previous = None
                continue
            if sum(self._guarded(own, lambda r, o=own: self._settle(o)) for own in list(self.owned.values())):
                previous = None
                continue  # the last commit may feed another task of this worker: look once more
            if self.until_idle:
                now = store.fingerprint()
                if now == previous:
                    # A whole round read nothing and nothing was committed around it.
                    if self._idle_at not in (f"idle:{now}", f"done:{now}"):
                        self._publish(store, f"idle:{now}")
                    # Windows are drained only when every task of the run is idle (as one
                    # process drains after a round over every service read nothing): an
                    # upstream task of another worker may still feed them.
                    if self._idle_at != f"done:{now}" and store.all_idle(tasks) == now:
                        if sum(self._guarded(own, lambda r: r.drain()) for own in list(self.owned.values())):
                            previous = None
                            continue
                        self._publish(store, f"done:{now}")
                first, previous = previous is None, now
                if first:
                    continue  # the confirming round at once: the run may be over
            self.stopping.wait(IDLE_SLEEP)

    def _publish(self, store: Store, idle_at: str) -> None:
        self._idle_at = idle_at
        store.set_idle(self.id, idle_at)

    def _stop(self, store: Store) -> None:
        """Commit what is in flight, free every lease, write the final counters (heartbeat 0:
        not live any more; the supervisor removes the row)."""
        for own in list(self.owned.values()):
            self._release(own)
        self._idle_at = None
        self._beat(store, final=True)
        store.worker_stopped(self.id)

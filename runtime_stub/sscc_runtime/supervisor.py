"""`run --workers N`: N worker processes (workers.py) forked by this supervisor (docs/scale-out.md).

The supervisor runs no task itself. It forks the workers after the runtime is imported and before
any wasm engine, thread or store connection of theirs exists (a fork costs milliseconds, an
interpreter start-up a few hundred), then:
- respawns a worker killed by a signal; since that process is gone (reaped), nothing of it can
  commit any more, so its leases are freed at once and the live workers take its tasks over
  without waiting for them to expire (a paused worker's leases do expire: workers.py);
- stops every worker when one fails (exit 1) or when it is told to (SIGINT/SIGTERM, forwarded:
  each worker finishes its batch, commits, releases its leases and exits);
- with `until_idle`, ends the run when every task is held by a live worker that found it idle at
  the current store fingerprint (StoreLeases.all_idle);
- prints the progress line: the sum of the counters the workers write with their heartbeats, and
  the lag over every source partition read from the store.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
import time
from typing import Callable, Sequence

from .loop import Counters
from .service import Service
from .store import Store
from .storeleases import pid_alive
from .workers import Worker, all_tasks

POLL = 0.02  # how often the supervisor looks at its workers and the store
BROKER_POLL = 0.2  # ... and at a broker's KV buckets
# A worker killed by a signal is replaced, unless workers keep dying (a crash at start-up):
MAX_DEATHS, DEATH_WINDOW = 30, 30.0


def _die_with_parent() -> None:
    """A worker gets SIGTERM (a clean stop) when the supervisor dies, even by kill -9 (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def lag(store: Store, services: Sequence[Service]) -> int:
    total = 0
    for svc in services:
        for source in svc.sources:
            for partition in range(store.partitions(source.topic)):
                first, end = store.bounds(source.topic, partition)
                position = store.position(svc.name, source.topic, partition)
                total += max(end - (first if position is None else position), 0)
    return total


def _counters(row_json: str | None) -> Counters:
    c = Counters()
    if row_json:
        data = json.loads(row_json)
        c.records_in, c.records_out, c.dead_lettered = data["in"], data["out"], data["dead"]
        c.batches, c.late = data["batches"], data["late"]
    return c


class Supervisor:
    def __init__(
        self,
        connect: Callable[[], Store],
        services: Sequence[Service],
        workers: int,
        *,
        until_idle: bool,
        stopping: threading.Event,
        child: Callable[[Callable[[], None]], int],
        make_runner_factory: Callable[[], Callable],
        quiet: bool = False,
        log=sys.stderr,
    ):
        self.connect, self.services, self.n = connect, list(services), workers
        # A broker answers over the network: look at the run's state less often than a store file.
        self.poll = POLL if getattr(connect, "local", True) else BROKER_POLL
        self.until_idle, self.stopping, self.quiet, self.log = until_idle, stopping, quiet, log
        self.child, self.make_runner_factory = child, make_runner_factory
        self.children: dict[int, int] = {}  # pid -> worker index
        self.finished: dict[str, Counters] = {}  # final counters of workers gone
        self.done = False
        self.failed = 0
        self.deaths: list[float] = []  # when workers died by a signal (monotonic)

    def _spawn(self, index: int) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns; os._exit leaves the supervisor's objects alone
            code = 1
            try:
                _die_with_parent()
                if os.getppid() == 1:
                    os._exit(0)
                code = self.child(lambda: self._work(index))
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        self.children[pid] = index
        return pid

    def _work(self, index: int) -> int:
        Worker(
            self.connect,
            self.services,
            expected=self.n,
            until_idle=self.until_idle,
            stopping=self.stopping,
            make_runner=self.make_runner_factory(),
            index=index,
        ).run()
        return 0

    def _note(self, text: str) -> None:
        if not self.quiet:
            print(f"note: {text}", file=self.log, flush=True)

    def run(self, store: Store, progress=None, every: float = 1.0) -> dict[str, Counters]:
        self._clean(store)
        tasks = all_tasks(store, self.services)
        for index in range(self.n):
            self._spawn(index)
        told = False
        last = time.monotonic()
        while self.children:
            self._reap(store)
            if (self.stopping.is_set() or self.failed) and not told:
                told = self._tell_all()
            if not told and self.until_idle and store.all_idle(tasks, drained=True):
                self.done = True
                told = self._tell_all()
            if progress is not None and time.monotonic() - last >= every:
                progress.update(self.counters(store))
                last = time.monotonic()
            if self.children:
                time.sleep(self.poll)
        return self.counters(store)

    def _tell_all(self) -> bool:
        for pid in self.children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        return True

    def _reap(self, store: Store) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            index = self.children.pop(pid, None)
            if index is None:
                continue
            worker = f"{os.uname().nodename}:{pid}"
            row = next((r for r in store.workers() if r[0] == worker), None)
            if row is not None:
                self.finished[f"{worker}/{len(self.finished)}"] = _counters(row[7])
            # Its process is gone, so it cannot commit any more: free its leases now.
            store.remove_worker(worker, release=True)
            code = os.waitstatus_to_exitcode(status)
            if code < 0 and not self.stopping.is_set() and not self.done and not self.failed:
                now = time.monotonic()
                self.deaths = [t for t in self.deaths if now - t < DEATH_WINDOW] + [now]
                if len(self.deaths) > MAX_DEATHS:
                    print(
                        f"error: {len(self.deaths)} workers died by a signal within {DEATH_WINDOW:.0f} s"
                        f" (the last: {signal.Signals(-code).name}); stopping the run",
                        file=self.log, flush=True,
                    )  # fmt: skip
                    self.failed = 1
                    continue
                new = self._spawn(index)
                self._note(
                    f"worker {worker} was killed by {signal.Signals(-code).name}; the other workers take its"
                    f" tasks over; started worker {os.uname().nodename}:{new}"
                )
            elif code > 0:  # it printed its error; the run stops and exits 1
                self.failed = 1

    def counters(self, store: Store) -> dict[str, Counters]:
        out = dict(self.finished)
        for row in store.workers():
            if row[1] in self.children and row[0] == f"{row[2]}:{row[1]}":
                out[row[0]] = _counters(row[7])
        first = next(iter(out.values()), None)
        if first is None:
            first = out["-"] = Counters()
        first.lag = lag(store, self.services)
        return out

    def _clean(self, store: Store) -> None:
        """Rows of workers of this machine whose process is gone (a supervisor killed with -9)."""
        host = os.uname().nodename
        for worker, pid, where, *_ in store.workers():
            if where == host and not pid_alive(pid):
                store.remove_worker(worker, release=True)

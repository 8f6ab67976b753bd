"""One case: a fresh embedded store, the inputs produced, the pipeline run until idle, the
expected topics read back.

Records are produced like `sscc topic produce` does (keyed: partition crc32(key) mod partitions;
unkeyed: round-robin; timestamp: the wall time in ms) with the embedded store's own code
(sscc's copy of the runtime, the same code the project carries). Outputs are read partition by
partition, each in offset order.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .project import Prepared
from .spec import Case, Record, as_bytes


@dataclass
class Received:
    """A record as read back: key bytes (or None) and value bytes."""

    key: bytes | None
    value: bytes
    timestamp: int = 0


@dataclass
class Outcome:
    """What running one case gave: the records of every expected topic, or an error."""

    topics: dict[str, list[Received]] = field(default_factory=dict)
    error: str | None = None
    log: str = ""  # the run's stderr (notes, operator output with --verbose, `error:` lines)
    seconds: float = 0.0


def run_case(prepared: Prepared, case: Case, verbose: bool = False) -> Outcome:
    from ..runtime_stub.sscc_runtime.store import Store

    started = time.monotonic()
    out = Outcome()
    where = Path(tempfile.mkdtemp(prefix="sscc-test-"))
    try:
        store_dir = where / "store"
        store_dir.mkdir()
        args = [f"--env={k}={v}" for k, v in case.env.items()]
        args += [] if case.http else ["--no-http"]
        args += [] if verbose else ["--quiet"]
        for phase in case.phases:
            with Store(store_dir / "store.db") as store:
                for topic, records in phase.items():
                    _produce(store, prepared.store_name(topic), prepared.partitions(topic), records)
            code, log = _run(prepared, store_dir, args, verbose)
            out.log += log
            if code != 0:
                out.error = f"the run exited {code}" + (f": {_last_error(log)}" if _last_error(log) else "")
                return out
        if not case.phases:  # no input: the pipeline still runs once (schedules, empty topics)
            code, log = _run(prepared, store_dir, args, verbose)
            out.log += log
            if code != 0:
                out.error = f"the run exited {code}" + (f": {_last_error(log)}" if _last_error(log) else "")
                return out
        with Store(store_dir / "store.db") as store:
            existing = store.topics()
            for topic in case.expect:
                name = prepared.store_name(topic)
                if name not in existing:  # a service's own topic named without its pipeline (names.py)
                    owned = [n for n in existing if n.endswith("." + topic)]
                    name = owned[0] if len(owned) == 1 else name
                out.topics[topic] = _read(store, name, existing.get(name, 0))
        return out
    finally:
        out.seconds = time.monotonic() - started
        shutil.rmtree(where, ignore_errors=True)


def _produce(store, topic: str, partitions: int, records: list[Record]) -> None:
    from ..runtime_stub.sscc_runtime import frames

    partitions = store.ensure_topic(topic, partitions)
    batches: list[list[bytes]] = [[] for _ in range(partitions)]
    unkeyed = 0
    now = int(time.time() * 1000)
    for rec in records:
        key = as_bytes(rec.key) if rec.keyed else None
        if key is not None:
            partition = zlib.crc32(key) % partitions
        else:
            partition, unkeyed = unkeyed % partitions, unkeyed + 1
        batches[partition].append(frames.encode(key, as_bytes(rec.value), now if rec.timestamp is None else rec.timestamp))
    for partition, frames_ in enumerate(batches):
        if frames_:
            store.append(topic, partition, b"".join(frames_), len(frames_))


def _read(store, topic: str, partitions: int) -> list[Received]:
    from ..runtime_stub.sscc_runtime import frames

    out = []
    for partition in range(partitions):
        offset = store.bounds(topic, partition)[0]
        while True:
            batch = store.read(topic, partition, offset, 4096)
            if not batch.count:
                break
            out += [Received(r.key, r.value, r.timestamp) for r in frames.iter_records(batch.data)]
            offset = batch.base_offset + batch.count
    return out


def _run(prepared: Prepared, store: Path, args: list[str], verbose: bool) -> tuple[int, str]:
    """Run the pipeline until idle; (exit code, its stderr). With `verbose` stderr is shown live."""
    with _interrupts():
        if verbose or prepared.pipeline is None:
            return prepared.run(store, args), ""
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = prepared.run(store, args)
        return code, err.getvalue()


@contextlib.contextmanager
def _interrupts():
    """Ctrl-C / SIGTERM during an in-process run: the run's own handler stops its loop cleanly
    and returns, so `sscc test` would go on to the next case. A wakeup fd (which the run's
    handlers leave alone) tells that a signal came; then the test run stops too."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    try:
        previous = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except ValueError:  # not the main thread: no way to tell, run as is
        os.close(r)
        os.close(w)
        yield
        return
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        try:
            got = os.read(r, 256)
        except BlockingIOError:
            got = b""
        os.close(r)
        os.close(w)
    if signal.SIGINT in got or signal.SIGTERM in got:
        raise KeyboardInterrupt


def _last_error(log: str) -> str:
    lines = [line for line in log.splitlines() if line.startswith("error:")]
    return lines[-1][len("error:") :].strip() if lines else ""


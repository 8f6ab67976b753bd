"""The sscc side of the issue-4 benchmarks (bench/wc.py, win.py, hicard.py), shared.

`Project.compile(pipeline, workdir)` runs `sscc compile` and imports the emitted project's own
runtime (as bench/state_wordcount.py does); a pipeline this build cannot compile yet raises
`NotRunnable` with the compiler's first error line, so a benchmark can still print the other
systems' numbers. The timed part is only the in-process `Loop(store, services,
until_idle=True).run()` of `python -m NAME run --until-idle`: input is produced into the store
beforehand, and results are read back afterwards (sink topics, state changelogs, dead letters)
so the caller can check them against its reference before printing any rate.

Also here: the peak-RSS readers used by the per-system subprocesses of hicard.py.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterable

BATCH = 4096  # records per produced batch, as `topic produce` writes them


class NotRunnable(Exception):
    """The pipeline does not compile in this build of sscc (the message says why)."""


def first_error(stderr: str) -> str:
    """The first `error[...]` line of a compiler run, shortened to what matters."""
    for line in stderr.splitlines():
        if "error[" in line:
            return line[line.index("error[") :].strip()
    return stderr.strip().splitlines()[-1] if stderr.strip() else "sscc compile failed"


class Project:
    """An emitted project, compiled from `pipeline` into `workdir/<stem>`, with its runtime loaded."""

    def __init__(self, root: Path, package: str):
        self.root, self.package = root, package
        self.dir = root / package
        self._stores = itertools.count()
        sys.path.insert(0, str(root))
        mod = lambda name: importlib.import_module(f"{package}.sscc_runtime.{name}")  # noqa: E731
        self.rt = SimpleNamespace(
            frames=mod("frames"),
            service=mod("service"),
            app=mod("app"),
            loop=mod("loop"),
            store=mod("store"),
            statelog=mod("statelog"),
        )

    @classmethod
    def compile(cls, pipeline: Path, workdir: Path) -> "Project":
        out = Path(workdir) / pipeline.stem
        done = subprocess.run(
            [sys.executable, "-m", "sscc", "compile", str(pipeline), "-o", str(out)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise NotRunnable(first_error(done.stderr))
        packages = [p.parent.name for p in out.glob("*/services.json")]
        if len(packages) != 1:
            raise NotRunnable(f"no single package with services.json in {out}")
        return cls(out, packages[0])

    def services(self) -> list:
        """The services in batch mode: sources start at the beginning of what the topics hold."""
        rt = self.rt
        desc = json.loads((self.dir / "services.json").read_text())
        return [rt.app.batch_mode(s) for s in rt.service.load(desc, self.dir)]

    def store(self, path: Path):
        return self.rt.store.Store(Path(path))

    def new_store_path(self, workdir: Path) -> Path:
        """A store path in `workdir` that no earlier call returned (every run starts from nothing)."""
        return Path(workdir) / f"{self.package}-{next(self._stores)}.db"

    def new_store(self, workdir: Path):
        return self.store(self.new_store_path(workdir))

    def produce(self, store, topic: str, values: Iterable[bytes], keys: Iterable[bytes] | None = None) -> int:
        """Append values (bytes) to partition 0 of `topic` in framed batches; returns the count."""
        store.ensure_topic(topic, 1)
        records = list(zip(keys, values) if keys is not None else ((None, v) for v in values))
        for i in range(0, len(records), BATCH):
            store.append(topic, 0, *self.rt.frames.build(records[i : i + BATCH]))
        return len(records)

    def run(self, store, services: list | None = None) -> float:
        """Run every service until idle; returns the seconds the loop took (its per-service
        counters are left in `self.counters`)."""
        services = self.services() if services is None else services
        loop = self.rt.loop.Loop(store, services, until_idle=True)
        start = time.perf_counter()
        self.counters = loop.run()
        return time.perf_counter() - start

    def consume(self, store, topic: str) -> list[Any]:
        """Every value of `topic` (partition 0), JSON-decoded, oldest first."""
        data = self.rt.statelog.read_all(store, topic)
        return [json.loads(r.value) for r in self.rt.frames.iter_records(data)]

    def topic_count(self, store, topic: str) -> int:
        if topic not in store.topics():
            return 0
        first, end = store.bounds(topic, 0)
        return end - first

    def key(self, service: str) -> str:
        """The store's name of a service (`namespace.pipeline.service`) from its own name."""
        for svc in self.services():
            if svc.name == service or svc.name.rsplit(".", 1)[-1] == service:
                return svc.name
        return service

    def dead_letters(self, store, service: str) -> list[dict]:
        topic = f"{self.key(service)}.dead-letters"
        return self.consume(store, topic) if topic in store.topics() else []

    def state(self, store, service: str, state: str) -> dict[str, Any]:
        """The state's global-window contents after the run: key text -> value (decoded JSON)."""
        sl = self.rt.statelog
        return sl.replay(sl.read_all(store, sl.changelog(self.key(service), state)))


def column(values: dict[str, Any], name: str) -> dict[str, Any]:
    """Value-state values as they are; arrow-row values (JSON objects) reduced to one column."""
    return {k: (v[name] if isinstance(v, dict) else v) for k, v in values.items()}


def peak_rss_kb() -> int:
    """This process's peak resident set size (VmHWM), in kB."""
    return _status_kb("VmHWM")


def rss_kb() -> int:
    """This process's current resident set size (VmRSS), in kB."""
    return _status_kb("VmRSS")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def arguments(doc: str, default_n: int, what: str) -> argparse.ArgumentParser:
    """The options every issue-4 benchmark takes: -n to scale it, Bytewax's source batch size."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("-n", type=int, default=default_n, help=f"{what} (default {default_n:,})")
    ap.add_argument(
        "--bytewax-batch", type=int, default=4096, help="Bytewax TestingSource batch size (default 4096)"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every system R times and keep its fastest run (less noise on a shared machine)",
    )
    return ap


def best_of(repeat: int, run: Callable[[], tuple[float, Any]], check: Callable[[Any], bool]) -> float | None:
    """The fastest of `repeat` runs of `run` (each returning seconds and a result), or None if any
    run's result fails `check` (which records why): only correct runs have a rate."""
    times = []
    for _ in range(max(1, repeat)):
        seconds, result = run()
        if not check(result):
            return None
        times.append(seconds)
    return min(times)


def time_variants(
    variants: dict[str, str],
    pipelines: Path,
    repeat: int,
    run: Callable[[Project, Path], tuple[float, Any]],
    check: Callable[[str, Any], bool],
    count: int,
    unit: str,
    rates: dict[str, float],
    widths: tuple[int, int] = (21, 12),
) -> None:
    """Compile each sscc variant (name -> pipeline file), keep its fastest correct run of
    `run(project, workdir)`, and print and record its rate as `rates["sscc (<name>)"]`; a variant
    this build cannot compile is reported as not runnable."""
    with tempfile.TemporaryDirectory() as tmp:
        for variant, file in variants.items():
            name = f"sscc ({variant})"
            try:
                project = Project.compile(pipelines / file, Path(tmp))
            except NotRunnable as e:
                print(f"{name}: not runnable in this build: {e}")
                continue
            seconds = best_of(
                repeat, lambda p=project: run(p, Path(tmp)), lambda got, n=name: check(n, got)
            )
            if seconds:
                rates[name] = count / seconds
                print(
                    f"{name + ':':<{widths[0]}} {rates[name]:>{widths[1]},.0f} {unit}/s "
                    f"({seconds:.2f} s, store to store, durable)"
                )


def finish(failures: list[str]) -> None:
    """Report every wrong result on stderr; exit 1 if there was one (a wrong run has no rate)."""
    for failure in failures:
        print(f"MISMATCH {failure}", file=sys.stderr)
    sys.exit(1 if failures else 0)


def ratio(a: float | None, b: float | None) -> str:
    """`a / b` as `1.23x`, or `n/a` when either side did not run."""
    return f"{a / b:.2f}x" if a and b else "n/a"

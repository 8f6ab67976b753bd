"""Where a batch-mode run's time goes: the run loop of `sscc run --until-idle`, split into parts.

    python3 bench/profile_hotpath.py [--chain N] [--wc N] [--repeat R] [--batch-records B]

Compiles examples/order-totals (the stateless chain of bench/chain.py) and
bench/pipelines/wc_arrow.yaml (the word count of bench/wc.py) with `sscc compile` (cached),
produces their input as `topic produce` does (records framed in PRODUCE_BATCH-record appends),
and runs each emitted project's `Loop(store, services, until_idle=True)` with timers around its
parts: reading batches out of the store, the guest calls (and within them the copies into and
out of guest memory), the store commit, and the rest (the loop's own Python). Then the same
guest over the same batches held in memory, with no store at all: the floor the loop can reach.
Prints milliseconds per part and per million records, best of `--repeat` runs (this machine is
shared; noise only ever slows a run down). Times are in-process; start-up is not included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _sscc_run import Project  # noqa: E402
import wc  # noqa: E402 - its sentences

CHAIN = ROOT / "examples" / "order-totals" / "dataflow.yaml"
WC = ROOT / "bench" / "pipelines" / "wc_arrow.yaml"


def order(i: int) -> bytes:
    """bench/chain.py's orders: a fifth have qty 0, every 10,007th is rejected by the map."""
    qty = 5000 if i % 10_007 == 0 else i % 5
    return b'{"id":%d,"item":"item-%d","qty":%d,"price":%d.25}' % (i, i % 1000, qty, i % 97)


def compile_project(pipeline: Path, tmp: Path, runtime: Path | None) -> Project:
    """`sscc compile` (as _sscc_run.Project.compile), the emitted runtime swapped for `runtime`."""
    out = tmp / pipeline.stem
    done = subprocess.run(
        [sys.executable, "-m", "sscc", "compile", str(pipeline), "-o", str(out)], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(done.stderr)
    (package,) = [p.parent.name for p in out.glob("*/services.json")]
    if runtime is not None:
        shutil.rmtree(out / package / "sscc_runtime")
        shutil.copytree(runtime, out / package / "sscc_runtime")
    return Project(out, package)


def sentences(n_words: int, seed: int = 1) -> list[bytes]:
    """bench/wc.py's sentences, encoded."""
    return [line.encode() for line in wc.sentences(n_words, seed)]


class Timers:
    """Wraps methods with perf_counter timers; `parts` accumulates seconds per label."""

    def __init__(self):
        self.parts: dict[str, float] = defaultdict(float)
        self._undo: list = []
        self._active: set[str] = set()

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)
        parts, clock, active = self.parts, time.perf_counter, self._active

        def timed(*args, **kwargs):
            if label in active:  # nested in a timed call of the same part: counted there
                return original(*args, **kwargs)
            active.add(label)
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                parts[label] += clock() - start
                active.discard(label)

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def undo(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


def produce(project: Project, store, topic: str, values: list[bytes]) -> None:
    """As `topic produce` stores lines: produce.BATCH records per append."""
    rt = project.rt
    batch = sys.modules[f"{project.package}.sscc_runtime.produce"].BATCH
    store.ensure_topic(topic, 1)
    now = int(time.time() * 1000)
    for i in range(0, len(values), batch):
        store.append(topic, 0, *rt.frames.build((None, v, now) for v in values[i : i + batch]))


def profiled_run(project: Project, tmp: Path, topic: str, values: list[bytes], batch_records: int | None):
    """One timed run of the loop over a fresh store; (total seconds, parts, counters)."""
    rt = project.rt
    wasm_host = sys.modules[f"{project.package}.sscc_runtime.wasm_host"]
    fastcall = sys.modules[f"{project.package}.sscc_runtime.fastcall"]
    services = project.services()
    if batch_records:
        import dataclasses

        services = [dataclasses.replace(s, batch_records=batch_records) for s in services]
    with project.new_store(tmp) as store:
        produce(project, store, topic, values)
        loop = rt.loop.Loop(store, services, until_idle=True)
        timers = Timers()
        timers.wrap(rt.store.Store, "read", "store read")
        timers.wrap(rt.store.Store, "commit", "store commit")
        if hasattr(rt.store.Store, "commit_soon"):  # commits on another thread: start + wait
            timers.wrap(rt.store.Store, "commit_soon", "store commit")
            timers.wrap(rt.store.Store, "settle", "store commit")
        timers.wrap(wasm_host.Guest, "run", "guest run (all)")
        timers.wrap(fastcall.Memory, "write", "  copy into guest")
        timers.wrap(fastcall.Memory, "read", "  copy out of guest")
        timers.wrap(fastcall.Export, "__call__", "  wasm calls")
        recorder = _perf_record(PERF_OUT) if PERF_OUT else None
        try:
            start = time.perf_counter()
            counters = loop.run()
            total = time.perf_counter() - start
        finally:
            timers.undo()
            if recorder is not None:
                recorder.send_signal(signal.SIGINT)
                recorder.wait()
        (counters,) = counters.values()
        return total, dict(timers.parts), counters


PERF_OUT: str | None = None  # --perf FILE: `perf record` this process during the loop only


def _perf_record(out: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["perf", "record", "-F", "2000", "-g", "-o", out, "-p", str(os.getpid())],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # perf attaches asynchronously
    return proc


def guest_only(project: Project, tmp: Path, topic: str, values: list[bytes], batch_records: int | None) -> float:
    """The service's stages over the same batches, read beforehand: no store, no commit."""
    rt = project.rt
    wasm_host = sys.modules[f"{project.package}.sscc_runtime.wasm_host"]
    (svc,) = project.services()
    size = batch_records or svc.batch_records
    with project.new_store(tmp) as store:
        produce(project, store, topic, values)
        batches, offset = [], 0
        while True:
            got = store.read(topic, 0, offset, size)
            if not got.count:
                break
            batches.append(got)
            offset += got.count
    stages = [*svc.sources[0].stages, *svc.stages]
    sink_stages = [st for sink in svc.sinks for st in sink.stages]
    guest = wasm_host.Guest(stages[0].module, svc.limits)
    guest.states = len(svc.states)
    start = time.perf_counter()
    for b in batches:
        data, base = b.data, b.base_offset
        for st in stages + sink_stages:
            out = guest.run(st.export, data, base)
            data, base = out.data, -1
    return time.perf_counter() - start


def report(name: str, n: int, runs: list, floor: float) -> None:
    total, parts, counters = min(runs, key=lambda r: r[0])
    print(f"\n{name}: {n:,} records in, {counters.records_out:,} out, {counters.batches:,} batches; "
          f"loop {total * 1000:.0f} ms = {n / total / 1e6:.2f} M rec/s")
    guest = parts.get("guest run (all)", 0.0)
    inner = sum(v for k, v in parts.items() if k.startswith("  "))
    rows = [
        ("store read", parts.get("store read", 0.0)),
        ("guest run (all)", guest),
        ("  wasm calls", parts.get("  wasm calls", 0.0)),
        ("  copy into guest", parts.get("  copy into guest", 0.0)),
        ("  copy out of guest", parts.get("  copy out of guest", 0.0)),
        ("  host Python in guest run", guest - inner),
        ("store commit", parts.get("store commit", 0.0)),
        ("loop Python (rest)", total - guest - parts.get("store read", 0.0) - parts.get("store commit", 0.0)),
    ]
    print(f"  {'part':<30} {'ms':>8} {'ns/rec':>8} {'share':>7}")
    for label, seconds in rows:
        print(f"  {label:<30} {seconds * 1000:>8.1f} {seconds / n * 1e9:>8.0f} {seconds / total:>7.1%}")
    print(f"  {'guest alone, batches in memory':<30} {floor * 1000:>8.1f} {floor / n * 1e9:>8.0f} {floor / total:>7.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chain", type=int, default=1_000_000, help="orders (0: skip)")
    ap.add_argument("--wc", type=int, default=2_000_000, help="words (0: skip)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch-records", type=int, default=None, help="override the description's")
    ap.add_argument("--no-floor", action="store_true", help="skip the guest-alone run")
    ap.add_argument(
        "--runtime",
        type=Path,
        metavar="DIR",
        help="run the emitted projects on this sscc_runtime package instead (another checkout's "
        "runtime_stub/sscc_runtime: before/after comparisons of the same guests)",
    )
    ap.add_argument(
        "--perfmap",
        action="store_true",
        help="have wasmtime write /tmp/perf-PID.map, for `perf record` / `perf report` of this script",
    )
    ap.add_argument("--perf", metavar="FILE", help="`perf record -g` the loop (only) into FILE; implies --perfmap")
    args = ap.parse_args()
    global PERF_OUT
    PERF_OUT = args.perf
    if args.perfmap or args.perf:
        import wasmtime

        init = wasmtime.Config.__init__

        def with_perfmap(self, *a, **k):
            init(self, *a, **k)
            self.profiler = "perfmap"

        wasmtime.Config.__init__ = with_perfmap
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        work = []
        if args.chain:
            work.append(("chain", CHAIN, "orders", [order(i) for i in range(args.chain)]))
        if args.wc:
            work.append(("wc", WC, "sentences", sentences(args.wc)))
        for name, pipeline, topic, values in work:
            project = compile_project(pipeline, tmp, args.runtime)
            runs = [profiled_run(project, tmp, topic, values, args.batch_records) for _ in range(args.repeat)]
            floor = 0.0 if args.no_floor else min(
                guest_only(project, tmp, topic, values, args.batch_records) for _ in range(args.repeat)
            )
            n = args.wc if name == "wc" else len(values)
            report(f"{name} ({'words' if name == 'wc' else 'records'})", n, runs, floor)


if __name__ == "__main__":
    main()

"""WIN (issue 4): event-time windows, sscc against Bytewax `fold_window` and a hand-written Python loop.

1,000,000 JSON events {"sensor": "s17", "value": 3.5, "ts": <ms>} from 100 sensors, 2 ms apart
in event time with up to 2 s of disorder (inside the grace period), and every 1000th event
120 s late (late under any reading of a 3 s grace, so every system must reject exactly those).
Two windowed aggregations per sensor (count and sum; avg = sum / count), one result per sensor
and window when the window closes:
- a 10 s tumbling window and a 60 s window sliding every 10 s, both with a 3 s grace period;
- sscc: bench/pipelines/win_arrow.yaml (the issue's pipeline: two services over one topic, an
  arrow-row state {count, sum} per key and window, a flush per closing window emitting the list
  of {sensor, start, end, count, sum}) and win_value.yaml (the same with two value states, the sum
  kept in quarters); timed is the in-process batch-mode run loop, store to store;
- Bytewax 0.21: `fold_window` with `TumblingWindower` / `SlidingWindower` aligned to the epoch and
  an `EventClock` waiting 3 s (its system clock frozen, so the watermark is max event time - 3 s
  as in sscc), `ordered=False`, one worker, input from a `TestingSource` in memory;
- Python: `WindowRef`, an exact hand-written implementation of docs/semantics.md (watermark =
  largest event time seen, a window closes when watermark >= end + grace, a record is late when
  every window containing it has closed), fed from the in-memory list.
All three parse with orjson. WindowRef's output is the reference: every system's window results
(as a sorted list of (sensor, start, end, count, sum); values are multiples of 0.25 so sums are
exact in any order) and late-record counts are compared with it; a mismatch exits 1.
Target: sscc >= 10x Bytewax. A pipeline this sscc build cannot compile yet is reported as not
runnable (exit 0).

    python3 bench/win.py [-n EVENTS] [--bytewax-batch N] [--repeat R]
"""

from __future__ import annotations

import heapq
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
from _sscc_run import Project, arguments, best_of, finish, ratio, time_variants

PIPELINES = Path(__file__).resolve().parent / "pipelines"
VARIANTS = {"arrow-row": "win_arrow.yaml", "value": "win_value.yaml"}
SENSORS = 100
GRACE_MS = 3_000
# (service / output name, duration ms, slide ms)
WINDOWS = {"tumbling": (10_000, 10_000), "sliding": (60_000, 10_000)}
LATE_EVERY, LATE_BY_MS = 1000, 120_000

Row = tuple  # (sensor, start, end, count, sum)


def events(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    base = 1_700_000_000_000  # a multiple of 10 s
    out = []
    for i in range(n):
        ts = base + 2 * i + rng.randint(0, 2000)
        if i % LATE_EVERY == LATE_EVERY - 1:
            ts -= LATE_BY_MS
        event = {"sensor": f"s{rng.randrange(SENSORS)}", "value": rng.randrange(400) / 4, "ts": ts}
        out.append(orjson.dumps(event))
    return out


class WindowRef:
    """One windowed service of win_*.yaml by docs/semantics.md, record by record, in stream order."""

    def __init__(self, duration: int, slide: int, grace: int):
        self.d, self.s, self.g = duration, slide, grace
        self.watermark = -(2**63)
        self.open: dict[int, dict[str, list]] = {}  # start -> sensor -> [count, sum]
        self.starts: list[int] = []  # heap of open windows' starts (same duration: start order = end order)
        self.rows: list[Row] = []
        self.flushes = 0
        self.late = 0

    def add(self, sensor: str, value: float, ts: int) -> None:
        d, s, closed_before = self.d, self.s, self.watermark - self.g
        counted = False
        for k in range((ts - d) // s + 1, ts // s + 1):
            start = k * s
            if start + d <= closed_before:  # watermark >= end + grace: closed before this record
                continue
            window = self.open.get(start)
            if window is None:
                window = self.open[start] = {}
                heapq.heappush(self.starts, start)
            acc = window.get(sensor)
            if acc is None:
                window[sensor] = [1, value]
            else:
                acc[0] += 1
                acc[1] += value
            counted = True
        if not counted:
            self.late += 1
        if ts > self.watermark:
            self.watermark = ts
            while self.starts and self.starts[0] + d + self.g <= ts:
                self._close(heapq.heappop(self.starts))

    def drain(self) -> None:
        """End of input: every open window closes."""
        while self.starts:
            self._close(heapq.heappop(self.starts))

    def _close(self, start: int) -> None:
        end = start + self.d
        self.flushes += 1
        self.rows.extend(
            (sensor, start, end, c, total) for sensor, (c, total) in self.open.pop(start).items()
        )


def python_loop(lines: list[bytes]) -> tuple[float, dict[str, WindowRef]]:
    refs = {name: WindowRef(d, s, GRACE_MS) for name, (d, s) in WINDOWS.items()}
    adders = [ref.add for ref in refs.values()]
    loads = orjson.loads
    start = time.perf_counter()
    for line in lines:
        e = loads(line)
        sensor, value, ts = e["sensor"], e["value"], e["ts"]
        for add in adders:
            add(sensor, value, ts)
    for ref in refs.values():
        ref.drain()
    return time.perf_counter() - start, refs


def bytewax_run(lines: list[bytes], batch: int) -> tuple[float, dict[str, tuple[list[Row], int]]]:
    """Seconds, and per window kind: the result rows and the number of late (record, window) pairs."""
    import bytewax.operators as op
    import bytewax.operators.windowing as win
    from bytewax.dataflow import Dataflow
    from bytewax.testing import TestingSink, TestingSource, run_main

    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    frozen = datetime.now(timezone.utc)

    def keyed(line: bytes):
        e = orjson.loads(line)
        return e["sensor"], e

    def folder(acc: list, e: dict) -> list:
        acc[0] += 1
        acc[1] += e["value"]
        return acc

    flow = Dataflow("win")
    stream = op.map("parse", op.input("events", flow, TestingSource(lines, batch_size=batch)), keyed)
    sinks: dict[str, tuple[list, list]] = {}
    for name, (d, s) in WINDOWS.items():
        clock = win.EventClock(
            lambda e: epoch + timedelta(milliseconds=e["ts"]),
            wait_for_system_duration=timedelta(milliseconds=GRACE_MS),
            now_getter=lambda: frozen,
        )
        windower = (
            win.TumblingWindower(length=timedelta(milliseconds=d), align_to=epoch)
            if d == s
            else win.SlidingWindower(
                length=timedelta(milliseconds=d), offset=timedelta(milliseconds=s), align_to=epoch
            )
        )
        out = win.fold_window(
            name,
            stream,
            clock,
            windower,
            lambda: [0, 0.0],
            folder,
            lambda a, b: [a[0] + b[0], a[1] + b[1]],
            ordered=False,
        )
        sinks[name] = ([], [])
        op.output(f"{name}-down", out.down, TestingSink(sinks[name][0]))
        op.output(f"{name}-late", out.late, TestingSink(sinks[name][1]))
    start = time.perf_counter()
    run_main(flow)
    seconds = time.perf_counter() - start
    results = {}
    for name, (down, late) in sinks.items():
        d, s = WINDOWS[name]  # window id k is [k * slide, k * slide + duration) from the epoch
        rows = [(sensor, k * s, k * s + d, c, total) for sensor, (k, (c, total)) in down]
        results[name] = (rows, len(late))
    return seconds, results


def sscc_run(
    project: Project, lines: list[bytes], tmp: Path
) -> tuple[float, dict[str, tuple[list[Row], int, int, list]]]:
    """Seconds, and per service: result rows, flush records, late dead letters, other dead letters."""
    with project.new_store(tmp) as store:
        project.produce(store, "events", lines)
        seconds = project.run(store)
        results = {}
        for name in WINDOWS:
            flushes = project.consume(store, f"{name}-stats")
            rows = [
                (r["sensor"], r["start"], r["end"], r["count"], r["sum"]) for flush in flushes for r in flush
            ]
            dead = project.dead_letters(store, name)
            late = [x for x in dead if x.get("kind") == "late"]
            results[name] = (rows, len(flushes), len(late), [x for x in dead if x.get("kind") != "late"])
        return seconds, results


def compare(system: str, name: str, rows: list[Row], ref: WindowRef, failures: list[str]) -> bool:
    got, want = sorted(rows), sorted(ref.rows)
    if got == want:
        return True
    extra, missing = set(got) - set(want), set(want) - set(got)
    failures.append(
        f"{system} {name}: {len(got):,} window results, expected {len(want):,} "
        f"(e.g. unexpected {sorted(extra)[:2]}, missing {sorted(missing)[:2]})"
    )
    return False


def check_bytewax(bw: dict, refs: dict[str, WindowRef], failures: list[str]) -> bool:
    ok = True
    for name, (rows, late_pairs) in bw.items():
        ok &= compare("bytewax", name, rows, refs[name], failures)
        d, s = WINDOWS[name]  # Bytewax reports a late record once per window containing it
        if late_pairs != refs[name].late * (d // s):
            ok = False
            failures.append(
                f"bytewax {name}: {late_pairs:,} late (record, window) pairs, expected {refs[name].late * (d // s):,}"
            )
    return ok


def check_sscc(system: str, got: dict, refs: dict[str, WindowRef], failures: list[str]) -> bool:
    ok = True
    for name, (rows, flushes, late, other) in got.items():
        ok &= compare(system, name, rows, refs[name], failures)
        if flushes != refs[name].flushes:
            ok = False
            failures.append(
                f"{system} {name}: {flushes:,} flush records, expected one per window: {refs[name].flushes:,}"
            )
        if late != refs[name].late or other:
            ok = False
            failures.append(
                f"{system} {name}: {late:,} late dead letters (expected {refs[name].late:,}), other dead letters: {other[:2]}"
            )
    return ok


def main() -> None:
    args = arguments(__doc__, 1_000_000, "events").parse_args()
    lines = events(args.n)
    failures: list[str] = []
    rates: dict[str, float] = {}

    seconds, refs = python_loop(lines)
    for _ in range(args.repeat - 1):  # the first run is the reference; further ones only time it
        seconds = min(seconds, python_loop(lines)[0])
    rates["python"] = args.n / seconds
    print(f"WIN: {args.n:,} events, {SENSORS} sensors, grace {GRACE_MS / 1000:g} s")
    for name, ref in refs.items():
        d, s = WINDOWS[name]
        print(
            f"  {name} {d // 1000} s / {s // 1000} s: {ref.flushes:,} windows, {len(ref.rows):,} results, {ref.late:,} late"
        )
    print(f"{'python loop (reference):':<25} {rates['python']:>10,.0f} events/s ({seconds:.2f} s, in memory)")

    try:
        import bytewax  # noqa: F401
    except ImportError as e:
        print(f"bytewax: not installed ({e}); pip install -e '.[bench]'")
    else:
        seconds = best_of(
            args.repeat,
            lambda: bytewax_run(lines, args.bytewax_batch),
            lambda bw: check_bytewax(bw, refs, failures),
        )
        if seconds:
            rates["bytewax"] = args.n / seconds
            print(
                f"{'bytewax 0.21 fold_window:':<25} {rates['bytewax']:>10,.0f} events/s ({seconds:.2f} s, 1 worker, in memory)"
            )

    time_variants(
        VARIANTS,
        PIPELINES,
        args.repeat,
        lambda project, tmp: sscc_run(project, lines, tmp),
        lambda name, got: check_sscc(name, got, refs, failures),
        args.n,
        "events",
        rates,
        widths=(25, 10),
    )

    for name in (n for n in rates if n.startswith("sscc")):
        print(
            f"{name}: {ratio(rates[name], rates.get('bytewax'))} Bytewax (target >= 10x), "
            f"{ratio(rates[name], rates['python'])} the Python loop"
        )
    main_name = next((n for n in ("sscc (arrow-row)", "sscc (value)") if n in rates), None)
    if main_name:
        print(
            f"WIN summary: {main_name} {rates[main_name]:,.0f} events/s = {ratio(rates[main_name], rates.get('bytewax'))} "
            f"Bytewax, {ratio(rates[main_name], rates['python'])} the Python loop"
        )
    else:
        print(
            f"WIN summary: sscc not runnable in this build; Python loop = {ratio(rates['python'], rates.get('bytewax'))} Bytewax"
        )
    finish(failures)


if __name__ == "__main__":
    main()

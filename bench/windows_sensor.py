"""Throughput of a windowed service: examples/sensor-average (sliding 60 s every 10 s, grace 3 s,
two value states per sensor, one flush per window), store to store, against a hand-written
Python loop doing the same work on the same lines (json.loads, sliding-window assignment with the
same watermark and lateness rules, per-window per-sensor sum and count, a JSON flush per closed
window) with no durability. Both outputs are compared before any number is printed.

Compiles the example, produces N readings (S sensors, ~100 ms apart, some late), times the
runtime's Loop in-process (`run --until-idle`, no process start-up). Numbers vary ±30 % on this
shared 2-core machine.

    python3 bench/windows_sensor.py [-n READINGS] [-s SENSORS]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from _sscc_run import Project

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "examples" / "sensor-average" / "dataflow.yaml"
DURATION, SLIDE, GRACE = 60_000, 10_000, 3_000


def readings(n: int, sensors: int) -> list[bytes]:
    rng = random.Random(3)
    out, t = [], 1_700_000_000_000
    for k in range(n):
        t += rng.randint(0, 200)
        ts = t - (rng.randint(70_000, 90_000) if k % 1000 == 17 else rng.randint(0, 2_000))
        out.append(json.dumps({"sensor": f"s{rng.randrange(sensors)}", "value": rng.randint(-100, 400), "ts": ts}).encode())
    return out


def python_loop(lines: list[bytes]) -> tuple[list[dict], int]:
    wm, windows, out, late = None, {}, [], 0

    def flush(w):
        sensors = windows.pop(w)
        out.append({"start": w[0], "end": w[1], "sensors": [
            {"sensor": s, "average": total / count, "readings": count} for s, (total, count) in sorted(sensors.items())]})

    for line in lines:
        r = json.loads(line)
        ts = r["ts"]
        last = ts - ts % SLIDE
        hit = False
        for start in range(last, ts - DURATION, -SLIDE):
            if wm is None or wm < start + DURATION + GRACE:
                acc = windows.setdefault((start, start + DURATION), {}).setdefault(r["sensor"], [0, 0])
                acc[0] += r["value"]
                acc[1] += 1
                hit = True
        late += not hit
        if wm is None or ts > wm:
            wm = ts
            for w in sorted((w for w in windows if wm >= w[1] + GRACE), key=lambda w: (w[1], w[0])):
                flush(w)
    for w in sorted(windows, key=lambda w: (w[1], w[0])):
        flush(w)
    return out, late


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200_000, help="readings (default 200,000)")
    ap.add_argument("-s", type=int, default=100, help="sensors (default 100)")
    args = ap.parse_args()
    lines = readings(args.n, args.s)
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.compile(PIPELINE, Path(tmp))
        with project.new_store(Path(tmp)) as store:
            project.produce(store, "readings", lines)
            guest_s = project.run(store)
            got = project.consume(store, "averages")
        start = time.perf_counter()
        want, late = python_loop(lines)
        python_s = time.perf_counter() - start
    assert got == want, "the runtime and the Python loop disagree"
    assert project.counters["sensor-average"].late == late
    print(f"{args.n:,} readings, {args.s} sensors, {len(want):,} windows flushed, {late:,} late")
    print(f"sscc (durable, store to store): {args.n / guest_s:,.0f} readings/s ({guest_s:.2f} s)")
    print(f"Python loop (in memory):        {args.n / python_s:,.0f} readings/s ({python_s:.2f} s)")
    print(f"ratio sscc / Python loop: {python_s / guest_s:.2f}")


if __name__ == "__main__":
    main()

"""HICARD (issue 4): 1,000,000 distinct keys through keyed state; peak RSS and throughput.

Every record is a key (`k0000000` ... in a shuffled order), counted per key:
- sscc: bench/pipelines/hicard_arrow.yaml (arrow-row state) and hicard_value.yaml (value state);
  the project is compiled and the keys produced into its store by this process, then a child
  process runs the batch-mode loop in-process (store to store, durable) and reports;
- Bytewax 0.21: `count_final` keyed by the record, `run_main`, one worker, `TestingSource`;
- Python: a dict loop `d[k] = d.get(k, 0) + 1`.
Each system runs in its own subprocess, which reports its peak resident set size (VmHWM from
/proc/self/status, read right after the run, before any checking), its RSS when the input was
ready (Bytewax and Python hold the key list in memory, sscc reads it from the store), and its
time. Results are checked (every key counted exactly once) before anything is printed as a
number; a mismatch exits 1. A pipeline this sscc build cannot compile yet is reported as not
runnable (exit 0).

    python3 bench/hicard.py [-n KEYS] [--bytewax-batch N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sscc_run import NotRunnable, Project, arguments, column, finish, peak_rss_kb, ratio, rss_kb

PIPELINES = Path(__file__).resolve().parent / "pipelines"
VARIANTS = {"arrow-row": "hicard_arrow.yaml", "value": "hicard_value.yaml"}
SERVICE, STATE = "count-keys", "seen-keys"


def keys(n: int, seed: int = 3) -> list[str]:
    out = [f"k{i:07d}" for i in range(n)]
    random.Random(seed).shuffle(out)
    return out


# ------------------------------------------------------------------ children (one system each)


def child_python(n: int, _args) -> dict:
    data = keys(n)
    ready = rss_kb()
    start = time.perf_counter()
    counts: dict[str, int] = {}
    for k in data:
        counts[k] = counts.get(k, 0) + 1
    seconds, peak = time.perf_counter() - start, peak_rss_kb()
    return {"seconds": seconds, "peak_kb": peak, "ready_kb": ready, "error": _check(counts, n)}


def child_bytewax(n: int, args) -> dict:
    import bytewax.operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.testing import TestingSink, TestingSource, run_main

    data = keys(n)
    out: list[tuple[str, int]] = []
    flow = Dataflow("hicard")
    counts = op.count_final(
        "count", op.input("keys", flow, TestingSource(data, batch_size=args.bytewax_batch)), lambda k: k
    )
    op.output("out", counts, TestingSink(out))
    ready = rss_kb()
    start = time.perf_counter()
    run_main(flow)
    seconds, peak = time.perf_counter() - start, peak_rss_kb()
    return {"seconds": seconds, "peak_kb": peak, "ready_kb": ready, "error": _check(dict(out), n)}


def child_sscc(_n: int, args) -> dict:
    """Runs an already compiled and produced project; the parent checks the state."""
    project = Project(Path(args.project), args.package)
    services = project.services()
    with project.store(Path(args.store)) as store:
        ready = rss_kb()
        seconds = project.run(store, services)
        peak = peak_rss_kb()
    return {"seconds": seconds, "peak_kb": peak, "ready_kb": ready, "error": None}


def _check(counts: dict, n: int) -> str | None:
    if len(counts) != n or any(v != 1 for v in counts.values()):
        return (
            f"{len(counts):,} keys, {sum(counts.values()):,} counted; expected {n:,} keys counted once each"
        )
    return None


CHILDREN = {"python": child_python, "bytewax": child_bytewax, "sscc": child_sscc}


# ------------------------------------------------------------------ parent


def spawn(system: str, n: int, args, *extra: str) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        system,
        "-n",
        str(n),
        "--bytewax-batch",
        str(args.bytewax_batch),
        *extra,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"child exited {done.returncode}: {tail[0]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def sscc_once(project: Project, data: list[str], n: int, args, tmp: Path) -> dict:
    db = project.new_store_path(tmp)
    with project.store(db) as store:
        project.produce(store, "keys", (k.encode() for k in data))
    result = spawn(
        "sscc", n, args, "--project", str(project.root), "--package", project.package, "--store", str(db)
    )
    if result.get("error"):
        return result
    with project.store(db) as store:
        dead = project.dead_letters(store, SERVICE)
        counts = column(project.state(store, SERVICE, STATE), "count")
    result["error"] = f"{len(dead)} dead letters, e.g. {dead[0]}" if dead else _check(counts, n)
    if not result["error"] and set(counts) != set(data):
        result["error"] = "the counted keys are not the input's keys"
    db.unlink()
    return result


def fastest(repeat: int, run) -> dict:
    """The fastest of `repeat` child results, or the first failed one (a wrong run has no rate)."""
    runs = []
    for _ in range(max(1, repeat)):
        runs.append(run())
        if runs[-1].get("error"):
            return runs[-1]
    return min(runs, key=lambda r: r["seconds"])


def main() -> None:
    ap = arguments(__doc__, 1_000_000, "distinct keys")
    ap.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    ap.add_argument("--project", help=argparse.SUPPRESS)
    ap.add_argument("--package", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.n, args)))
        return

    n = args.n
    print(f"HICARD: {n:,} distinct keys, each counted once; every system in its own process")
    results = {
        system: fastest(args.repeat, lambda: spawn(system, n, args)) for system in ("python", "bytewax")
    }
    data = keys(n)
    with tempfile.TemporaryDirectory() as tmp:
        for variant, file in VARIANTS.items():
            try:
                project = Project.compile(PIPELINES / file, Path(tmp))
            except NotRunnable as e:
                print(f"sscc ({variant}): not runnable in this build: {e}")
                continue
            results[f"sscc ({variant})"] = fastest(
                args.repeat, lambda: sscc_once(project, data, n, args, Path(tmp))
            )

    failures = []
    print(f"{'system':<18} {'keys/s':>12} {'peak RSS':>10} {'over input-ready':>17}")
    for name, r in results.items():
        if r.get("error"):
            if "No module named 'bytewax'" in r["error"]:
                print(f"{name:<18} not installed; pip install -e '.[bench]'")
            else:
                failures.append(f"{name}: {r['error']}")
            continue
        r["rate"] = n / r["seconds"]
        print(
            f"{name:<18} {r['rate']:>12,.0f} {r['peak_kb'] / 1024:>7,.0f} MB {(r['peak_kb'] - r['ready_kb']) / 1024:>14,.0f} MB"
        )
    ok = {name: r for name, r in results.items() if not r.get("error")}
    bw, py = ok.get("bytewax", {}), ok.get("python", {})
    sscc_names = [name for name in ok if name.startswith("sscc")]
    for name in sscc_names:
        r = ok[name]
        print(
            f"{name}: peak RSS {ratio(r['peak_kb'], bw.get('peak_kb'))} Bytewax's, {ratio(r['peak_kb'], py.get('peak_kb'))} "
            f"the Python loop's; throughput {ratio(r['rate'], bw.get('rate'))} Bytewax, {ratio(r['rate'], py.get('rate'))} Python"
        )
    if sscc_names:
        r = ok[sscc_names[0]]
        print(
            f"HICARD summary: {sscc_names[0]} peak RSS {r['peak_kb'] / 1024:,.0f} MB vs Bytewax "
            f"{bw['peak_kb'] / 1024 if bw else float('nan'):,.0f} MB ({ratio(r['peak_kb'], bw.get('peak_kb'))}), "
            f"{r['rate']:,.0f} keys/s = {ratio(r['rate'], bw.get('rate'))} Bytewax"
        )
    else:
        print("HICARD summary: sscc not runnable in this build")
    finish(failures)


if __name__ == "__main__":
    main()

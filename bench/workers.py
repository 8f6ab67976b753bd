"""`sscc run --workers 2` against `--workers 1` (issue 14), whole commands timed as a user would.

Two pipelines, each over a store whose input topic has 8 partitions (produced beforehand with
`sscc topic produce --partitions 8`, not timed), each command a fresh process from spawn to exit
(bench/_whole.py), over a fresh copy of the store, the build cache warm:

- **wc** (the word count of bench/wc.py, bench/pipelines/wc_arrow.yaml): flat-map -> partition by
  word -> arrow-row count. Its keyed state is sharded by task partition (docs/scale-out.md): 8
  tasks, each reading one source partition and one partition of the repartition topic, 4 per
  worker with 2 workers.
- **chain** (examples/order-totals: JSON decode -> filter -> map -> encode, bench/chain.py's
  orders): stateless, so each of the 8 partitions is a task and 2 workers split them 4 + 4.

Outputs are checked equal between the two (wc: every count against a Counter; chain: every
totals partition record for record); a difference exits 1. Also printed: `sscc run` without
--workers (one process, no leases), and the load average before and after (the machine is shared:
a loaded machine has no second core to give).

    python3 bench/workers.py [--words N] [--orders N] [--repeat R] [--only wc|chain]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "runtime_stub"), str(Path(__file__).resolve().parent)]

import _whole  # noqa: E402
from sscc_runtime import frames, statelog  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402
from wc import sentences  # noqa: E402

PARTITIONS = 8
WC = ROOT / "bench" / "pipelines" / "wc_arrow.yaml"
CHAIN = ROOT / "examples" / "order-totals" / "dataflow.yaml"


def order(i: int) -> str:
    qty = 5000 if i % 10_007 == 0 else i % 5
    return '{"id":%d,"item":"item-%d","qty":%d,"price":%d.25}' % (i, i % 1000, qty, i % 97)


def produce(sscc: str, store: Path, topic: str, lines: list[str], tmp: Path) -> None:
    path = tmp / f"{topic}.txt"
    path.write_text("".join(line + "\n" for line in lines))
    subprocess.run([sscc, "topic", "produce", topic, "--store", store, "--file", path, "--partitions", str(PARTITIONS),
                    "--quiet"], check=True, env=_whole.child_env())  # fmt: skip


def timed_run(sscc: str, pipeline: Path, pristine: Path, work: Path, flags: list[str]) -> tuple[float, Path]:
    store = work / "run-store"
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(pristine, store)  # store.db and its record log
    seconds, _ = _whole.timed([sscc, "run", pipeline, "--store", store, "--until-idle", "--quiet", *flags])
    return seconds, store


def wc_result(store: Path) -> dict:
    with Store(store / "store.db") as db:
        state = statelog.replay(statelog.read_all(db, statelog.changelog("bench.bench-wc-arrow.count-words", "count-per-word")))
    return {k: v["count"] for k, v in state.items()}


def chain_result(store: Path) -> dict:
    with Store(store / "store.db") as db:
        return {p: db.read("totals", p, 0, 10**9).data for p in range(db.partitions("totals"))}


def bench(name: str, sscc: str, pipeline: Path, pristine: Path, tmp: Path, repeat: int, result, check) -> dict:
    variants = {"--workers 1": ["--workers", "1"], "--workers 2": ["--workers", "2"], "no --workers": []}
    for flags in variants.values():  # the build cache and the module cache, untimed
        _whole.warm_up(sscc, pipeline, tmp, *flags)
    outputs: dict[str, object] = {}

    def run(label: str):
        def go() -> float:
            seconds, store = timed_run(sscc, pipeline, pristine, tmp, variants[label])
            got = result(store)
            if not check(got):
                sys.exit(f"{name} {label}: wrong output")
            outputs.setdefault(label, got)
            reference = outputs.get("--workers 1")
            if reference is not None and got != reference:
                sys.exit(f"{name} {label}: output differs from --workers 1")
            return seconds

        return go

    best = _whole.best(repeat, {label: run(label) for label in variants})
    one, two = best["--workers 1"][0], best["--workers 2"][0]
    print(f"\n{name}:")
    for label, (wall, cpu) in best.items():
        print(f"  sscc run {pipeline.name} --until-idle {label:<13} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
    print(f"  --workers 2 vs --workers 1: {one / two:.2f}x  (outputs equal)")
    return {"one": one, "two": two}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["wc", "chain"])
    parser.add_argument("--sscc", default=_whole.sscc_command())
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}  load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.only in (None, "wc"):
            lines = sentences(args.words)
            want = Counter(w for line in lines for w in line.split())
            pristine = tmp / "wc-store"
            produce(args.sscc, pristine, "sentences", lines, tmp)
            bench(f"wc ({args.words:,} words, 8 partitions: 8 tasks, sharded keyed state)",
                  args.sscc, WC, pristine, tmp, args.repeat, wc_result, lambda got: got == want)  # fmt: skip
        if args.only in (None, "chain"):
            pristine = tmp / "chain-store"
            produce(args.sscc, pristine, "orders", [order(i) for i in range(args.orders)], tmp)
            produce(args.sscc, pristine, "totals", [], tmp)
            expected = sum(1 for i in range(args.orders) if i % 5 and i % 10_007)

            def check(got: dict) -> bool:
                return sum(len(list(frames.iter_records(d))) for d in got.values()) == expected

            bench(f"chain (order-totals, {args.orders:,} orders, 8 partitions: 8 stateless tasks)",
                  args.sscc, CHAIN, pristine, tmp, args.repeat, chain_result, check)  # fmt: skip
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

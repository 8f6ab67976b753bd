"""Throughput of a stateful word count (keyed value state through `partition`), store to store.

Compiles tests/state/word_count_state.yaml, produces N sentences (0-6 words from a 5,000-word
vocabulary), and times `python -m word_count_state run --until-idle` in-process via the runtime's
Loop (no process start-up in the number). Prints words/s and the ratio to a plain Python loop
doing the same work on the same lines (split, lowercase, dict increment), which keeps no
durable state: the ratio is what durability and the guest cost, not a like-for-like race.
Numbers vary ±30 % on this shared 2-core machine.

    python3 bench/state_wordcount.py [-n SENTENCES]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _sscc_run import Project

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "tests" / "state" / "word_count_state.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200_000, help="sentences (default 200,000)")
    args = ap.parse_args()
    rng = random.Random(1)
    vocab = [f"w{i}" for i in range(5000)]
    lines = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 6))) for _ in range(args.n)]
    words = sum(len(line.split()) for line in lines)
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.compile(PIPELINE, Path(tmp))
        with project.new_store(Path(tmp)) as store:
            project.produce(store, "sentences", (line.encode() for line in lines))
            guest_s = project.run(store)
            changelog = project.rt.statelog.read_all(store, project.key("count-words") + ".count-per-word.changelog")
            start = time.perf_counter()
            # a restart: constructing the loop replays the changelog into a fresh guest
            project.rt.loop.Loop(store, project.services(), until_idle=True)
            restart_s = time.perf_counter() - start
        got, want = project.rt.statelog.replay(changelog), Counter(w.lower() for l in lines for w in l.split())
        if got != want:
            diff = [(k, got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)]
            sys.exit(f"wrong counts: {len(got)} keys, {sum(got.values())} total; expected {len(want)}, {sum(want.values())}; e.g. {diff[:3]}")
    start = time.perf_counter()
    counts: Counter = Counter()
    for line in lines:
        for w in line.split():
            counts[w.lower()] += 1
    python_s = time.perf_counter() - start
    print(f"{args.n:,} sentences, {words:,} words")
    print(f"sscc stateful word count: {words / guest_s:,.0f} words/s ({guest_s:.2f} s, store to store, durable)")
    print(f"python dict loop:         {words / python_s:,.0f} words/s ({python_s:.2f} s, in memory)")
    print(f"ratio sscc / python: {python_s / guest_s:.2f}")
    print(f"restart (replay {len(changelog):,} changelog bytes into a fresh instance): {restart_s:.2f} s")


if __name__ == "__main__":
    main()

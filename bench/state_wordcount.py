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
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

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
        out = Path(tmp) / "project"
        subprocess.run([sys.executable, "-m", "sscc", "compile", str(PIPELINE), "-o", str(out)], check=True, capture_output=True)
        sys.path.insert(0, str(out))
        from word_count_state.sscc_runtime import frames, service  # noqa: E402
        from word_count_state.sscc_runtime.app import batch_mode  # noqa: E402
        from word_count_state.sscc_runtime.loop import Loop  # noqa: E402
        from word_count_state.sscc_runtime.store import Store  # noqa: E402

        pkg = out / "word_count_state"
        # --until-idle semantics: start at the beginning of what the topic holds.
        services = [batch_mode(s) for s in service.load(json.loads((pkg / "services.json").read_text()), pkg)]
        with Store(Path(tmp) / "store.db") as store:
            store.ensure_topic("sentences", 1)
            for i in range(0, len(lines), 4096):
                store.append("sentences", 0, *frames.build((None, l.encode()) for l in lines[i : i + 4096]))
            start = time.perf_counter()
            Loop(store, services, until_idle=True).run()
            guest_s = time.perf_counter() - start
            from word_count_state.sscc_runtime import statelog  # noqa: E402

            changelog = statelog.read_all(store, "count-words.count-per-word.changelog")
            start = time.perf_counter()
            Loop(store, services, until_idle=True)  # a restart: replays the changelog into the guest
            restart_s = time.perf_counter() - start
        got, want = statelog.replay(changelog), Counter(w.lower() for l in lines for w in l.split())
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

"""How long an unchanged `sscc compile` takes from the shell (issue 3: under 1 s).

Compiles an example once to warm the build caches, then times N more compiles of the same file
into the same directory, each a fresh `sscc` process, and prints the median against the budget.

    python3 bench/recompile.py [PIPELINE] [-n N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET_S = 1.0


def compile_once(pipeline: str, out: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sscc", "compile", pipeline, "-o", out], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pipeline", nargs="?", default=os.path.join(ROOT, "examples", "split-sentence", "dataflow.yaml"))
    ap.add_argument("-n", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "project")
        warm = compile_once(args.pipeline, out)
        times = [compile_once(args.pipeline, out) for _ in range(args.n)]
    median = statistics.median(times)
    print(f"first compile (caches as they were): {warm:.2f} s")
    print(f"unchanged recompile: median {median * 1000:.0f} ms, min {min(times) * 1000:.0f} ms over {args.n} runs")
    print(f"budget {BUDGET_S:.1f} s: {median / BUDGET_S:.2f}x of budget ({'met' if median < BUDGET_S else 'NOT met'})")


if __name__ == "__main__":
    main()

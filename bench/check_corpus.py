"""Benchmark: check every conformance corpus file in one process, and `sscc check` of one file from the shell.

Targets (issue "Front end"): all 188 files under 2 s in one process; one file from the shell
under 300 ms. Prints the figures and the ratio to each target.

The shell figure is taken the way a user runs sscc: with the compiled bytecode of sscc's
modules cached (pip writes it at install; Python writes it on an editable checkout's first run).
One untimed run writes it even when PYTHONDONTWRITEBYTECODE is set, as in some sandboxes: without
it every run compiles all of sscc's sources again (~150-200 ms more here; Python still reads
bytecode that exists when that variable is set, it only never writes it).
"""

import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONF = os.path.normpath(os.path.join(ROOT, "..", "shared", "conformance"))


def main() -> None:
    t0 = time.perf_counter()
    from sscc.diagnostics import SourceCache
    from sscc.driver import Options, front_end

    t_import = time.perf_counter() - t0
    with open(os.path.join(CONF, "manifest.json")) as fh:
        files = [os.path.join(CONF, "corpus", e["file"]) for e in json.load(fh)]
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        errors = 0
        for f in files:
            fe = front_end(f, Options(), SourceCache())
            errors += len(fe.diags.errors())
        runs.append(time.perf_counter() - t)
    first = runs[0]
    print(f"import sscc.driver:                {t_import * 1000:7.1f} ms")
    print(f"check {len(files)} corpus files, cold: {first * 1000:7.1f} ms  (target 2000 ms: {first / 2.0:.2f}x of budget)")
    print(f"check {len(files)} corpus files, warm: {min(runs[1:]) * 1000:7.1f} ms  ({errors} errors)")

    one = os.path.join(ROOT, "examples", "split-sentence", "dataflow.yaml")
    med = _shell(one)
    print(f"`sscc check` one file from the shell (median of 5): {med * 1000:6.1f} ms  (target 300 ms: {med / 0.3:.2f}x of budget)")


def _shell(path: str) -> float:
    """Median wall time of 5 runs of `python -m sscc check -q path`, after one untimed run that
    may write bytecode (and the grammar tables) like a first run after installing."""
    cmd = [sys.executable, "-m", "sscc", "check", "-q", path]
    first = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, check=False, capture_output=True, env=first)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(cmd, check=False, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


if __name__ == "__main__":
    main()

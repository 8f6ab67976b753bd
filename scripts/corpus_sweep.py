"""Differential sweep of the built stateless corpus: every file of docs/conformance.md marked
*built* gets generated input from its source topics' types (tests/corpus_run/sweep_lib.py), runs
through the real CLI (`sscc topic produce`, `sscc run --until-idle`) and is checked for the SDF
invariants listed there. Prints one line per file and every finding; exit 1 when anything is found.

    python3 scripts/corpus_sweep.py [--only SUBSTRING] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "corpus_run"))
CORPUS = os.path.normpath(os.path.join(ROOT, "..", "shared", "conformance", "corpus"))

import sweep_lib  # noqa: E402


def built_files() -> list[str]:
    rows = []
    with open(os.path.join(ROOT, "docs", "conformance.md"), encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 3 and cells[3] == "built":
                rows.append(cells[1])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--json")
    args = ap.parse_args()
    findings, total_in, total_out, total_dead = [], 0, 0, 0
    for name in built_files():
        if args.only not in name:
            continue
        t0 = time.time()
        res = sweep_lib.run_file(os.path.join(CORPUS, name))
        n_in = sum(len(t.lines) for t in res.inputs.values())
        n_out = sum(len(v) for v in res.outputs.values())
        n_dead = sum(len(v) for v in res.dead.values())
        total_in, total_out, total_dead = total_in + n_in, total_out + n_out, total_dead + n_dead
        print(f"{'FAIL' if res.findings else 'ok  '} {name[:90]:90} in {n_in:4} out {n_out:4} dead {n_dead:4} {time.time() - t0:5.1f}s", flush=True)
        for f in res.findings:
            print(f"     {f.check}: {f.detail}", flush=True)
        findings += [f.__dict__ for f in res.findings]
        shutil.rmtree(res.store, ignore_errors=True)
    print(f"\n{len(findings)} findings; records in {total_in}, out {total_out}, dead letters {total_dead}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(findings, f, indent=1)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

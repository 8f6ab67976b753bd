"""The guest's window classifier (runtime_stub/guest/src/window.rs, compiled into
tests/windows/window_classify.yaml's module) against the Python reference engine
(`sscc_runtime.windows.WindowEngine.classify_batch`) on seeded random streams cut into random
batches: for every record, the windows it counts in (read back from the change records the
window stage writes: key = record id, frame timestamp/origin = window) and whether it is late
(an error entry of kind `late`); per batch, the touched windows and the largest timestamp the
guest reports. Streams include negative times, equal times, long jumps and times within a window
length of the i64 limits (bounds clamped)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path[:0] = [os.path.join(ROOT, "runtime_stub"), os.path.join(ROOT, "tests", "runtime")]

import runtime_build  # noqa: E402
from sscc_runtime import frames  # noqa: E402
from sscc_runtime.wasm_host import Guest  # noqa: E402
from sscc_runtime.windows import WindowEngine, sliding  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "windows" / "window_classify.yaml"
I64_MAX = 2**63 - 1


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    reason = runtime_build.missing_toolchain()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("classify") / "project"
    proc = subprocess.run(["sscc", "compile", str(PIPELINE), "-o", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    package = out / "window_classify"
    description = json.loads((package / "services.json").read_text())["services"][0]
    stage = description["window"]["stage"]
    (entry,) = [s for s in description["sources"][0]["stages"] if s["export"] == stage]
    return package / entry["module"], stage


def random_stream(rng: random.Random, n: int) -> list[int]:
    shape = rng.choice(["walk", "wild", "edges"])
    out, t = [], rng.randint(-50_000, 50_000)
    for _ in range(n):
        if shape == "walk":
            t += rng.randint(-1500, 2500)
            out.append(t)
        elif shape == "wild":
            out.append(t + rng.choice([0, rng.randint(-20_000, 20_000), rng.randint(-300, 300)]))
            t += rng.randint(0, 900)
        else:  # within a window length of i64::MAX, and far below it
            out.append(rng.choice([I64_MAX - rng.randint(0, 20_000), -(2**62) + rng.randint(0, 20_000), t]))
    return out


def test_guest_classification_equals_the_engine(module):
    path, export = module
    rng = random.Random(20261128)
    checked = late_seen = 0
    for stream_no in range(40):
        guest = Guest(path)
        guest.states = 1
        guest.restore()  # sizes the change table the host reads (no committed state here)
        engine = WindowEngine(sliding(7000, 3000, 1000), grace=2000)
        stamps = random_stream(rng, rng.randint(1, 300))
        ident, pos = 0, 0
        while pos < len(stamps):
            size = rng.randint(1, 40)
            batch = stamps[pos : pos + size]
            ids = list(range(ident, ident + len(batch)))
            # ids ending in 999 would trap; these streams stay below 999 per guest
            data, _ = frames.build((None, json.dumps({"i": i, "ts": ts}).encode(), 0, -1) for i, ts in zip(ids, batch))
            before = engine.watermark.value
            out = guest.run(export, data, 0, window=True, watermark=before)
            want = engine.classify_batch(batch)
            late = {e.index for e in out.errors if e.kind == "late"}
            assert not [e for e in out.errors if e.kind != "late"], out.errors
            assert late == {k for k, c in enumerate(want) if c.late}, (stream_no, batch, before)
            got: dict[int, set] = {}
            for change in frames.iter_records(out.changes.get(0, (b"", 0))[0]):
                got.setdefault(int(change.key), set()).add((change.timestamp, change.origin))
            for k, c in enumerate(want):
                assert got.get(ids[k], set()) == set(c.windows), (stream_no, batch[k], before)
            assert set(out.window.touched) == {w for c in want for w in c.windows}
            assert out.window.max_ts == max(batch)
            checked += len(batch)
            late_seen += len(late)
            ident += len(batch)
            pos += size
    assert checked > 3000 and late_seen > 100, (checked, late_seen)

"""Exactly-once windows across kill -9: tests/windows/window_classify.yaml (sliding windows,
per-window value state, a flush per window, late records, a panicking record every 1,000) compiled
with `sscc compile`, run with `python -m window_classify run --until-idle` over 60,000 events in
two partitions, SIGKILLed at >= 10 random moments and restarted. The flush outputs (in order), the
dead letters (in order), the live state and the window engine's snapshot must equal those of one
uninterrupted run over a copy of the same store.

(A small kill loop of its own; tests/kill_harness.py on main is the shared one.)"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

sys.path[:0] = [os.path.join(ROOT, "runtime_stub"), os.path.join(ROOT, "tests", "runtime")]

import runtime_build  # noqa: E402
from sscc_runtime import statelog  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "windows" / "window_classify.yaml"
PACKAGE = "window_classify"
SERVICE, SOURCE, SINK = "classify", "events", "members"
EVENTS = 60_000
PARTITIONS = 2
KILLS = 12
BATCH = 4096  # records per source partition per batch (the description's default batch_records)


def events() -> list[str]:
    rng = random.Random(11)
    out, t = [], 0
    for k in range(EVENTS):
        t += rng.randint(0, 300)
        ts = t - (rng.randint(5_000, 20_000) if k % 89 == 3 else rng.randint(0, 2_500))
        out.append(json.dumps({"i": k, "ts": ts}))
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    reason = runtime_build.missing_toolchain()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("compiled") / "window-classify"
    proc = subprocess.run(["sscc", "compile", str(PIPELINE), "-o", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return out


def app(project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", PACKAGE, *args], cwd=project, env=dict(os.environ, PYTHONPATH=str(project)), stderr=subprocess.PIPE
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> None:
    code = proc.wait(timeout)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert code == 0, err


def committed(db: Store) -> int:
    return sum(db.position(SERVICE, SOURCE, p) or 0 for p in range(PARTITIONS))


def outcome(store: Path) -> dict:
    with Store(store / "store.db") as db:
        def topic(name: str) -> list[tuple]:
            from sscc_runtime import frames

            data = statelog.read_all(db, name)
            return [(r.key, r.value, r.timestamp, r.origin) for r in frames.iter_records(data)]

        return {
            "flushes": topic(SINK),
            "dead": topic(f"{SERVICE}.dead-letters"),
            "state": statelog.replay_windows(statelog.read_all(db, f"{SERVICE}.seen.changelog")),
            "engine": json.loads(db.state_get(SERVICE, "__window", b"")),
            "read": committed(db),
        }


def test_kill_9_keeps_windows_exactly_once(project, tmp_path):
    # One watermark per service, read batch by batch round-robin (docs/semantics.md): to keep
    # most records on time, partition p holds the blocks of BATCH events b with b % 2 == p, so
    # the loop's reading order (p0 batch, p1 batch, ...) follows event time.
    lines = events()
    killed, calm = tmp_path / "killed", tmp_path / "calm"
    for p in range(PARTITIONS):
        source = tmp_path / f"events-{p}.txt"
        blocks = [lines[b : b + BATCH] for b in range(p * BATCH, EVENTS, PARTITIONS * BATCH)]
        source.write_text("".join(line + "\n" for block in blocks for line in block))
        finish(app(project, "topic", "produce", SOURCE, "--store", str(killed), "--file", str(source),
                   "--partitions", str(PARTITIONS), "--partition", str(p), "--quiet"), 120)
    shutil.copytree(killed, calm)  # the same records, wall-clock timestamps included

    rng = random.Random(int(os.environ.get("SSCC_CRASH_SEED", "2026")))
    targets = [0] + sorted(rng.sample(range(2_000, EVENTS - 6_000), KILLS - 1))
    seen = []
    watch = Store(killed / "store.db")
    try:
        for target in targets:
            proc = app(project, "run", "--store", str(killed), "--until-idle", "--quiet")
            if target == 0:
                time.sleep(rng.uniform(0.0, 0.3))
            else:
                while committed(watch) < target and proc.poll() is None:
                    time.sleep(0.002)
                time.sleep(rng.uniform(0.0, 0.004))
            assert proc.poll() is None, "the run finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
            seen.append(committed(watch))
    finally:
        watch.close()
    finish(app(project, "run", "--store", str(killed), "--until-idle", "--quiet"))
    finish(app(project, "run", "--store", str(calm), "--until-idle", "--quiet"))

    got, want = outcome(killed), outcome(calm)
    assert want["read"] == EVENTS and got["read"] == EVENTS
    assert len(want["flushes"]) > 1000 and sum(1 for d in want["dead"] if b'"late"' in d[1]) > 100
    assert 50 <= sum(1 for d in want["dead"] if b'"trap"' in d[1]) <= 60  # ids ending in 999 (unless late)
    assert sum(1 for d in want["dead"] if b'"late"' in d[1]) < EVENTS // 50
    for engine in (got["engine"], want["engine"]):
        engine["anchor"][0] = None  # the wall time of the last batch: the one input that differs
    for part in ("flushes", "dead", "state", "engine"):
        assert got[part] == want[part], part
    print("committed at each kill:", seen)
    assert len(seen) == KILLS and all(0 < n < EVENTS for n in seen[1:]), seen

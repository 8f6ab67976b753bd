"""Exactly-once windows across kill -9: tests/windows/window_classify.yaml (sliding windows,
per-window value state, a flush per window, late records, a panicking record every 1,000) compiled
with `sscc compile`, run with `python -m window_classify run --until-idle` over 60,000 events in
two partitions, SIGKILLed at >= 10 random moments and restarted. The flush outputs (in order), the
dead letters (in order), the live state and the window engine's snapshot must equal those of one
uninterrupted run over a copy of the same store. The kill loop is tests/kill_harness.py's."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from kill_harness import Command, compile_project, kill_9_and_restart
from sscc_runtime import frames, statelog
from sscc_runtime.store import Store

PIPELINE = Path(ROOT) / "tests" / "windows" / "window_classify.yaml"
PACKAGE = "window_classify"
SERVICE, SOURCE, SINK = "tests.window-classify.classify", "events", "members"  # namespace.pipeline.service
EVENTS = 60_000
PARTITIONS = 2
KILLS = 12
BATCH = 4096  # records per source partition per batch (`run --batch-records`): a dozen commits per partition


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
    return compile_project(PIPELINE, tmp_path_factory.mktemp("compiled") / "window-classify")


def app(project: Path, *args: str) -> Command:
    return Command.emitted(project, PACKAGE, *args)


def committed(db: Store) -> int:
    return sum(db.position(SERVICE, SOURCE, p) or 0 for p in range(PARTITIONS))


def outcome(store: Path) -> dict:
    with Store(store / "store.db") as db:
        def topic(name: str) -> list[tuple]:
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
        app(project, "topic", "produce", SOURCE, "--store", str(killed), "--file", str(source),
            "--partitions", str(PARTITIONS), "--partition", str(p), "--quiet").run(120)
    shutil.copytree(killed, calm)  # the same records, wall-clock timestamps included

    run = app(project, "run", "--store", str(killed), "--until-idle", "--quiet", "--batch-records", str(BATCH))
    kills = kill_9_and_restart(
        run, store_db=killed / "store.db", progress=committed, kills=KILLS, after=(2_000, EVENTS - 6_000), seed=2026,
        final_timeout=600,
    )
    app(project, "run", "--store", str(calm), "--until-idle", "--quiet", "--batch-records", str(BATCH)).run(600)
    seen = kills.seen

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

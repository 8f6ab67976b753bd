"""Per-partition watermarks (docs/semantics.md, "The watermark"; docs/scale-out.md): the
60,000-event experiment. tests/windows/window_classify.yaml (sliding 7 s every 3 s, offset 1 s,
grace 2 s, a panic on every id ending in 999) compiled with `sscc compile`; 60,000 events whose
event times rise by 10 ms with up to 1.5 s of disorder (inside the grace period, so on one
partition no event is late), spread round-robin over 2 and over 8 partitions. With one
watermark per service half of them used to come out late (the semantics page's measurement);
with the watermark of a task = the minimum over its input partitions none is, and every window's
members equal those computed here from the input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import ROOT
from scaleout_util import compile_project, produce, run, services, topic
from sscc_runtime import tasks
from sscc_runtime.store import Store

PIPELINE = Path(ROOT) / "tests" / "windows" / "window_classify.yaml"
PACKAGE = "window_classify"
SERVICE, SOURCE, SINK = "tests.window-classify.classify", "events", "members"  # namespace.pipeline.service
EVENTS = 60_000
DURATION, SLIDE, OFFSET = 7_000, 3_000, 1_000


def events(seed: int = 12) -> list[dict]:
    rng = random.Random(seed)
    return [{"i": k, "ts": 10 * k - rng.randint(0, 1_500)} for k in range(EVENTS)]


def reference(evs: list[dict]) -> list[tuple[int, int, list[int]]]:
    """Every window of the sliding grid with its members: the ids whose time it contains,
    except the ids ending in 999 (their update-state panics, so they leave no trace)."""
    windows: dict[tuple[int, int], list[int]] = {}
    for e in evs:
        if e["i"] % 1000 == 999:
            continue
        start = e["ts"] - (e["ts"] - OFFSET) % SLIDE
        while start + DURATION > e["ts"]:
            windows.setdefault((start, start + DURATION), []).append(e["i"])
            start -= SLIDE
    return sorted((s, e, sorted(ids)) for (s, e), ids in windows.items())


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return compile_project(PIPELINE, tmp_path_factory.mktemp("compiled") / "window-classify")


@pytest.mark.parametrize("partitions", [1, 2, 8])
def test_time_interleaved_partitions_make_no_record_late(project, tmp_path, partitions):
    evs = events()
    with Store(tmp_path / "store.db") as db:
        produce(db, SOURCE, [json.dumps(e) for e in evs], partitions, spread="round-robin")
        svcs = services(project, PACKAGE)
        assert tasks.layout(svcs[0], db) == tasks.Layout(tasks.SINGLE, 1)  # windowed: one task
        counters = run(db, svcs)
        dead = [json.loads(r.value) for r in topic(db, f"{SERVICE}.dead-letters")]
        late = [d for d in dead if d["kind"] == "late"]
        print(f"{partitions} partition(s): {len(late)} of {EVENTS:,} events late")
        assert counters[SERVICE].late == 0 and late == []
        assert {d["kind"] for d in dead} == {"trap"}
        assert len(dead) == sum(1 for e in evs if e["i"] % 1000 == 999)
        flushed = sorted((m["start"], m["end"], m["members"]) for m in (json.loads(r.value) for r in topic(db, SINK)))
    assert flushed == reference(evs)


def test_a_partition_with_unread_records_holds_the_watermark_until_it_is_read(project, tmp_path):
    """Before partition 1 gave its first batch, a batch of partition 0 must not close windows:
    batches of 4,096 records (the first of partition 0 spans 82 s of event time), 2 partitions."""
    evs = events()
    with Store(tmp_path / "store.db") as db:
        produce(db, SOURCE, [json.dumps(e) for e in evs], 2, spread="round-robin")
        counters = run(db, services(project, PACKAGE), batch_records=4096)
        assert counters[SERVICE].late == 0
        engine = json.loads(db.state_get(SERVICE, "__window", b""))
        marks = json.loads(db.state_get(SERVICE, "__window", b"partitions"))
        assert [m[:2] for m in marks] == [[SOURCE, 0], [SOURCE, 1]]
        assert engine["late"] == 0

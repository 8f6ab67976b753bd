"""Window semantics end to end (docs/semantics.md), through `sscc topic produce`, `sscc run
--until-idle` and `sscc topic consume` on tests/windows/window_classify.yaml: sliding 7 s every
3 s, offset 1 s, grace 2 s. Its flush emits each window's bounds (`window()`) and the ids of the
records it got, so every run is compared exactly with the brute-force reference of
window_reference.py: which windows flush, in which order, with which records; late records as
dead letters of kind `late`; the watermark after the end-of-input drain; a second run continuing."""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path[:0] = [
    os.path.join(ROOT, "tests", "backend_project"),
    os.path.join(ROOT, "tests", "windows"),
    os.path.join(ROOT, "runtime_stub"),
]

from project_helpers import pipeline_copy, sscc  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402
from window_reference import simulate, windows_of  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "windows" / "window_classify.yaml"
SPEC = dict(duration=7000, slide=3000, offset=1000, grace=2000)
SERVICE = "tests.window-classify.classify"  # namespace.pipeline.service


@pytest.fixture
def pipeline(tmp_path):
    yield from pipeline_copy(tmp_path, PIPELINE, "window_classify.yaml")


def stream(seed: int, n: int, first_id: int = 0, start: int = 0) -> list[tuple[int, int, bool]]:
    """(id, ts, traps): time moves forward ~400 ms a record with up to 3 s of jitter back, and
    every 97th record is 5-20 s behind (most of those late). Ids ending in 999 trap."""
    rng = random.Random(seed)
    out, t = [], start
    for k in range(n):
        ident = first_id + k
        t += rng.randint(0, 800)
        ts = t - rng.randint(0, 3000)
        if k % 97 == 50:
            ts = t - rng.randint(5000, 20000)
        out.append((ident, ts, ident % 1000 == 999))
    return out


def produce(store: Path, records) -> None:
    lines = "".join(json.dumps({"i": i, "ts": ts}) + "\n" for i, ts, _ in records)
    sscc("topic", "produce", "events", "--store", store, "--quiet", input=lines, check=True)


def run(pipeline: Path, store: Path) -> str:
    return sscc("run", pipeline, "--store", store, "--until-idle", check=True).stderr


def consume(store: Path, topic: str) -> list[dict]:
    out = sscc("topic", "consume", topic, "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def flushes(store: Path) -> list[tuple[int, int, list[int]]]:
    return [(m["start"], m["end"], m["members"]) for m in consume(store, "members")]


def snapshot(store: Path) -> dict:
    with Store(store / "store.db") as db:
        return json.loads(db.state_get(SERVICE, "__window", b""))


def test_sliding_offset_grace_and_late_records_match_the_reference(pipeline, tmp_path):
    store = tmp_path / "store"
    records = stream(1, 3000)
    produce(store, records)
    summary = run(pipeline, store)
    want = simulate([records], **SPEC)
    assert flushes(store) == want.flushes
    dead = consume(store, f"{SERVICE}.dead-letters")
    late = [d for d in dead if d["kind"] == "late"]
    assert [(d["offset"], d["reason"]) for d in late] == [(i, why) for i, _, why in want.late]
    assert all(d["operator"] == "event-time" for d in late)
    late_ids = {i for i, _, _ in want.late}
    assert [d["offset"] for d in dead if d["kind"] != "late"] == [i for i in (999, 1999, 2999) if i not in late_ids]
    assert len(want.late) >= 10 and f"late {len(want.late)}" in summary
    # sliding: every on-time record is in every window containing it, and the grid is offset
    late_ids = {i for i, _, _ in want.late}
    membership = {}
    for start, end, members in want.flushes:
        assert (start - 1000) % 3000 == 0 and end - start == 7000
        for m in members:
            membership.setdefault(m, []).append((start, end))
    in_order = [r for r in records if r[0] not in late_ids and r[0] in membership]
    full = [r for r in in_order if membership[r[0]] == windows_of(r[1], 7000, 3000, 1000)]
    assert len(full) > len(records) * 0.8  # most records are on time for all their windows
    assert all(len(windows_of(ts, 7000, 3000, 1000)) in (2, 3) for _, ts, _ in records)
    # late records change no state: in no window at all
    assert not late_ids & set(membership)
    # no transform saw a window (the map before the window checks window() is the global one)
    assert {d["kind"] for d in dead} == {"late", "trap"}


def test_grace_admits_a_record_behind_a_passed_window_end(pipeline, tmp_path):
    """W = 11.5 s has passed the end of [4 s, 11 s) but not end + grace (13 s): a record at 10 s
    still counts there; [1 s, 8 s) closed at W = 10 s, so a record at 7.5 s skips it."""
    store = tmp_path / "store"
    records = [(1, 2000, False), (2, 11500, False), (3, 10000, False), (4, 7500, False), (5, 1500, False)]
    produce(store, records)
    summary = run(pipeline, store)
    got = {(s, e): m for s, e, m in flushes(store)}
    assert got[(4000, 11000)] == [3, 4]  # 3 (at 10 s) arrived after W passed 11 s: grace
    assert got[(1000, 8000)] == [1]  # 4 (at 7.5 s) came after this window closed
    assert got[(7000, 14000)] == [2, 3, 4]
    dead = consume(store, f"{SERVICE}.dead-letters")
    assert [(d["offset"], d["kind"]) for d in dead] == [(4, "late")]  # 1.5 s: only in [-2 s, 5 s) and [1 s, 8 s)
    assert "late 1" in summary
    assert flushes(store) == simulate([records], **SPEC).flushes


def test_drain_at_end_of_input_closes_every_window_and_moves_the_watermark(pipeline, tmp_path):
    store = tmp_path / "store"
    records = stream(2, 400)
    produce(store, records)
    run(pipeline, store)
    want = simulate([records], **SPEC)
    assert flushes(store) == want.flushes
    snap = snapshot(store)
    assert snap["open"] == [] and snap["watermark"] == want.watermark
    assert snap["watermark"] == max(e for _, e, _ in want.flushes) + 2000
    proc = sscc("state", "show", "seen", "--store", store, check=True)
    assert proc.stdout.split() == ["WINDOW", "KEY", "VALUE"] and "no open window" in proc.stderr


def test_a_second_run_continues_the_windows(pipeline, tmp_path):
    """Run 1 drains its windows; run 2 (a new process: the engine comes back from the store)
    treats records for those windows as late and opens newer windows normally."""
    store = tmp_path / "store"
    first = stream(3, 700)
    second = stream(4, 700, first_id=700, start=first[-1][1] - 4000)
    produce(store, first)
    run(pipeline, store)
    produce(store, second)
    summary = run(pipeline, store)
    want = simulate([first, second], **SPEC)
    assert flushes(store) == want.flushes
    dead = consume(store, f"{SERVICE}.dead-letters")
    assert [d["offset"] for d in dead if d["kind"] == "late"] == [i for i, _, _ in want.late]
    assert f"late {sum(1 for i, _, _ in want.late if i >= 700)}" in summary
    assert any(i >= 700 and ts < first[-1][1] for i, ts, _ in want.late)  # late because of the drain
    assert snapshot(store)["watermark"] == want.watermark


def test_a_trap_in_update_state_costs_only_that_record(pipeline, tmp_path):
    store = tmp_path / "store"
    records = stream(5, 2100)  # ids 999 and 1999 panic after updating state
    produce(store, records)
    run(pipeline, store)
    want = simulate([records], **SPEC)
    assert flushes(store) == want.flushes
    dead = consume(store, f"{SERVICE}.dead-letters")
    traps = [d for d in dead if d["kind"] == "trap"]
    assert [d["offset"] for d in traps] == [999, 1999] and "boom 999" in traps[0]["reason"]
    assert [d["offset"] for d in dead if d["kind"] == "late"] == [i for i, _, _ in want.late]

"""The corpus's tumbling window (fluvio-docs `tumbling_window.yaml`: 15 s, value state
`count-by-first-digit`, flush `clone()` into one String per window, then a second service
splitting it), run unchanged through the CLI on records whose timestamps we choose
(`topic produce --timestamp-separator`), against an independent reference: one flush per window
with exactly the counts of its on-time records, late records dead-lettered and counted. Also
`state show` of the open windows while a run has not drained them (stepped in process)."""

from __future__ import annotations

import json
import os
import random
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT

sys.path[:0] = [
    os.path.join(ROOT, "tests", "backend_project"),
    os.path.join(ROOT, "tests", "windows"),
    os.path.join(ROOT, "runtime_stub"),
]

from project_helpers import pipeline_copy, sscc  # noqa: E402
from window_reference import windows_of  # noqa: E402

PIPELINE = Path(CORPUS) / "fluvio-docs__sdf___embeds__dataflows__tumbling_window.yaml"
SERVICE = "examples.window-example.window-collect-service"  # namespace.pipeline.service


@pytest.fixture
def pipeline(tmp_path):
    yield from pipeline_copy(tmp_path, PIPELINE, "tumbling_window.yaml")


def sentences(seed: int, n: int, start: int = 0) -> list[tuple[int, str]]:
    """(timestamp, text): numbers and words, time ~+300 ms a record, some records far behind."""
    rng = random.Random(seed)
    out, t = [], start
    for k in range(n):
        t += rng.randint(0, 600)
        ts = t - (rng.randint(16_000, 40_000) if k % 53 == 7 else rng.randint(0, 500))
        text = rng.choice([str(rng.randint(0, 99999)), rng.choice(["apple", "7up", "", "42 is it"])])
        out.append((ts, text))
    return out


def reference(runs) -> tuple[list[str], list[int]]:
    """The flush strings in output order and the offsets of late records (15 s tumbling, no
    grace, drain after each run), with the first-character rule of the pipeline's assign-key."""
    wm, open_windows, flushes, late, offset = None, {}, [], [], 0

    def flush(w):
        counts = open_windows.pop(w)
        flushes.append("".join(f"Numbers with {d} occurred {c} times," for d, c in sorted(counts.items())))

    for records in runs:
        for ts, text in records:
            (w,) = windows_of(ts, 15_000, 15_000, 0)
            if wm is not None and wm >= w[1]:
                late.append(offset)
            else:
                open_windows.setdefault(w, Counter())[text[:1] if text else "empty"] += 1
            wm = ts if wm is None else max(wm, ts)
            for done in sorted(x for x in open_windows if wm >= x[1]):
                flush(done)
            offset += 1
        if open_windows:  # end of input: W moves to the last open end, every window flushes
            wm = max(wm, max(end for _, end in open_windows))
            for done in sorted(open_windows):
                flush(done)
    return flushes, late


def produce(store: Path, records) -> None:
    lines = "".join(f"{ts}:{text}\n" for ts, text in records)
    sscc("topic", "produce", "sentences", "--store", store, "--timestamp-separator", ":", "--quiet", input=lines, check=True)


def consume(store: Path, topic: str) -> list[str]:
    return sscc("topic", "consume", topic, "--store", store, "--from-beginning", "--until-idle", check=True).stdout.splitlines()


def test_one_flush_per_window_with_exact_counts(pipeline, tmp_path):
    store = tmp_path / "store"
    first, second = sentences(1, 2500), sentences(2, 1500, start=2500 * 300 + 5_000)
    produce(store, first)
    summary = sscc("run", pipeline, "--store", store, "--until-idle", check=True).stderr
    want, late = reference([first])
    assert consume(store, "digit-start-col") == want
    assert consume(store, "digit-start") == [part for line in want for part in line.split(",") if part]
    dead = [json.loads(line) for line in consume(store, f"{SERVICE}.dead-letters")]
    assert [(d["offset"], d["kind"]) for d in dead] == [(o, "late") for o in late]
    assert dead[0]["reason"].startswith("late: event time ") and "+ grace 0 ms (watermark" in dead[0]["reason"]
    assert len(late) > 20 and f"late {len(late)}" in summary
    # a second run (new process, restored engine) continues; the drain made the old windows late
    produce(store, second)
    sscc("run", pipeline, "--store", store, "--until-idle", check=True)
    want, late = reference([first, second])
    assert consume(store, "digit-start-col") == want
    dead = [json.loads(line) for line in consume(store, f"{SERVICE}.dead-letters")]
    assert [d["offset"] for d in dead] == late


def test_state_show_lists_the_open_windows_before_the_drain(pipeline, tmp_path):
    """A run that has not reached the end of its input (stepped in process, as `run` without
    --until-idle would) leaves windows open: `state show` prints them with their bounds,
    `--window` picks one (by START..END or START), `--key` one key."""
    from sscc_runtime import service
    from sscc_runtime.loop import Loop
    from sscc_runtime.store import Store

    project = tmp_path / "project"
    sscc("compile", pipeline, "-o", project, check=True)
    store = tmp_path / "store"
    store.mkdir()
    records = [(1_000, "12"), (2_000, "15"), (16_000, "3"), (17_000, "31"), (18_000, "")]
    with Store(store / "store.db") as db:
        package = project / "window_example"
        services = service.load(json.loads((package / "services.json").read_text()), package)
        loop = Loop(db, services)
        loop.fresh_starts()  # End of an empty topic: offset 0
        produce(store, records)
        loop.runners[0].step(threading.Event())
    out = sscc("state", "show", "count-by-first-digit", "--store", store, check=True).stdout
    rows = [line.split() for line in out.splitlines()]
    assert rows == [["WINDOW", "KEY", "VALUE"], ["15000..30000", "3", "2"], ["15000..30000", "empty", "1"]]
    assert consume(store, "digit-start-col") == ["Numbers with 1 occurred 2 times,"]  # [0, 15 s) closed
    one = sscc("state", "show", "count-by-first-digit", "--store", store, "--window", "15000", "--key", "3", check=True)
    assert [line.split() for line in one.stdout.splitlines()] == [["WINDOW", "KEY", "VALUE"], ["15000..30000", "3", "2"]]
    bad = sscc("state", "show", "count-by-first-digit", "--store", store, "--window", "0..15000")
    assert bad.returncode == 1 and bad.stderr.startswith("error: window 0..15000 is not open") and "15000..30000" in bad.stderr
    listing = sscc("state", "list", "--store", store, check=True).stdout.split()
    assert listing[4:7] == [SERVICE, "count-by-first-digit", "2"]


def test_default_watermark_and_idleness_close_a_quiet_window(pipeline, tmp_path):
    """No `watermark:` (the corpus file): grace 0 and idleness = the window's slide (15 s), as
    the description says. With idleness shortened in the description (plain data the runtime
    takes), a quiet source's last window closes by wall time alone, without a later record."""
    from sscc_runtime import service
    from sscc_runtime.loop import Loop
    from sscc_runtime.store import Store

    project = tmp_path / "project"
    sscc("compile", pipeline, "-o", project, check=True)
    package = project / "window_example"
    description = json.loads((package / "services.json").read_text())
    window = description["services"][0]["window"]
    assert (window["kind"], window["duration_ms"], window["grace_ms"], window["idleness_ms"]) == ("tumbling", 15000, 0, 15000)
    window["idleness_ms"] = 300
    store = tmp_path / "store"
    store.mkdir()
    with Store(store / "store.db") as db:
        loop = Loop(db, service.load(description, package))
        loop.fresh_starts()
        produce(store, [(14_000, "12"), (14_500, "15")])
        runner = loop.runners[0]
        runner.step(threading.Event())
        assert consume(store, "digit-start-col") == []  # W = 14.5 s: [0, 15 s) is open
        # quiet for >= 700 ms of wall time: W moves on from 14.5 s at wall-clock speed, past 15 s
        threading.Event().wait(0.7)
        runner.step(threading.Event())
    assert consume(store, "digit-start-col") == ["Numbers with 1 occurred 2 times,"]

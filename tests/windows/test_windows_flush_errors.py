"""A flush that fails: an `Err` from the flush of one window and a panic in the flush of another
(tests/windows/window_flush_errors.yaml, tumbling 10 s) each cost that window's output only: one
dead letter (kind `operator` / `trap`, offset -1, timestamp end - 1), the window's state is
dropped all the same (no open window is left, the changelog replays to nothing), and the windows
after them flush normally, in this run and the next."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path[:0] = [os.path.join(ROOT, "tests", "backend_project"), os.path.join(ROOT, "runtime_stub")]

from project_helpers import pipeline_copy, sscc  # noqa: E402
from sscc_runtime import frames, statelog  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "windows" / "window_flush_errors.yaml"


@pytest.fixture
def pipeline(tmp_path):
    yield from pipeline_copy(tmp_path, PIPELINE, "window_flush_errors.yaml")


def produce(store: Path, lines: str) -> None:
    sscc("topic", "produce", "words", "--store", store, "--timestamp-separator", ":", "--quiet", input=lines, check=True)


def consume(store: Path, topic: str) -> list[str]:
    return sscc("topic", "consume", topic, "--store", store, "--from-beginning", "--until-idle", check=True).stdout.splitlines()


def test_a_failing_flush_costs_its_window_only(pipeline, tmp_path):
    store = tmp_path / "store"
    produce(store, "1000:a\n2000:b\n3000:a\n11000:err\n12000:c\n21000:boom\n22000:d\n31000:e\n32000:e\n")
    sscc("run", pipeline, "--store", store, "--until-idle", check=True)
    assert consume(store, "summaries") == ["0 a=2,b=1", "30000 e=2"]
    dead = [json.loads(line) for line in consume(store, "summarize.dead-letters")]
    assert [(d["kind"], d["operator"], d["offset"], d["timestamp"]) for d in dead] == [
        ("operator", "summary", -1, 19_999),
        ("trap", "summary", -1, 29_999),
    ]
    assert "err in window (10000, 20000)" in dead[0]["reason"] and "boom in window (20000, 30000)" in dead[1]["reason"]
    shown = sscc("state", "show", "word-count", "--store", store, check=True)
    assert shown.stdout.split() == ["WINDOW", "KEY", "VALUE"]
    with Store(store / "store.db") as db:
        assert statelog.replay_windows(statelog.read_all(db, "tests.window-flush-errors.summarize.word-count.changelog")) == {}
        # a flush output has no key, timestamp end - 1 and no origin
        outputs = list(frames.iter_records(statelog.read_all(db, "summaries")))
        assert [(r.key, r.timestamp, r.origin) for r in outputs] == [(None, 9_999, -1), (None, 39_999, -1)]
    # the next run (fresh instance, state replayed) goes on normally
    produce(store, "41000:f\n42000:g\n")
    sscc("run", pipeline, "--store", store, "--until-idle", check=True)
    assert consume(store, "summaries") == ["0 a=2,b=1", "30000 e=2", "40000 f=1,g=1"]

"""The corpus's value-state word counter (stateful-dataflows-examples@e6d4bbe0 `word-counter`:
flat-map into words, tumbling 20 s, `count-per-word` u32, a flush that sorts the window's
`clone()` as entries with `.key`/`.value` and keeps the top 3) run unchanged through the CLI
against a plain-Python reference of the same rules (per-record lateness, drain at the end)."""

from __future__ import annotations

import json
import os
import random
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT

sys.path[:0] = [os.path.join(ROOT, "tests", "backend_project")]

from project_helpers import pipeline_copy, sscc  # noqa: E402

PIPELINE = Path(CORPUS) / "stateful-dataflows-examples@e6d4bbe0__dataflows-inline__word-counter__dataflow.yaml"
WORDS = ["the", "The", "cat", "dog!", "a", "new", "end.", "sky", "Sky", "red", "x1", "--"]


@pytest.fixture
def pipeline(tmp_path):
    yield from pipeline_copy(tmp_path, PIPELINE, "word_counter.yaml")


def reference(records: list[tuple[int, str]]) -> list[list[dict]]:
    """Top 3 per 20 s window in window order: counts ascending (ties in key order), reversed."""
    wm, windows, out = None, {}, []

    def flush(w):
        ranked = sorted(sorted(windows.pop(w).items()), key=lambda kv: kv[1])[::-1][:3]
        out.append([{"word": k, "count": c} for k, c in ranked])

    for ts, line in records:
        w = ts - ts % 20_000
        words = ["".join(c for c in word if c.isalnum()) for word in line.split()]
        for word in filter(None, words):  # each word is its own record after the flat-map
            if wm is None or wm < w + 20_000:
                windows.setdefault(w, Counter())[word.lower()] += 1
            wm = ts if wm is None else max(wm, ts)
            for done in sorted(x for x in windows if wm >= x + 20_000):
                flush(done)
    for done in sorted(windows):
        flush(done)
    return out


def test_top_words_per_window(pipeline, tmp_path):
    rng = random.Random(5)
    records, t = [], 0
    for k in range(600):
        t += rng.randint(0, 700)
        ts = t - (30_000 if k % 71 == 9 else rng.randint(0, 400))
        records.append((ts, " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 5)))))
    store = tmp_path / "store"
    lines = "".join(f"{ts}:{line}\n" for ts, line in records)
    sscc("topic", "produce", "sentence", "--store", store, "--timestamp-separator", ":", "--quiet", input=lines, check=True)
    summary = sscc("run", pipeline, "--store", store, "--until-idle", check=True).stderr
    out = sscc("topic", "consume", "most-used-words", "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    want = reference(records)
    assert [json.loads(line) for line in out.splitlines()] == want
    assert len(want) > 10 and "late " in summary

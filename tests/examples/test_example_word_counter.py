"""examples/word-counter: a 20 s tumbling window over event time from the value, arrow-row state
per word and window, and a flush that reads the closing window's top 3 through `sql()`; a late
sentence is one dead letter of kind `late`. The expected files are re-derived here by a plain
Python reference of the pipeline and of docs/semantics.md's window rules."""

import json
from collections import Counter

from example_cli import Example, assert_outputs, require_toolchain, run_with_sscc

EXAMPLE = Example("word-counter")
WINDOW_MS = 20_000


def reference(lines: list[str]) -> tuple[list[list[dict]], list[int]]:
    """(one top-3 list per window in closing order, offsets of late sentences)."""
    windows: dict[int, Counter] = {}
    flushed: list[list[dict]] = []
    late: list[int] = []
    watermark = None

    def close_until(mark):
        for start in sorted(s for s in windows if s + WINDOW_MS <= mark):
            counts = windows.pop(start)
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            flushed.append([{"word": w, "count": c} for w, c in top])

    for offset, line in enumerate(lines):
        sentence = json.loads(line)
        start = sentence["time"] // WINDOW_MS * WINDOW_MS
        words = ["".join(c for c in w if c.isalnum()) for w in sentence["text"].split()]
        words = [w.lower() for w in words if w]
        if watermark is not None and start + WINDOW_MS <= watermark:
            late.append(offset)
            continue
        for w in words:
            windows.setdefault(start, Counter())[w] += 1
        watermark = sentence["time"] if watermark is None else max(watermark, sentence["time"])
        close_until(watermark)
    close_until(float("inf"))  # end of input drains every open window
    return flushed, late


def test_expected_files_match_the_plain_python_reference():
    flushed, late = reference(EXAMPLE.input_lines("sentences"))
    assert [json.loads(line) for line in EXAMPLE.expected_topics()["most-used-words"]] == flushed
    assert [d["offset"] for d in EXAMPLE.expected_dead_letters("word-processing-window")] == late == [6]


def test_one_top_three_per_window_and_the_late_sentence_dead_lettered(tmp_path):
    require_toolchain()
    outputs = run_with_sscc(EXAMPLE, tmp_path / "store")
    assert_outputs(EXAMPLE, outputs)
    (letter,) = outputs.dead_letters["word-processing-window"]
    assert letter["reason"].startswith("late: event time 15000 ms is past window [0, 20000)")

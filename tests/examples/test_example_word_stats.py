"""examples/word-stats: a filter-map service feeding a windowed word count (10 s tumbling, 2 s
grace, arrow-row state, top 3 through `sql()` in the flush). Event time is the record's own
timestamp, so the test produces posts with explicit ones (`--timestamp-separator`)."""

import json

from example_cli import Example, sscc, require_toolchain

EXAMPLE = Example("word-stats")

POSTS = [  # (event time ms, text, likes)
    (1_000, "a a a b b c", 12),
    (2_000, "a b d", 3),  # fewer than 10 likes: filtered out before counting
    (9_000, "c c c c d", 10),
    (15_000, "x y y z z z", 50),  # W = 15 s >= 10 s + 2 s grace: [0, 10 s) closes
    (5_000, "a a a a", 20),  # its window closed: late, a dead letter of word-counter
    (23_000, "q", 11),  # flushed by the end-of-input drain
]


def test_checks_clean_and_lowers_to_two_services():
    sscc("check", "--strict", str(EXAMPLE.file))
    text = sscc("ir", str(EXAMPLE.file))
    assert "Service liked-posts" in text and "Service word-counter" in text


def test_liked_posts_counted_per_window_top_three_and_the_late_post_dead_lettered(tmp_path):
    require_toolchain()
    store = str(tmp_path / "store")
    lines = "".join(
        f"{ts}:{json.dumps({'author': 'ann', 'text': text, 'likes': likes})}\n" for ts, text, likes in POSTS
    )
    sscc("topic", "produce", "posts", "--store", store, "--timestamp-separator", ":", stdin=lines)
    sscc("run", str(EXAMPLE.file), "--store", store, "--until-idle")
    out = sscc("topic", "consume", "top-words", "--store", store, "--from-beginning", "--until-idle")
    assert [json.loads(line) for line in out.splitlines()] == [
        [{"word": "c", "count": 5}, {"word": "a", "count": 3}, {"word": "b", "count": 2}],
        [{"word": "z", "count": 3}, {"word": "y", "count": 2}, {"word": "x", "count": 1}],
        [{"word": "q", "count": 1}],
    ]
    dead = sscc("topic", "consume", "word-counter.dead-letters", "--store", store, "--from-beginning", "--until-idle")
    (letter,) = [json.loads(line) for line in dead.splitlines()]
    assert letter["kind"] == "late" and json.loads(letter["value"]) == "a a a a" and letter["offset"] == 3

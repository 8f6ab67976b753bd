"""`sscc reset SERVICE` (issue 13 item 7): a follow-mode run that started at End commits that
position, so its own hint must lead to a way back: `reset --to-beginning`. Refused while a run
holds the store; without --yes nothing moves; old -> new positions printed; keyed state is not
rewound unless --drop-state. Real compiled pipelines, real store, real subprocesses."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import env, expected_words, pipeline_copy, sscc  # noqa: E402

EXAMPLE = Path(ROOT) / "examples" / "split-sentence" / "dataflow.yaml"
WORD_COUNT = Path(ROOT) / "tests" / "state" / "word_count_state.yaml"
HANG_GUARD = 120  # seconds; only stops a hung test, never asserts speed
SENTENCES = ["The quick brown fox", "jumps over", "the lazy dog"]


@pytest.fixture
def split(tmp_path):
    """split-sentence with the SDF default starting offset (End) instead of the example's Beginning."""
    for path in pipeline_copy(tmp_path, EXAMPLE):
        text = path.read_text()
        assert "position: Beginning" in text
        path.write_text(text.replace("position: Beginning", "position: End"))
        yield path


@pytest.fixture
def counting(tmp_path):
    yield from pipeline_copy(tmp_path, WORD_COUNT, "dataflow.yaml")


def _position(store: Path, service: str, topic: str) -> int | None:
    with sqlite3.connect(f"file:{store / 'store.db'}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT next_offset FROM positions WHERE service = ? AND topic = ?", (service, topic)
        ).fetchone()
    return None if row is None else row[0]


def _words(store: Path) -> list[str]:
    return sscc("topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True).stdout.splitlines()


def test_a_follow_run_that_skipped_records_can_be_reset_to_read_them(split, tmp_path):
    store = tmp_path / "store"
    sscc("topic", "produce", "sentences", "--store", store, input="\n".join(SENTENCES) + "\n", check=True)
    run = subprocess.Popen(
        [sys.executable, "-m", "sscc", "run", str(split), "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        deadline = time.monotonic() + HANG_GUARD
        while _position(store, "examples.split-sentence.sentence-words", "sentences") is None if (store / "store.db").exists() else True:
            assert run.poll() is None, run.stderr.read()
            assert time.monotonic() < deadline, "the run never committed its start"
            time.sleep(0.05)
        assert _position(store, "examples.split-sentence.sentence-words", "sentences") == 3, "End: after the 3 stored records"
        busy = sscc("reset", "sentence-words", "--to-beginning", "--yes", "--store", store)
        assert busy.returncode == 1, busy.stderr
        assert "a run is using the store" in busy.stderr and "Traceback" not in busy.stderr
        assert _position(store, "examples.split-sentence.sentence-words", "sentences") == 3, "nothing moved under the run"
    finally:
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=HANG_GUARD)
    assert run.returncode == 0, err
    hint = "`sscc reset sentence-words --to-beginning --yes`"
    assert "3 existing records skipped" in err and hint in err, err
    assert _words(store) == []

    dry = sscc("reset", "sentence-words", "--to-beginning", "--store", store)
    assert dry.returncode == 1 and "would move" in dry.stderr and "--yes" in dry.stderr
    assert "sentences[0]: 3 -> 0" in dry.stderr and "re-reads 3 records" in dry.stderr
    assert _position(store, "examples.split-sentence.sentence-words", "sentences") == 3, "without --yes nothing moves"

    moved = sscc("reset", "sentence-words", "--to-beginning", "--yes", "--store", store, check=True)
    assert "sentences[0]: 3 -> 0" in moved.stderr
    assert "state" not in moved.stderr, "a stateless service: nothing to say about state"
    sscc("run", split, "--store", store, "--until-idle", "--quiet", check=True)
    assert _words(store) == expected_words(SENTENCES)


def test_reset_to_end_and_to_an_offset(split, tmp_path):
    store = tmp_path / "store"
    sscc("topic", "produce", "sentences", "--store", store, input="\n".join(SENTENCES) + "\n", check=True)
    sscc("run", split, "--store", store, "--until-idle", "--quiet", check=True)
    first = _words(store)
    assert first == expected_words(SENTENCES)

    out_of_range = sscc("reset", "sentence-words", "--to-offset", "9", "--yes", "--store", store)
    assert out_of_range.returncode == 1 and "offset 9 is outside sentences[0], which holds offsets 0..3" in out_of_range.stderr
    moved = sscc("reset", "sentence-words", "--to-offset", "2", "--yes", "--store", store, check=True)
    assert "sentences[0]: 3 -> 2" in moved.stderr
    sscc("run", split, "--store", store, "--until-idle", "--quiet", check=True)
    assert _words(store) == first + expected_words(SENTENCES[2:]), "only record 2 again"

    sscc("topic", "produce", "sentences", "--store", store, input="never read\n", check=True)
    moved = sscc("reset", "sentence-words", "--to-end", "--yes", "--store", store, check=True)
    assert "sentences[0]: 3 -> 4" in moved.stderr and "skips 1 record" in moved.stderr
    sscc("run", split, "--store", store, "--until-idle", "--quiet", check=True)
    assert "never" not in _words(store)

    for args, message in [
        (["no-such-service", "--to-end"], "service 'no-such-service' has no committed positions"),
        (["sentence-words", "--to-end", "--topic", "words"], "does not read topic 'words'"),
        (["sentence-words", "--to-end", "--partition", "5"], "reads no partition 5"),
    ]:
        refused = sscc("reset", *args, "--yes", "--store", store)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    usage = sscc("reset", "sentence-words", "--store", store)
    assert usage.returncode == 2 and "one of the arguments --to-beginning --to-end --to-offset is required" in usage.stderr


def _counts(store: Path) -> dict[str, int]:
    shown = sscc("state", "show", "count-per-word", "--store", store, check=True).stdout.splitlines()[1:]
    return {line.split()[0]: int(line.split()[1]) for line in shown}


def test_keyed_state_is_kept_unless_dropped_with_the_move(counting, tmp_path):
    store = tmp_path / "store"
    lines = ["a b a", "c a"]
    sscc("topic", "produce", "sentences", "--store", store, input="\n".join(lines) + "\n", check=True)
    sscc("run", counting, "--store", store, "--until-idle", "--quiet", check=True)
    once = dict(Counter(" ".join(lines).split()))
    assert _counts(store) == once

    kept = sscc("reset", "count-words", "--to-beginning", "--yes", "--store", store, check=True)
    assert "note: state count-per-word not rewound" in kept.stderr and "--drop-state" in kept.stderr
    sscc("run", counting, "--store", store, "--until-idle", "--quiet", check=True)
    assert _counts(store) == {w: 2 * n for w, n in once.items()}, "re-read records are counted again"

    dry = sscc("reset", "count-words", "--to-beginning", "--drop-state", "--store", store)
    assert dry.returncode == 1 and "and delete state count-per-word" in dry.stderr
    assert _counts(store) == {w: 2 * n for w, n in once.items()}, "without --yes nothing is deleted"
    dropped = sscc("reset", "count-words", "--to-beginning", "--drop-state", "--yes", "--store", store, check=True)
    assert "deleted state count-per-word" in dropped.stderr
    sscc("run", counting, "--store", store, "--until-idle", "--quiet", check=True)
    assert _counts(store) == once, "rebuilt from the records read again, exactly once"

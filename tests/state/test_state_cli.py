"""Keyed value state end to end through the CLI (docs/state.md): `sscc run` a word count
whose `update-state` increments `count-per-word`, then `sscc state show` must print the counts an
independent `collections.Counter` gives; a second run over more input continues them (the state
is durable: a new process replays the changelog); a record that traps after incrementing leaves
no trace in the state (the fresh instance gets the committed state plus the completed records'
changes); `state list` and the error lines of `state show`."""

from __future__ import annotations

import itertools
import os
import random
import string
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import pipeline_copy, sscc  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "state" / "word_count_state.yaml"
VOCABULARY = ["Apple", "apple", "pear", "Plum", "fig", "kiwi", "lime", "date", "yuzu", "sloe"]


def sentences(seed: int, n: int, extra: tuple[str, ...] = ()) -> list[str]:
    rng = random.Random(seed)
    words = VOCABULARY + list(extra)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(0, 6))) for _ in range(n)]


def expected(lines: list[str]) -> Counter:
    """What the pipeline should count, from its definition: whitespace split, lowercase. A word
    `boom` traps after counting; the whole chain split -> key -> count is one stage (stages.py
    joins the partition region), so the trap costs its input record, the sentence: none of that
    sentence's counts become durable."""
    return Counter(w.lower() for line in lines if "boom" not in line.split() for w in line.split())


def shown(store: Path, *extra: str) -> dict[str, int]:
    proc = sscc("state", "show", "count-per-word", "--store", store, *extra, check=True)
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["KEY", "VALUE"]
    return {key: int(value) for key, value in (line.split() for line in lines[1:])}


@pytest.fixture
def pipeline(tmp_path):
    yield from pipeline_copy(tmp_path, PIPELINE, "word_count_state.yaml")


def produce(store: Path, lines: list[str]) -> None:
    sscc("topic", "produce", "sentences", "--store", store, input="\n".join(lines) + "\n", check=True)


def run(pipeline: Path, store: Path) -> str:
    return sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", check=True).stderr


def test_keys_of_every_length_that_differ_in_one_byte_are_counted_apart(pipeline, tmp_path):
    """The guest compares a record's key with a stored key in 8-byte words and a 4 + 2 + 1-byte
    tail (keyed.rs `same_bytes`), and hands assign-key the word in a reused buffer (state.rs
    `spare_key`): keys of 1 to 40 bytes, variants of each that differ only in the first, 8th, 9th
    or last byte, multi-byte text, and enough keys of equal length (every 3-letter word, 11-byte
    words differing in their first or last 3 bytes) that lookups meet other keys with the same
    hash tag, must each keep a count of their own, in the run and after a reload from the
    changelog. (A compare that skipped the tail merged ~400 of these keys.)"""
    words = ["k" * n for n in range(1, 41)]
    variants = {w[:i] + "z" + w[i + 1 :] for w in words for i in (0, 7, 8, len(w) - 1) if i < len(w)}
    three = ["".join(t) for t in itertools.product(string.ascii_lowercase, repeat=3)]
    extra = tuple(words) + tuple(sorted(variants)) + ("é", "Éé", "éééé", "日本語の単語", "Zk" * 9)
    extra += tuple(three) + tuple("k" * 8 + t for t in three[::9]) + tuple(t + "k" * 8 for t in three[::9])
    store = tmp_path / "store"
    first, second = sentences(3, 8000, extra), sentences(4, 3000, extra)
    produce(store, first)
    run(pipeline, store)
    assert shown(store) == dict(expected(first))
    produce(store, second)
    run(pipeline, store)
    assert shown(store) == dict(expected(first + second))


def test_counts_match_a_counter_and_continue_across_runs(pipeline, tmp_path):
    store = tmp_path / "store"
    first = sentences(1, 5000)
    produce(store, first)
    run(pipeline, store)
    assert shown(store) == dict(expected(first))
    second = sentences(2, 3000)
    produce(store, second)
    run(pipeline, store)  # a new process: the counts so far come back from the changelog
    assert shown(store) == dict(expected(first + second))
    assert shown(store, "--key", "apple") == {"apple": expected(first + second)["apple"]}
    listing = sscc("state", "list", "--store", store, check=True).stdout.splitlines()
    assert listing[0].split() == ["SERVICE", "STATE", "KEYS", "CHANGES"]
    service, state, keys, changes = listing[1].split()
    total = sum(expected(first + second).values())
    assert (service, state, int(keys)) == ("test.word-count-state.count-words", "count-per-word", len(expected(first + second)))
    # One change record per key and batch (the guest compacts a batch's changes), never more.
    assert len(expected(first + second)) <= int(changes.replace(",", "")) < total


def test_a_trap_after_an_increment_leaves_no_trace_in_the_state(pipeline, tmp_path):
    store = tmp_path / "store"
    lines = sentences(3, 4000, extra=("boom",))
    booms = sum(1 for line in lines if "boom" in line.split())
    assert booms > 10  # several traps inside one batch, each on a fresh instance
    produce(store, lines)
    run(pipeline, store)
    counts = shown(store)
    assert "boom" not in counts
    assert counts == dict(expected(lines))
    dead = sscc(
        "topic", "consume", "count-words.dead-letters", "--store", store, "--from-beginning", "--until-idle", check=True
    ).stdout.splitlines()
    assert len(dead) == booms
    assert all("boom after counting to" in line for line in dead)
    # And the next run starts from that durable state, not from the torn instance.
    more = sentences(4, 500)
    produce(store, more)
    run(pipeline, store)
    assert shown(store) == dict(expected(lines + more))


def test_state_show_errors_are_one_line(pipeline, tmp_path):
    store = tmp_path / "store"
    produce(store, ["a b a"])
    run(pipeline, store)
    for args, message in [
        (("show", "nope"), "error: no state 'nope'"),
        (("show", "count-per-word", "--key", "zz"), "error: no key 'zz' in state test.word-count-state.count-words.count-per-word"),
    ]:
        proc = sscc("state", *args, "--store", store)
        assert proc.returncode == 1
        assert proc.stderr.startswith(message), proc.stderr
        assert "Traceback" not in proc.stderr
    assert shown(store) == {"a": 2, "b": 1}

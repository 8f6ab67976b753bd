"""Exactly-once state across kill -9: the word-count pipeline of tests/state compiled with
`sscc compile`, run with `python -m word_count_state run --until-idle` over 60,000 sentences in two
partitions (some with `boom`, which traps after incrementing: the sentence is dead-lettered),
SIGKILLed at random moments and restarted, must end with the counts of an independent Counter
(nothing lost, nothing counted twice), every source record committed once, and one dead letter
per `boom`. Two partitions make two state shards (docs/scale-out.md): the split runs before the
repartition topic, the count after it, so a `boom` that traps costs only its own word."""

from __future__ import annotations

import os
import random
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT
from kill_harness import Command, compile_project, kill_9_and_restart

sys.path[:0] = [os.path.join(ROOT, "runtime_stub"), os.path.join(ROOT, "tests", "runtime")]

from sscc_runtime import statelog  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "state" / "word_count_state.yaml"
PACKAGE = "word_count_state"
SERVICE, SOURCE = "test.word-count-state.count-words", "sentences"  # namespace.pipeline.service
CHANGELOG = f"{SERVICE}.count-per-word.changelog"
DEAD = f"{SERVICE}.dead-letters"
SENTENCES = 60_000
KILLS = 6
PARTITIONS = 2
WORDS = ["Apple", "apple", "pear", "Plum", "fig", "kiwi", "lime", "date", "yuzu", "sloe"] + [f"w{i}" for i in range(500)]


def lines() -> list[str]:
    rng = random.Random(7)
    out = []
    for i in range(SENTENCES):
        words = [rng.choice(WORDS) for _ in range(rng.randint(0, 5))]
        if i % 1009 == 0:
            words.insert(rng.randint(0, len(words)), "boom")
        out.append(" ".join(words))
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    out = compile_project(PIPELINE, tmp_path_factory.mktemp("compiled") / "word-count-state")
    assert f"python -m {PACKAGE} state show count-per-word" in (out / "README.md").read_text()
    return out


def app(project: Path, *args: str) -> Command:
    return Command.emitted(project, PACKAGE, *args)


def committed(db: Store) -> int:
    return sum(db.position(SERVICE, SOURCE, p) or 0 for p in range(PARTITIONS))


def test_kill_9_keeps_the_state_exactly_once(project, tmp_path):
    text = lines()
    source = tmp_path / "sentences.txt"
    source.write_text("".join(line + "\n" for line in text))
    store = tmp_path / "store"
    app(project, "topic", "produce", SOURCE, "--store", str(store), "--file", str(source),
        "--partitions", str(PARTITIONS), "--quiet").run(120)

    seen = kill_9_and_restart(
        app(project, "run", "--store", str(store), "--until-idle", "--quiet", "--batch-records", "4096"),
        store_db=store / "store.db", progress=committed,
        kills=KILLS, after=(3_000, SENTENCES - 10_000), seed=4242,
    ).seen  # fmt: skip

    # A trap costs the record it happened in: with the state in two shards that is the word
    # `boom` as the keyed task read it from the repartition topic (its sentence's other words count).
    counted = Counter(w.lower() for line in text for w in line.split() if w != "boom")
    with Store(store / "store.db") as db:
        assert db.partitions(CHANGELOG) == PARTITIONS
        log = statelog.read_all(db, CHANGELOG)
        changes = statelog.records(db, CHANGELOG)
        dead = db.bounds(DEAD, 0)[1] - db.bounds(DEAD, 0)[0]
        assert committed(db) == SENTENCES
    assert statelog.replay(log) == dict(counted)
    # The guest keeps one change record per key and call (fewer than one per counted word, at
    # least one per key); a batch with traps keeps the raw changes of its salvaged parts, and
    # most batches here have one. Exactness is the replay above.
    assert len(counted) <= changes < sum(counted.values())
    assert dead == sum(line.split().count("boom") for line in text)
    print("committed at each kill:", seen, "changes", changes, "dead", dead)
    assert len(seen) == KILLS and all(0 < n < SENTENCES for n in seen[1:]), seen

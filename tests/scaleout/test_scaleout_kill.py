"""Exactly once with sharded state across kill -9: examples/word-probe compiled with `sscc
compile`, 30,000 sentences in 8 partitions, `python -m word_probe run --until-idle` SIGKILLed at
10 random moments (tests/kill_harness.py) while the 8 tasks of `count-words` route words through
`count-words.repartition` and count them in 8 shards, then run to the end. Every word must be
counted exactly once: the shards' union equals a Counter of the input, each repartition
record was read once (positions = partition ends) and each key sits in one shard."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT
from kill_harness import Command, compile_project, kill_9_and_restart
from scaleout_util import produce
from sscc_runtime import statelog, tasks
from sscc_runtime.store import Store
from test_scaleout_keyed import CHANGELOG, OWNER, key_of, sentences

PIPELINE = Path(ROOT) / "examples" / "word-probe" / "dataflow.yaml"
PACKAGE = "word_probe"
PARTITIONS = 8
REPARTITION = tasks.repartition_topic(OWNER)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return compile_project(PIPELINE, tmp_path_factory.mktemp("compiled") / "word-probe")


def committed(db: Store) -> int:
    """Source positions plus repartition positions of count-words: the work committed."""
    total = 0
    for topic in ("sentences", REPARTITION):
        try:
            n = db.partitions(topic)
        except KeyError:
            continue
        total += sum(db.position(OWNER, topic, p) or 0 for p in range(n))
    return total


def test_kill_9_keeps_sharded_counts_exactly_once(project, tmp_path):
    lines = sentences(n=30_000, seed=8)
    words = sum(len(line.split()) for line in lines)
    store = tmp_path / "store"
    store.mkdir()
    with Store(store / "store.db") as db:
        produce(db, "sentences", lines, PARTITIONS)
    run = Command.emitted(project, PACKAGE, "run", "--store", str(store), "--until-idle", "--quiet", "--batch-records", "1000")
    kills = kill_9_and_restart(
        run, store_db=store / "store.db", progress=committed, kills=10, after=(3_000, (len(lines) + words) * 6 // 10),
        seed=1414, final_timeout=600,
    )
    with Store(store / "store.db") as db:
        assert db.partitions(CHANGELOG) == PARTITIONS
        got = [statelog.replay(statelog.read_all(db, CHANGELOG, p)) for p in range(PARTITIONS)]
        for p, rows in enumerate(got):
            assert all(zlib.crc32(json.dumps(k).encode()) % PARTITIONS == p for k in rows)
        whole = {k: v["count"] for rows in got for k, v in rows.items()}
        assert whole == dict(Counter(key_of(w) for line in lines for w in line.split()))
        ends = [db.bounds(REPARTITION, p)[1] for p in range(PARTITIONS)]
        assert sum(ends) == words  # each word reached the repartition topic once
        assert [db.position(OWNER, REPARTITION, p) for p in range(PARTITIONS)] == ends
    print("committed at each kill:", kills.seen)
    assert len(kills.seen) == 10

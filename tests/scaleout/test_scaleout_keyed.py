"""Sharded keyed state (docs/scale-out.md): examples/word-probe compiled with `sscc compile`, its
sentences in 8 partitions. `count-words` (keyed arrow-row state) runs as 8 tasks: each routes its
words by CRC-32 of the key to `count-words.repartition` and keeps shard p of the counts in its
own instance, changelog partition p. `lookup-word` (stateless, `from:` + `sql()`) runs as 8
tasks reading every shard. The expectations are computed here from the input with a Counter."""

from __future__ import annotations

import json
import random
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT
from scaleout_util import compile_project, produce, run, services, topic
from sscc_runtime import statelog, tasks
from sscc_runtime.store import Store

PIPELINE = Path(ROOT) / "examples" / "word-probe" / "dataflow.yaml"
PACKAGE = "word_probe"
OWNER, READER = "examples.word-probe.count-words", "examples.word-probe.lookup-word"  # namespace.pipeline.service
CHANGELOG = f"{OWNER}.count-per-word.changelog"
PARTITIONS = 8


def key_of(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


def sentences(n: int = 6000, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(700)] + ["Fox", "fox!", "DOG"]
    return [" ".join(rng.choices(vocab, k=rng.randint(3, 12))) for _ in range(n)]


def probes(seed: int = 4) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice([f"w{i}" for i in range(760)] + ["fox", "dog"]) for _ in range(3000)]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return compile_project(PIPELINE, tmp_path_factory.mktemp("compiled") / "word-probe")


def shards(db: Store) -> list[dict]:
    return [statelog.replay(statelog.read_all(db, CHANGELOG, p)) for p in range(db.partitions(CHANGELOG))]


def sscc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sscc", *args], capture_output=True, text=True, timeout=300)


def test_eight_tasks_shard_the_state_by_key_and_readers_see_every_shard(project, tmp_path):
    svcs = services(project, PACKAGE)
    lines, words = sentences(), probes()
    want = Counter(key_of(w) for line in lines for w in line.split())
    store = tmp_path / "store"
    store.mkdir()
    with Store(store / "store.db") as db:
        produce(db, "sentences", lines, PARTITIONS)
        db.ensure_topic("words", PARTITIONS)  # filled in phase 2
        owner = next(s for s in svcs if s.name == OWNER)
        assert tasks.layout(owner, db) == tasks.Layout(tasks.KEYED, PARTITIONS, PARTITIONS)
        assert len(tasks.tasks_of(owner, db)) == PARTITIONS
        run(db, svcs)
        assert db.partitions(CHANGELOG) == PARTITIONS
        assert db.partitions(tasks.repartition_topic(OWNER)) == PARTITIONS
        got = shards(db)
        # every key lives in exactly the shard its hash names, and nowhere else
        for p, rows in enumerate(got):
            assert rows, f"shard {p} is empty"
            assert all(zlib.crc32(json.dumps(k).encode()) % PARTITIONS == p for k in rows), p
        whole = {k: v["count"] for rows in got for k, v in rows.items()}
        assert sum(len(rows) for rows in got) == len(whole)
        assert whole == dict(want)
        # phase 2: the probes, read by 8 stateless tasks that see every shard through `from:`
        produce(db, "words", words, PARTITIONS, seed=9)
        assert tasks.layout(next(s for s in svcs if s.name == READER), db) == tasks.Layout(tasks.PARTITIONED, PARTITIONS)
        counters = run(db, svcs)
        assert counters[READER].records_in == len(words)
        answers = sorted(json.loads(r.value)["word"] + f"={json.loads(r.value)['count']}" for r in topic(db, "word-counts"))
        assert answers == sorted(f"{w}={want.get(w, 0)}" for w in words)
        assert topic(db, f"{OWNER}.dead-letters") == [] and topic(db, f"{READER}.dead-letters") == []
    # the inspection commands show the whole table across the shards
    shown = sscc("state", "show", "count-per-word", "--store", str(store))
    assert shown.returncode == 0, shown.stderr
    rows = [line.split(None, 1) for line in shown.stdout.splitlines()[1:]]
    assert {k: json.loads(v)["count"] for k, v in rows} == dict(want)
    listed = sscc("state", "list", "--store", str(store))
    assert listed.stdout.split()[4:7] == [OWNER, "count-per-word", f"{len(want):,}"], listed.stdout
    query = sscc("sql", "select _key, count from count_per_word", "--json", "--store", str(store))
    assert query.returncode == 0, query.stderr
    assert {row["_key"]: row["count"] for row in map(json.loads, query.stdout.splitlines())} == dict(want)


def test_task_subsets_run_one_after_another_give_the_same_state(project, tmp_path):
    """A worker runs any subset of the tasks: tasks {0..3}, then {4..7}, and again (the words
    routed to the other half wait in the repartition topic) until neither reads anything, equal
    an all-at-once run."""
    svcs = [s for s in services(project, PACKAGE) if s.name == OWNER]
    lines = sentences(seed=5)
    with Store(tmp_path / "all.db") as everything, Store(tmp_path / "halves.db") as halves:
        for db in (everything, halves):
            produce(db, "sentences", lines, PARTITIONS)
        run(everything, svcs)
        low = {tasks.TaskId(OWNER, p) for p in range(4)}
        high = {tasks.TaskId(OWNER, p) for p in range(4, 8)}
        rounds = 0
        while True:
            rounds += 1
            a, b = run(halves, svcs, low), run(halves, svcs, high)
            if a[OWNER].batches == 0 and b[OWNER].batches == 0:
                break
            assert rounds < 10
        assert rounds >= 3  # the first {4..7} pass left words for {0..3}
        assert shards(halves) == shards(everything)
        want = Counter(key_of(w) for line in lines for w in line.split())
        assert {k: v["count"] for rows in shards(halves) for k, v in rows.items()} == dict(want)


def test_a_store_whose_changelog_has_one_partition_keeps_one_task(project, tmp_path):
    """Stores written before scale-out have one changelog partition: the service keeps running
    as one task over every source partition (its state is never moved between shards)."""
    svcs = [s for s in services(project, PACKAGE) if s.name == OWNER]
    lines = sentences(n=2000, seed=6)
    with Store(tmp_path / "old.db") as db:
        produce(db, "sentences", lines, PARTITIONS)
        db.ensure_topic(CHANGELOG, 1)  # as a run before scale-out created it
        assert tasks.layout(svcs[0], db) == tasks.Layout(tasks.SINGLE, 1)
        run(db, svcs)
        assert db.partitions(CHANGELOG) == 1
        assert tasks.repartition_topic(OWNER) not in db.topics()
        want = Counter(key_of(w) for line in lines for w in line.split())
        assert {k: v["count"] for k, v in shards(db)[0].items()} == dict(want)


def test_route_keeps_order_and_uses_crc32_of_the_key_bytes():
    from sscc_runtime import frames

    records = [(f'"k{i % 13}"'.encode(), f"v{i}".encode(), i, i) for i in range(500)] + [(None, b"nokey", 0, 0)]
    data, _ = frames.build(records)
    parts = tasks.route(data, 5)
    assert sum(n for _, n in parts) == len(records)
    for p, (part, n) in enumerate(parts):
        got = list(frames.iter_records(part))
        assert len(got) == n
        want = [r for r in records if (0 if r[0] is None else zlib.crc32(r[0])) % 5 == p]
        assert [(r.key, r.value, r.timestamp, r.origin) for r in got] == want


def test_a_reader_started_first_does_not_decide_the_owners_shards(project, tmp_path):
    """A worker may start a `from:` reader's tasks before any owner task: the reader must not
    create the owner's changelog (with one partition it would keep the owner unsharded)."""
    svcs = services(project, PACKAGE)
    reader = [s for s in svcs if s.name == READER]
    with Store(tmp_path / "s.db") as db:
        produce(db, "sentences", sentences(n=500), PARTITIONS)
        db.ensure_topic("words", PARTITIONS)
        run(db, reader)
        assert CHANGELOG not in db.topics()
        run(db, list(reversed(svcs)))
        assert db.partitions(CHANGELOG) == PARTITIONS


def test_the_guest_router_groups_frames_exactly_as_the_python_reference(project):
    """`sscc_route` (every compiled module has it) against tasks.route: same groups, same order,
    keys of every shape (JSON strings with escapes, numbers, empty, none)."""
    from sscc_runtime import frames
    from sscc_runtime.wasm_host import Guest

    guest = Guest(project / PACKAGE / "wasm" / "count-words.wasm")
    keys = [json.dumps(k).encode() for k in ("w1", "é\"\\", "", "x" * 300)] + [b"12", b"-7", b"", None]
    records = [(keys[i % len(keys)], f"v{i}".encode(), i * 3, i) for i in range(2000)]
    data, _ = frames.build(records)
    for parts in (1, 2, 8, 13):
        assert guest.route(data, parts) == tasks.route(data, parts), parts
    assert guest.route(b"", 4) == [(b"", 0)] * 4

"""`sscc run` and `sscc topic` (and the emitted project's same commands) over a real store:
produce -> run -> consume round trips, keys, starting offsets, SIGTERM, topic list, errors."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import (  # noqa: E402
    EXAMPLE,
    copy_example,
    env,
    expected_words,
    need_toolchain,
    project,
    remove_run_cache,
    sscc,
)

SAMPLE = ROOT + "/examples/split-sentence/input/sentences.txt"
HANG_GUARD = 120  # seconds; only stops a hung test, never asserts speed


def _lines(path=SAMPLE) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return fh.read().splitlines()


@pytest.fixture
def pipeline(tmp_path):
    need_toolchain()
    path = copy_example(tmp_path / "src")
    yield path
    remove_run_cache(path)


def _count(store_db, topic: str) -> int:
    with sqlite3.connect(f"file:{store_db}?mode=ro", uri=True) as db:
        return db.execute("SELECT COALESCE(SUM(count), 0) FROM batches WHERE topic = ?", (topic,)).fetchone()[0]


def _position(store_db, service: str, topic: str) -> int | None:
    with sqlite3.connect(f"file:{store_db}?mode=ro", uri=True) as db:
        row = db.execute("SELECT next_offset FROM positions WHERE service = ? AND topic = ?", (service, topic)).fetchone()
    return None if row is None else row[0]


def _wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_produce_run_consume_round_trip(pipeline, tmp_path):
    store = tmp_path / "store"
    lines = _lines()
    sscc("topic", "produce", "sentences", "--store", store, "--file", SAMPLE, check=True)
    proc = sscc("run", pipeline, "--store", store, "--until-idle", check=True)
    assert "Traceback" not in proc.stderr
    assert f"in {len(lines)}" in proc.stderr.splitlines()[-1], "the summary line comes last"
    words = sscc("topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    assert words.splitlines() == expected_words(lines)
    lengths = sscc("topic", "consume", "word-lengths", "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    assert lengths.splitlines() == [str(len(w)) for w in expected_words(lines)]
    # A second run has nothing left to do: positions were committed.
    sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", check=True)
    again = sscc("topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    assert again == words


def _batches(store_db, topic: str) -> int:
    with sqlite3.connect(f"file:{store_db}?mode=ro", uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM batches WHERE topic = ?", (topic,)).fetchone()[0]


def test_batch_records_sets_how_many_records_each_commit_takes(pipeline, tmp_path):
    lines = _lines()
    assert len(lines) >= 4
    stores = {n: tmp_path / f"store-{n}" for n in (None, 2)}
    for n, store in stores.items():
        sscc("topic", "produce", "sentences", "--store", store, "--file", SAMPLE, check=True)
        sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", *(["--batch-records", n] if n else []), check=True)
    # each input batch commits one batch of `words` (every pair of sample lines has a word)
    assert _batches(stores[None] / "store.db", "words") == 1
    assert _batches(stores[2] / "store.db", "words") == -(-len(lines) // 2)
    # the same records either way
    for store in stores.values():
        out = sscc("topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True).stdout
        assert out.splitlines() == expected_words(lines)
    bad = sscc("run", pipeline, "--store", stores[2], "--until-idle", "--batch-records", "0")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_the_emitted_project_behaves_the_same(pipeline, tmp_path):
    out = tmp_path / "project"
    sscc("compile", pipeline, "-o", out, check=True)
    lines = ["One two", "THREE"]
    project(out, "split_sentence", "topic", "produce", "sentences", input="\n".join(lines) + "\n", cwd=tmp_path, check=True)
    project(out, "split_sentence", "run", "--until-idle", "--quiet", cwd=tmp_path, check=True)
    # the default store ./.sscc is shared with sscc's own topic command
    assert (tmp_path / ".sscc" / "store.db").is_file()
    words = sscc("topic", "consume", "words", "--from-beginning", "--until-idle", cwd=tmp_path, check=True).stdout
    assert words.splitlines() == expected_words(lines)


def test_keys_round_trip(pipeline, tmp_path):
    store = tmp_path / "store"
    records = ["k1=Hello World", "no key here", "k2=x=y"]
    sscc("topic", "produce", "sentences", "--store", store, "--key-separator", "=", input="\n".join(records) + "\n", check=True)
    raw = sscc("topic", "consume", "sentences", "--store", store, "--from-beginning", "--until-idle", "--keys", check=True).stdout
    assert raw.splitlines() == ["k1=Hello World", "=no key here", "k2=x=y"], "split at the first separator; no key prints empty"
    sscc("run", pipeline, "--store", store, "--until-idle", check=True)
    keyed = sscc(
        "topic",
        "consume",
        "words",
        "--store",
        store,
        "--from-beginning",
        "--until-idle",
        "--keys",
        "--key-separator",
        "|",
        check=True,
    ).stdout
    assert keyed.splitlines() == ["k1|hello", "k1|world", "|no", "|key", "|here", "k2|x=y"], "operators keep each record's key"


def test_store_from_environment(pipeline, tmp_path):
    store = tmp_path / "from-env"
    sscc("topic", "produce", "sentences", input="a b\n", SSCC_STORE=str(store), check=True)
    sscc("run", pipeline, "--until-idle", "--quiet", SSCC_STORE=str(store), check=True)
    listing = sscc("topic", "list", "--store", store, check=True).stdout.splitlines()
    assert listing[0].split() == ["TOPIC", "PARTITIONS", "RECORDS"]
    rows = {line.split()[0]: line.split()[1:] for line in listing[1:]}
    assert rows["sentences"] == ["1", "1"]
    assert rows["words"] == ["1", "2"]
    assert rows["word-lengths"] == ["1", "2"]
    # the service's own topics carry its pipeline's namespace (namespace.pipeline.service)
    assert rows["examples.split-sentence.sentence-words.dead-letters"] == ["1", "0"]


def test_produce_partitions_and_keys(tmp_path):
    store = tmp_path / "store"
    lines = [f"k{i % 5}=v{i}" for i in range(50)]
    sscc(
        "topic",
        "produce",
        "t",
        "--store",
        store,
        "--partitions",
        "3",
        "--key-separator",
        "=",
        input="\n".join(lines) + "\n",
        check=True,
    )
    rows = {r.split()[0]: r.split()[1:] for r in sscc("topic", "list", "--store", store, check=True).stdout.splitlines()[1:]}
    assert rows["t"] == ["3", "50"]
    keyed = sscc(
        "topic", "consume", "t", "--store", store, "--from-beginning", "--until-idle", "--keys", check=True
    ).stdout.splitlines()
    assert sorted(keyed) == sorted(lines)
    # every key lives in one partition, so per key the order is kept
    for k in range(5):
        mine = [line for line in keyed if line.startswith(f"k{k}=")]
        assert mine == [line for line in lines if line.startswith(f"k{k}=")]
    changed = sscc("topic", "produce", "t", "--store", store, "--partitions", "2", input="x\n")
    assert changed.returncode == 1 and changed.stderr.startswith("error: ") and "3 partitions" in changed.stderr


def test_until_idle_reads_a_default_End_source_from_the_beginning(tmp_path):
    need_toolchain()
    path = copy_example(tmp_path / "src", _without_consumer_config)
    try:
        store = tmp_path / "store"
        lines = ["Already here", "and this"]
        sscc("topic", "produce", "sentences", "--store", store, input="\n".join(lines) + "\n", check=True)
        proc = sscc("run", path, "--store", store, "--until-idle", check=True)
        assert "skipped" not in proc.stderr
        words = sscc("topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True).stdout
        assert words.splitlines() == expected_words(lines)
    finally:
        remove_run_cache(path)


def test_follow_mode_honours_End_and_says_what_it_skipped(tmp_path):
    need_toolchain()
    path = copy_example(tmp_path / "src", _without_consumer_config)
    store = tmp_path / "store"
    db = store / "store.db"
    try:
        old = ["old one", "old two", "old three"]
        sscc("topic", "produce", "sentences", "--store", store, input="\n".join(old) + "\n", check=True)
        child = subprocess.Popen(
            [sys.executable, "-m", "sscc", "run", str(path), "--store", str(store)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        try:
            _wait_for(lambda: _position(db, "examples.split-sentence.sentence-words", "sentences") is not None, "the starting position")
            new = ["Fresh Words", "arrive"]
            sscc("topic", "produce", "sentences", "--store", store, input="\n".join(new) + "\n", check=True)
            _wait_for(lambda: _count(db, "words") >= len(expected_words(new)), "the new words")
        finally:
            child.send_signal(signal.SIGTERM)
            _, err = child.communicate(timeout=HANG_GUARD)
        assert child.returncode == 0, err
        assert "note: service sentence-words starts reading sentences at End: 3 existing records skipped" in err
        assert "stopped by SIGTERM" in err
        words = sscc("topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True).stdout
        assert words.splitlines() == expected_words(new)
    finally:
        remove_run_cache(path)


def test_sigterm_stops_cleanly_and_a_restart_finishes_exactly_once(pipeline, tmp_path):
    store = tmp_path / "store"
    db = store / "store.db"
    vocabulary = ["alpha", "Beta", "gamma", "delta", "epsilon", "zeta", "eta"]
    lines = [" ".join(vocabulary[(i * 7 + j * 3) % 7] + str(i % 13) for j in range(1 + i % 6)) for i in range(150_000)]
    src = tmp_path / "lines.txt"
    src.write_text("\n".join(lines) + "\n")
    sscc("topic", "produce", "sentences", "--store", store, "--file", src, check=True)
    child = subprocess.Popen(
        [sys.executable, "-m", "sscc", "run", str(pipeline), "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        _wait_for(lambda: os.path.exists(db) and _count(db, "words") > 0, "the first output")
    finally:
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=HANG_GUARD)
    assert child.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped by SIGTERM" in err.splitlines()[-1]
    # What was committed is consistent: the words of exactly the sentences before the position.
    position = _position(db, "examples.split-sentence.sentence-words", "sentences")
    print(f"stopped at sentence {position} of {len(lines)}")
    done = sscc("topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True).stdout.splitlines()
    assert done == expected_words(lines[:position])
    # A restart finishes the rest, each sentence exactly once.
    sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", check=True)
    words = sscc(
        "topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True
    ).stdout.splitlines()
    assert words == expected_words(lines)
    assert _position(db, "examples.split-sentence.sentence-words", "sentences") == len(lines)


def test_consume_follows_until_signalled(pipeline, tmp_path):
    store = tmp_path / "store"
    sscc("topic", "produce", "sentences", "--store", store, input="before\n", check=True)
    child = subprocess.Popen(
        [sys.executable, "-m", "sscc", "topic", "consume", "sentences", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        # The consumer starts at the end: `before` is never printed. It may not have looked at
        # the end yet when the first `after` arrives, so keep producing until it prints one.
        deadline = time.monotonic() + HANG_GUARD
        while not select.select([child.stdout], [], [], 0.2)[0]:
            assert time.monotonic() < deadline, "the consumer printed nothing"
            sscc("topic", "produce", "sentences", "--store", store, "--quiet", input="after\n", check=True)
        first = child.stdout.readline().rstrip("\n")
    finally:
        child.send_signal(signal.SIGINT)
        rest, err = child.communicate(timeout=HANG_GUARD)
    assert child.returncode == 0, err
    printed = [first] + rest.splitlines()
    assert set(printed) == {"after"}, "only records produced after it started, never `before`"


@pytest.mark.parametrize(
    "args, message",
    [
        (["topic", "consume", "nope", "--until-idle"], "no topic 'nope'"),
        (["topic", "list"], None),
    ],
)
def test_runtime_errors_are_one_line(tmp_path, args, message):
    store = tmp_path / "store"
    sscc("topic", "produce", "t", "--store", store, input="x\n", check=True)
    proc = sscc(*args, "--store", store)
    if message is None:
        assert proc.returncode == 0
        return
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_store_and_usage_errors(tmp_path):
    proc = sscc("topic", "consume", "t", "--store", tmp_path / "none", "--until-idle")
    assert proc.returncode == 1 and proc.stderr.startswith("error: no store at")
    assert not (tmp_path / "none").exists(), "consuming does not create a store"
    assert sscc("topic", "consume").returncode == 2
    assert sscc("topic", "bogus").returncode == 2
    assert sscc("topic").returncode == 2
    assert sscc("run", EXAMPLE, "--no-pass", "nosuch").returncode == 2
    missing = sscc("run", tmp_path / "missing.yaml")
    assert missing.returncode == 1 and "error[E000]" in missing.stderr


def _without_consumer_config(text: str) -> str:
    """The example with its `config.consumer` removed: sources start at End (the SDF default)."""
    start = text.index("  consumer:")
    end = text.index("topics:")
    return text[:start] + "\n" + text[end:]

"""Held-out style: the corpus's own arrow-row / `from:` / `sql()` pipelines, unchanged, on seeded
generated input, against independent Python references written from the pipelines' code.

- every word-probe variant whose services compile (`dataflows/word-probe`, and the early-0.5
  `dataflows-inline/word-probe` that queries `` `count-per-word` `` through `count_per_word().sql(...)`);
  the Polars variants are refused with E202, never a traceback;
- `primitives/sql/join`: two counters and a FULL OUTER JOIN over both through `from:`;
- `primitives/sql/cli` (and its fluvio-docs copy): the last row per vehicle, read back with
  `sscc sql` and `sscc state show`.

Each runs in phases (state first, then lookups, then more of both), each phase one `sscc run
--until-idle` in a new process.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter

import pytest
from conftest import CORPUS
from sqlstate_cli import (
    consume,
    copy_pipeline,
    dead_letters,
    need_toolchain,
    produce,
    remove_run_cache,
    run,
    run_cli,
    state_show,
)

WORD_PROBES = [
    "stateful-dataflows-examples__dataflows__word-probe__dataflow.yaml",
    "stateful-dataflows-examples@d9e5cac9__dataflows-inline__word-probe__dataflow.yaml",
]
POLARS_WORD_PROBES = [
    "stateful-dataflows-examples@08038c63__dataflows-composed__word-probe__dataflow.yaml",
    "stateful-dataflows-examples@e6d4bbe0__dataflows-composed__word-probe__dataflow.yaml",
    "stateful-services-examples__use-cases__word-probe__data-pipeline.yaml",
]
JOIN = "stateful-dataflows-examples__primitives__sql__join__dataflow.yaml"
SQL_CLI = [
    "stateful-dataflows-examples__primitives__sql__cli__dataflow.yaml",
    "fluvio-docs__sdf___embeds__dataflows__sql_cli.yaml",
]
# Case, punctuation, digits, precomposed non-ASCII letters, words that lose every character.
VOCABULARY = ["fox", "Fox", "FOX!", "dog,", "dog", "Über", "über.", "naïve", "日本", "abc123", "x-ray",
              "it's", "Its", "!!!", "--", "42", "a", "A", "the", "The", "zebra"]  # fmt: skip


def key_of(word: str) -> str:
    """assign-key of these pipelines: lowercase, alphanumeric characters only."""
    return "".join(c for c in word.lower() if c.isalnum())


def sentences(rng: random.Random, n: int, vocabulary=VOCABULARY) -> list[str]:
    return [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 6))) for _ in range(n)]


@pytest.fixture
def corpus_copy(tmp_path):
    need_toolchain()
    copies = []

    def copy(name: str):
        path = copy_pipeline(tmp_path / f"p{len(copies)}", os.path.join(CORPUS, name))
        copies.append(path)
        return path

    yield copy
    for path in copies:
        remove_run_cache(path)


# ------------------------------------------------------------------ word-probe


def probe_reference(counts: Counter, words: list[str]) -> tuple[list[dict], list[int]]:
    """`select * from count_per_word where _key = '<word>'` with the word pasted in: the row of
    exactly that key (`Fox` is not `fox`), count 0 without one; a word with one quote breaks the
    SQL text: an operator error, a dead letter."""
    records, dead = [], []
    for offset, word in enumerate(words):
        if "'" in word:
            dead.append(offset)
        else:
            records.append({"word": word, "count": counts.get(word, 0)})
    return records, dead


@pytest.mark.parametrize("name", WORD_PROBES)
def test_word_probe_counts_and_lookups(corpus_copy, tmp_path, name):
    pipeline = corpus_copy(name)
    store = tmp_path / "store"
    rng = random.Random(name)
    counts, words, probed_dead, produced = Counter(), [], [], 0
    for phase in range(2):
        lines = sentences(rng, 1500)
        counts.update(key_of(w) for line in lines for w in line.split())
        produce(store, "sentences", lines)
        run(pipeline, store)
        probes = [rng.choice(VOCABULARY + sorted(counts) + ["absent", "fo"]) for _ in range(300)]
        produce(store, "words", probes)
        run(pipeline, store)  # a new process: the reader rebuilds its mirror from the changelog
        records, dead = probe_reference(counts, probes)
        want = [json.dumps(r) for r in records]
        got = consume(store, "word-counts")
        assert [json.loads(line) for line in got[len(words) :]] == [json.loads(r) for r in want]
        probed_dead += [produced + d for d in dead]
        produced += len(probes)
        words += want
    assert {k: v["count"] for k, v in state_show(store, "count-per-word").items()} == dict(counts)
    dl = dead_letters(store, "lookup-word")
    # offsets of the `words` topic: every word with a quote, and only those
    assert [d["offset"] for d in dl] == probed_dead
    assert all(d["kind"] == "operator" and d["reason"].startswith("sql: ") for d in dl), dl[:2]
    assert all("syntax error" in d["reason"] or "unrecognized token" in d["reason"] for d in dl), dl[:2]
    assert dead_letters(store, "count-words") == []


@pytest.mark.parametrize("name", POLARS_WORD_PROBES)
def test_word_probes_on_the_polars_api_are_refused_with_a_diagnostic(tmp_path, name):
    proc = run_cli("compile", os.path.join(CORPUS, name), "-o", tmp_path / "out", ok=False)
    assert proc.returncode == 1
    assert "error[E202]" in proc.stderr and "Polars" in proc.stderr, proc.stderr


# ------------------------------------------------------------------ sql join


def alnum_words(sentence: str) -> list[str]:
    return [w for w in ("".join(c for c in s if c.isalnum()) for s in sentence.split()) if w]


def test_sql_join_of_two_from_references(corpus_copy, tmp_path):
    pipeline = corpus_copy(JOIN)
    store = tmp_path / "store"
    rng = random.Random(JOIN)
    ca, cb = Counter(), Counter()
    voc_a = VOCABULARY[:14] + ["only-a", "Alpha"]
    voc_b = VOCABULARY[7:] + ["only-b", "Beta"]
    got_records, want_records, want_dead = 0, [], []
    probes_so_far = 0
    for phase in range(2):
        a, b = sentences(rng, 800, voc_a), sentences(rng, 800, voc_b)
        ca.update(w.lower() for s in a for w in alnum_words(s))
        cb.update(w.lower() for s in b for w in alnum_words(s))
        produce(store, "source-a", [json.dumps(s) for s in a])
        produce(store, "source-b", [json.dumps(s) for s in b])
        run(pipeline, store)
        known = sorted(set(ca) | set(cb))
        probes = [" ".join(rng.choice(known) for _ in range(rng.randint(1, 3))) for _ in range(150)]
        probes += [rng.choice(known) + " " + rng.choice(["nowhere", "Fox", "ONLYA"]) for _ in range(20)]
        rng.shuffle(probes)
        produce(store, "probe-word", [json.dumps(p) for p in probes])
        run(pipeline, store)
        for i, probe in enumerate(probes):
            out = []
            for word in alnum_words(probe):
                if word not in ca and word not in cb:
                    # SUM over no rows is NULL; `rows.i32` on NULL is an Err; the line is one record
                    want_dead.append(probes_so_far + i)
                    break
                out.append(f"key: `{word}` count: {ca[word] + cb[word]}")
            else:
                want_records += out
        probes_so_far += len(probes)
        got = [json.loads(line) for line in consume(store, "word-count")]
        assert got == want_records
        got_records = len(got)
    assert got_records > 100
    dead = dead_letters(store, "look-up-word")
    assert [d["offset"] for d in dead] == want_dead
    assert {d["reason"] for d in dead} == {"sql: column `total_count` holds null, not a i32"}
    for state, counter in (("count-per-word-a", ca), ("count-per-word-b", cb)):
        assert state_show(store, state) == {k: {"occurrences": n} for k, n in counter.items()}


# ------------------------------------------------------------------ sql cli: last row per key


@pytest.mark.parametrize("name", SQL_CLI)
def test_sql_cli_keeps_the_last_row_per_vehicle(corpus_copy, tmp_path, name):
    pipeline = corpus_copy(name)
    store = tmp_path / "store"
    rng = random.Random(name)
    ids = ["v1", "v2", "truck-7", "ü-1", ""]
    events = [
        {
            "vehicle_id": rng.choice(ids),
            "latitude": round(rng.uniform(-90, 90), rng.randint(0, 9)),
            "longitude": rng.uniform(-180, 180),
            "sensor_status": rng.choice(["ok", "degraded", "", "fault ✗"]),
            "fuel_consumption": rng.choice([0, 1, 4294967295, rng.randint(0, 10_000)]),
            "engine_rpm": rng.randint(0, 9000),
            "engine_temperature": rng.choice([-(2**31), -40, 0, 95, 2**31 - 1]),
            "speed": 1.5,
        }
        for _ in range(2000)
    ]
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    lines[100:100] = ["not json", '{"vehicle_id": 1}']
    produce(store, "vehicle-sensor", lines)
    run(pipeline, store)
    columns = ["latitude", "longitude", "fuel_consumption", "sensor_status", "engine_temperature"]
    last = {e["vehicle_id"]: {c: e[c] for c in columns} for e in events}
    rows = [
        json.loads(line)
        for line in run_cli(
            "sql", "select * from vehicle_data order by _key", "--store", store, "--json"
        ).stdout.splitlines()
    ]
    assert rows == [{"_key": k, **last[k]} for k in sorted(last)]
    hot = run_cli(
        "sql",
        "select _key from `vehicle-data` where engine_temperature > 90 order by _key",
        "--store",
        store,
        "--json",
    ).stdout
    assert [json.loads(line)["_key"] for line in hot.splitlines()] == sorted(
        k for k, v in last.items() if v["engine_temperature"] > 90
    )
    assert state_show(store, "vehicle-data") == last  # the empty vehicle id is a key like any other
    assert [d["offset"] for d in dead_letters(store, "collect-sensor-data")] == [100, 101]

"""Arrow-row keyed state end to end through the CLI (`tests/sqlstate/word_stats_sql.yaml`):
`s.count += 1; s.update()?` over several columns (u32, a string column named `last-word`, an f64)
must equal a plain-Python reference; `delete()` removes a key for `state show` and for `sql()`;
a second run continues the state; a panic after `update()` leaves no trace."""

from __future__ import annotations

import random

from sqlstate_cli import (  # noqa: F401 (`pipeline` is a fixture)
    pipeline,
    Tally,
    dead_letters,
    produce,
    run,
    state_show,
    consume,
)

VOCABULARY = [
    "Apple",
    "apple",
    "APPLE",
    "pear",
    "Plum",
    "fig",
    "kiwi",
    "Zoë",
    "ÉCOLE",
    "日本",
    "a",
    "bb",
    "ccc",
]


def sentences(seed: int, n: int, extra: tuple[str, ...] = ()) -> list[str]:
    rng = random.Random(seed)
    words = VOCABULARY + list(extra)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(0, 7))) for _ in range(n)]


def test_rows_equal_the_reference_and_a_second_run_continues_them(pipeline, tmp_path):
    store = tmp_path / "store"
    first = sentences(11, 3000)
    produce(store, "sentences", first)
    run(pipeline, store)
    want = Tally().feed(first)
    assert state_show(store, "word-stats") == want.rows
    assert state_show(store, "seen") == dict(want.seen)
    # A new process: the rows so far come back from the changelog, and go on from there.
    second = sentences(12, 2000, extra=("~apple", "~fig"))
    produce(store, "sentences", second)
    run(pipeline, store)
    want.feed(second)
    got = state_show(store, "word-stats")
    assert got == want.rows
    assert {type(v["mean-len"]) for v in got.values()} == {float}
    assert state_show(store, "seen") == dict(want.seen)
    assert dead_letters(store, "tally") == []


def test_delete_removes_the_key_for_state_show_and_for_sql(pipeline, tmp_path):
    store = tmp_path / "store"
    lines = ["Apple pear fig", "apple ~pear", "~kiwi fig", "~FIG"]
    produce(store, "sentences", lines)
    run(pipeline, store)
    want = Tally().feed(lines)
    assert sorted(want.rows) == ["apple"]
    assert state_show(store, "word-stats") == want.rows
    # `seen` is a second state of the same update-state: deleting a row there does not touch it.
    assert state_show(store, "seen") == {"apple": 2, "pear": 1, "fig": 2}
    produce(store, "probes", [
        "_key:key,count:u32|select _key, count from word_stats order by _key",
        "n:i64|select count(*) as n from word_stats where _key in ('pear', 'fig')",
    ])  # fmt: skip
    run(pipeline, store)
    assert consume(store, "answers") == [
        "1x2 next-after-end=false | apple 2",
        "1x1 next-after-end=false | 0",
    ]
    # A deleted key comes back as a fresh row (count from 1, not from its old count).
    produce(store, "sentences", ["Pear"])
    run(pipeline, store)
    assert state_show(store, "word-stats")["pear"] == {"count": 1, "last-word": "Pear", "mean-len": 4.0}


def test_a_key_deleted_and_stored_again_in_one_batch_keeps_its_last_row(pipeline, tmp_path):
    # One stage call changes `fig` three ways (stored, deleted, stored twice more) and `pear`
    # (stored, deleted): the call writes one record per changed key (keyed.rs), and what it
    # writes must replay to the rows the updates left, also when a second run continues from it.
    store = tmp_path / "store"
    lines = ["fig pear", "~fig", "fig Fig", "~pear"]
    produce(store, "sentences", lines)
    run(pipeline, store)
    want = Tally().feed(lines)
    assert "fig" in want.rows and "pear" not in want.rows
    assert state_show(store, "word-stats") == want.rows
    produce(store, "sentences", ["fig"])
    run(pipeline, store)
    want.feed(["fig"])
    assert state_show(store, "word-stats") == want.rows
    assert want.rows["fig"]["count"] == 3


def test_a_panic_after_update_leaves_no_trace(pipeline, tmp_path):
    store = tmp_path / "store"
    lines = sentences(13, 2500, extra=("boom", "Boom"))
    booms = [i for i, line in enumerate(lines) if "boom" in line.split(" ")]
    assert len(booms) > 10  # several panics inside one batch, each on a fresh instance
    produce(store, "sentences", lines)
    run(pipeline, store)
    want = Tally().feed(lines)
    assert want.dead == booms
    got = state_show(store, "word-stats")
    # `Boom` counts (only the exact word `boom` panics), under the key `boom`: its row must hold
    # only the counts of sentences without `boom`.
    assert got == want.rows
    assert state_show(store, "seen") == dict(want.seen)
    dead = dead_letters(store, "tally")
    assert [d["offset"] for d in dead] == booms
    assert all(d["kind"] == "trap" and "boom after update" in d["reason"] for d in dead), dead[:2]
    # The next run starts from the durable state, not from a torn instance.
    more = sentences(14, 400)
    produce(store, "sentences", more)
    run(pipeline, store)
    assert state_show(store, "word-stats") == want.feed(more).rows


def test_a_kebab_case_column_is_queried_back_quoted(pipeline, tmp_path):
    store = tmp_path / "store"
    produce(store, "sentences", ["Zoë zoë ZOË", "日本 ccc"])
    run(pipeline, store)
    produce(store, "probes", [
        "last-word:str,_key:key|select `last-word`, _key from `word-stats` order by _key",
        "mean-len:f64,count:u8|select `mean-len`, count from word_stats where `last-word` = 'ZOË'",
    ])  # fmt: skip
    run(pipeline, store)
    assert consume(store, "answers") == [
        "3x2 next-after-end=false | ccc ccc; ZOË zoë; 日本 日本",
        "1x2 next-after-end=false | 3.0 3",
    ]

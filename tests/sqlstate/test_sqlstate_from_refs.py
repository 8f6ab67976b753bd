"""`from: tally.word-stats` / `from: tally.seen` through the CLI: the reader (`probe`) sees the
owner's last committed state — across runs, after deletes, and after every restart (a new
process rebuilds the reader's mirror from the owner's changelog) — and within one run never a
state between two of the owner's commits; every record of one reader batch sees the same state."""

from __future__ import annotations

import random

from sqlstate_cli import Tally, consume, produce, run
from sqlstate_cli import pipeline  # noqa: F401 (a fixture)

ALL_ROWS = "_key:key,count:u32,last-word:str,mean-len:f64|select * from word_stats order by _key"
ALL_SEEN = "_key:str,value:u32|select _key, value from seen order by _key"
TOTALS = "n:i64,m:i64|select (select coalesce(sum(count), 0) from word_stats) as n, (select count(*) from seen) as m"
WORDS = ["Oak", "oak", "elm", "Ash", "yew", "fir", "Pine", "beech"]


def sentences(seed: int, n: int, extra: tuple[str, ...] = ()) -> list[str]:
    rng = random.Random(seed)
    words = WORDS + list(extra)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 5))) for _ in range(n)]


def rows_of(answer: str) -> list[list[str]]:
    """`NxM next-after-end=false | a b; c d` -> [["a", "b"], ["c", "d"]]."""
    head, _, body = answer.partition(" | ")
    assert head.endswith("next-after-end=false"), answer
    return [row.split(" ") for row in body.split("; ")] if body else []


def as_rows(tally: Tally) -> list[list]:
    return [[k, r["count"], r["last-word"], r["mean-len"]] for k, r in sorted(tally.rows.items())]


def parsed(answer: str) -> list[list]:
    return [[k, int(c), w, float(m)] for k, c, w, m in rows_of(answer)]


def seen_of(answer: str) -> dict[str, int]:
    return {k: int(v) for k, v in rows_of(answer)}


def test_a_reader_sees_the_committed_state_across_runs_and_restarts(pipeline, tmp_path):
    store = tmp_path / "store"
    first = sentences(21, 1500)
    produce(store, "sentences", first)
    run(pipeline, store)  # the owner only: the reader has nothing to read yet
    want = Tally().feed(first)
    answered = 0

    def probe() -> list[str]:
        nonlocal answered
        produce(store, "probes", [ALL_ROWS, ALL_SEEN])
        run(pipeline, store)  # a new process: the reader's mirror is rebuilt from the changelogs
        answers = consume(store, "answers")
        assert len(answers) == answered + 2
        answered += 2
        return answers[-2:]

    rows, seen = probe()
    assert parsed(rows) == as_rows(want)
    assert seen_of(seen) == dict(want.seen)
    second = sentences(22, 800, extra=("~oak", "~Elm"))
    produce(store, "sentences", second)
    run(pipeline, store)
    want.feed(second)
    assert "oak" not in want.rows or want.rows["oak"]["count"] < want.seen["oak"]  # deletes happened
    rows, seen = probe()
    assert parsed(rows) == as_rows(want)
    assert seen_of(seen) == dict(want.seen)
    # Nothing new from the owner: a restarted reader still sees the same state.
    assert probe() == [rows, seen]


def test_within_one_run_a_reader_sees_only_states_the_owner_committed(pipeline, tmp_path):
    store = tmp_path / "store"
    lines = sentences(23, 10_000)  # several batches of the owner
    produce(store, "sentences", lines)
    produce(store, "probes", [TOTALS, TOTALS])
    run(pipeline, store)  # owner and reader in one run, batches interleaved
    committed = set()  # (sum of counts, keys) after every prefix of whole sentences
    tally = Tally()
    committed.add((0, 0))
    for line in lines:
        tally.feed([line])
        committed.add((sum(r["count"] for r in tally.rows.values()), len(tally.seen)))
    first, second = consume(store, "answers")
    assert first == second  # one reader batch, one state
    ((n, m),) = [list(map(int, row)) for row in rows_of(first)]
    assert (n, m) in committed

"""`sql()` in inline Rust, through cargo-built wasm and the CLI: the `probe` service of
`word_stats_sql.yaml` runs each input line `COL:GETTER,...|QUERY` on the host's mirror of
`tally`'s state (`from:`) and writes the result's `shape()`, whether `next()` stays false after
the last row, and every row read with the named typed getters in the order `schema([...])` was
asked. Typed getters check ranges; a failing getter, an unknown column, an SQL error or a write
is an operator error of that record — a dead letter with the message — and the run goes on."""

from __future__ import annotations

from sqlstate_cli import consume, dead_letters, produce, run
from sqlstate_cli import pipeline  # noqa: F401 (a fixture)

SENTENCES = [" ".join(["many"] * 300), "Apple apple", "pi"]

# (probe line, answer) — answer None: a dead letter whose reason contains the text given instead.
PROBES = [
    ("count:u8|select count from word_stats where _key = 'many'", ("sql: column `count` holds 300, not a u8",)),
    ("count:u16|select count from word_stats where _key = 'many'", "1x1 next-after-end=false | 300"),
    ("n:i8,m:i8|select -128 as n, 127 as m", "1x2 next-after-end=false | -128 127"),
    ("n:i8|select -129 as n", ("sql: column `n` holds -129, not a i8",)),
    ("n:u32|select 4294967296 as n", ("sql: column `n` holds 4294967296, not a u32",)),
    ("n:u64,m:i64|select 0 as n, 9223372036854775807 as m", "1x2 next-after-end=false | 0 9223372036854775807"),
    ("n:u64|select -1 as n", ("sql: column `n` holds -1, not a u64",)),
    ("x:i32|select 2.5 as x", ("sql: column `x` holds 2.5, not a i32",)),
    ("x:i32,y:i16|select 5.0 as x, -7 as y", "1x2 next-after-end=false | 5 -7"),
    ("x:f64|select 'text' as x", ('sql: column `x` holds "text", not a number',)),
    ("x:f64,y:f32|select 7 as x, 0.1 as y", "1x2 next-after-end=false | 7.0 0.1"),
    ("x:str,y:str|select 42 as x, 'ü' as y", "1x2 next-after-end=false | 42 ü"),
    ("x:str|select null as x", ("sql: column `x` is null",)),
    ("b:bool,c:bool|select 1 as b, 0 as c", "1x2 next-after-end=false | true false"),
    ("nope:u32|select * from word_stats", ("sql: the result has no column `nope` (columns: _key, count, last-word, mean-len)",)),
    ("x:str|selec * from word_stats", ('sql: near "selec": syntax error',)),
    ("x:str|select * from no_such_table", ("sql: no such table: no_such_table",)),
    ("x:str|delete from word_stats", ("sql: the state tables are read-only",)),
    # schema([...]) returns the columns in the order asked, whatever the query's order.
    ("mean-len:f64,_key:str,count:u32|select _key, count, `mean-len` from word_stats where _key = 'apple'",
     "1x3 next-after-end=false | 5.0 apple 2"),
    ("count:u32,_key:key|select * from word_stats order by count desc", "3x4 next-after-end=false | 300 many; 2 apple; 1 pi"),
    ("count:col|select count from word_stats where _key = 'pi'", "1x1 next-after-end=false | 1"),
    # An empty result: next() is false at once (and stays false); shape() says 0 rows.
    ("_key:str|select * from word_stats where _key = 'absent'", "0x4 next-after-end=false | "),
    ("|select _key from word_stats", "3x1 next-after-end=false | ; ; "),
    ("n:i64|select count(*) as n from word_stats", "1x1 next-after-end=false | 3"),
]  # fmt: skip


def test_typed_getters_errors_and_dataframe_api(pipeline, tmp_path):
    store = tmp_path / "store"
    produce(store, "sentences", SENTENCES)
    run(pipeline, store)
    produce(store, "probes", [line for line, _ in PROBES])
    run(pipeline, store)
    answers = consume(store, "answers")
    assert answers == [want for _, want in PROBES if isinstance(want, str)]
    dead = dead_letters(store, "probe")
    failing = [(offset, want[0]) for offset, (_, want) in enumerate(PROBES) if isinstance(want, tuple)]
    assert [d["offset"] for d in dead] == [offset for offset, _ in failing]
    for letter, (offset, message) in zip(dead, failing):
        assert letter["kind"] == "operator" and letter["value"] == PROBES[offset][0]
        assert message in letter["reason"], letter
    # The refused write changed nothing: the last probe still counts three rows.
    assert answers[-1].endswith("| 3")

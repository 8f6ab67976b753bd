"""The host's SQL mirror (`runtime_stub/sscc_runtime/statesql.py`) on real SQLite, fed with change
records in the changelog format: table and view names, upserts and deletes, what a query returns,
and the guards a query of inline code runs under (reads only, a time limit, integers beyond i64).
The end-to-end path through wasm is in test_sqlstate_sql_api.py."""

from __future__ import annotations

import json
import os
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "runtime_stub"))

from sscc_runtime import frames, statesql  # noqa: E402
from sscc_runtime.statelog import GLOBAL  # noqa: E402

ROW = statesql.Table(
    "count-per-word", "arrow-row", (("count", "INTEGER"), ("last-word", "TEXT"), ("mean", "REAL"))
)
VALUE = statesql.Table("seen", "value", (("value", "INTEGER"),))


def changes(*records) -> bytes:
    """(key, b"U" + JSON | b"D") pairs in the global window, framed as a changelog batch."""
    return frames.build((k.encode(), v, GLOBAL[0], GLOBAL[1]) for k, v in records)[0]


def upsert(key: str, value) -> tuple[str, bytes]:
    return key, b"U" + json.dumps(value).encode()


def result(mirror: statesql.Mirror, query: str) -> dict:
    return json.loads(mirror.query(query))


@pytest.fixture
def mirror():
    m = statesql.Mirror([ROW, VALUE])
    m.apply("count-per-word", changes(
        upsert("apple", {"count": 2, "last-word": "Apple", "mean": 5.0}),
        upsert("fig", {"count": 1, "last-word": "fig", "mean": 3.0}),
        upsert("pear", {"count": 7, "last-word": "pear", "mean": 4.0}),
    ))  # fmt: skip
    m.apply("seen", changes(upsert("apple", 2), upsert("fig", 1)))
    return m


def test_tables_are_named_with_underscores_and_viewed_under_the_hyphenated_name(mirror):
    assert mirror.tables() == ["count_per_word", "seen"]
    want = {"columns": ["_key", "count", "last-word", "mean"], "rows": [["apple", 2, "Apple", 5.0]]}
    assert result(mirror, "select * from count_per_word where _key = 'apple'") == want
    assert result(mirror, "select * from `count-per-word` where _key = 'apple'") == want
    assert result(mirror, "select `last-word` from count_per_word order by `last-word`")["rows"] == [
        ["Apple"],
        ["fig"],
        ["pear"],
    ]
    assert result(mirror, "select _key, value from seen order by _key")["rows"] == [["apple", 2], ["fig", 1]]


def test_later_changes_replace_and_delete_rows(mirror):
    mirror.apply(
        "count-per-word",
        changes(upsert("apple", {"count": 3, "last-word": "APPLE", "mean": 5.0}), ("fig", b"D")),
    )
    mirror.apply("count-per-word", changes(("no-such-key", b"D")))
    assert result(mirror, "select _key, count from count_per_word order by _key")["rows"] == [
        ["apple", 3],
        ["pear", 7],
    ]
    # A column missing from a row's JSON is null; an unknown one is ignored.
    mirror.apply("count-per-word", changes(upsert("kiwi", {"count": 1, "extra": True})))
    assert result(mirror, "select * from count_per_word where _key = 'kiwi'")["rows"] == [
        ["kiwi", 1, None, None]
    ]


def test_a_query_of_inline_code_cannot_write(mirror):
    for query in [
        "delete from count_per_word",
        "insert into seen values ('x', 1)",
        "update seen set value = 0",
        "drop table seen",
        "create table t (x)",
        "attach database ':memory:' as other",
        "pragma query_only = 0",
    ]:
        with pytest.raises(statesql.SqlError, match="read-only"):
            mirror.query(query)
    assert result(mirror, "select count(*) from count_per_word")["rows"] == [[3]]
    # The mirror itself still applies changes after a refused query.
    mirror.apply("seen", changes(upsert("pear", 7)))
    assert result(mirror, "select sum(value) from seen")["rows"] == [[10]]


def test_sql_errors_carry_sqlites_message(mirror):
    cases = {
        "selec * from seen": 'near "selec": syntax error',
        "select * from nope": "no such table: nope",
        "select nope from seen": "no such column: nope",
        "select 1; select 2": "one statement at a time",
    }
    for query, message in cases.items():
        with pytest.raises(statesql.SqlError, match=message):
            mirror.query(query)


def test_an_endless_query_is_stopped_and_the_next_one_runs():
    m = statesql.Mirror([VALUE], timeout_s=0.2)
    with pytest.raises(statesql.SqlError, match="ran longer than 0.2 s"):
        m.query("with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c")
    assert result(
        m, "with recursive c(x) as (select 1 union all select x + 1 from c where x < 5) select sum(x) from c"
    )["rows"] == [[15]]


def test_an_integer_beyond_i64_becomes_the_nearest_double():
    big = statesql.Table("hashes", "value", (("value", "INTEGER"),))
    m = statesql.Mirror([big])
    m.apply("hashes", changes(upsert("max", 2**64 - 1), upsert("small", 2**63 - 1), upsert("neg", -(2**63))))
    rows = dict(result(m, "select _key, value from hashes")["rows"])
    assert rows == {"max": float(2**64 - 1), "small": 2**63 - 1, "neg": -(2**63)}


def test_full_outer_join_of_two_tables_as_the_corpus_writes_it():
    a = statesql.Table("count-per-word-a", "arrow-row", (("occurrences", "INTEGER"),))
    b = statesql.Table("count-per-word-b", "arrow-row", (("occurrences", "INTEGER"),))
    m = statesql.Mirror([a, b])
    m.apply("count-per-word-a", changes(upsert("x", {"occurrences": 1}), upsert("y", {"occurrences": 2})))
    m.apply("count-per-word-b", changes(upsert("y", {"occurrences": 5}), upsert("z", {"occurrences": 7})))
    query = (
        "SELECT SUM(COALESCE(a.occurrences,0) + COALESCE(b.occurrences, 0)) AS total_count FROM count_per_word_a a "
        "FULL OUTER JOIN count_per_word_b b ON a._key = b._key WHERE a._key = '{k}' OR b._key = '{k}'"
    )
    # Polars 2.1 (SDF's engine) gives the same: 1, 7, 7 and null for a key in neither table.
    assert {k: result(m, query.format(k=k))["rows"] for k in "xyzw"} == {
        "x": [[1]],
        "y": [[7]],
        "z": [[7]],
        "w": [[None]],
    }


def test_a_blob_comes_back_as_text(mirror):
    assert result(mirror, "select x'41ff42' as b, 'ü' as t, 1.5 as f, null as n")["rows"] == [
        ["A\ufffdB", "ü", 1.5, None]
    ]


def test_a_remembered_result_is_forgotten_when_a_table_changes(mirror):
    query = "select count from count_per_word where _key = 'apple'"
    assert result(mirror, query)["rows"] == [[2]]
    assert mirror.query(query) is mirror.query(query)  # asked again: the same answer, not run again
    mirror.apply("seen", changes(upsert("kiwi", 1)))  # any change of any table
    mirror.apply("count-per-word", changes(upsert("apple", {"count": 3, "last-word": "apple", "mean": 5.0})))
    assert result(mirror, query)["rows"] == [[3]]
    mirror.apply("count-per-word", changes(("apple", b"D")))
    assert result(mirror, query)["rows"] == []
    # A query whose answer changes by itself is never remembered.
    assert mirror.query("select random() as r") != mirror.query("select random() as r")


def test_own_state_rows_sent_with_a_query_replace_the_table():
    # The service's own states: the guest sends each table's rows, in column order, with a query
    # (guest sql.rs `sync_state`); a table the guest does not send keeps its rows.
    m = statesql.Mirror([ROW, VALUE], own=["count-per-word", "seen"])
    first = [["apple", 2, "Apple", 5.0], ["fig", 1, "fig", 3.0]]
    got = json.loads(m.query("select _key, count from count_per_word order by _key", rows=[(0, json.dumps(first).encode())]))
    assert got["rows"] == [["apple", 2], ["fig", 1]]
    # sent again, smaller: the table is replaced, not merged
    again = [(0, json.dumps([["pear", 7, "pear", 4.0]]).encode()), (1, b'[["pear", 1]]')]
    assert json.loads(m.query("select _key from count_per_word", rows=again))["rows"] == [["pear"]]
    assert json.loads(m.query("select * from seen"))["rows"] == [["pear", 1]]
    assert json.loads(m.query("select _key from count_per_word"))["rows"] == [["pear"]]


def test_own_state_cells_sqlite_cannot_bind_are_converted_as_the_mirror_converts_them():
    # a list in a column is stored as JSON text, an integer beyond i64 as the nearest double,
    # a bool as 0/1 (the same cells a change record would give)
    wide = statesql.Table("w", "arrow-row", (("tags", "TEXT"), ("big", "INTEGER"), ("flag", "INTEGER")))
    m = statesql.Mirror([wide], own=["w"])
    rows = [["a", ["x", "y"], 2**64 - 1, True], ["b", None, 5, False]]
    got = json.loads(m.query("select * from w order by _key", rows=[(0, json.dumps(rows).encode())]))
    assert got["rows"] == [["a", '["x","y"]', float(2**64 - 1), 1], ["b", None, 5, 0]]


def test_rows_of_a_state_the_service_does_not_own_are_refused():
    m = statesql.Mirror([ROW], own=["count-per-word"])
    with pytest.raises(statesql.SqlError, match="#3"):
        m.query("select 1", rows=[(3, b"[]")])

"""`sscc sql` (SDF's sql shell over a store) next to `sql()` in inline code: both must show a
state's table with its declared columns, also when every row has been deleted."""

from __future__ import annotations

from sqlstate_cli import (  # noqa: F401 (`pipeline` is a fixture)
    pipeline,
    consume,
    produce,
    run,
    run_cli,
    sql_rows,
)


def test_the_shell_and_inline_sql_agree_on_rows(pipeline, tmp_path):
    store = tmp_path / "store"
    produce(store, "sentences", ["Oak oak elm", "~elm yew"])
    run(pipeline, store)
    query = "select _key, count, `last-word` from word_stats order by _key"
    assert sql_rows(store, query) == [
        {"_key": "oak", "count": 2, "last-word": "oak"},
        {"_key": "yew", "count": 1, "last-word": "yew"},
    ]
    produce(store, "probes", ["_key:key,count:u32,last-word:str|" + query])
    run(pipeline, store)
    assert consume(store, "answers") == ["2x3 next-after-end=false | oak 2 oak; yew 1 yew"]


def test_the_shell_keeps_declared_columns_when_every_row_is_deleted(pipeline, tmp_path):
    store = tmp_path / "store"
    produce(store, "sentences", ["a b ~a ~b"])
    run(pipeline, store)
    produce(store, "probes", ["|select _key, count from word_stats"])
    run(pipeline, store)
    assert consume(store, "answers") == ["0x2 next-after-end=false | "]  # inline sql(): declared columns
    proc = run_cli("sql", "select _key, count from word_stats", "--store", store, "--json", ok=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""

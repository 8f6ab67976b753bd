"""`sscc sql "select ..."` over the state tables of a store (runtime_stub/sscc_runtime/sqlcmd.py).

The store is written here with the change records a guest writes (statelog's format: window in
timestamp/origin, key, `U` + JSON / `D` / `C`), so the command is tested on exactly what it reads;
tests/sqlstate runs it on stores filled by compiled pipelines."""

from __future__ import annotations

import json
import subprocess
import sys

from sscc.runtime_stub.sscc_runtime import frames
from sscc.runtime_stub.sscc_runtime.statelog import GLOBAL
from sscc.runtime_stub.sscc_runtime.store import Store


def changes(*records: tuple) -> tuple[bytes, int]:
    """(key or None, op + payload, window) -> framed change records."""
    return frames.build((None if k is None else k.encode(), v.encode(), w[0], w[1]) for k, v, w in records)


def fill(store_dir):
    store_dir.mkdir()
    with Store(store_dir / "store.db") as store:
        rows = "count-words.count-per-word.changelog"
        store.ensure_topic(rows, 1)
        store.append(rows, 0, *changes(
            ("cat", 'U{"count":3,"last-word":"Cat"}', GLOBAL),
            ("dog", 'U{"count":1,"last-word":"dog"}', GLOBAL),
            ("eel", 'U{"count":9,"last-word":"eel"}', GLOBAL),
        ))
        store.append(rows, 0, *changes(("eel", "D", GLOBAL), ("dog", 'U{"count":2,"last-word":"DOG"}', GLOBAL)))
        values = "window-service.by-digit.changelog"
        store.ensure_topic(values, 1)
        store.append(values, 0, *changes(
            ("1", "U4", (0, 15000)),
            ("2", "U1", (0, 15000)),
            ("1", "U7", (15000, 30000)),
            (None, "C", (0, 15000)),
            ("3", "U2", (30000, 45000)),
        ))
        # Two services with a state of the same name: qualified table names.
        for service in ("a", "b"):
            topic = f"{service}.seen.changelog"
            store.ensure_topic(topic, 1)
            store.append(topic, 0, *changes(("x", f'U"{service}"', GLOBAL)))


def sql(store_dir, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sscc", "sql", *args, "--store", str(store_dir)], capture_output=True, text=True, timeout=60
    )


def test_arrow_row_table_has_key_and_columns_after_deletes_and_updates(tmp_path):
    fill(tmp_path / "s")
    proc = sql(tmp_path / "s", "select * from count_per_word order by count desc", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [
        {"_key": "cat", "count": 3, "last-word": "Cat"},
        {"_key": "dog", "count": 2, "last-word": "DOG"},
    ]
    # The hyphenated name early 0.5 code queries, and a hyphenated column.
    proc = sql(tmp_path / "s", "select `last-word` from `count-per-word` where _key = 'dog'")
    assert proc.stdout.splitlines() == ["last-word", "DOG", "(1 row)"]


def test_windowed_value_state_shows_open_windows_only(tmp_path):
    fill(tmp_path / "s")
    proc = sql(tmp_path / "s", "select _key, _window_start, _window_end, value from by_digit order by _window_start", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows == [
        {"_key": "1", "_window_start": 15000, "_window_end": 30000, "value": 7},
        {"_key": "3", "_window_start": 30000, "_window_end": 45000, "value": 2},
    ]


def test_states_of_the_same_name_are_qualified_by_service(tmp_path):
    fill(tmp_path / "s")
    proc = sql(tmp_path / "s", "select a.value || b.value as both_ from a__seen a join b__seen b on a._key = b._key")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["both_", "ab", "(1 row)"]


def test_a_bad_query_is_one_error_line_naming_the_tables(tmp_path):
    fill(tmp_path / "s")
    proc = sql(tmp_path / "s", "select * from nowhere")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: sql: no such table: nowhere (tables: a__seen, b__seen, count_per_word, by_digit)"
    ]
    assert "Traceback" not in proc.stderr


def test_no_store_is_an_error_not_a_traceback(tmp_path):
    proc = sql(tmp_path / "missing", "select 1")
    assert proc.returncode == 1 and proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


# Issue 13 item 13: `sscc sql` is read-only, stops a runaway query, and honours Ctrl-C.

RUNAWAY = "with recursive n(i) as (select 1 union all select i + 1 from n) select count(*) from n"


def test_statements_that_write_are_refused(tmp_path):
    fill(tmp_path / "s")
    for statement in ("delete from count_per_word", "insert into count_per_word (_key) values ('z')", "drop table count_per_word"):
        proc = sql(tmp_path / "s", statement)
        assert proc.returncode == 1, (statement, proc.stdout, proc.stderr)
        assert "read-only" in proc.stderr and "Traceback" not in proc.stderr


def test_attach_is_refused_and_creates_no_file(tmp_path):
    fill(tmp_path / "s")
    target = tmp_path / "created.db"
    proc = sql(tmp_path / "s", f"attach database '{target}' as other")
    assert proc.returncode == 1 and "read-only" in proc.stderr, proc.stderr
    assert not target.exists()


def test_a_runaway_query_stops_at_its_time_limit(tmp_path):
    fill(tmp_path / "s")
    proc = sql(tmp_path / "s", RUNAWAY, "--timeout", "0.5")
    assert proc.returncode == 1, proc.stdout
    assert "ran longer than 0.5 s" in proc.stderr and "Traceback" not in proc.stderr


def test_ctrl_c_stops_a_runaway_query(tmp_path):
    import signal
    import time

    fill(tmp_path / "s")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sscc", "sql", RUNAWAY, "--timeout", "0", "--store", str(tmp_path / "s")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(3)  # let it start the query; the query never ends by itself (--timeout 0)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, (out, err)
    assert "interrupted" in err and "Traceback" not in err

"""`sql "select ..."`: query the state tables of a store (SDF's `sql` shell; docs/runtime.md).

Every state changelog in the store becomes a table, as `sql()` in inline code names it: the state
name with `-` -> `_` (a view keeps the hyphenated name), or `<service>__<state>` when two services
have a state of that name. Columns: `_key`, then the row's columns (arrow-row: the JSON fields,
in first-seen order) or `value` (value state). A windowed state's rows carry `_window_start` and
`_window_end` (ms) after `_key`, one row per open window and key; the global window has none.
The tables are built from the committed changelogs at the time of the query: read-only, and
nothing is written back.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import threading
import time
from typing import Any, Callable

from . import frames, statelog
from .statesql import READ_ACTIONS

WINDOW_COLUMNS = ("_window_start", "_window_end")


# A runaway query (a recursive CTE, a cross join of big tables) is stopped after this long, and
# Ctrl-C stops one at once: SQLite's progress handler is checked every _STEPS VM instructions.
QUERY_TIMEOUT_S = 60.0
_STEPS = 10_000


class QueryError(Exception):
    pass


def add_parser(commands, store_help: str, command: Callable):
    sql = commands.add_parser("sql", help="run an SQL query over the state tables of a store")
    sql.add_argument("query", help='e.g. "select * from count_per_word order by count desc limit 3"')
    sql.add_argument("--store", metavar="DIR", help=store_help)
    sql.add_argument("--json", action="store_true", help="one JSON object per row instead of a table")
    sql.add_argument(
        "--timeout",
        type=float,
        default=QUERY_TIMEOUT_S,
        metavar="SECONDS",
        help=f"stop a query that runs longer (default {QUERY_TIMEOUT_S:g}; 0 = no limit)",
    )
    sql.set_defaults(parser=sql, command=command)
    return sql


def load(
    db: sqlite3.Connection,
    changelogs: list[tuple[str, str, str]],
    read: Callable[[str], bytes],
    schema: Callable[[str, str], dict | None] = lambda service, state: None,
) -> list[str]:
    """Create one table per (service, state, topic) of `changelogs`; returns the table names.
    Columns come from the shape a run recorded (`schema`), else from the rows ever stored."""
    counts: dict[str, int] = {}
    for _, state, _ in changelogs:
        counts[state] = counts.get(state, 0) + 1
    names = []
    for service, state, topic in changelogs:
        data = read(topic)
        windows = statelog.replay_windows(data)
        table = state.replace("-", "_") if counts[state] == 1 else f"{service}__{state}".replace("-", "_")
        shape = schema(service, state)
        if shape is not None:
            columns = [c for c, _ in shape["columns"]] if shape["kind"] == "arrow-row" else None
        else:
            columns = _row_columns(data)
        _create(db, table, windows, columns)
        if counts[state] == 1 and table != state:
            db.execute(f"CREATE VIEW {_quote(state)} AS SELECT * FROM {_quote(table)}")
        names.append(table)
    return names


def _row_columns(data: bytes) -> list[str] | None:
    """The columns of an arrow-row state: the fields of every row it ever stored, in first-seen
    order (so a table whose rows were all deleted keeps them); None for a value state."""
    columns: list[str] = []
    seen_row = False
    for record in frames.iter_records(data):
        if record.value[:1] != b"U":
            continue
        value = json.loads(record.value[1:])
        if not isinstance(value, dict):
            return None
        seen_row = True
        columns += [c for c in value if c not in columns]
    return columns if seen_row else None


def _create(db: sqlite3.Connection, table: str, windows: dict, row_columns: list[str] | None) -> None:
    rows_are_objects = row_columns is not None
    columns = row_columns if rows_are_objects else ["value"]
    windowed = any(w != statelog.GLOBAL for w in windows)
    head = ["_key", *(WINDOW_COLUMNS if windowed else ())]
    db.execute(f"CREATE TABLE {_quote(table)} ({', '.join(_quote(c) for c in head + columns)})")
    rows = []
    for (start, end), keys in sorted(windows.items()):
        for key, value in sorted(keys.items()):
            if rows_are_objects and not isinstance(value, dict):
                raise QueryError(
                    f"state table {table}: the row of key {key!r} is not an object ({json.dumps(value)[:40]}); "
                    "did the state's type change? `state drop` deletes the old data"
                )
            cells = [value.get(c) for c in columns] if rows_are_objects else [value]
            rows.append([key, *((start, end) if windowed else ()), *map(_cell, cells)])
    marks = ", ".join("?" * (len(head) + len(columns)))
    db.executemany(f"INSERT INTO {_quote(table)} VALUES ({marks})", rows)


def query(db: sqlite3.Connection, text: str, timeout_s: float = QUERY_TIMEOUT_S) -> tuple[list[str], list[tuple]]:
    """Run one read-only query: statements that write or attach (`delete`, `attach`, `pragma`
    ...) are refused, a query past `timeout_s` (0: no limit) or interrupted by Ctrl-C stops."""
    why: list[str] = []
    deadline = time.monotonic() + timeout_s if timeout_s > 0 else None

    def authorize(action: int, *_names) -> int:
        if action in READ_ACTIONS:
            return sqlite3.SQLITE_OK
        why.append("the state tables are read-only: only queries (select ...) run here")
        return sqlite3.SQLITE_DENY

    def progress() -> int:
        if why:  # Ctrl-C arrived (its handler runs between the handler's own bytecodes)
            return 1
        if deadline is not None and time.monotonic() > deadline:
            why.append(f"the query ran longer than {timeout_s:g} s and was stopped (--timeout SECONDS)")
            return 1
        return 0

    def interrupt(_signum, _frame) -> None:
        why.append("interrupted by Ctrl-C")

    db.set_authorizer(authorize)
    db.set_progress_handler(progress, _STEPS)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, interrupt) if main_thread else None
    try:
        cursor = db.execute(text)
        return [d[0] for d in cursor.description or ()], cursor.fetchall()
    except sqlite3.Error as e:
        raise QueryError(f"{why[0]} ({e})" if why else str(e)) from None
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
        db.set_authorizer(None)
        db.set_progress_handler(None, 0)


def show(columns: list[str], rows: list[tuple], as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(dict(zip(columns, row)), ensure_ascii=False))
        return
    text = [[_text(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in [columns, *text]) for i in range(len(columns))]
    for row in [columns, *text]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, (int, float, str)):
        return v
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def _text(v: Any) -> str:
    return "null" if v is None else str(v)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

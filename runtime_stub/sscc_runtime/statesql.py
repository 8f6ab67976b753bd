"""The SQL mirror: state tables in an in-memory SQLite database, for `sql()` in inline code
(docs/state-design.md §5) and the `sql "select ..."` inspection command.

One table per state in scope (the service's own states and its `from:` references), named as SDF
names them: the state name with `-` -> `_` (`count_per_word`), plus a view under the hyphenated
name that early 0.5 code queries (`` `count-per-word` ``). Columns: `_key TEXT PRIMARY KEY`, then
the declared columns under their YAML names (arrow-row), or `value` (value state).

Where rows come from:
- the service's own states (`own`, in state-index order): from the guest, which sends the
  current window's rows of every own state that changed since its last query along with the
  query (`query(..., rows=...)`, guest sql.rs). A flush sees its window exactly as the guest holds
  it, and the host decodes one row per key and query, not every change record (bench/win.py:
  215k change records against 41k rows queried);
- `from:` references, and every table of the inspection command: from change records
  (statelog). The run loop applies, at the start of each batch, what the owners of its
  references have committed since, so a reader sees the owner's last committed batch. The
  table shows the global window; a windowed state's rows are kept per window and
  `scope(window)` puts one window's rows in the table. Applying is lazy: `apply` only files each
  row's JSON under its window and key, and SQLite sees the rows of the scoped window when a
  query comes (`_sync`).

SQLite, not Polars as in SDF: the same results on every corpus query, no extra dependency. Its
dialect differences (dynamic typing, integer `/`) are listed in docs/state-design.md §5.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from .records import record as dataclass  # records.py: dataclass's methods without its import cost
from typing import Any, Iterable, Sequence

from .statelog import CLEAR, DELETE, GLOBAL, UPSERT, Window, changes

MIN_SQLITE = (3, 39, 0)  # FULL OUTER JOIN (corpus: primitives/sql/join)
# What a query of inline code may do: read. Anything else (INSERT, DELETE, DROP, ATTACH, PRAGMA)
# would change the mirror under the next record, or the disk, and is refused.
READ_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)
_I64 = (-(2**63), 2**63 - 1)
# A query runs on the host, where the guest's fuel/epoch deadline cannot stop it: an endless
# recursive CTE would hang the service. Checked every _STEPS SQLite VM instructions.
QUERY_TIMEOUT_S = 10.0
_STEPS = 10_000
# Results are remembered by query text until the tables change (a lookup service asks the same
# question many times per batch), except for queries whose answer can change by itself.
MEMO_ENTRIES = 4096
_VOLATILE = re.compile(r"random|now|current_|changes|last_insert_rowid", re.IGNORECASE)


class SqlError(Exception):
    """A query that SQLite refused; the message goes back to the guest as the `sql()` error."""


@dataclass(frozen=True)
class Table:
    name: str  # the state's name as the service declares it (`count-per-word`)
    kind: str  # value | arrow-row
    columns: tuple[tuple[str, str], ...]  # after `_key`: (name, SQLite type)


def table_name(state: str) -> str:
    return state.replace("-", "_")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Mirror:
    def __init__(
        self,
        tables: Iterable[Table],
        timeout_s: float = QUERY_TIMEOUT_S,
        own: Sequence[str] = (),
        aliases: Sequence[tuple[str, str]] = (),
    ):
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise RuntimeError(
                f"SQLite {sqlite3.sqlite_version} is too old for sql(); "
                f"{'.'.join(map(str, MIN_SQLITE))} or newer is needed"
            )
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._tables: dict[str, Table] = {}
        # Every window's rows as JSON text: name -> window -> key -> JSON (bytes)
        self._windows: dict[str, dict[Window, dict[str, bytes]]] = {}
        self._scope: Window = GLOBAL
        self._dirty: set[str] = set()  # tables to reload from `_windows` before the next query
        # Keys of the scoped window changed since its table was last synced: name -> keys
        self._changed: dict[str, set[str]] = {}
        self._reading = False  # a query of inline code is being prepared: reads only
        self._refused = False
        self._db.set_authorizer(self._authorize)
        self._timeout_s, self._deadline = timeout_s, None
        self._db.set_progress_handler(self._past_deadline, _STEPS)
        self._memo: dict[str, bytes] = {}  # query text -> result, while no table changes
        # The service's own states by index: their rows come from the guest with each query.
        self._own = list(own)
        for table in tables:
            self.add(table)
        # (alias, table): a `from:` reference is also queried by its owner state's name
        # (`tracker: {from: svc.commentlist}` read as `commentlist`), unless a table has that name.
        taken = {n for t in self._tables for n in (t, table_name(t))}
        for alias, target in aliases:
            if target in self._tables:
                for name in dict.fromkeys((table_name(alias), alias)):
                    if name not in taken:
                        taken.add(name)
                        self._db.execute(f"CREATE VIEW {_quote(name)} AS SELECT * FROM {_quote(table_name(target))}")

    def add(self, table: Table) -> None:
        if table.name in self._tables:
            return
        self._tables[table.name] = table
        if table.name not in self._own:  # filled from change records
            self._windows[table.name] = {}
            self._changed[table.name] = set()
        self._memo.clear()
        name = table_name(table.name)
        cols = ", ".join(f"{_quote(c)} {t}" for c, t in table.columns)
        self._db.execute(f"CREATE TABLE {_quote(name)} (_key TEXT PRIMARY KEY, {cols})")
        if name != table.name:
            self._db.execute(f"CREATE VIEW {_quote(table.name)} AS SELECT * FROM {_quote(name)}")

    def apply(self, state: str, data: bytes) -> None:
        """Apply framed change records of `state` (its changelog's format) to the mirror."""
        if not data:
            return
        self._memo.clear()
        windows, scope, changed = self._windows[state], self._scope, self._changed[state]
        for window, key, op, payload in changes(data):
            if op == CLEAR:
                windows.pop(window, None)
                if window == scope:
                    self._dirty.add(state)
                continue
            rows = windows.get(window)
            if rows is None:
                rows = windows[window] = {}
            if op == UPSERT:
                rows[key] = payload
            elif op == DELETE:
                rows.pop(key, None)
            else:
                continue
            if window == scope:
                changed.add(key)

    def scope(self, window: Window) -> None:
        """Show `window`'s rows in every table filled from change records (a flush runs with its
        window in scope)."""
        if window != self._scope:
            self._scope = window
            self._dirty.update(self._windows)
            self._memo.clear()

    def query(self, sql: str, window: Window | None = None, rows: Sequence[tuple[int, bytes]] = ()) -> bytes:
        """Run a query (over `window`'s rows when given: the window a flush runs for), after
        replacing the rows of the own states the guest sent (`rows`: state index, JSON
        `[[key, column, ...], ...]`); the result as UTF-8 JSON `{"columns": [...], "rows": [[...], ...]}`."""
        if window is not None:
            self.scope(window)  # a change of scope forgets the remembered results
        for index, text in rows:
            self._replace_own(index, text)
        known = self._memo.get(sql)
        if known is not None:
            return known
        self._sync()
        self._reading, self._refused = True, False
        self._deadline = time.monotonic() + self._timeout_s
        try:
            cursor = self._db.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            rows = cursor.fetchall()
        except sqlite3.Error as e:
            if self._refused:
                raise SqlError(f"the state tables are read-only, only queries run here ({e})") from None
            if self._deadline is None:
                raise SqlError(f"the query ran longer than {self._timeout_s:g} s and was stopped") from None
            raise SqlError(str(e)) from None
        finally:
            self._reading = False
            self._deadline = None
        out = _RESULT.encode({"columns": columns, "rows": rows}).encode()
        if len(self._memo) < MEMO_ENTRIES and not _VOLATILE.search(sql):
            self._memo[sql] = out
        return out

    def _past_deadline(self) -> int:
        """SQLite's progress handler: non-zero interrupts the running statement."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            self._deadline = None  # tells query() why the statement failed
            return 1
        return 0

    def _authorize(self, action: int, *_names) -> int:
        if not self._reading or action in READ_ACTIONS:
            return sqlite3.SQLITE_OK
        self._refused = True
        return sqlite3.SQLITE_DENY

    def tables(self) -> list[str]:
        return [table_name(t) for t in self._tables]

    def _replace_own(self, index: int, text: bytes) -> None:
        """Own state `index` now holds exactly these rows (sent by the guest, guest sql.rs)."""
        if not 0 <= index < len(self._own):
            raise SqlError(f"the guest sent rows of state #{index}, which this service does not have")
        table = self._tables[self._own[index]]
        insert = f"INSERT INTO {_quote(table_name(table.name))} VALUES ({', '.join('?' * (len(table.columns) + 1))})"
        self._memo.clear()
        rows = json.loads(text)  # [[key, column, ...], ...] in the table's column order
        try:  # as parsed: numbers, text, null and bools bind as they are
            self._fill(table, insert, rows)
        except (sqlite3.Error, OverflowError):  # a list/object cell, an integer beyond i64
            self._fill(table, insert, [(row[0], *map(_cell, row[1:])) for row in rows])

    def _fill(self, table: Table, insert: str, rows: list) -> None:
        self._db.execute("BEGIN")
        try:
            self._db.execute(f"DELETE FROM {_quote(table_name(table.name))}")
            self._db.executemany(insert, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _sync(self) -> None:
        """Bring the tables up to the scoped window's rows: a whole table after a change of
        scope or a clear, else only the keys that changed."""
        for state, keys in self._changed.items():
            table = self._tables[state]
            if state not in self._dirty and not keys:
                continue
            name = _quote(table_name(state))
            rows = self._windows[state].get(self._scope, {})
            marks = ", ".join("?" * (len(table.columns) + 1))
            self._db.execute("BEGIN")
            if state in self._dirty:
                self._db.execute(f"DELETE FROM {name}")
                fresh = rows.items()
            else:
                self._db.executemany(f"DELETE FROM {name} WHERE _key = ?", ((k,) for k in keys))
                fresh = ((k, rows[k]) for k in keys if k in rows)
            pairs = list(fresh)
            # one parse for every row (a flush loads a whole window)
            values = json.loads(b"[" + b",".join(text for _, text in pairs) + b"]") if pairs else []
            self._db.executemany(
                f"INSERT INTO {name} VALUES ({marks})",
                [(key, *self._row(table, value)) for (key, _), value in zip(pairs, values)],
            )
            self._db.execute("COMMIT")
            keys.clear()
        self._dirty.clear()

    @staticmethod
    def _row(table: Table, value: Any) -> tuple:
        if table.kind == "value":
            return (_cell(value),)
        if not isinstance(value, dict):
            value = {}
        get = value.get
        return tuple([_cell(get(c)) for c, _ in table.columns])


def _cell(v: Any) -> Any:
    """A JSON value as an SQLite cell: numbers, text and null as they are, bools as 0/1, the rest as
    JSON text. SQLite has no integer beyond i64: a u64 above 2^63 - 1 becomes the nearest double
    (binding it as an int would raise and stop the service)."""
    if type(v) is float or type(v) is str:
        return v
    if isinstance(v, int) and not _I64[0] <= v <= _I64[1]:
        return float(v)
    if v is None or isinstance(v, (int, float, str)):
        return v
    return json.dumps(v, separators=(",", ":"))


def _blob_as_text(v: Any) -> str:
    """The only cell SQLite returns that JSON cannot hold: a blob, as (lossy) UTF-8 text."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    raise TypeError(f"cannot send {type(v).__name__} to the guest")


# One encoder for every result: the C encoder calls back into Python only for blobs.
_RESULT = json.JSONEncoder(separators=(",", ":"), default=_blob_as_text)

"""Expected records against received ones, a readable diff per topic, and the expectations
`--update` writes from what was received.

An expectation that is a string compares with the received value as text; any other value
(mapping, list, number, boolean, null) compares as JSON with the received value parsed. A
`{key, value}` expectation compares the key the same way; other expectations ignore the key.
On a dead-letter topic a mapping lists the fields the dead letter must have (it has more:
`timestamp` and `stage` differ from run to run and from build to build).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from .runner import Received
from .spec import Record

MAX_DIFF_LINES = 200  # per topic: a case off by thousands of records still prints a readable diff
DEAD_LETTER_FIELDS = ("kind", "operator", "reason", "topic", "offset")  # what --update writes
_NOT_JSON = object()


@dataclass
class TopicDiff:
    topic: str
    expected: int
    received: int
    lines: list[str]  # the unified diff, without its --- / +++ header

    def text(self, color: bool = False) -> str:
        head = f"topic `{self.topic}`: expected {_n(self.expected)}, received {_n(self.received)}"
        body = []
        shown = self.lines if len(self.lines) <= MAX_DIFF_LINES else self.lines[:MAX_DIFF_LINES]
        for line in shown:
            if color and line[:1] in "+-@":
                code = {"+": "32", "-": "31", "@": "36"}[line[0]]
                line = f"\x1b[{code}m{line}\x1b[0m"
            body.append("    " + line)
        if len(shown) < len(self.lines):
            body.append(f"    ... {len(self.lines) - len(shown)} more diff lines")
        return "\n".join([head, "    --- expected", "    +++ received", *body])


def _n(count: int) -> str:
    return f"{count} record{'s' if count != 1 else ''}"


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return _NOT_JSON


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0 (JSON has one number type) but true != 1 and key order free."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _part_matches(want: Any, got: bytes | None, subset: bool) -> bool:
    if got is None:
        return want is None
    if isinstance(want, str):
        return got == want.encode("utf-8")
    value = parse_json(got)
    if subset and isinstance(want, dict):
        return isinstance(value, dict) and all(k in value and json_equal(v, value[k]) for k, v in want.items())
    return value is not _NOT_JSON and json_equal(want, value)


def matches(want: Record, got: Received, dead_letters: bool) -> bool:
    if want.keyed and not _part_matches(want.key, got.key, False):
        return False
    if want.timestamp is not None and want.timestamp != got.timestamp:
        return False
    return _part_matches(want.value, got.value, dead_letters)


def _show_part(want: Any, got: bytes | None, subset: bool) -> str:
    """A received key or value as a diff line, in the style of the expectation it stands against."""
    if got is None:
        return "(no key)"
    if isinstance(want, str):
        return got.decode("utf-8", errors="replace")
    value = parse_json(got)
    if value is _NOT_JSON:
        return got.decode("utf-8", errors="replace") + "   (not JSON)"
    if subset and isinstance(value, dict):
        keys = list(want) if isinstance(want, dict) else list(DEAD_LETTER_FIELDS)
        value = {k: value[k] for k in keys if k in value}
    return _canonical(value)


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _show_expected(rec: Record) -> str:
    value = rec.value if isinstance(rec.value, str) else _canonical(rec.value)
    value = f"{value}  @ {rec.timestamp} ms" if rec.timestamp is not None else value
    return f"key {_show_key(rec.key)}: {value}" if rec.keyed else value


def _show_key(key: Any) -> str:
    return json.dumps(key, ensure_ascii=False) if not isinstance(key, str) or not key else key


def _show_received(want: Record | None, got: Received, subset: bool, keyed: bool) -> str:
    like = want.value if want is not None else {}
    value = _show_part(like, got.value, subset)
    if want is not None and want.timestamp is not None:
        value = f"{value}  @ {got.timestamp} ms"
    if keyed:
        key_like = want.key if want is not None and want.keyed else ""
        key = "(no key)" if got.key is None else _show_part(key_like, got.key, False)
        return f"key {key}: {value}"
    return value


def diff(topic: str, want: list[Record], got: list[Received], dead_letters: bool) -> TopicDiff | None:
    """None when every record matches, else the diff of the two lists."""
    if len(want) == len(got) and all(matches(w, g, dead_letters) for w, g in zip(want, got)):
        return None
    keyed = any(w.keyed for w in want)
    expected = [_show_expected(w) for w in want]
    received = [_show_received(want[i] if i < len(want) else None, g, dead_letters, keyed) for i, g in enumerate(got)]
    # A record that matches is shown as its expectation, so only real differences stand out.
    for i in range(min(len(want), len(got))):
        if matches(want[i], got[i], dead_letters):
            received[i] = expected[i]
    lines = list(difflib.unified_diff(expected, received, lineterm="", n=3))[2:]
    if not lines:  # same text, different JSON types (`"1"` as text against 1)
        lines = [f"-{e}" for e in expected] + [f"+{r}" for r in received]
    return TopicDiff(topic, len(want), len(got), lines)


# ---------------------------------------------------------------------------- --update


def updated(want: list[Record], got: list[Received], dead_letters: bool) -> list[Any]:
    """The received records written as expectations, in the style of the existing ones: text
    where they were strings, JSON values where they were not (or where none existed and the
    value parses as a JSON mapping or list), `{key, value}` where they were keyed."""
    texts = bool(want) and all(isinstance(w.value, str) for w in want)
    keyed = any(w.keyed for w in want)
    out = []
    for i, g in enumerate(got):
        like = want[i] if i < len(want) else (want[-1] if want else None)
        value = _as_written(g.value, texts, like.value if like is not None else None, dead_letters)
        stamped = like is not None and like.timestamp is not None
        if keyed or stamped:
            written: dict = {}
            if keyed:
                key_like = like.key if like is not None and like.keyed else ""
                written["key"] = None if g.key is None else _as_written(g.key, isinstance(key_like, str), key_like, False)
            written["value"] = value
            if stamped:
                written["timestamp"] = g.timestamp
            out.append(written)
        else:
            out.append(value)
    return out


def _as_written(raw: bytes, text: bool, like: Any, dead_letters: bool) -> Any:
    value = parse_json(raw)
    if dead_letters and isinstance(value, dict):
        keys = list(like) if isinstance(like, dict) else list(DEAD_LETTER_FIELDS)
        return {k: value[k] for k in keys if k in value}
    if text or value is _NOT_JSON or (like is None and not isinstance(value, (dict, list))):
        return raw.decode("utf-8", errors="replace")
    return value

"""Humantime durations (`15s`, `1m 30s`, `500ms`, `2days`) -> milliseconds.

SDF reads window `duration`/`slide`/`offset`, watermark `idleness`/`grace-period` and state `ttl`
with Rust's humantime crate; this accepts the same spellings (humantime 2.1's unit table) and,
like humantime, rejects a bare number. Event time in a pipeline is in milliseconds, so a value
that is not a whole number of them is refused rather than rounded.
"""

from __future__ import annotations

from functools import cache

from ..diagnostics import suggest
from ._grammar import ParseError, load
from .errors import SyntaxProblem

_S = 1_000_000_000  # nanoseconds
UNITS = {
    **dict.fromkeys(("nanos", "nsec", "ns"), 1),
    **dict.fromkeys(("usec", "us"), 1_000),
    **dict.fromkeys(("millis", "msec", "ms"), 1_000_000),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), _S),
    **dict.fromkeys(("minutes", "minute", "mins", "min", "m"), 60 * _S),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), 3_600 * _S),
    **dict.fromkeys(("days", "day", "d"), 86_400 * _S),
    **dict.fromkeys(("weeks", "week", "w"), 7 * 86_400 * _S),
    **dict.fromkeys(("months", "month", "M"), 2_630_016 * _S),  # 30.44 days
    **dict.fromkeys(("years", "year", "y"), 31_557_600 * _S),  # 365.25 days
}
_MAX_MS = 2**63 - 1  # the runtime keeps times as i64 milliseconds
_EXAMPLE = "write a duration such as `15s`, `500ms` or `1m 30s`"


def parse_duration(text: str) -> int:
    """Milliseconds of a humantime duration; raises SyntaxProblem (columns count in `text`)."""
    grammar = _parser()
    try:
        nanos = grammar.parse(text)
    except ParseError as exc:
        raise _problem(text, exc.unexpected, grammar) from None
    if nanos % 1_000_000:
        raise SyntaxProblem(
            f"duration `{text.strip()}` is not a whole number of milliseconds",
            1, 1, len(text) + 1, "event time is counted in milliseconds; use `ms` or a larger unit",
        )  # fmt: skip
    if nanos // 1_000_000 > _MAX_MS:
        raise SyntaxProblem(f"duration `{text.strip()}` is too long", 1, 1, len(text) + 1)
    return nanos // 1_000_000


@cache
def _parser():
    return load("duration", transformer=_ToNanos())


class _ToNanos:
    def part(self, c):
        number, unit = c
        if unit not in UNITS:
            close = suggest(unit, UNITS)
            hint = f"did you mean `{close}`?" if close else "units: ns, us, ms, s, m, h, d, w, M (months), y"
            raise SyntaxProblem(f"unknown time unit `{unit}`", unit.line, unit.column, unit.column + len(unit), hint)
        return int(number) * UNITS[unit]

    def start(self, c):
        return sum(c)


def _problem(text: str, u, grammar) -> SyntaxProblem:
    if u.at_end and not text.strip():
        return SyntaxProblem("empty duration", 1, 1, None, _EXAMPLE)
    if u.at_end:  # Lark places the end at the last token: the number missing its unit
        number = text[u.col - 1 :].strip()
        hint = f"add a unit, e.g. `{number}s` or `{number}ms`"
        return SyntaxProblem(f"missing time unit after `{number}`", u.line, u.col, u.col + len(number), hint)
    if u.text == "-":
        hint = "durations cannot be negative"
    elif u.text == ".":
        hint = "use whole numbers in a smaller unit, e.g. `1500ms` for 1.5 seconds"
    else:
        hint = f"expected {u.wanted(grammar, {'INT': 'a number', 'UNIT': 'a time unit'})}; {_EXAMPLE}"
    return SyntaxProblem(
        f"unexpected `{u.text}` in duration `{text.strip()}`", u.line, u.col, u.col + len(u.text), hint
    )

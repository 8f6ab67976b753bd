"""Cron schedules of `schedule:` events (0.6) -> the expanded sets of matching values.

SDF validates them with Rust's `croner`: five fields (minute hour day-of-month month
day-of-week), or six with seconds first, plus macros like `@daily`; so does this. Every field is
range-checked with the column of the offending item. Supported: `*`, `?` (day fields), numbers,
names (`JAN`, `MON`, any case), ranges, lists and steps (`*/15`, `0-30/5`, `5/15`). Not
supported: croner's `L`, `W` and `#` (last day, nearest weekday, nth weekday), which cannot be
expanded to fixed sets; they are reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


from ..diagnostics import suggest
from ._grammar import ParseError, load
from ._lalr import is_token
from .errors import SyntaxProblem


@dataclass(frozen=True)
class CronSpec:
    """The values each field matches. A 5-field schedule fires at second 0.

    A time matches when its second, minute, hour and month are in their sets and its day
    matches. As in Vixie cron and croner, when both day fields are restricted (`days_either`,
    neither starts with `*` or `?`) a day matches if either field does; otherwise both must."""

    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday
    days_either: bool


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] is the value low + i

    def value(self, tok: str, col: int) -> int:
        if tok.type == "INT":
            n = int(tok)
            if not self.low <= n <= self.high:
                raise _at(f"{self.name} `{tok}` is out of range {self.low}-{self.high}", tok, col)
            return n
        upper = tok.upper()
        if upper in self.names:
            return self.low + self.names.index(upper)
        if upper in ("L", "W", "LW"):
            raise _at(
                f"`{tok}` is not supported", tok, col, "sscc expands schedules to fixed sets; list the days instead"
            )
        if not self.names:
            raise _at(f"`{tok}` is not a number; the {self.name} field takes {self.low}-{self.high}", tok, col)
        close = suggest(upper, self.names)
        hint = f"did you mean `{close}`?" if close else f"names: {', '.join(self.names)}"
        raise _at(f"unknown {self.name} name `{tok}`", tok, col, hint)


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 7, _DAYS),  # 7 is Sunday again
)
MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}  # fmt: skip


def parse_cron(text: str) -> CronSpec:
    """The schedule `text`; raises SyntaxProblem (columns count in `text`)."""
    body = text.strip()
    lead = len(text) - len(text.lstrip())
    grammar = _parser()
    try:
        fields = grammar.parse(body)
    except ParseError as exc:
        raise _syntax(exc.unexpected, grammar, text) from None
    if is_token(fields):  # a macro
        if fields.lower() not in MACROS:
            raise _at(f"unknown cron macro `{fields}`", fields, lead, f"macros: {', '.join(MACROS)}")
        return _expand(text, _parser().parse(MACROS[fields.lower()]), 0)
    return _expand(text, fields, lead)


@cache
def _parser():
    return load("cron", transformer=_ToItems())


class _ToItems:
    """Items stay tokens (with positions) until `_expand` knows their field."""

    def macro(self, c):
        return c[0]

    def fields(self, c):
        return c

    def field(self, c):
        return c

    def every(self, c):  # `*` or `*/n`
        return ("every", c[0], None, _step(c))

    def unspecified(self, c):
        return ("?", c[0], None, None)

    def values(self, c):  # `n`, `a-b`, `n/s`, `a-b/s`
        bounds = [x for x in c if is_token(x)]
        return ("values", bounds[0], bounds[1] if len(bounds) > 1 else None, _step(c))

    def step(self, c):
        return [c[0]]


def _step(children) -> str | None:
    return children[-1][0] if isinstance(children[-1], list) else None


def _expand(text: str, fields: list, lead: int) -> CronSpec:
    if len(fields) not in (5, 6):
        message = f"a cron schedule has 5 fields (minute hour day month weekday) or 6 (second first), not {len(fields)}"
        if len(fields) > 6:
            raise _at(message, fields[6][0][1], lead, "remove the extra fields (croner has no year field)")
        body = text.strip()
        raise SyntaxProblem(message, 1, lead + 1, lead + len(body) + 1, "e.g. `0 9 * * MON` (09:00 every Monday)")
    specs = _FIELDS if len(fields) == 6 else _FIELDS[1:]
    sets = [_field_set(items, spec, lead) for items, spec in zip(fields, specs)]
    if len(fields) == 5:
        sets.insert(0, frozenset({0}))
    sets[5] = frozenset(d % 7 for d in sets[5])
    day_fields = fields[-3], fields[-1]
    either = all(items[0][1] not in ("*", "?") for items in day_fields)
    return CronSpec(text, *sets, days_either=either)


def _field_set(items: list, spec: _Field, col: int) -> frozenset[int]:
    out: set[int] = set()
    for kind, first, last, step in items:
        if kind == "?" and spec.name not in ("day of month", "day of week"):
            raise _at(f"`?` is only allowed in the day fields, not in the {spec.name} field", first, col, "use `*`")
        low = spec.value(first, col) if kind == "values" else spec.low
        high = spec.value(last, col) if last else (spec.high if kind != "values" or step else low)
        if low > high:
            hint = "croner does not wrap ranges around; write two ranges, e.g. `5-6,0-1`"
            raise _at(f"range `{first}-{last}` runs backwards", first, col, hint, last.end_column - first.column)
        stride = int(step) if step else 1
        if stride == 0:
            raise _at("a step must be at least 1", step, col)
        out.update(range(low, high + 1, stride))
    return frozenset(out)


def _at(message: str, tok: str, lead: int, hint: str | None = None, width: int | None = None) -> SyntaxProblem:
    col = tok.column + lead
    return SyntaxProblem(message, 1, col, col + (width or len(tok)), hint)


def _syntax(u, grammar, text: str) -> SyntaxProblem:
    lead = len(text) - len(text.lstrip())
    if u.at_end and not text.strip():
        return SyntaxProblem(
            "empty cron schedule", 1, 1, None, "write five fields, e.g. `*/5 * * * *` (every 5 minutes)"
        )
    col = len(text.rstrip()) + 1 if u.at_end else u.col + lead
    if u.text == "#":
        return SyntaxProblem("`#` (nth weekday) is not supported", 1, col, col + 1, "list the days instead")
    wanted = u.wanted(grammar, {"INT": "a number", "NAME": "a name", "MACRO": "a macro"})
    where = "end of" if u.at_end else "space in" if u.text.isspace() else f"`{u.text}` in"
    message = f"unexpected {where} cron schedule"
    return SyntaxProblem(message, 1, col, col + max(len(u.text), 1), f"expected {wanted}" if wanted else None)

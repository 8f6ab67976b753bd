"""Diagnostics: what every stage reports, and how it is shown to a person or a tool.

A Diagnostic is plain data (code, severity, span, message, hint). Stages append them to a
`Diagnostics` collector and keep going, so one run reports every error of a file. Rendering
follows rustc: `path:line:col: error[E012]: message`, the source line, a caret under the span,
then `hint: ...`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Span:
    """A 1-based region of one source file. end_* is exclusive on the column."""

    path: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def shifted(self, dline: int, dcol: int = 0) -> "Span":
        """This span moved by dline lines (and dcol columns when on the first line).

        Used for embedded text (inline code in a `run: |` block) whose positions
        are relative to the block."""
        return Span(self.path, self.line + dline, self.col + dcol, self.end_line + dline, self.end_col + dcol)


NO_SPAN = Span("<unknown>", 0, 0)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: str
    span: Span
    message: str
    hint: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def sort_key(self):
        return (self.span.path, self.span.line, self.span.col, self.code, self.message)

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "notes": list(self.notes),
            "file": self.span.path,
            "line": self.span.line,
            "column": self.span.col,
            "end_line": self.span.end_line or self.span.line,
            "end_column": self.span.end_col or self.span.col,
        }


MAX_DIAGNOSTICS = 1000


@dataclass
class Diagnostics:
    """Collector passed through the stages. Never raises on error: callers look at has_errors."""

    items: list[Diagnostic] = field(default_factory=list)
    dropped: int = 0  # diagnostics past MAX_DIAGNOSTICS, summed up by one E007 / W007

    def error(self, code: str, span: Span, message: str, hint: str | None = None, notes: Sequence[str] = ()) -> None:
        self._add(Diagnostic(code, ERROR, span, message, hint, tuple(notes)))

    def warning(self, code: str, span: Span, message: str, hint: str | None = None, notes: Sequence[str] = ()) -> None:
        self._add(Diagnostic(code, WARNING, span, message, hint, tuple(notes)))

    def extend(self, other: Iterable[Diagnostic]) -> None:
        for d in other:
            self._add(d)

    def _add(self, d: Diagnostic) -> None:
        """Keeps at most MAX_DIAGNOSTICS: a file with thousands of mistakes gets the first ones
        and a count (every stage that looks at what was reported stays linear)."""
        if len(self.items) < MAX_DIAGNOSTICS:
            self.items.append(d)
            return
        self.dropped += 1
        last = self.items[-1]
        if self.dropped == 1 or (d.is_error and not last.is_error):  # the summary: an error once one was dropped
            summary = Diagnostic(
                "E007" if d.is_error or (self.dropped > 1 and last.is_error) else "W007",
                ERROR if d.is_error or (self.dropped > 1 and last.is_error) else WARNING,
                d.span,
                f"more than {MAX_DIAGNOSTICS} diagnostics; the rest are not shown",
                "fix the ones shown and check again",
            )
            if self.dropped == 1:
                self.items.append(summary)
            else:
                self.items[-1] = summary

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if not d.is_error]

    def sorted(self) -> list[Diagnostic]:
        seen = set()
        out = []
        for d in sorted(self.items, key=Diagnostic.sort_key):
            if d not in seen:
                seen.add(d)
                out.append(d)
        return out

    def promote_warnings(self) -> None:
        """`--strict`: every warning becomes an error with the same code."""
        self.items = [
            Diagnostic(d.code, ERROR, d.span, d.message, d.hint, d.notes) if not d.is_error else d for d in self.items
        ]


# ---------------------------------------------------------------------------- suggestions


def suggest(name: str, candidates: Iterable[str], cutoff: float = 0.6, prefer: str = "kebab") -> str | None:
    """The closest candidate to a misspelt name, or None. Case and -/_ differences count as close.

    When two candidates are one name spelled two ways (`assign-key` and its alias `assign_key`),
    the one in the `prefer`red style is named: kebab-case, the spelling of every 0.5/0.6 key,
    unless the caller knows the file uses the snake_case one (`prefer="snake"`)."""
    cands = [c for c in candidates if isinstance(c, str)] if _suggest_budget[0] > 0 else []
    if not cands or not isinstance(name, str) or len(cands) > _suggest_budget[0]:
        return None
    _suggest_budget[0] -= len(cands)
    cands = sorted(set(cands))
    other = "_" if prefer == "kebab" else "-"
    norm: dict[str, str] = {}
    for c in sorted(cands, key=lambda c: (other in c, c)):  # the preferred spelling first: it stays
        norm.setdefault(c.lower().replace("_", "-"), c)
    key = name.lower().replace("_", "-")
    if key in norm and norm[key] != name:
        return norm[key]
    # Fuzzy matching costs a comparison per candidate: a file with thousands of unknown names
    # among thousands of defined ones would take minutes, so each checked file has a budget, and
    # names of a very different length (never within the cutoff) are not compared.
    if len(key) > 256:  # difflib is quadratic in the length; names this long get no suggestion
        return None
    near = [n for n in norm if abs(len(n) - len(key)) <= max(3, len(key) // 2)]
    if len(near) > _suggest_budget[0]:
        return None
    _suggest_budget[0] -= len(near)
    found = difflib.get_close_matches(key, near, n=1, cutoff=cutoff)
    return norm[found[0]] if found else None


SUGGEST_BUDGET = 50_000  # candidates looked at per checked file (~20 µs each in difflib)
_suggest_budget = [SUGGEST_BUDGET]


def reset_suggestion_budget() -> None:
    """A new file is being checked (driver.front_end): its own budget."""
    _suggest_budget[0] = SUGGEST_BUDGET


def suggestions_spent(candidates) -> bool:
    """Has this process spent its suggestion budget for a list this long? (Then a hint names
    no candidates: listing thousands of names for thousands of mistakes is quadratic.)"""
    return hasattr(candidates, "__len__") and len(candidates) > _suggest_budget[0]


def did_you_mean(name: str, candidates: Iterable[str], what: str = "") -> str | None:
    """A hint sentence `did you mean `x`?`, or a list of what exists when nothing is close."""
    if suggestions_spent(candidates):
        return None
    cands = sorted(set(c for c in candidates if isinstance(c, str)))
    best = suggest(name, cands)
    if best is not None:
        return f"did you mean `{best}`?"
    if cands:
        shown = ", ".join(f"`{c}`" for c in cands[:8])
        more = f" and {len(cands) - 8} more" if len(cands) > 8 else ""
        return f"{what + ' ' if what else ''}defined here: {shown}{more}"
    return None


# ---------------------------------------------------------------------------- rendering


class SourceCache:
    """Source text by path, so the renderer can quote lines. Filled by the loader."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def add(self, path: str, text: str) -> None:
        self._lines[path] = LINE_BREAK.split(text)

    def line(self, path: str, line: int) -> str | None:
        lines = self._lines.get(path)
        if lines is None and path.endswith((".rs", ".toml")):  # a package's sources (E201/E202 in them)
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    lines = self._lines[path] = fh.read().splitlines()
            except OSError:
                self._lines[path] = []
        if lines is None or line < 1 or line > len(lines):
            return None
        return lines[line - 1]


# Line breaks as YAML (libyaml's marks) counts them; str.splitlines would also break at \x0b,
# \x0c and \x1c-\x1e, and misnumber every later line.
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

# Characters never sent raw to a terminal: C0 controls but tab and newline, DEL, C1 controls,
# and the bidirectional overrides that make text read differently from what it is.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
SNIPPET_WIDTH = 120  # characters of a source line shown around the caret
MAX_MESSAGE, MAX_HINT = 1000, 8000  # a 2 MB name from the file is not printed whole


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 30] + f"... ({len(text) - limit + 30} more characters)"


def escaped(text: str) -> str:
    """`text` with control and escape characters written as `\\xNN` / `\\u{NNNN}`."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{{{ord(m.group()):04x}}}", text)


def _snippet(src: str, start: int, width: int) -> tuple[str, int, int]:
    """The source line as shown (escaped, cut to SNIPPET_WIDTH around the span) and where the
    caret goes in it: (text, caret start, caret width)."""
    head, body = escaped(src[:start]), escaped(src[start : start + width])
    tail = escaped(src[start + width :])
    text, start, width = head + body + tail, len(head), len(body)
    if len(text) <= SNIPPET_WIDTH:
        return text, start, width
    width = min(width, SNIPPET_WIDTH // 2)
    left = max(0, min(start - SNIPPET_WIDTH // 3, len(text) - SNIPPET_WIDTH))
    cut = text[left : left + SNIPPET_WIDTH]
    prefix = "..." if left > 0 else ""
    suffix = "..." if left + SNIPPET_WIDTH < len(text) else ""
    return prefix + cut + suffix, start - left + len(prefix), width


def render_text(diag: Diagnostic, sources: SourceCache, color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    sev = paint(f"{diag.severity}[{diag.code}]", "1;31" if diag.is_error else "1;33")
    sp = diag.span
    where = escaped(f"{sp.path}:{sp.line}:{sp.col}" if sp.line else sp.path)
    out = [f"{where}: {sev}: {_cut(escaped(diag.message), MAX_MESSAGE)}"]
    src = sources.line(sp.path, sp.line) if sp.line else None
    if src is not None:
        gutter = str(sp.line)
        pad = " " * len(gutter)
        text = src.replace("\t", " ")
        start = max(sp.col - 1, 0)
        if sp.end_line == sp.line and sp.end_col > sp.col:
            width = sp.end_col - sp.col
        else:
            # to the end of the token that starts at the column
            rest = text[start:]
            width = len(rest) - len(rest.lstrip()) if not rest.strip() else len(rest.split()[0]) if rest[:1].strip() else 1
        width = max(1, min(width, max(len(text) - start, 1)))
        text, start, width = _snippet(text, start, width)
        out.append(f"{pad} |")
        out.append(f"{gutter} | {text}")
        out.append(f"{pad} | {' ' * start}{paint('^' * max(width, 1), '1;31' if diag.is_error else '1;33')}")
    for note in diag.notes:
        out.append(f"  = note: {_cut(escaped(note), MAX_HINT)}")
    if diag.hint:
        out.append(f"  {paint('hint', '1;36')}: {_cut(escaped(diag.hint), MAX_HINT)}")
    return "\n".join(out)


def render_summary(diags: Sequence[Diagnostic]) -> str:
    n_err = sum(1 for d in diags if d.is_error)
    n_warn = len(diags) - n_err
    parts = []
    if n_err:
        parts.append(f"{n_err} error{'s' if n_err != 1 else ''}")
    if n_warn:
        parts.append(f"{n_warn} warning{'s' if n_warn != 1 else ''}")
    return ", ".join(parts) if parts else "no problems"

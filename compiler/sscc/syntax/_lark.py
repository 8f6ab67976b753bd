"""Grammar loading, a fast lexer, and Lark error translation, shared by this package's parsers.

Grammars are data files in grammars/ (installed as the `sscc.grammars` package). Callers build
each parser on first use and keep it (functools.cache), so importing sscc stays cheap. Lark
exceptions stop in this package: callers turn `unexpected()` facts into a SyntaxProblem.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from importlib.resources import files

import lark
from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer, PatternStr


def _cache_file(name: str, text: str) -> str | None:
    """A per-user file for Lark's pickled parse tables (not /tmp: another user could plant one there).

    Building the Rust signature parser costs 150-450 ms, loading it from the cache ~15 ms, which
    is most of a one-file `sscc check`. The name carries a hash of the grammar and Lark's version."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "sscc", "lark")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.stat(folder).st_uid != os.getuid():
            return None
    except OSError:
        return None
    digest = hashlib.sha256(f"{lark.__version__}\0{name}\0{text}".encode()).hexdigest()[:20]
    return os.path.join(folder, f"{name}-{digest}.pickle")


def load(name: str, **options) -> Lark:
    """An LALR parser for grammars/<name>.lark."""
    text = files("sscc.grammars").joinpath(f"{name}.lark").read_text(encoding="utf-8")
    cache = _cache_file(name, text)
    if cache:
        options = {**options, "cache": cache}
    return Lark(text, parser="lalr", **options)


class FastLexer(Lexer):
    """One compiled regex for the whole grammar: a signature parses ~2.5x faster than with Lark's lexer.

    Lark spends most of a short parse lexing (per-token line counting, per-state lexers). This
    lexer suits grammars whose terminals never overlap except keywords, which are looked up
    after a match of a word-like terminal. Ignored terminals come first, then the literal
    terminals longest first, then the regex terminals in grammar order."""

    def __init__(self, conf):
        strings = [t for t in conf.terminals if isinstance(t.pattern, PatternStr)]
        self.keywords = {t.pattern.value: t.name for t in strings if t.pattern.value.isidentifier()}
        symbols = sorted(
            (t for t in strings if t.name not in self.keywords.values()), key=lambda t: -len(t.pattern.value)
        )
        regexes = [t for t in conf.terminals if not isinstance(t.pattern, PatternStr)]
        self.ignore = set(conf.ignore)
        ordered = (
            [t for t in regexes if t.name in self.ignore] + symbols + [t for t in regexes if t.name not in self.ignore]
        )
        self.regex = re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in ordered))

    def lex(self, data: str):
        match, keywords, ignore = self.regex.match, self.keywords, self.ignore
        pos, line, line_start = 0, 1, 0
        while pos < len(data):
            m = match(data, pos)
            if m is None:
                raise UnexpectedCharacters(data, pos, line, pos - line_start + 1)
            kind, end = m.lastgroup, m.end()
            if kind not in ignore:
                value = m.group()
                yield Token(keywords.get(value, kind), value, pos, line, pos - line_start + 1)
            newlines = data.count("\n", pos, end)
            if newlines:
                line += newlines
                line_start = data.rindex("\n", pos, end) + 1
            pos = end


@dataclass(frozen=True)
class Unexpected:
    """Where Lark stopped: the offending text ("" at the end of the input) and what it wanted."""

    text: str
    line: int
    col: int
    at_end: bool
    expected: tuple[str, ...]  # terminal names

    def wanted(self, lark: Lark, names: dict[str, str], groups: dict[str, set[str]] | None = None) -> str:
        """`expected` in words, e.g. "`)`, `,` or a name". `names` words the regex terminals;
        `groups` replaces a set of words that are all present by one phrase ("a type")."""
        words = set()
        for term in self.expected:
            pattern = lark.get_terminal(term).pattern if term != "$END" else None
            if term in names:
                words.add(names[term])
            elif isinstance(pattern, PatternStr):
                words.add(f"`{pattern.value}`")
        for phrase, members in (groups or {}).items():
            if members <= words:
                words = words - members | {phrase}
        words = sorted(words)
        if len(words) <= 1:
            return "".join(words)
        return ", ".join(words[:-1]) + " or " + words[-1]


def unexpected(exc: UnexpectedInput) -> Unexpected:
    if isinstance(exc, UnexpectedCharacters):
        return Unexpected(exc.char, exc.line, exc.column, False, tuple(sorted(exc.allowed or ())))
    assert isinstance(exc, UnexpectedToken), exc
    tok = exc.token
    at_end = tok.type == "$END"
    # LALR merges states, so `exc.expected` may list tokens that would fail a step later; asking
    # the parser which tokens it really accepts (it replays them on a copy) keeps hints honest.
    expected = exc.interactive_parser.accepts() if exc.interactive_parser else exc.expected
    return Unexpected("" if at_end else str(tok), tok.line or 1, tok.column or 1, at_end, tuple(sorted(expected)))

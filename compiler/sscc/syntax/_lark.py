"""Lark itself: building parsers and tables, the fast lexer, and Lark error translation.

Only _grammar.Grammar imports this module, and only when it must: to export a grammar's
tables the first time (they are then cached and replayed by _lalr without Lark), and to
explain a parse error (real Lark parses the text again and its exception says where and what
it expected). Grammars are data files in grammars/ (installed as the `sscc.grammars` package).
Lark exceptions stop in this package: callers see a _grammar.ParseError.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

import lark
from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer, PatternStr
from lark.parse_tree_builder import ChildFilterLALR, ChildFilterLALR_NoPlaceholders, ExpandSingleChild
from lark.parsers.lalr_analysis import Shift


def _cache_file(name: str, text: str) -> str | None:
    """A per-user file for Lark's pickled parse tables (not /tmp: another user could plant one there).

    Building the Rust signature parser costs 150-450 ms, loading it from the cache ~15 ms. The
    name carries a hash of the grammar and Lark's version."""
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


def build(name: str, text: str, transformer=None, fast_lexer: bool = False, **options) -> Lark:
    """The real Lark LALR parser of grammar `name` (source `text`)."""
    cache = _cache_file(name, text)
    if cache:
        options = {**options, "cache": cache}
    if fast_lexer:
        options["lexer"] = FastLexer
    return Lark(text, parser="lalr", transformer=transformer, **options)


def export(parser: Lark, fast_lexer: bool) -> dict:
    """The plain-data tables that _lalr.Parser replays: LALR states, per-rule child filtering, lexer."""
    table = parser.parser.parser._parse_table
    rule_ids: dict = {}
    specs: list = []

    def rule_id(rule) -> int:
        if rule not in rule_ids:
            rule_ids[rule] = len(specs)
            specs.append(None)
        return rule_ids[rule]

    states = {  # str(): Lark's names may be Token objects, which marshal cannot store
        state: {str(sym): (action is Shift, arg if action is Shift else rule_id(arg)) for sym, (action, arg) in row.items()}
        for state, row in table.states.items()
    }
    builders = dict(parser._parse_tree_builder.rule_builders)
    for rule, index in rule_ids.items():
        expand1, include, nones_after = False, None, 0
        for wrapper in builders[rule]:
            if wrapper is ExpandSingleChild:
                expand1 = True
            elif wrapper.func is ChildFilterLALR:
                include = [(i, bool(expand), nones) for i, expand, nones in wrapper.args[0]]
                nones_after = wrapper.args[1]
            elif wrapper.func is ChildFilterLALR_NoPlaceholders:
                include = [(i, bool(expand), 0) for i, expand in wrapper.args[0]]
            else:  # pragma: no cover - an option this exporter does not know (positions, ambiguity)
                raise NotImplementedError(f"cannot export parse-tree wrapper {wrapper!r}")
        name = rule.alias or rule.options.template_source or rule.origin.name
        specs[index] = (str(rule.origin.name), len(rule.expansion), (str(name), expand1, include, nones_after))
    (start,) = parser.options.start
    return {
        "states": states,
        "start": table.start_states[start],
        "end": table.end_states[start],
        "rules": specs,
        "lexer": _export_fast(parser) if fast_lexer else _export_contextual(parser),
    }


def _export_fast(parser: Lark) -> dict:
    lexer = FastLexer(parser.lexer_conf)
    keywords = {str(k): str(v) for k, v in lexer.keywords.items()}
    return {"kind": "fast", "regex": lexer.regex.pattern, "keywords": keywords, "ignore": sorted(map(str, lexer.ignore))}


def _export_contextual(parser: Lark) -> dict:
    contextual = parser.parser.lexer
    scanners: list = []
    index_of: dict = {}
    by_state = {}
    for state, basic in contextual.lexers.items():
        if id(basic) not in index_of:
            scanner = basic.scanner  # built on first use; sets basic.callback too
            unless = {
                str(kind): [(m.pattern, int(m.flags)) for m in callback.scanner._mres]
                for kind, callback in basic.callback.items()
            }
            index_of[id(basic)] = len(scanners)
            scanners.append(([(m.pattern, int(m.flags)) for m in scanner._mres], unless))
        by_state[state] = index_of[id(basic)]
    return {
        "kind": "contextual",
        "by_state": by_state,
        "scanners": scanners,
        "ignore": sorted(map(str, parser.lexer_conf.ignore)),
    }


class FastLexer(Lexer):
    """One compiled regex for the whole grammar: a signature parses ~2.5x faster than with Lark's lexer.

    Lark spends most of a short parse lexing (per-token line counting, per-state lexers). This
    lexer suits grammars whose terminals never overlap except keywords, which are looked up
    after a match of a word-like terminal. Ignored terminals come first, then the literal
    terminals longest first, then the regex terminals in grammar order."""

    def __init__(self, conf):
        strings = [t for t in conf.terminals if isinstance(t.pattern, PatternStr)]
        self.keywords = {t.pattern.value: t.name for t in strings if t.pattern.value.isidentifier()}
        symbols = sorted((t for t in strings if t.name not in self.keywords.values()), key=lambda t: -len(t.pattern.value))
        regexes = [t for t in conf.terminals if not isinstance(t.pattern, PatternStr)]
        self.ignore = set(conf.ignore)
        ordered = [t for t in regexes if t.name in self.ignore] + symbols + [t for t in regexes if t.name not in self.ignore]
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

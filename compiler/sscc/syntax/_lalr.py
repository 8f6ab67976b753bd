"""Run a Lark-built LALR parser without importing Lark.

Importing Lark and unpickling its parser cost more than checking a whole pipeline file, and
almost every embedded text a user writes is valid. So Lark builds each grammar's tables once
(`_lark.export`, cached per user beside Lark's own cache), and this module replays them: the
lexer (sscc's FastLexer, or Lark's contextual lexer from its exported per-state regexes), the
LALR(1) shift/reduce loop, and Lark's child filtering and `?rule` inlining, calling the same
transformer methods in the same order. On any error it gives up (`NoParse`) and the caller asks
real Lark, whose exception explains the error; so messages are Lark's, and only valid input
takes this path. tests/syntax/test_syntax_lalr.py compares results with real Lark.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from typing import Any

FORMAT = 1  # bump when the exported table layout changes


class NoParse(Exception):
    """The text does not lex or parse; real Lark will say why."""


class Token(str):
    """A token: the matched text, with Lark's attribute names (type, line, column, ...)."""

    def __new__(cls, type_: str, value: str, start_pos: int, line: int, column: int):
        self = super().__new__(cls, value)
        self.type, self.value, self.start_pos, self.line, self.column = type_, value, start_pos, line, column
        return self

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"


class Tree:
    """What a rule without a transformer method becomes (`_rules` that are inlined into their parent)."""

    __slots__ = ("data", "children")

    def __init__(self, data: str, children: list) -> None:
        self.data, self.children = data, children

    def __repr__(self) -> str:
        return f"Tree({self.data!r}, {self.children!r})"


def is_token(x: Any) -> bool:
    """A token of this module or of Lark (both are str subclasses); plain strings are values."""
    return isinstance(x, str) and type(x) is not str


def cache_path(name: str) -> str | None:
    """The per-user file of one grammar's exported tables (not /tmp: another user could plant one)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "sscc", "lark")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.stat(folder).st_uid != os.getuid():
            return None
    except OSError:
        return None
    return os.path.join(folder, f"{name}-tables-v{FORMAT}-py{sys.version_info[0]}{sys.version_info[1]}.marshal")


def read_tables(path: str | None, key: str) -> dict | None:
    """The cached tables if they were exported from exactly this grammar and these options."""
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            tables = marshal.loads(fh.read())  # load(fh) reads the file in many small calls
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return tables if isinstance(tables, dict) and tables.get("key") == key else None


def write_tables(path: str | None, tables: dict) -> None:
    if path is None:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            marshal.dump(tables, fh)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


class Parser:
    """The LALR parser of one grammar, from exported tables, calling `transformer`'s methods."""

    def __init__(self, tables: dict, transformer: Any = None) -> None:
        self.states: dict[int, dict[str, tuple[bool, int]]] = tables["states"]
        self.start, self.end = tables["start"], tables["end"]
        if transformer is not None and any(hasattr(transformer, t) for t in _terminals(self.states)):
            # Lark would call such a method on every token of that terminal; replaying does not
            raise NotImplementedError("transformer methods named after terminals are not supported")
        self.rules = [(origin, size, self._callback(spec, transformer)) for origin, size, spec in tables["rules"]]
        lexer = tables["lexer"]
        if lexer["kind"] == "fast":
            self.lex = _FastLexer(lexer).lex
        else:
            self.lex = _ContextualLexer(lexer).lex

    @staticmethod
    def _callback(spec: tuple, transformer: Any):
        """Lark's parse_tree_builder for one rule: filter the children, inline `?rule`s, call the method."""
        name, expand1, include, nones_after = spec
        method = getattr(transformer, name, None) if transformer is not None else None
        if method is None:
            method = lambda children: Tree(name, children)  # noqa: E731 - as Lark does without a method

        def call(children: list) -> Any:
            if include is not None:
                filtered: list = []
                for index, expand, nones in include:
                    if nones:
                        filtered += [None] * nones
                    if expand:
                        if filtered:
                            filtered += children[index].children
                        else:  # Lark reuses the child's list here (left recursion)
                            filtered = children[index].children
                    else:
                        filtered.append(children[index])
                if nones_after:
                    filtered += [None] * nones_after
                children = filtered
            if expand1 and len(children) == 1:
                return children[0]
            return method(children)

        return call

    def parse(self, text: str) -> Any:
        states, rules = self.states, self.rules
        state_stack = [self.start]
        value_stack: list = []
        for token in self.lex(text, state_stack):
            while True:
                action = states[state_stack[-1]].get(token.type)
                if action is None:
                    raise NoParse
                shift, arg = action
                if shift:
                    state_stack.append(arg)
                    value_stack.append(token)
                    break
                self._reduce(arg, state_stack, value_stack)
        while True:  # the end of input: reduce until the start rule is complete
            action = states[state_stack[-1]].get("$END")
            if action is None or action[0]:
                raise NoParse
            self._reduce(action[1], state_stack, value_stack)
            if state_stack[-1] == self.end:
                return value_stack[-1]

    def _reduce(self, rule: int, state_stack: list, value_stack: list) -> None:
        origin, size, callback = self.rules[rule]
        if size:
            children = value_stack[-size:]
            del state_stack[-size:]
            del value_stack[-size:]
        else:
            children = []
        value = callback(children)
        shift, goto = self.states[state_stack[-1]][origin]
        state_stack.append(goto)
        value_stack.append(value)


def _terminals(states: dict) -> set[str]:
    return {sym for row in states.values() for sym in row if sym.isupper()}


def _tokens(data: str, match_at, ignore) -> Any:
    """Positions as Lark counts them: 1-based line and column, newlines counted in every token."""
    pos, line, line_start, end = 0, 1, 0, len(data)
    while pos < end:
        found = match_at(data, pos)
        if found is None:
            raise NoParse
        kind, stop = found
        if stop == pos:
            raise NoParse
        token = Token(kind, data[pos:stop], pos, line, pos - line_start + 1) if kind not in ignore else None
        newlines = data.count("\n", pos, stop)
        if newlines:
            line += newlines
            line_start = data.rindex("\n", pos, stop) + 1
        if token is not None:
            token.end_line, token.end_column, token.end_pos = line, stop - line_start + 1, stop
            yield token
        pos = stop


class _FastLexer:
    """sscc's FastLexer (see _lark.FastLexer) from its exported regex and keyword table."""

    def __init__(self, conf: dict) -> None:
        self.regex = re.compile(conf["regex"])
        self.keywords = conf["keywords"]
        self.ignore = frozenset(conf["ignore"])

    def lex(self, data: str, state_stack: list):
        match, keywords = self.regex.match, self.keywords

        def match_at(text: str, pos: int):
            m = match(text, pos)
            if m is None:
                return None
            kind = m.lastgroup
            return keywords.get(m.group(), kind) if kind not in self.ignore else kind, m.end()

        return _tokens(data, match_at, self.ignore)


class _ContextualLexer:
    """Lark's contextual lexer: in each parser state only the terminals that state accepts."""

    def __init__(self, conf: dict) -> None:
        self.by_state = conf["by_state"]  # parser state -> index of its scanner
        self.scanners = conf["scanners"]  # [(patterns, unless)], compiled on first use
        self.compiled: dict[int, tuple] = {}
        self.ignore = frozenset(conf["ignore"])

    def _scanner(self, index: int) -> tuple:
        found = self.compiled.get(index)
        if found is None:
            patterns, unless = self.scanners[index]
            found = self.compiled[index] = (
                [re.compile(p, flags) for p, flags in patterns],
                {kind: [re.compile(p, flags) for p, flags in pats] for kind, pats in unless.items()},
            )
        return found

    def lex(self, data: str, state_stack: list):
        def match_at(text: str, pos: int):
            mres, unless = self._scanner(self.by_state[state_stack[-1]])
            for mre in mres:
                m = mre.match(text, pos)
                if m:
                    kind = m.lastgroup
                    for exact in unless.get(kind, ()):  # a keyword that the regex terminal also matches
                        k = exact.fullmatch(m.group())
                        if k:
                            kind = k.lastgroup
                            break
                    return kind, m.end()
            return None

        return _tokens(data, match_at, self.ignore)

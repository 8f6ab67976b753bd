"""One grammar of grammars/: parse with the replayed tables, explain errors with real Lark.

    g = load("duration", transformer=_ToNanos())
    g.parse(text)              value built by the transformer; raises ParseError
    err.unexpected             where Lark stopped and what it expected (_lark.Unexpected)
    g.get_terminal(name)       Lark's terminal definition (for wording what was expected)

Valid text never imports Lark (see _lalr.py). Callers keep one Grammar per grammar
(functools.cache), so tables are read once per process.
"""

from __future__ import annotations

import os
from typing import Any

from . import _lalr


def _grammar_text(name: str) -> str:
    """grammars/<name>.lark, from the `sscc.grammars` package (a directory, installed or not)."""
    import sscc.grammars

    folder = os.path.dirname(os.path.abspath(sscc.grammars.__file__))
    with open(os.path.join(folder, f"{name}.lark"), encoding="utf-8") as fh:
        return fh.read()


class ParseError(Exception):
    """The text is not in the grammar; `unexpected` says where and what was expected."""

    def __init__(self, unexpected) -> None:
        super().__init__(f"{unexpected.line}:{unexpected.col}: unexpected {unexpected.text!r}")
        self.unexpected = unexpected


class Grammar:
    def __init__(self, name: str, transformer: Any = None, fast_lexer: bool = False, **options) -> None:
        self.name, self.transformer, self.fast_lexer, self.options = name, transformer, fast_lexer, options
        self.text = _grammar_text(name)
        self._lark = None
        self.key = key = repr((self.text, fast_lexer, sorted(options.items())))
        path = _lalr.cache_path(name)
        tables = _lalr.read_tables(path, key)
        if tables is None:
            from . import _lark

            tables = _lark.export(self.lark(), fast_lexer)
            tables["key"] = key
            _lalr.write_tables(path, tables)
        self.parser = _lalr.Parser(tables, transformer)

    def lark(self):
        """The real Lark parser (built or unpickled on first need: an error, or a table export)."""
        if self._lark is None:
            from . import _lark

            self._lark = _lark.build(self.name, self.text, self.transformer, self.fast_lexer, **self.options)
        return self._lark

    def parse(self, text: str) -> Any:
        try:
            return self.parser.parse(text)
        except _lalr.NoParse:
            pass
        from lark import UnexpectedInput

        from . import _lark

        try:  # the same parse by Lark, which raises an exception that explains the error
            return self.lark().parse(text)
        except UnexpectedInput as exc:
            raise ParseError(_lark.unexpected(exc)) from None

    def get_terminal(self, name: str):
        return self.lark().get_terminal(name)


def load(name: str, transformer: Any = None, fast_lexer: bool = False, **options) -> Grammar:
    """The parser of grammars/<name>.lark (LALR, Lark's contextual lexer unless `fast_lexer`)."""
    return Grammar(name, transformer, fast_lexer, **options)

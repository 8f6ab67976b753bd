"""A lexical walk over Rust source: enough to find items and skip bodies, nothing more.

It knows what can hide a bracket (strings, raw strings `r#"..."#`, byte/C strings, char
literals, nested block comments) and tells a char literal `'{'` from a lifetime `'a`. Inside a
group it jumps from one possible bracket to the next with a regex search, so a long body costs
little Python.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from .errors import SyntaxProblem

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<doc>///(?!/)[^\n]*)
  | (?P<comment>//[^\n]*)
  | (?P<block>/\*)
  | (?P<raw>[bc]?r\#*")
  | (?P<str>[bc]?")
  | (?P<char>b?')
  | (?P<word>(?:r\#)?[^\W\d]\w*)
  | (?P<num>\d\w*)
  | (?P<punct>.)
    """,
    re.X | re.S,
)
_NEXT_IN_GROUP = re.compile(r"""[(){}\[\]"'/]""")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_RAW = re.compile(r'[bc]?r(#*)".*?"\1', re.S)
_CHAR = re.compile(r"'(?:[^'\\\n]|\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]{1,6}\}|.))'")
_COMMENT_EDGE = re.compile(r"/\*|\*/")
CLOSE = {"(": ")", "[": "]", "{": "}"}


class Scanner:
    def __init__(self, code: str):
        self.code = code
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", code)]

    def where(self, offset: int) -> tuple[int, int]:
        """(line, col) of an offset."""
        line = bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col - 1

    def problem(self, message: str, offset: int, length: int = 1, hint: str | None = None) -> SyntaxProblem:
        line, col = self.where(offset)
        return SyntaxProblem(message, line, col, col + length, hint)

    def token(self, pos: int, docs: list[str] | None = None) -> tuple[str, int, int]:
        """The next token after whitespace and comments: (kind, start, end), kind "eof" at the end.

        kind is one of word, num, punct, str, raw, char (a lifetime is a one-character "char").
        Outer doc comments (`///`, `/** */`) met on the way are appended to `docs`."""
        code = self.code
        while True:
            m = _TOKEN.match(code, pos)
            if m is None:
                return "eof", pos, pos
            kind, end = m.lastgroup, m.end()
            if kind == "block":
                end = self.skip_comment(pos)
                if docs is not None and code.startswith("/**", pos) and code[pos + 3] not in "*/":
                    docs.append(code[pos + 3 : end - 2].strip())
            elif kind == "doc" and docs is not None:
                docs.append(m.group()[3:].removeprefix(" "))
            elif kind in ("str", "raw", "char"):
                return kind, pos, self.skip_literal(pos)
            elif kind not in ("ws", "comment", "doc"):
                return kind, pos, end
            pos = end

    def skip_comment(self, pos: int) -> int:
        """The end of the (nestable) block comment opening at `pos`."""
        depth = 0
        for m in _COMMENT_EDGE.finditer(self.code, pos):
            depth += 1 if m.group() == "/*" else -1
            if depth == 0:
                return m.end()
        raise self.problem("unterminated block comment", pos, 2, "close it with `*/`")

    def skip_literal(self, pos: int) -> int:
        """The end of the string, raw string or char literal at `pos`; a lifetime is just its `'`."""
        code = self.code
        if code.startswith(("'", "b'"), pos):
            quote = code.index("'", pos)
            m = _CHAR.match(code, quote)
            return m.end() if m else quote + 1
        if code.startswith(('"', 'b"', 'c"'), pos):
            m = _STRING.match(code, code.index('"', pos))
        else:
            m = _RAW.match(code, pos)
        if m is None:
            raise self.problem("unterminated string literal", pos, 1, 'close it with `"`')
        return m.end()

    def skip_group(self, pos: int) -> int:
        """The end of the bracketed group opening at `pos` (one of `( [ {`)."""
        code = self.code
        stack = [pos]
        scan = pos + 1
        while stack:
            m = _NEXT_IN_GROUP.search(code, scan)
            if m is None:
                opener = code[stack[-1]]
                raise self.problem(
                    f"this `{opener}` is never closed", stack[-1], 1, f"add the matching `{CLOSE[opener]}`"
                )
            at, text = m.start(), m.group()
            if text in CLOSE:
                stack.append(at)
                scan = at + 1
            elif text in (")", "]", "}"):
                opener = stack.pop()
                if CLOSE[code[opener]] != text:
                    line, col = self.where(opener)
                    hint = f"the `{code[opener]}` at line {line}, column {col} needs a `{CLOSE[code[opener]]}`"
                    raise self.problem(f"mismatched closing delimiter `{text}`", at, 1, hint)
                scan = at + 1
            elif text == "/":
                follow = code[at + 1 : at + 2]
                if follow == "/":
                    newline = code.find("\n", at)
                    scan = len(code) if newline < 0 else newline
                else:
                    scan = self.skip_comment(at) if follow == "*" else at + 1
            elif text == '"':
                scan = self.skip_literal(_raw_start(code, at))
            else:
                scan = self.skip_literal(at)
        return scan


def _raw_start(code: str, quote: int) -> int:
    """Where the literal whose `"` is at `quote` starts: before `r#`/`br#`/`cr#` if it is raw."""
    at = quote
    while at and code[at - 1] == "#":
        at -= 1
    if not (at and code[at - 1] == "r"):
        return quote
    at -= 1
    if at and code[at - 1] in "bc":
        at -= 1
    return quote if at and (code[at - 1].isalnum() or code[at - 1] == "_") else at

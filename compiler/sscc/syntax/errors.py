"""SyntaxProblem: the one exception the embedded-language parsers raise.

Positions are relative to the text that was parsed (a `run: |` block, a duration, a cron line),
because only the caller knows where that text sits in the YAML file; `span()` does the shift.
The checker turns a SyntaxProblem into a diagnostic (E030-E033, see docs/errors.d/syntax.md).
"""

from __future__ import annotations

from ..diagnostics import Span


class SyntaxProblem(Exception):
    """A syntax error at 1-based `line`:`col` of the parsed text; `end_col` is exclusive."""

    def __init__(self, message: str, line: int, col: int, end_col: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        self.end_col = end_col
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.line}:{self.col}: {self.message}"

    def span(self, path: str, line: int = 1, col: int = 1) -> Span:
        """The file span, for text whose first character is at file `line`:`col`.

        Every line of the text is taken to start at `col`: true of a YAML scalar and of each line
        of a `run: |` block (YAML removes the block's indentation)."""
        at_line = line + self.line - 1
        at_col = col + self.col - 1
        if self.end_col is None:
            return Span(path, at_line, at_col)
        return Span(path, at_line, at_col, at_line, col + self.end_col - 1)

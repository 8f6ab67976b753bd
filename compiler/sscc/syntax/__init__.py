"""Embedded languages of pipeline files, parsed with Lark (grammars in grammars/*.lark).

Inline Rust signatures (`rust`, mapped to pipeline types by `rust_map`), humantime durations,
cron schedules and type names. Each parser returns frozen plain data or raises SyntaxProblem
with a position relative to the text it was given; no Lark object escapes this package.
"""

from .errors import SyntaxProblem

__all__ = ["SyntaxProblem"]

"""Embedded languages of pipeline files, parsed with Lark grammars (grammars/*.lark).

Inline Rust signatures (`rust`, mapped to pipeline types by `rust_map`), humantime durations,
cron schedules and type names. Each parser returns frozen plain data, or raises SyntaxProblem
with a position relative to the text it was given; no Lark object escapes this package.
Lark builds each grammar's LALR tables once (cached per user); valid text is parsed by
replaying them without importing Lark (_lalr, _grammar), and real Lark explains an error.
`fn_body` reads a named function's body as text (W045 and the dead_code pass share it).
"""

from .errors import SyntaxProblem
from .rust import RustFn, RustParam, RustType, operator_function, parse_functions
from .rust_map import rust_to_sdf, unwrap_result
from .typename import parse_type_name

# Durations and cron lines appear only in files with windows or schedules: loaded on first use.
_LAZY = {"CronSpec": "cron", "parse_cron": "cron", "parse_duration": "duration"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "CronSpec", "RustFn", "RustParam", "RustType", "SyntaxProblem", "operator_function", "parse_cron",
    "parse_duration", "parse_functions", "parse_type_name", "rust_to_sdf", "unwrap_result",
]  # fmt: skip

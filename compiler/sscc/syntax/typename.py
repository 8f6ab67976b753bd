"""Type names as written in YAML (`type: car-location`) -> their kebab-case form.

SDF compares names after WIT-style normalization (`CarLocation`, `car_location` and
`car-location` are one name), and Rust/WIT code is generated from them, so a name must be
words of ASCII letters and digits joined by single `-` or `_`, starting with a letter.
Primitive aliases come back canonical (`s32` -> `i32`, `String` -> `string`).
"""

from __future__ import annotations

from functools import cache

from ..ast import PRIMITIVE_ALIASES, kebab
from ._grammar import ParseError, load
from .errors import SyntaxProblem

_RULE = "a type name is letters and digits joined by `-` or `_`, starting with a letter"


def parse_type_name(text: str) -> str:
    """The kebab-case form of type name `text`; raises SyntaxProblem (columns count in `text`)."""
    found = _VALID.get(text)
    if found is None:
        try:
            _parser().parse(text)
        except ParseError as exc:
            raise _problem(text, exc.unexpected) from None
        name = kebab(text)
        found = PRIMITIVE_ALIASES.get(name, name)
        if len(_VALID) < 10_000:  # a file names the same few types (`string`, `u32`) again and again
            _VALID[text] = found
    return found


_VALID: dict[str, str] = {}


@cache
def _parser():
    return load("typename")


def _problem(text: str, u) -> SyntaxProblem:
    if not text:
        return SyntaxProblem("empty type name", 1, 1, None, "write a type, e.g. `type: string`")
    if u.at_end:
        return SyntaxProblem(f"type name `{text}` ends with `{text[-1]}`", 1, len(text), len(text) + 1, _RULE)
    col, char = u.col, u.text[:1]
    if char.isspace() and (col == 1 or not text[col - 1 :].strip()):
        return SyntaxProblem(f"type name `{text}` has a space around it", 1, col, col + 1, "remove the space")
    if char in "-_":
        message = f"`{char}` must join two words in type name `{text}`"
    elif col == 1 and char.isdigit():
        message = f"type name `{text}` starts with a digit"
    else:
        message = f"unexpected character `{char}` in type name `{text}`"
    if char == "<":
        hint = "generic types are mappings in YAML: `type: list` with `items:`, `type: option` with `value:`"
    elif char.isspace():
        hint = f"use `-` between words: `{'-'.join(text.split())}`"
    else:
        hint = _RULE
    return SyntaxProblem(message, 1, col, col + 1, hint)

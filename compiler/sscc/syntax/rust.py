"""Signatures of the inline Rust functions of `run: |` blocks.

SDF derives a step's inputs and output from the Rust signature, so sscc reads it without a Rust
toolchain. The block's top-level items are walked with a small scanner (_rust_scan) that skips
every body by matching braces; the head of each `fn`, from its first qualifier to its body's
`{`, is parsed by the LALR grammar grammars/rust_fn.lark (_rust_sig). Bodies are never parsed:
rustc judges them when the operator is built.
"""

from __future__ import annotations

import re

from ._rust_scan import Scanner
from ._rust_sig import parse_head
from .rust_model import RustFn, RustParam, RustType

__all__ = ["RustFn", "RustParam", "RustType", "parse_functions", "operator_function"]

_ATTRIBUTE = re.compile(r"#(!?)\s*\[")
_QUALIFIERS = {"pub", "const", "async", "unsafe", "extern"}
_SEMICOLON_ITEMS = {"use", "const", "static", "type", "let", "crate"}  # they end at `;`, braces or not
_NO_FN_HINT = "define the operator as a Rust function, e.g. `fn my_map(value: String) -> Result<String> { Ok(value) }`"
_STRAY_HINT = "it has no matching opening delimiter"


def parse_functions(code: str) -> list[RustFn]:
    """Every top-level `fn` item of a `run:` block, in source order; raises SyntaxProblem.

    Other items (`use`, `const`, `struct`, `impl`, macro calls, ...) are stepped over; functions
    inside them or inside a function's body are not top-level and are not returned."""
    sc = Scanner(code)
    fns: list[RustFn] = []
    attrs: list[str] = []
    docs: list[str] = []
    pos = 0
    while True:
        kind, start, end = sc.token(pos, docs)
        if kind == "eof":
            break
        attr = _ATTRIBUTE.match(code, start)
        if attr:
            pos = sc.skip_group(attr.end() - 1)
            if not attr.group(1):  # `#![...]` belongs to the enclosing module, not to the next item
                attrs.append(" ".join(code[attr.end() : pos - 1].split()))
            continue
        fn, pos = _item(sc, start, tuple(attrs), "\n".join(docs) or None)
        if fn:
            fns.append(fn)
        attrs, docs = [], []
    if not fns:
        raise sc.problem("no `fn` in this `run:` block", len(code) - len(code.lstrip()), hint=_NO_FN_HINT)
    return fns


def _item(sc: Scanner, start: int, attrs: tuple, doc: str | None) -> tuple[RustFn | None, int]:
    """Read the item at `start`: (its RustFn if it is a function, the offset after it)."""
    code = sc.code
    pos, words = start, set()
    while True:  # qualifiers: pub(crate) const async unsafe extern "C"
        kind, s, e = sc.token(pos)
        word = code[s:e] if kind == "word" else ""
        if word not in _QUALIFIERS:
            break
        words.add(word)
        pos = e
        kind, s, e = sc.token(pos)
        if word == "pub" and code[s] == "(":
            pos = sc.skip_group(s)
        elif word == "extern" and kind in ("str", "raw"):
            pos = e
    if word == "fn":
        return _function(sc, start, e, attrs, doc)
    semicolon = bool(_SEMICOLON_ITEMS & (words | {word}))
    pos = s
    while True:  # anything else ends at its `;` or with its first top-level `{...}`
        kind, s, e = sc.token(pos)
        char = code[s:e] if kind == "punct" else ""
        if kind == "eof" or char == ";":
            return None, e
        if char in ("(", "[", "{"):
            e = sc.skip_group(s)
            if char == "{" and not semicolon:
                return None, e
        elif char in (")", "]", "}"):
            raise sc.problem(f"unexpected closing delimiter `{char}`", s, hint=_STRAY_HINT)
        pos = e


def _function(sc: Scanner, start: int, after_fn: int, attrs: tuple, doc: str | None) -> tuple[RustFn, int]:
    code = sc.code
    kind, name_at, pos = sc.token(after_fn)
    if kind != "word":
        raise sc.problem("expected a function name after `fn`", name_at, max(pos - name_at, 1))
    name = code[name_at:pos]
    while True:  # to the body's `{`, stepping over the parameter list and array types
        kind, s, e = sc.token(pos)
        char = code[s:e] if kind == "punct" else ""
        if kind == "eof" or char == ";":
            hint = "an operator function needs a body: `{ ... }` after its signature"
            raise sc.problem(f"function `{name}` has no body", name_at, len(name), hint)
        if char == "{":
            break
        if char in ("(", "["):
            e = sc.skip_group(s)
        elif char in (")", "]", "}"):
            raise sc.problem(f"unexpected closing delimiter `{char}`", s, hint=_STRAY_HINT)
        pos = e
    end = sc.skip_group(s)
    _bounded_nesting(sc, start, s)
    head = parse_head(sc, start, s, name)
    line, col = sc.where(name_at)
    end_line, end_col = sc.where(end)
    fn = RustFn(name, head.params, head.ret, line, col, end_line, end_col, attrs, doc, head.qualifiers, head.generics)
    return fn, end


def operator_function(fns: list[RustFn], code: str) -> RustFn | None:
    """The function that is the step's operator, among the top-level functions of one block.

    SDF itself parses a `run:` block as exactly one Rust function (syn's `ItemFn`), so helpers
    must be nested inside it; all 499 blocks of the conformance corpus are written that way.
    sscc also accepts helpers beside the operator, and then the operator is the one function no
    other top-level function mentions: helpers are called by the operator, the operator only by
    the runtime, and the order they are written in does not matter. None when `fns` is empty or
    the rule names no single function (unrelated functions, or ones that all mention each
    other); the checker reports that.
    """
    if len(fns) <= 1:
        return fns[0] if fns else None
    sc = Scanner(code)
    mentioned: set[str] = set()
    for fn in fns:
        pos, end = sc.offset(fn.line, fn.col), sc.offset(fn.end_line, fn.end_col)
        while pos < end:
            kind, s, pos = sc.token(pos)
            if kind == "word" and s < end and code[s:pos] != fn.name:
                mentioned.add(code[s:pos])
    roots = [fn for fn in fns if fn.name not in mentioned]
    return roots[0] if len(roots) == 1 else None


MAX_TYPE_DEPTH = 32  # `Vec<Vec<...>>` levels in a signature; every later stage walks types recursively


def _bounded_nesting(sc: Scanner, start: int, end: int) -> None:
    """Refuse a signature nested deeper than MAX_TYPE_DEPTH (`<`, `(`, `[`), before parsing it."""
    depth = 0
    code = sc.code
    for i in range(start, end):
        c = code[i]
        if c in "<([":
            depth += 1
            if depth > MAX_TYPE_DEPTH:
                raise sc.problem(
                    f"the signature nests types more than {MAX_TYPE_DEPTH} levels deep",
                    i,
                    hint="name the inner types under `types:` and use their names",
                )
        elif c in ")]" or (c == ">" and code[i - 1] != "-"):
            depth -= 1

"""Rust types of inline signatures -> pipeline types (SDF-FORMAT.md §2.2, §4.2).

SDF derives a step's inputs and output from its Rust signature, so the checker compares the
pipeline types computed here with the ones declared in YAML. The mapping is the inverse of how
the backend writes pipeline types in Rust: `car-location` is `CarLocation`, `s32` is `i32`.
"""

from __future__ import annotations

from ..ast import Type, kebab
from ..diagnostics import Span
from .rust_model import RustType

_PRIMITIVES = {
    "String": "string", "str": "string", "bool": "bool", "f32": "f32", "f64": "f64",
    "u8": "u8", "u16": "u16", "u32": "u32", "u64": "u64", "i8": "i8", "i16": "i16", "i32": "i32", "i64": "i64",
}  # fmt: skip
# Capitalized std names that are never a pipeline type of their own.
_NOT_NAMED = {"Option", "Vec", "Result", "Box", "Self", "HashMap", "BTreeMap", "HashSet", "BTreeSet", "VecDeque"}


def rust_to_sdf(rt: RustType, span: Span) -> Type | None:
    """The pipeline type that Rust type `rt` stands for, or None if there is none.

    `String`/`&str` -> string, `i32` -> i32 (and the other numbers, bool), `Vec<u8>` -> bytes,
    `Vec<T>` -> list, `Option<T>` -> option, `(Option<K>, V)` -> key-value, `()` -> null,
    `CarLocation` -> named `car-location`. References and slices stand for what they borrow.
    None for what a pipeline cannot carry: `usize`, `char`, `HashMap<K, V>`, `impl Trait`, ...
    Every Type made gets `span`."""
    if rt.kind == "ref":
        return rust_to_sdf(rt.args[0], span)
    if rt.kind == "unit":
        return Type("null", span)
    if rt.kind == "tuple":
        return _key_value(rt, span)
    if rt.kind == "slice":
        return _sequence(rt.args[0], span)
    if rt.kind != "path":
        return None
    if not rt.args:
        if rt.name in _PRIMITIVES:
            return Type("prim", span, name=_PRIMITIVES[rt.name])
        if rt.name[:1].isupper() and rt.name not in _NOT_NAMED:
            return Type("named", span, name=kebab(rt.name))
        return None
    if len(rt.args) == 1 and rt.name == "Vec":
        return _sequence(rt.args[0], span)
    if len(rt.args) == 1 and rt.name == "Option":
        item = rust_to_sdf(rt.args[0], span)
        return Type("option", span, item=item) if item else None
    return None


def unwrap_result(rt: RustType) -> tuple[RustType, RustType | None, bool]:
    """(ok type, error type or None, whether `rt` was a Result at all).

    Any path ending in `Result` with one or two type arguments counts: `Result<T>` (the anyhow
    alias of 0.5+), `Result<T, String>` (0.4), `anyhow::Result<T>`, `sdfg::Result<T>`."""
    if rt.kind == "path" and rt.name == "Result" and 1 <= len(rt.args) <= 2:
        return rt.args[0], rt.args[1] if len(rt.args) == 2 else None, True
    return rt, None, False


def _sequence(item_rt: RustType, span: Span) -> Type | None:
    if item_rt.kind == "path" and item_rt.name == "u8" and not item_rt.args:
        return Type("prim", span, name="bytes")
    item = rust_to_sdf(item_rt, span)
    return Type("list", span, item=item) if item else None


def _key_value(rt: RustType, span: Span) -> Type | None:
    """`(Option<K>, V)`: a keyed output; SDF accepts no other tuple."""
    if len(rt.args) != 2:
        return None
    key_rt, value_rt = rt.args
    if not (key_rt.kind == "path" and key_rt.name == "Option" and len(key_rt.args) == 1):
        return None
    key, value = rust_to_sdf(key_rt.args[0], span), rust_to_sdf(value_rt, span)
    return Type("key-value", span, key=key, value=value) if key and value else None

"""What sscc knows of an inline Rust function: its signature, as frozen plain data.

Built by sscc.syntax.rust; read by the checker (types of a step's inputs and output) and by the
Rust backend (names to call). Positions are 1-based and relative to the `run:` block's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RustType:
    """A type as written in a signature.

    kind: "path" (`Vec<u8>`, `std::string::String`), "ref" (`&'a mut T`, args=(T,)), "tuple",
    "unit", "array" (`[u8; 4]`, args=(u8,)), "slice", "fn" (`fn(A) -> R`, args=(A, R), R is `()`
    when omitted), "impl"/"dyn" (args = the trait bounds), "never" (`!`).
    name/path: last segment and all segments of a path type ("" and () otherwise). args: the
    type arguments of a path's last segment, the parts of the other kinds; lifetimes, const
    values and `Item = T` bindings appear only in `text`, the normalized source text.
    line/col: where the type starts (not compared: equal types written in two places are equal).
    """

    kind: str
    name: str
    path: tuple[str, ...]
    args: tuple["RustType", ...]
    text: str
    mutable: bool = False
    line: int = field(default=0, compare=False, repr=False)
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class RustParam:
    name: str  # the pattern as written, normalized: `x`, `mut x`, `_`, `(a, b)`
    type: RustType
    line: int
    col: int


@dataclass(frozen=True)
class RustFn:
    """A top-level `fn` item. line/col: its name; end_line/end_col: just after its closing `}`.

    attrs: the inside of each outer attribute (`#[inline]` -> "inline"); doc: its outer doc
    comment; qualifiers: `pub(crate)`, `const`, `async`, `unsafe`, `extern "C"` as written (SDF
    rejects `async`); generics: each generic parameter as text (`T: Clone`, `'a`)."""

    name: str
    params: tuple[RustParam, ...]
    ret: RustType | None
    line: int
    col: int
    end_line: int
    end_col: int
    attrs: tuple[str, ...] = ()
    doc: str | None = None
    qualifiers: tuple[str, ...] = ()
    generics: tuple[str, ...] = ()


UNIT = RustType("unit", "", (), (), "()")

"""IR types: the record types that edges, topics and states carry.

Small frozen dataclasses, one per kind, so the IR compares by value and serializes to plain
JSON (`{"kind": "prim", "name": "u32"}`). Named types are `Ref`s into the IR's type table;
`Unknown` stands where the checker gave no type (lowering from an unchecked pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from .. import ast as A


@dataclass(frozen=True)
class IrType:
    KIND: ClassVar[str] = ""

    @property
    def kind(self) -> str:
        return self.KIND


@dataclass(frozen=True)
class Field:
    """An object field, enum variant (type Null for a unit variant) or arrow-row column."""

    name: str
    type: IrType
    optional: bool = False
    rename_ser: Optional[str] = None
    rename_de: Optional[str] = None


@dataclass(frozen=True)
class Prim(IrType):
    KIND: ClassVar[str] = "prim"
    name: str


@dataclass(frozen=True)
class Ref(IrType):
    KIND: ClassVar[str] = "ref"
    name: str


@dataclass(frozen=True)
class ListOf(IrType):
    KIND: ClassVar[str] = "list"
    item: IrType
    # `type-name:` of an inline list (packages name them; sdfg declares a Rust alias). Not part of
    # the type's identity: two lists of the same items are the same type.
    type_name: Optional[str] = field(default=None, compare=False)


@dataclass(frozen=True)
class Opt(IrType):
    KIND: ClassVar[str] = "option"
    item: IrType


@dataclass(frozen=True)
class Obj(IrType):
    KIND: ClassVar[str] = "object"
    fields: tuple[Field, ...]
    type_name: Optional[str] = None


@dataclass(frozen=True)
class Enum(IrType):
    KIND: ClassVar[str] = "enum"
    variants: tuple[Field, ...]
    tagging: str = "externally-tagged"
    type_name: Optional[str] = None


@dataclass(frozen=True)
class KeyValue(IrType):
    KIND: ClassVar[str] = "key-value"
    key: IrType
    value: IrType


@dataclass(frozen=True)
class ArrowRow(IrType):
    KIND: ClassVar[str] = "arrow-row"
    columns: tuple[Field, ...]
    ttl: Optional[str] = None


@dataclass(frozen=True)
class KeyedState(IrType):
    KIND: ClassVar[str] = "keyed-state"
    key: IrType
    value: IrType


@dataclass(frozen=True)
class Null(IrType):
    KIND: ClassVar[str] = "null"


@dataclass(frozen=True)
class Unknown(IrType):
    KIND: ClassVar[str] = "unknown"


TYPE_CLASSES: dict[str, type[IrType]] = {
    c.KIND: c for c in (Prim, Ref, ListOf, Opt, Obj, Enum, KeyValue, ArrowRow, KeyedState, Null, Unknown)
}
UNKNOWN = Unknown()
NULL = Null()
BYTES = Prim("bytes")


def from_ast(t: Optional[A.Type]) -> IrType:
    """The IR form of an AST type; a missing type is Unknown, `optional: true` wraps in Opt."""
    if t is None:
        return UNKNOWN
    inner = _from_ast_plain(t)
    return Opt(inner) if t.optional and t.kind != "option" else inner


def _from_ast_plain(t: A.Type) -> IrType:
    k = t.kind
    if k == "prim":
        return Prim(t.name or "?")
    if k == "named":
        return Ref(t.name) if t.name and t.name != "?" else UNKNOWN
    if k == "list":
        return ListOf(from_ast(t.item), t.type_name)
    if k == "option":
        return Opt(from_ast(t.item))
    if k == "object":
        return Obj(_fields(t.fields), t.type_name)
    if k == "enum":
        return Enum(_fields(t.fields), t.tagging, t.type_name)
    if k == "key-value":
        return KeyValue(from_ast(t.key), from_ast(t.value))
    if k == "keyed-state":
        return KeyedState(from_ast(t.key), from_ast(t.value))
    if k == "arrow-row":
        return ArrowRow(_fields(t.fields), t.ttl)
    if k == "null":
        return NULL
    return UNKNOWN


def _fields(fields: list[A.Field]) -> tuple[Field, ...]:
    out = []
    for f in fields:
        ft = NULL if f.type is None else _from_ast_plain(f.type)
        optional = f.optional or (f.type is not None and f.type.optional)
        out.append(Field(f.name, ft, optional, f.serialize_rename, f.deserialize_rename))
    return tuple(out)


def describe(t: Optional[IrType]) -> str:
    """Short human form for dumps: `u32`, `word-count`, `list<string>`, `?` for unknown."""
    if t is None:
        return "-"
    if isinstance(t, (Prim, Ref)):
        return t.name
    if isinstance(t, (ListOf, Opt)):
        return f"{t.kind}<{describe(t.item)}>"
    if isinstance(t, (KeyValue, KeyedState)):
        return f"{t.kind}<{describe(t.key)}, {describe(t.value)}>"
    if isinstance(t, (Obj, Enum)):
        members = t.fields if isinstance(t, Obj) else t.variants
        return t.type_name or f"{t.kind}{{{', '.join(f.name for f in members)}}}"
    if isinstance(t, ArrowRow):
        return f"arrow-row{{{', '.join(c.name for c in t.columns)}}}"
    return "_" if isinstance(t, Null) else "?"


def refs(t: Optional[IrType]) -> set[str]:
    """Names of the named types `t` mentions (not following the type table)."""
    if t is None:
        return set()
    if isinstance(t, Ref):
        return {t.name}
    out: set[str] = set()
    for sub in _children(t):
        out |= refs(sub)
    return out


def is_known(t: Optional[IrType]) -> bool:
    """False when `t` or any part of it is Unknown."""
    if isinstance(t, Unknown):
        return False
    return all(is_known(sub) for sub in _children(t)) if t is not None else True


def _children(t: IrType) -> list[IrType]:
    if isinstance(t, (ListOf, Opt)):
        return [t.item]
    if isinstance(t, (KeyValue, KeyedState)):
        return [t.key, t.value]
    if isinstance(t, Obj):
        return [f.type for f in t.fields]
    if isinstance(t, Enum):
        return [f.type for f in t.variants]
    if isinstance(t, ArrowRow):
        return [f.type for f in t.columns]
    return []

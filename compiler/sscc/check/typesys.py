"""The checker's view of types: names resolved, aliases unfolded, one equality for every edge.

An AST `Type` says what was written (`type: word-count`, a Rust `Vec<String>`); an `RT` says
what it means. `resolve` turns the first into the second inside an `Env` (the named types one
file can see). Decisions, all in this module:

- a named type whose definition is a primitive, list or option is an alias and unfolds to it,
  so `sentence` (= string) equals Rust `String`; `s32`/`i32`, `float64`/`f64` are one name
  already in the AST; `list<u8>` is `bytes` (Rust `Vec<u8>`);
- objects, enums and arrow rows are nominal: two named records are equal when their kebab names
  are; an inline composite with `type-name:` is named by it, one without is compared field by
  field (and a named record unfolds to compare with it);
- a name that does not resolve, or comes from a package sscc could not load, is UNKNOWN, which
  equals everything: one unresolved type is one error, never a cascade of mismatches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .. import ast as A

NOMINAL_KINDS = ("object", "enum", "arrow-row", "keyed-state", "key-value")


class Env:
    """The named types one file sees: its own `types:`, inline `type-name`s, and its imports."""

    def __init__(self, label: str):
        self.label = label
        self.defs: dict[str, A.Type] = {}
        self.homes: dict[str, "Env"] = {}  # where an imported definition's own references resolve
        self.opaque: set[str] = set()  # imported from a package that could not be loaded
        self._cache: dict[int, tuple] = {}  # id(Type) -> (Type, RT); the Type is kept so its id stays its own

    def define(self, name: str, t: A.Type, home: Optional["Env"] = None) -> None:
        self.defs[name] = t
        if home is not None and home is not self:
            self.homes[name] = home

    def knows(self, name: str) -> bool:
        return name in self.defs or name in self.opaque

    def home_of(self, name: str) -> "Env":
        return self.homes.get(name, self)


@dataclass(eq=False)
class RT:
    """A resolved type. kind: "?" unknown, "prim", "null", "list", "option", "kv", "nom"
    (named record, unfolded on demand), "object", "enum", "arrow-row", "keyed-state"."""

    kind: str
    name: str = ""  # prim name, nominal name
    item: Optional["RT"] = None  # list/option item; kv key / keyed-state key
    value: Optional["RT"] = None  # kv / keyed-state value
    fields: tuple = ()  # ((kebab field name, RT | None, optional), ...)
    env: Optional[Env] = None  # nominal: where the name is defined
    shown: str = ""  # how to print it (the alias name when it came through one)

    def describe(self) -> str:
        if self.shown:
            return self.shown
        k = self.kind
        if k == "?":
            return "_unknown_"
        if k in ("prim", "nom"):
            return self.name
        if k == "null":
            return "()"
        if k in ("list", "option"):
            return f"{k}<{self.item.describe() if self.item else '?'}>"
        if k == "kv":
            return f"key-value<{self.item.describe() if self.item else '?'}, {self.value.describe() if self.value else '?'}>"
        if k == "keyed-state":
            return f"keyed-state<{self.item.describe() if self.item else '?'}, {self.value.describe() if self.value else '?'}>"
        return f"inline {k}"


UNKNOWN = RT("?")
NULL = RT("null")


def prim(name: str) -> RT:
    return RT("prim", name)


I64 = prim("i64")
BOOL = prim("bool")


def resolve(t: Optional[A.Type], env: Env, _depth: int = 0) -> RT:
    """AST type -> RT. Never raises; anything it cannot make sense of is UNKNOWN."""
    if t is None or _depth > 40:
        return UNKNOWN
    hit = env._cache.get(id(t))
    if hit is not None and hit[0] is t:
        return hit[1]
    rt = _resolve(t, env, _depth)
    if t.optional and rt.kind != "option" and rt.kind != "?":
        rt = RT("option", item=rt)
    env._cache[id(t)] = (t, rt)
    return rt


def _resolve(t: A.Type, env: Env, depth: int, as_def: bool = False) -> RT:
    """as_def: t is the definition of a record itself (structure wanted, not its name)."""
    k = t.kind
    if k == "prim":
        return prim(t.name) if t.name in A.PRIMITIVES else UNKNOWN
    if k == "null":
        return NULL
    if k == "named":
        return named(t.name or "", env, depth)
    if k in ("list", "option"):
        item = resolve(t.item, env, depth + 1)
        if k == "list" and item.kind == "prim" and item.name == "u8":
            return prim("bytes")
        return RT(k, item=item)
    if k == "key-value":
        return RT("kv", item=resolve(t.key, env, depth + 1), value=resolve(t.value, env, depth + 1))
    if k in ("object", "enum", "arrow-row"):
        if t.type_name and not as_def:
            return RT("nom", A.kebab(t.type_name), env=env)
        return RT(k, fields=tuple(_field(f, env, depth) for f in t.fields))
    if k == "keyed-state":
        return RT("keyed-state", item=resolve(t.key, env, depth + 1), value=resolve(t.value, env, depth + 1))
    return UNKNOWN


def _field(f: A.Field, env: Env, depth: int) -> tuple:
    return (A.kebab(f.name), resolve(f.type, env, depth + 1) if f.type is not None else None, f.optional)


def named(name: str, env: Env, depth: int = 0) -> RT:
    """A reference by name: primitives, aliases unfolded, records kept nominal, else UNKNOWN."""
    canon = A.PRIMITIVE_ALIASES.get(name)
    if canon:
        return prim(canon)
    d = env.defs.get(name)
    if d is None:
        return UNKNOWN
    if d.kind in NOMINAL_KINDS:
        return RT("nom", name, env=env)
    home = env.home_of(name)
    inner = resolve(d, home, depth + 1) if d.kind != "named" or d.name != name else UNKNOWN
    if inner.kind == "?":
        return inner
    return RT(inner.kind, inner.name, inner.item, inner.value, inner.fields, inner.env, shown=name)


def unfold(t: RT) -> RT:
    """A nominal record -> its structure (one level), UNKNOWN when it cannot be found."""
    if t.kind != "nom" or t.env is None:
        return t
    d = t.env.defs.get(t.name)
    if d is None:
        return UNKNOWN
    home = t.env.home_of(t.name)
    return _resolve(d, home, 1, as_def=True)


def same(a: Optional[RT], b: Optional[RT], _depth: int = 0) -> bool:
    """Type equality of an edge (see the module docstring). UNKNOWN equals everything."""
    if a is None or b is None or a.kind == "?" or b.kind == "?" or _depth > 30:
        return True
    if a.kind == "nom" and b.kind == "nom":
        return a.name == b.name
    if a.kind == "nom":
        a = unfold(a)
    if b.kind == "nom":
        b = unfold(b)
    if a.kind == "?" or b.kind == "?":
        return True
    if a.kind != b.kind:
        return False
    if a.kind == "prim":
        return a.name == b.name
    if a.kind in ("list", "option"):
        return same(a.item, b.item, _depth + 1)
    if a.kind in ("kv", "keyed-state"):
        return same(a.item, b.item, _depth + 1) and same(a.value, b.value, _depth + 1)
    if a.kind in ("object", "enum", "arrow-row"):
        if len(a.fields) != len(b.fields):
            return False
        fb = {f[0]: f for f in b.fields}
        for name, ft, opt in a.fields:
            other = fb.get(name)
            if other is None or other[2] != opt:
                return False
            if (ft is None) != (other[1] is None) or not same(ft, other[1], _depth + 1):
                return False
        return True
    return True


def hashable(t: RT) -> bool:
    """assign-key output / state key: integers, floats, bool, string or an alias of one."""
    return t.kind == "?" or (t.kind == "prim" and t.name in A.HASHABLE)


def is_unknown(t: Optional[RT]) -> bool:
    return t is None or t.kind == "?"


def rust_name(t: RT) -> str:
    """How a type is spelled in inline Rust, for hints: `String`, `Vec<WordCount>`, `Option<i64>`."""
    k = t.kind
    if k == "prim":
        return {"string": "String", "bytes": "Vec<u8>"}.get(t.name, t.name)
    if k == "nom":
        return A.pascal(t.name)
    if t.shown and k not in ("prim",):
        return A.pascal(t.shown)
    if k == "list":
        return f"Vec<{rust_name(t.item) if t.item else '_'}>"
    if k == "option":
        return f"Option<{rust_name(t.item) if t.item else '_'}>"
    if k == "null":
        return "()"
    if k == "kv":
        return f"(Option<{rust_name(t.item) if t.item else '_'}>, {rust_name(t.value) if t.value else '_'})"
    return "_"


@dataclass
class Val:
    """A value flowing along an edge: what the AST says (for StepIO) and what it means."""

    ast: Optional[A.Type]
    rt: RT = field(default_factory=lambda: UNKNOWN)

    def describe(self) -> str:
        return self.rt.describe() if self.rt.kind != "?" else (self.ast.describe() if self.ast else "_unknown_")

"""Pipeline types -> Rust declarations with serde (SDF-FORMAT.md §2.2–2.3).

Rules (docs/backend-rust.md, "Type mapping"):
- a named type `car-location` is `CarLocation`; fields are snake_case; enum variants UpperCamelCase;
- a field whose snake name is a Rust keyword gets a trailing `_` and keeps its YAML name in JSON
  (`#[serde(rename = "type")]`), so the JSON document reads the name the YAML file declares;
- `serialize.rename` / `deserialize.rename` become `#[serde(rename(serialize = .., deserialize = ..))]`;
- enums are externally tagged (serde's default) unless `tagging: untagged`; null variants are unit
  variants; `optional: true` is `Option<T>`;
- an object or enum written inline inside another type becomes its own declaration, named by its
  `type-name` or else `<Outer><Field>` (PascalCase);
- every declaration derives Serialize, Deserialize, Clone, Debug, PartialEq, and Default when all
  of its fields have one;
- a struct whose fields are all strings, bools, integers, f64 or `Option`s of those also gets a
  generated `sscc_guest::json::Fast` decoder (the plain JSON form without serde's machinery; any
  other input falls back to serde_json). `TypeWriter.fast` names those structs.

Output is deterministic: declarations follow the type table's (sorted) order, inline ones right
after the type that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ...ast import pascal, snake
from ...ir.types import ArrowRow, Enum, Field, IrType, KeyedState, KeyValue, ListOf, Null, Obj, Opt, Prim, Ref, Unknown

PRIMITIVES = {
    "u8": "u8", "u16": "u16", "u32": "u32", "u64": "u64",
    "i8": "i8", "i16": "i16", "i32": "i32", "i64": "i64",
    "s8": "i8", "s16": "i16", "s32": "i32", "s64": "i64",
    "f32": "f32", "f64": "f64", "float32": "f32", "float64": "f64",
    "bool": "bool", "string": "String", "String": "String", "str": "String",
    "bytes": "Vec<u8>", "timestamp": "i64",
}  # fmt: skip

# Types the raw converter can carry (sscc_guest::raw::Raw implementations).
RAW_TYPES = {"u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64", "bool", "String", "Vec<u8>"}

RUST_KEYWORDS = {
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "async",
    "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof",
    "unsized", "virtual", "yield", "try",
}  # fmt: skip

DERIVES = "Serialize, Deserialize, Clone, Debug, PartialEq"

# Names the generated crate itself uses at its root; a pipeline type may not become one of them.
TAKEN_NAMES = {"Result", "Option", "Vec", "String", "Box", "Serialize", "Deserialize", "Some", "None", "Ok", "Err", "Self"}


class TypeProblem(Exception):
    """A type the backend cannot write in Rust (Unknown: the checker gave no type)."""


def type_name(name: str) -> str:
    """`car-location` -> `CarLocation`."""
    return pascal(name)


def field_name(name: str) -> str:
    """`image-url` -> `image_url`; a keyword gets a trailing `_` (`type` -> `type_`)."""
    out = snake(name) or "_"
    if out[0].isdigit():
        out = "_" + out
    return out + "_" if out in RUST_KEYWORDS else out


@dataclass
class TypeWriter:
    """Collects the Rust declarations of a type table and names inline composites."""

    decls: list[str] = field(default_factory=list)
    defaultable: dict[str, bool] = field(default_factory=dict)  # Rust type name -> derives Default
    _inline: dict[IrType, str] = field(default_factory=dict)  # inline Obj/Enum -> its declared name
    _taken: set[str] = field(default_factory=set)
    _table: set[str] = field(default_factory=set)  # names the type table declares
    fast: set[str] = field(default_factory=set)  # structs with a generated Fast decoder

    def declare_table(self, table) -> None:
        """Declare every TypeDef of `ir.types` (state-only kinds have no Rust form here)."""
        names = [type_name(t.name) for t in table]
        clash = sorted({(t.name, n) for t, n in zip(table, names) if n in TAKEN_NAMES})
        if clash:
            name, rust = clash[0]
            raise TypeProblem(
                f"the type `{name}` would be the Rust type `{rust}`, which the crate needs for std/serde; rename it"
            )
        self._taken.update(names)
        self._table.update(names)
        for t, name in zip(table, names):
            if isinstance(t.type, (ArrowRow, KeyedState)):
                continue
            self._declare(name, t.type)

    def rust(self, t: Optional[IrType], hint: str = "Inline") -> str:
        """The Rust type expression of `t`; inline composites are declared on first use."""
        if t is None:
            raise TypeProblem("a missing type")
        if isinstance(t, Prim):
            if t.name not in PRIMITIVES:
                raise TypeProblem(f"the primitive `{t.name}`")
            return PRIMITIVES[t.name]
        if isinstance(t, Ref):
            return type_name(t.name)
        if isinstance(t, ListOf):
            if isinstance(t.item, Prim) and t.item.name == "u8":
                vec = "Vec<u8>"
            else:
                vec = f"Vec<{self.rust(t.item, hint + 'Item')}>"
            if t.type_name:  # a named inline list gets its alias, as sdfg declares one
                alias = type_name(t.type_name)
                if alias not in self._taken:
                    self._taken.add(alias)
                    self.defaultable[alias] = True
                    self.decls.append(f"pub type {alias} = {vec};")
            return vec
        if isinstance(t, Opt):
            return f"Option<{self.rust(t.item, hint)}>"
        if isinstance(t, KeyValue):
            return f"(Option<{self.rust(t.key, hint + 'Key')}>, {self.rust(t.value, hint + 'Value')})"
        if isinstance(t, Null):
            return "()"
        if isinstance(t, (Obj, Enum)):
            if t.type_name and type_name(t.type_name) in self._table:  # the checker listed it in the table
                return type_name(t.type_name)
            if t not in self._inline:
                name = self._fresh(type_name(t.type_name) if t.type_name else hint)
                self._inline[t] = name
                self._declare(name, t)
            return self._inline[t]
        if isinstance(t, Unknown):
            raise TypeProblem("an unknown type (the checker could not type this edge)")
        raise TypeProblem(f"a {t.kind} type")

    def fresh(self, name: str) -> str:
        """`name`, or `name2`, `name3`... if a declared type already has it."""
        return self._fresh(name)

    def _fresh(self, name: str) -> str:
        out, n = name, 2
        while out in self._taken:
            out, n = f"{name}{n}", n + 1
        self._taken.add(out)
        return out

    def _declare(self, name: str, t: IrType) -> None:
        if isinstance(t, Obj):
            self._struct(name, t)
        elif isinstance(t, Enum):
            self._enum(name, t)
        else:
            rust = self.rust(t, name)
            self.defaultable[name] = self._has_default(rust)
            self.decls.append(f"pub type {name} = {rust};")

    def _struct(self, name: str, t: Obj) -> None:
        lines, all_default = [], True
        for f in t.fields:
            rust = self.rust(f.type, name + type_name(f.name))
            if f.optional and not isinstance(f.type, Opt):
                rust = f"Option<{rust}>"
            all_default &= self._has_default(rust)
            rename = _rename(f, field_name(f.name))
            lines += [f"    {rename}"] if rename else []
            lines.append(f"    pub {field_name(f.name)}: {rust},")
        self.defaultable[name] = all_default
        derives = DERIVES + (", Default" if all_default else "")
        head = [f"#[derive({derives})]", f"pub struct {name} {{"]
        self.decls.append("\n".join(head + lines + ["}"]))
        fast = _fast_decoder(name, t, self)
        if fast:
            self.fast.add(name)
            self.decls.append(fast)

    def _enum(self, name: str, t: Enum) -> None:
        lines = []
        for v in t.variants:
            rename = _rename(v, None)
            lines += [f"    {rename}"] if rename else []
            variant = type_name(v.name) or "Empty"
            if isinstance(v.type, Null):
                lines.append(f"    {variant},")
            else:
                lines.append(f"    {variant}({self.rust(v.type, name + variant)}),")
        self.defaultable[name] = False
        head = [f"#[derive({DERIVES})]"]
        if t.tagging == "untagged":
            head.append("#[serde(untagged)]")
        head.append(f"pub enum {name} {{")
        self.decls.append("\n".join(head + lines + ["}"]))

    def _has_default(self, rust: str) -> bool:
        if rust.startswith(("Option<", "Vec<", "(")) or rust in PRIMITIVES.values() or rust == "()":
            return True
        return self.defaultable.get(rust, False)


def _rename(f: Field, rust_field: Optional[str]) -> Optional[str]:
    """The serde attribute keeping the JSON names SDF uses (see the module docstring)."""
    plain = snake(f.name) if rust_field is not None else None  # what serde would name it
    keyword = rust_field is not None and rust_field != plain
    ser = f.rename_ser or (plain if keyword else None)
    de = f.rename_de or (plain if keyword else None)
    if ser is None and de is None:
        return None
    if ser == de:
        return f"#[serde(rename = {_lit(ser)})]"
    parts = [f"serialize = {_lit(ser)}" if ser else "", f"deserialize = {_lit(de)}" if de else ""]
    return f"#[serde(rename({', '.join(p for p in parts if p)}))]"


def _lit(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Rust field type -> the `sscc_guest::json::Scan` call reading it (f32 is left to serde_json,
# whose f32 rounding goes through f64).
_SCAN = {
    "String": "string()", "bool": "bool()", "f64": "f64()",
    **{t: f"int::<{t}>()" for t in ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64")},
}  # fmt: skip


def _fast_decoder(name: str, t: Obj, writer: TypeWriter) -> Optional[str]:
    """`impl Fast for <name>` when every field is a plain primitive or an Option of one, and every
    JSON member name is plain ASCII; None otherwise (serde_json alone decodes the type)."""
    if not t.fields:
        return None
    arms, build = [], []
    for i, f in enumerate(t.fields):
        rust = writer.rust(f.type, name + type_name(f.name))
        optional = f.optional or isinstance(f.type, Opt)
        inner = rust[len("Option<") : -1] if rust.startswith("Option<") else rust
        json_name = f.rename_de or snake(f.name)
        if inner not in _SCAN or not json_name or not all(32 <= ord(c) < 127 and c not in '"\\' for c in json_name):
            return None
        read = f"s.{_SCAN[inner]}?"
        if optional:
            read = f"if s.null()? {{ None }} else {{ Some({read}) }}"
        arms.append(f'                    b"{json_name}" if f{i}.is_none() => f{i} = Some({read}),')
        # a missing Option member is None, as serde's derive has it; any other missing one fails
        build.append(f"{field_name(f.name)}: f{i}{'.flatten()' if optional else '?'}")
    if len({a.split(" if ")[0] for a in arms}) != len(arms):  # two fields read from one name
        return None
    nones = ", ".join("None" for _ in t.fields)
    muts = ", ".join(f"mut f{i}" for i in range(len(t.fields)))
    return "\n".join(
        [
            f"impl sscc_guest::json::Fast for {name} {{",
            "    #[inline]",
            "    fn fast(b: &[u8]) -> Option<Self> {",
            "        let mut s = sscc_guest::json::Scan::new(b);",
            f"        let ({muts},) = ({nones},);",
            "        if s.open()? {",
            "            loop {",
            "                match s.key()? {",
            *arms,
            "                    _ => return None,",
            "                }",
            "                if !s.more()? {",
            "                    break;",
            "                }",
            "            }",
            "        }",
            "        s.end()?;",
            f"        Some({name} {{ {', '.join(build)} }})",
            "    }",
            "}",
        ]
    )

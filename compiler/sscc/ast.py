"""The normalized, version-free pipeline model.

Every accepted file (dataflow 0.1.0 - 0.6.0, package 0.4.0 - 0.6.0) becomes one `Pipeline`.
Aliases are already resolved here (`steps` -> transforms, `item` -> items, `s32` -> i32,
`float64` -> f64, `type_name` -> type_name, ...) and every name is kept as written in YAML
plus its kebab-case form where the format says names are compared that way. Each node keeps
the Span of the YAML node it came from, so later stages report at the right place.

Built by `sscc.build_ast` from schema-valid data; read by `sscc.check` and `sscc.ir`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Optional

from .diagnostics import Span


class _Node:
    """`__repr__` and `__eq__` as @dataclass writes them, shared by every node class.

    @dataclass compiles each generated method separately, about 0.3 ms apiece, and this module
    is imported by every `sscc check`; sharing these two saves two of the three per class."""

    __slots__ = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr)
        return f"{self.__class__.__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = [f.name for f in dataclasses.fields(self) if f.compare]
        return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)


def node(cls):
    """@dataclass with `__repr__` and `__eq__` from _Node (unhashable, like a plain @dataclass)."""
    return dataclasses.dataclass(repr=False, eq=False)(cls)

# Canonical primitive names. YAML aliases map onto these (see PRIMITIVE_ALIASES).
INT_TYPES = ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64")
FLOAT_TYPES = ("f32", "f64")
PRIMITIVES = INT_TYPES + FLOAT_TYPES + ("bool", "string", "bytes")
HASHABLE = INT_TYPES + FLOAT_TYPES + ("bool", "string")
PRIMITIVE_ALIASES = {
    "s8": "i8", "s16": "i16", "s32": "i32", "s64": "i64",
    "float32": "f32", "float64": "f64", "String": "string", "str": "string",
    "u8": "u8", "u16": "u16", "u32": "u32", "u64": "u64",
    "i8": "i8", "i16": "i16", "i32": "i32", "i64": "i64",
    "f32": "f32", "f64": "f64", "bool": "bool", "string": "string", "bytes": "bytes",
}  # fmt: skip
ARROW_COLUMN_TYPES = PRIMITIVES[:-1] + ("timestamp",)
RESERVED_TYPE_NAMES = ("enum", "object", "list", "option", "keyed-state", "arrow-row", "key-value")

# Operators. Step operators appear in `transforms:` lists; slot operators in named slots.
STEP_OPERATORS = ("map", "filter", "filter-map", "flat-map")
SLOT_OPERATORS = ("assign-key", "assign-timestamp", "update-state", "flush")
OPERATORS = STEP_OPERATORS + SLOT_OPERATORS
STATELESS_OPERATORS = STEP_OPERATORS


def kebab(name: str) -> str:
    """SDF's name normalisation (heck's word rules): `MyType`, `my_type`, `My-Type` -> `my-type`;
    digits do not split (`MyType0` -> `my-type0`); an acronym ends before a capitalised word
    (`URLValue` -> `url-value`), so serde's snake_case field names come out as heck's do."""
    out = []
    prev = ""
    for i, ch in enumerate(name):
        if ch in "_ -":
            if out and out[-1] != "-":
                out.append("-")
        elif ch.isupper():
            nxt = name[i + 1] if i + 1 < len(name) else ""
            starts_word = prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower())
            if out and out[-1] != "-" and starts_word:
                out.append("-")
            out.append(ch.lower())
        else:
            out.append(ch)
        prev = ch
    return "".join(out).strip("-")


def snake(name: str) -> str:
    return kebab(name).replace("-", "_")


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in kebab(name).split("-") if part)


# ---------------------------------------------------------------------------- types


@node
class Type(_Node):
    """A type expression.

    kind is one of:
      "prim"        name = canonical primitive ("u32", "string", ...)
      "named"       name = the referenced type name (kebab), resolved by the checker
      "object"      fields
      "enum"        variants (each a Field whose type may be None for a unit variant), tagging
      "list"        item
      "option"      item
      "key-value"   key, value
      "arrow-row"   fields (columns), ttl
      "keyed-state" key, value
      "null"        the unit type `_`
    """

    kind: str
    span: Span
    name: Optional[str] = None
    fields: list["Field"] = field(default_factory=list)
    item: Optional["Type"] = None
    key: Optional["Type"] = None
    value: Optional["Type"] = None
    tagging: str = "externally-tagged"
    type_name: Optional[str] = None  # `type-name:` given for an inline composite
    ttl: Optional[str] = None  # arrow-row only (0.6)
    optional: bool = False  # set on an output/field declaration that says `optional: true`

    def describe(self) -> str:
        """Human form used in diagnostics: `u32`, `word-count`, `list<string>`, `option<i64>`."""
        if self.kind in ("prim", "named"):
            s = self.name or "?"
        elif self.kind == "null":
            s = "_"
        elif self.kind in ("list", "option"):
            s = f"{self.kind}<{self.item.describe() if self.item else '?'}>"
        elif self.kind == "key-value":
            s = f"key-value<{self.key.describe() if self.key else '?'}, {self.value.describe() if self.value else '?'}>"
        elif self.kind == "keyed-state":
            s = f"keyed-state<{self.key.describe() if self.key else '?'}, {self.value.describe() if self.value else '?'}>"
        else:
            s = self.type_name or self.kind
        return f"option<{s}>" if self.optional and self.kind != "option" else s


@node
class Field(_Node):
    name: str  # as written in YAML
    type: Optional[Type]
    span: Span
    optional: bool = False
    serialize_rename: Optional[str] = None
    deserialize_rename: Optional[str] = None


@node
class TypeDef(_Node):
    name: str  # kebab
    written: str  # as written
    type: Type
    span: Span  # the key


# ---------------------------------------------------------------------------- topics


@node
class TopicSchemaPart(_Node):
    type: Type
    converter: Optional[str]  # "json" | "raw" | None = config default
    span: Span


@node
class Offset(_Node):
    position: str  # "Beginning" | "End" | "Offset"
    value: int = 0


@node
class ConsumerConfig(_Node):
    starting_offset: Optional[Offset] = None
    max_bytes: Optional[int] = None
    isolation: Optional[str] = None
    span: Optional[Span] = None


@node
class ProducerConfig(_Node):
    batch_size: Optional[int] = None
    linger_ms: Optional[int] = None
    timeout_ms: Optional[int] = None
    compression: Optional[str] = None
    isolation: Optional[str] = None
    span: Optional[Span] = None


@node
class Topic(_Node):
    id: str
    name: str  # broker topic name, defaults to the id
    value: Optional[TopicSchemaPart]
    key: Optional[TopicSchemaPart]
    consumer: Optional[ConsumerConfig]
    producer: Optional[ProducerConfig]
    span: Span  # the key


# ---------------------------------------------------------------------------- functions


@node
class Param(_Node):
    name: str
    type: Type
    optional: bool = False
    kind: str = "value"  # "key" | "value"
    span: Optional[Span] = None


@node
class Output(_Node):
    type: Type  # for keyed output: kind "key-value"
    optional: bool = False
    list: bool = False
    span: Optional[Span] = None


@node
class Dependency(_Node):
    name: str
    version: Optional[str] = None
    path: Optional[str] = None
    git: Optional[str] = None
    features: list[str] = field(default_factory=list)
    default_features: Optional[bool] = None
    span: Optional[Span] = None
    tag: Optional[str] = None  # `tag:` of a git dependency (picks the sdf-http API version)


@node
class InlineCode(_Node):
    """A `run: |` block. `line`/`col` locate the block's first line of text in the YAML file."""

    text: str
    lang: str  # "rust" | "python"
    span: Span  # the whole block
    line: int  # 1-based file line of the first line of `text`
    col: int  # 1-based file column where the block's text starts (its indentation)
    signature: Optional[object] = None  # sscc.syntax.rust.RustFn of the operator function
    helpers: list = field(default_factory=list)  # other RustFn in the same block


@node
class Function(_Node):
    """The function of a step: inline code, or `uses:` of an imported/declared function."""

    name: str  # kebab; from the Rust signature, the `uses` name, or the package map key
    span: Span
    inline: Optional[InlineCode] = None
    uses: Optional[str] = None
    inputs: list[Param] = field(default_factory=list)
    output: Optional[Output] = None
    states: list[str] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    with_params: dict[str, str] = field(default_factory=dict)
    declared_operator: Optional[str] = None  # packages declare `operator:` on the function
    resolved: bool = True  # False when it comes from a package sscc could not find
    uses_span: Optional[Span] = None  # the `uses:` value


@node
class Step(_Node):
    operator: str  # one of OPERATORS
    function: Function
    span: Span
    loc: str = ""  # stable address, the YAML path joined by "/": "services/svc/transforms/0"


# ---------------------------------------------------------------------------- services


@node
class Endpoint(_Node):
    """A source or sink."""

    kind: str  # "topic" | "schedule"
    id: str
    transforms: list[Step]
    span: Span
    id_span: Optional[Span] = None  # the `id:` value (diagnostics about the topic point there)


@node
class StateDecl(_Node):
    name: str  # as written
    span: Span
    type: Optional[Type] = None  # keyed-state with key/value (own state)
    from_ref: Optional[tuple[str, str]] = None  # (service, state) for `from: svc.state`
    from_span: Optional[Span] = None
    system: Optional[str] = None

    @property
    def is_ref(self) -> bool:
        return self.from_ref is not None

    @property
    def value_kind(self) -> str:
        """"value" (u32/i32 value state), "arrow-row", "ref", "system" or "unknown"."""
        if self.from_ref:
            return "ref"
        if self.system:
            return "system"
        v = self.type.value if self.type else None
        if v is None:
            return "unknown"
        return "arrow-row" if v.kind == "arrow-row" else "value"


@node
class Partition(_Node):
    assign_key: Optional[Step]
    transforms: list[Step]
    update_state: Optional[Step]
    span: Span


@node
class Watermark(_Node):
    idleness: Optional[str] = None
    grace_period: Optional[str] = None
    idleness_ms: Optional[int] = None
    grace_period_ms: Optional[int] = None
    span: Optional[Span] = None


@node
class Window(_Node):
    kind: Optional[str]  # "tumbling" | "sliding" | None (missing: a check error)
    duration: Optional[str]
    slide: Optional[str]
    offset: Optional[str]
    duration_ms: Optional[int]
    slide_ms: Optional[int]
    offset_ms: Optional[int]
    watermark: Optional[Watermark]
    assign_timestamp: Optional[Step]
    transforms: list[Step]
    partition: Optional[Partition]
    flush: Optional[Step]
    span: Span
    kinds_given: list[str] = field(default_factory=list)  # every window kind key present
    duration_span: Optional[Span] = None  # the `duration:` value
    slide_span: Optional[Span] = None  # the `slide:` value


@node
class Service(_Node):
    name: str
    sources: list[Endpoint]
    sinks: list[Endpoint]
    states: dict[str, StateDecl]
    transforms: list[Step]
    partition: Optional[Partition]
    window: Optional[Window]
    span: Span

    def all_steps(self):
        """Every step of the service in pipeline order, with where it sits."""
        for src in self.sources:
            for st in src.transforms:
                yield ("source", src.id), st
        for st in self.transforms:
            yield ("transforms", None), st
        part = self.partition or (self.window.partition if self.window else None)
        if self.window:
            if self.window.assign_timestamp:
                yield ("window", None), self.window.assign_timestamp
            for st in self.window.transforms:
                yield ("window", None), st
        if part:
            if part.assign_key:
                yield ("partition", None), part.assign_key
            for st in part.transforms:
                yield ("partition", None), st
            if part.update_state:
                yield ("partition", None), part.update_state
        if self.window and self.window.flush:
            yield ("flush", None), self.window.flush
        for snk in self.sinks:
            for st in snk.transforms:
                yield ("sink", snk.id), st


# ---------------------------------------------------------------------------- top level


@node
class Meta(_Node):
    name: str
    version: str
    namespace: str
    span: Span


@node
class ImportItem(_Node):
    name: str
    alias: Optional[str]
    span: Span


@node
class Import(_Node):
    pkg: str  # namespace/name@version
    path: Optional[str]
    types: list[ImportItem]
    states: list[ImportItem]
    functions: list[ImportItem]
    span: Span


@node
class Config(_Node):
    converter: Optional[str] = None
    consumer: Optional[ConsumerConfig] = None
    producer: Optional[ProducerConfig] = None


@node
class Schedule(_Node):
    name: str
    cron: str
    span: Span


@node
class Pipeline(_Node):
    """One file: kind "dataflow" or "package"."""

    path: str
    kind: str
    api_version: str  # as written in the file (e.g. "0.4.0")
    meta: Optional[Meta]
    imports: list[Import]
    config: Config
    types: dict[str, TypeDef]  # by kebab name
    topics: dict[str, Topic]
    services: dict[str, Service]
    schedules: dict[str, Schedule] = field(default_factory=dict)
    dev_imports: list[Import] = field(default_factory=list)
    # packages only
    functions: dict[str, Function] = field(default_factory=dict)  # by kebab name
    package_states: dict[str, StateDecl] = field(default_factory=dict)
    upgraded_from: Optional[str] = None  # "0.1.0".."0.3.0" when the legacy front end upgraded it
    # `types:` and package `functions:` keys as written, in file order: the dicts above are keyed by
    # the kebab form, so `my_type` and `my-type` share one entry; the checker reports them (E042)
    written_names: dict[str, list[tuple[str, Span]]] = field(default_factory=dict)

    @property
    def default_converter(self) -> str:
        return self.config.converter or "raw"

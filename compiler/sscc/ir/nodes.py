"""The operator DAG: nodes, edges and the IR value that holds them.

Every node has a stable `id` that is a YAML path of the pipeline file: a step's `Step.loc`
(`services/wc/transforms/0`), an endpoint path (`services/wc/sources/0`), that path plus a
synthetic suffix for generated operators (`services/wc/sources/0/decode`), `services/wc/window`,
or `topics/<id>` for a topic. Services are subgraphs joined through Topic nodes: a topic one
service writes and another reads is one node. Everything is frozen and compares by value, so
passes return new IRs and tests compare them directly.

`op` names the node kind in dumps and JSON (`"op": "flat-map"`).
"""

from __future__ import annotations

import dataclasses
import heapq
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Iterator, Optional

from .types import IrType

# Where a function node sits in its service; "partition" nodes run per key.
REGIONS = ("source", "transforms", "window", "partition", "flush", "sink")
DATA = "data"
CLOSE = "close"  # the window-close trigger from a window's last operator to its flush


@dataclass(frozen=True, kw_only=True)
class Node:
    OP: ClassVar[str] = ""
    id: str
    service: Optional[str]  # None for a Topic (it belongs to the pipeline, not a service)
    span: str  # "file:line:col"

    @property
    def op(self) -> str:
        return self.OP


@dataclass(frozen=True, kw_only=True)
class Topic(Node):
    """A topic as a node: sinks write into it, sources read from it."""

    OP: ClassVar[str] = "topic"
    topic: str  # the id used by sources and sinks
    name: str  # the broker topic name
    value: IrType
    key: Optional[IrType]
    value_converter: str
    key_converter: Optional[str]
    internal: bool = False  # set by the internal_topics pass


@dataclass(frozen=True, kw_only=True)
class Source(Node):
    """Reads framed records from a topic, or emits the time on a cron schedule (0.6)."""

    OP: ClassVar[str] = "source"
    endpoint: str  # "topic" | "schedule"
    topic: str  # topic id, or the schedule event name
    partitions: int = 1  # SDF topics declare no partition count
    cron: Optional[str] = None


@dataclass(frozen=True, kw_only=True)
class Decode(Node):
    OP: ClassVar[str] = "decode"
    converter: str  # "json" | "raw"
    type: IrType
    key_converter: Optional[str] = None
    key_type: Optional[IrType] = None


@dataclass(frozen=True, kw_only=True)
class Encode(Node):
    OP: ClassVar[str] = "encode"
    converter: str
    type: IrType
    key_converter: Optional[str] = None
    key_type: Optional[IrType] = None


@dataclass(frozen=True, kw_only=True)
class Sink(Node):
    OP: ClassVar[str] = "sink"
    topic: str


@dataclass(frozen=True)
class Watermark:
    idleness_ms: Optional[int] = None
    grace_period_ms: Optional[int] = None


@dataclass(frozen=True, kw_only=True)
class Window(Node):
    """Starts the windowed region: records after it belong to event-time windows."""

    OP: ClassVar[str] = "window"
    kind: Optional[str]  # "tumbling" | "sliding"
    duration_ms: Optional[int]
    slide_ms: Optional[int] = None
    offset_ms: Optional[int] = None
    watermark: Optional[Watermark] = None


@dataclass(frozen=True)
class Dependency:
    """A Cargo dependency an inline function declares (`dependencies:`), for the Rust backend."""

    name: str
    version: Optional[str] = None
    path: Optional[str] = None
    git: Optional[str] = None
    features: tuple[str, ...] = ()
    default_features: Optional[bool] = None
    tag: Optional[str] = None  # a git dependency's `tag:` (the sdf-http API version, backend-rust.md)


@dataclass(frozen=True, kw_only=True)
class FnNode(Node):
    """An operator that runs a user function."""

    function: str  # kebab name (metrics and logs use it)
    language: str  # "rust" | "python" | "wasm-import"
    region: str  # one of REGIONS
    code: Optional[str] = None  # id in IR.code for inline functions
    params: tuple[tuple[str, str], ...] = ()  # `with:` parameters of an imported function (0.6)
    states_read: tuple[str, ...] = ()  # state ids ("service.state", refs resolved to the owner)
    states_written: tuple[str, ...] = ()
    dependencies: tuple[Dependency, ...] = ()  # Cargo crates of inline Rust code
    # An imported function whose package file was found: that file, relative to the pipeline
    # file's directory, and the function's name there (a `uses:` alias may differ). The Rust
    # backend compiles the package's own source of the function (docs/packages.md).
    package: Optional[str] = None
    package_function: Optional[str] = None


@dataclass(frozen=True, kw_only=True)
class Map(FnNode):
    OP: ClassVar[str] = "map"


@dataclass(frozen=True, kw_only=True)
class Filter(FnNode):
    OP: ClassVar[str] = "filter"


@dataclass(frozen=True, kw_only=True)
class FilterMap(FnNode):
    OP: ClassVar[str] = "filter-map"


@dataclass(frozen=True, kw_only=True)
class FlatMap(FnNode):
    OP: ClassVar[str] = "flat-map"


@dataclass(frozen=True, kw_only=True)
class AssignKey(FnNode):
    OP: ClassVar[str] = "assign-key"


@dataclass(frozen=True, kw_only=True)
class AssignTimestamp(FnNode):
    OP: ClassVar[str] = "assign-timestamp"


@dataclass(frozen=True, kw_only=True)
class UpdateState(FnNode):
    OP: ClassVar[str] = "update-state"
    state: Optional[str] = None  # the state id it updates


@dataclass(frozen=True, kw_only=True)
class Flush(FnNode):
    OP: ClassVar[str] = "flush"


@dataclass(frozen=True)
class Edge:
    """A record stream from src to dst: the value type and the key type (None: no key)."""

    src: str
    dst: str
    type: IrType
    key: Optional[IrType] = None
    kind: str = DATA  # DATA | CLOSE


@dataclass(frozen=True, kw_only=True)
class Fused(Node):
    """A chain of stateless operators run as one call per batch (made by the fuse pass)."""

    OP: ClassVar[str] = "fused"
    name: str  # "a -> b -> c"
    language: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]  # the edges inside the chain, with their types


NODE_CLASSES: dict[str, type[Node]] = {
    c.OP: c
    for c in (Topic, Source, Decode, Encode, Sink, Window, Map, Filter, FilterMap, FlatMap, AssignKey, AssignTimestamp, UpdateState, Flush, Fused)
}
FN_OPS = {op: c for op, c in NODE_CLASSES.items() if issubclass(c, FnNode)}


def sort_edges(nodes: tuple[Node, ...], edges) -> tuple[Edge, ...]:
    """Edges in the canonical order: by the position of their source, then of their target."""
    index = {n.id: i for i, n in enumerate(nodes)}
    return tuple(sorted(edges, key=lambda e: (index[e.src], index[e.dst], e.kind)))


@dataclass(frozen=True)
class TypeDef:
    name: str  # kebab
    type: IrType
    imported: bool = False
    span: str = ""


@dataclass(frozen=True)
class State:
    """A state a service declares: its own (keyed value or arrow-row) or a `from:` reference."""

    id: str  # "service.state"
    service: str
    name: str
    kind: str  # "value" | "arrow-row" | "ref" | "system" | "unknown"
    key: Optional[IrType] = None
    value: Optional[IrType] = None
    ref: Optional[str] = None  # the owner's state id, for kind "ref"
    span: str = ""


@dataclass(frozen=True)
class Code:
    """The text of one inline function, kept apart from the nodes so dumps stay short."""

    id: str  # content address: "code:<sha256 prefix>"
    lang: str
    text: str
    span: str  # where the text starts in the file (its first occurrence)


@dataclass(frozen=True)
class Decision:
    """A choice a pass made, with its reason (shown by every dump)."""

    by: str  # pass name
    subject: str  # node id, or "" for the pipeline
    what: str
    why: str


@dataclass(frozen=True)
class Note:
    """A finding the driver turns into a warning (dead code and the like)."""

    by: str
    kind: str  # "unused-type" | "unused-state" | "always-false-filter"
    subject: str
    span: str
    message: str


@dataclass(frozen=True)
class IR:
    name: str  # "namespace/name@version" from meta
    source: str  # file name (no directories, so the IR does not depend on where it was built)
    api_version: str
    types: tuple[TypeDef, ...]  # sorted by name
    states: tuple[State, ...]  # sorted by id
    code: tuple[Code, ...]  # sorted by id
    services: tuple[str, ...]  # producers before consumers
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    passes: tuple[str, ...] = ()  # applied, in order
    decisions: tuple[Decision, ...] = ()
    notes: tuple[Note, ...] = ()

    # ------------------------------------------------------------------ walking

    @cached_property
    def _by_id(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    @cached_property
    def _adjacent(self) -> tuple[dict[str, tuple[Edge, ...]], dict[str, tuple[Edge, ...]]]:
        succ: dict[str, list[Edge]] = {n.id: [] for n in self.nodes}
        pred: dict[str, list[Edge]] = {n.id: [] for n in self.nodes}
        for e in self.edges:
            succ[e.src].append(e)
            pred[e.dst].append(e)
        return {k: tuple(v) for k, v in succ.items()}, {k: tuple(v) for k, v in pred.items()}

    def node(self, node_id: str) -> Node:
        return self._by_id[node_id]

    def out_edges(self, node_id: str) -> tuple[Edge, ...]:
        """Edges leaving the node, in the canonical edge order."""
        return self._adjacent[0][node_id]

    def in_edges(self, node_id: str) -> tuple[Edge, ...]:
        return self._adjacent[1][node_id]

    def walk(self) -> Iterator[Node]:
        """Every node in topological order, Fused nodes followed by their members."""
        for n in self.topo_order():
            yield n
            if isinstance(n, Fused):
                yield from n.nodes

    def nodes_of_service(self, service: str) -> list[Node]:
        """The service's nodes in topological order (topics belong to no service)."""
        return [n for n in self.topo_order() if n.service == service]

    def topo_order(self) -> list[Node]:
        """Kahn's order; ties keep the order of `nodes`, so the result is deterministic."""
        return list(self._topo)

    @cached_property
    def _topo(self) -> tuple[Node, ...]:
        index = {n.id: i for i, n in enumerate(self.nodes)}
        indeg = {n.id: len(self.in_edges(n.id)) for n in self.nodes}
        ready = sorted(i for nid, i in index.items() if indeg[nid] == 0)
        out: list[Node] = []
        while ready:
            n = self.nodes[heapq.heappop(ready)]
            out.append(n)
            for e in self.out_edges(n.id):
                indeg[e.dst] -= 1
                if indeg[e.dst] == 0:
                    heapq.heappush(ready, index[e.dst])
        if len(out) != len(self.nodes):  # a cycle (the checker rejects those): keep file order
            seen = {n.id for n in out}
            out += [n for n in self.nodes if n.id not in seen]
        return tuple(out)

    def code_by_id(self, code_id: Optional[str]) -> Optional[Code]:
        return self._code.get(code_id) if code_id else None

    @cached_property
    def _code(self) -> dict[str, Code]:
        return {c.id: c for c in self.code}


def unfuse(ir: IR) -> IR:
    """The same plan with every Fused node replaced by its members and their edges (for analyses)."""
    fused = {n.id: n for n in ir.nodes if isinstance(n, Fused)}
    if not fused:
        return ir
    nodes: list[Node] = []
    edges: list[Edge] = []
    for n in ir.nodes:
        if isinstance(n, Fused):
            nodes += n.nodes
            edges += n.edges
        else:
            nodes.append(n)
    for e in ir.edges:
        src = fused[e.src].nodes[-1].id if e.src in fused else e.src
        dst = fused[e.dst].nodes[0].id if e.dst in fused else e.dst
        edges.append(Edge(src, dst, e.type, e.key, e.kind))
    nodes_t = tuple(nodes)
    return dataclasses.replace(ir, nodes=nodes_t, edges=sort_edges(nodes_t, edges))

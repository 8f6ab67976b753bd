"""Checked pipeline -> operator DAG.

Per service, records flow in SDF's order (SDF-FORMAT.md §4.1):

    topic -> source -> decode -> per-source steps --+--> transforms -> [window | partition] --+--> per-sink steps -> encode -> sink -> topic
    (one chain per source; several = merge)  ------+                                         +--> (one chain per sink; several = split)

A window is `assign-timestamp -> Window -> window steps -> [assign-key -> steps -> update-state]`
followed by its flush, reached through a `close` edge (the flush runs when a window closes and
takes no record). A partition without a window ends at its update-state. Types on edges come
from the checker's StepIO (by Step.loc); where it gave none they are Unknown, except that
filter, assign-key and assign-timestamp pass their input value through unchanged.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Optional

from .. import ast as A
from ..check.model import Checked
from ..diagnostics import Span
from . import states as S
from .nodes import CLOSE, DATA, FN_OPS, IR, Code, Decode, Dependency, Edge, Encode, FnNode, Node, Sink, Source, State, Topic, TypeDef, UpdateState, Watermark, Window, sort_edges
from .types import BYTES, NULL, UNKNOWN, IrType, Prim, from_ast

# These operators hand their input value on unchanged (filter drops records, the others add a key or time).
PASS_VALUE = ("filter", "assign-key", "assign-timestamp")


@dataclass(frozen=True)
class _Out:
    """An open end of the graph being built: the node, and the record type it emits."""

    node: str
    type: IrType
    key: Optional[IrType]


def lower(checked: Checked) -> IR:
    return _Lowering(checked).run()


def span_str(span: Optional[Span]) -> str:
    """`file:line:col` with the file's base name, so the IR does not depend on the checkout path."""
    if span is None:
        return ""
    return f"{os.path.basename(span.path)}:{span.line}:{span.col}"


class _Lowering:
    def __init__(self, checked: Checked):
        self.checked = checked
        self.pipe = checked.pipeline
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.topics: dict[str, Topic] = {}
        self.code: dict[str, Code] = {}

    def run(self) -> IR:
        order = service_order(self.checked)
        for name in order:
            self.service(self.pipe.services[name])
        nodes = tuple(self.topics[t] for t in sorted(self.topics)) + tuple(self.nodes)
        meta = self.pipe.meta
        return IR(
            name=f"{meta.namespace}/{meta.name}@{meta.version}" if meta else "",
            source=os.path.basename(self.pipe.path),
            api_version=self.pipe.api_version,
            types=self.type_table(),
            states=self.state_table(order),
            code=tuple(self.code[k] for k in sorted(self.code)),
            services=tuple(order),
            nodes=nodes,
            edges=sort_edges(nodes, self.edges),
        )

    # ------------------------------------------------------------------ tables

    def type_table(self) -> tuple[TypeDef, ...]:
        local = self.pipe.types
        out = {name: TypeDef(name, from_ast(td.type), False, span_str(td.span)) for name, td in local.items()}
        for name, t in self.checked.types.items():
            if name not in out:
                out[name] = TypeDef(name, from_ast(t), True, span_str(t.span))
        return tuple(out[k] for k in sorted(out))

    def scope(self, svc: A.Service) -> dict[str, A.StateDecl]:
        return self.checked.states.get(svc.name) or svc.states

    def state_table(self, order: list[str]) -> tuple[State, ...]:
        out = []
        for name in order:
            svc = self.pipe.services[name]
            for sname, decl in self.scope(svc).items():
                t = decl.type
                out.append(
                    State(
                        id=f"{name}.{sname}",
                        service=name,
                        name=sname,
                        kind=decl.value_kind,
                        key=from_ast(t.key) if t is not None else None,
                        value=from_ast(t.value) if t is not None else None,
                        ref=f"{decl.from_ref[0]}.{decl.from_ref[1]}" if decl.from_ref else None,
                        span=span_str(decl.span),
                    )
                )
        return tuple(sorted(out, key=lambda s: s.id))

    # ------------------------------------------------------------------ graph building

    def add(self, node: Node, frontier: list[_Out], kind: str = DATA) -> None:
        self.nodes.append(node)
        for o in frontier:
            if kind == DATA:
                self.edges.append(Edge(o.node, node.id, o.type, o.key))
            else:
                self.edges.append(Edge(o.node, node.id, NULL, None, CLOSE))

    def service(self, svc: A.Service) -> None:
        base = f"services/{svc.name}"
        frontier: list[_Out] = []
        for i, src in enumerate(svc.sources):
            out = self.source(svc, src, f"{base}/sources/{i}")
            frontier += self.chain(svc, src.transforms, "source", [out], f"{base}/sources/{i}/transforms")
        frontier = self.chain(svc, svc.transforms, "transforms", frontier, f"{base}/transforms")
        if svc.window is not None:
            frontier = self.window(svc, svc.window, frontier, f"{base}/window")
        elif svc.partition is not None:
            frontier = self.partition(svc, svc.partition, frontier, f"{base}/partition")
            if svc.partition.update_state is not None:
                frontier = []  # update-state is terminal: the service builds state, emits nothing
        for i, snk in enumerate(svc.sinks):
            self.sink(svc, snk, frontier, f"{base}/sinks/{i}")

    def window(self, svc: A.Service, w: A.Window, frontier: list[_Out], loc: str) -> list[_Out]:
        if w.assign_timestamp is not None:
            frontier = self.chain(svc, [w.assign_timestamp], "window", frontier, f"{loc}/assign-timestamp")
        wm = w.watermark
        node = Window(
            id=loc,
            service=svc.name,
            span=span_str(w.span),
            kind=w.kind,
            duration_ms=w.duration_ms,
            slide_ms=w.slide_ms,
            offset_ms=w.offset_ms,
            watermark=Watermark(wm.idleness_ms, wm.grace_period_ms) if wm else None,
        )
        self.add(node, frontier)
        frontier = [_Out(loc, *_merged(frontier))]
        frontier = self.chain(svc, w.transforms, "window", frontier, f"{loc}/transforms")
        if w.partition is not None:
            frontier = self.partition(svc, w.partition, frontier, f"{loc}/partition")
        if w.flush is None:
            return []
        flush = self.fn_node(svc, w.flush, "flush", f"{loc}/flush")
        self.add(flush, frontier, CLOSE)
        return [self.out_of(w.flush, [], flush.id)]

    def partition(self, svc: A.Service, p: A.Partition, frontier: list[_Out], loc: str) -> list[_Out]:
        steps = ([p.assign_key] if p.assign_key else []) + p.transforms + ([p.update_state] if p.update_state else [])
        return self.chain(svc, steps, "partition", frontier, f"{loc}/transforms")

    def chain(self, svc: A.Service, steps: list[A.Step], region: str, frontier: list[_Out], loc: str) -> list[_Out]:
        for i, step in enumerate(steps):
            node = self.fn_node(svc, step, region, f"{loc}/{i}")
            self.add(node, frontier)
            frontier = [self.out_of(step, frontier, node.id)]
        return frontier

    def source(self, svc: A.Service, src: A.Endpoint, loc: str) -> _Out:
        if src.kind == "schedule":
            sched = self.pipe.schedules.get(src.id)
            self.add(Source(id=loc, service=svc.name, span=span_str(src.span), endpoint="schedule", topic=src.id, cron=sched.cron if sched else None), [])
            return _Out(loc, Prim("i64"), None)
        topic = self.topic(src.id, src.span)
        self.add(Source(id=loc, service=svc.name, span=span_str(src.span), endpoint="topic", topic=src.id), [self.raw(topic)])
        dec = Decode(
            id=f"{loc}/decode",
            service=svc.name,
            span=span_str(src.span),
            converter=topic.value_converter,
            type=topic.value,
            key_converter=topic.key_converter,
            key_type=topic.key,
        )
        self.add(dec, [_Out(loc, BYTES, BYTES if topic.key else None)])
        return _Out(dec.id, topic.value, topic.key)

    def sink(self, svc: A.Service, snk: A.Endpoint, frontier: list[_Out], loc: str) -> None:
        frontier = self.chain(svc, snk.transforms, "sink", frontier, f"{loc}/transforms")
        topic = self.topic(snk.id, snk.span)
        enc = Encode(
            id=f"{loc}/encode",
            service=svc.name,
            span=span_str(snk.span),
            converter=topic.value_converter,
            type=topic.value,
            key_converter=topic.key_converter,
            key_type=topic.key,
        )
        self.add(enc, frontier)
        self.add(Sink(id=loc, service=svc.name, span=span_str(snk.span), topic=snk.id), [self.raw(topic, enc.id)])
        self.edges.append(Edge(loc, topic.id, BYTES, BYTES if topic.key else None))

    @staticmethod
    def raw(topic: Topic, node: Optional[str] = None) -> _Out:
        """Encoded records as they sit in the topic: bytes, with a key when the topic has one."""
        return _Out(node or topic.id, BYTES, BYTES if topic.key else None)

    def topic(self, tid: str, used_at: Span) -> Topic:
        if tid in self.topics:
            return self.topics[tid]
        t = self.pipe.topics.get(tid)
        value = t.value if t else None
        key = t.key if t else None
        node = Topic(
            id=f"topics/{tid}",
            service=None,
            span=span_str(t.span if t else used_at),
            topic=tid,
            name=t.name if t else tid,
            value=from_ast(value.type) if value else UNKNOWN,
            key=from_ast(key.type) if key else None,
            value_converter=(value.converter if value else None) or self.pipe.default_converter,
            key_converter=((key.converter or "raw") if key else None),  # SDF docs: keys are raw
        )
        self.topics[tid] = node
        return node

    # ------------------------------------------------------------------ function nodes

    def fn_node(self, svc: A.Service, step: A.Step, region: str, loc: str) -> FnNode:
        cls = FN_OPS.get(step.operator)
        if cls is None:
            raise ValueError(f"{step.loc or loc}: unknown operator `{step.operator}` (the checker reports it)")
        fn = step.function
        scope_decls = self.scope(svc)
        scope = S.state_ids(svc.name, scope_decls)
        declared = list(fn.states)
        imported = self.checked.functions.get(fn.uses) if fn.uses else None
        if imported is not None:
            declared += imported.states
        read = S.accessed(fn, declared, scope)
        own = {f"{svc.name}.{n}" for n, d in scope_decls.items() if not d.is_ref}
        writes = region == "partition" and step.operator != "assign-key"
        written = tuple(s for s in read if writes and s in own)
        extra = {}
        if cls is UpdateState:
            if not written and len(own) == 1:  # an update-state updates state: the service's only one
                written = tuple(own)
                read = tuple(sorted(set(read) | own))
            extra["state"] = written[0] if written else None
        pkg = self.package_of(fn, imported)
        return cls(
            id=step.loc or loc,
            service=svc.name,
            span=span_str(step.span),
            function=fn.name,
            # a found package's function is Rust compiled into the service, like inline code
            language=fn.inline.lang if fn.inline else ("rust" if pkg else "wasm-import"),
            region=region,
            code=self.add_code(fn.inline) if fn.inline else None,
            params=tuple(sorted(fn.with_params.items())),
            states_read=read,
            states_written=written,
            dependencies=tuple(_dependency(d) for d in fn.dependencies),
            **pkg,
            **extra,
        )

    def package_of(self, fn: A.Function, imported: Optional[A.Function]) -> dict:
        """`package` / `package_function` of a `uses:` step whose package file was loaded."""
        if imported is None or not imported.resolved or imported.inline is not None or imported.span is None:
            return {}
        pkg_file = imported.span.path
        if os.path.abspath(pkg_file) == os.path.abspath(self.pipe.path):
            return {}  # a function the file declares itself, not a package's
        here = os.path.dirname(os.path.abspath(self.pipe.path))
        return {"package": os.path.relpath(os.path.abspath(pkg_file), here), "package_function": imported.name}

    def add_code(self, code: A.InlineCode) -> str:
        cid = "code:" + hashlib.sha256(f"{code.lang}\0{code.text}".encode()).hexdigest()[:16]
        self.code.setdefault(cid, Code(cid, code.lang, code.text, f"{os.path.basename(code.span.path)}:{code.line}:{code.col}"))
        return cid

    def out_of(self, step: A.Step, frontier: list[_Out], node_id: str) -> _Out:
        """What a step emits: from StepIO when the checker gave one, else what is known without it."""
        op = step.operator
        io = self.checked.step_io.get(step.loc)
        in_type, in_key = _merged(frontier)
        if op == "update-state":
            return _Out(node_id, NULL, None)
        if io is None:
            value = in_type if op in PASS_VALUE else UNKNOWN
            key = UNKNOWN if op == "assign-key" else in_key
            return _Out(node_id, value, key)
        value = from_ast(io.in_type) if op in PASS_VALUE else from_ast(io.out_type)
        if io.key_out is not None:
            key = from_ast(io.key_out)
        else:
            key = UNKNOWN if op == "assign-key" else None
        return _Out(node_id, value, key)


def _merged(frontier: list[_Out]) -> tuple[IrType, Optional[IrType]]:
    """The record type where several producers meet (a merge); Unknown when they disagree."""
    if not frontier:
        return UNKNOWN, None
    types = {o.type for o in frontier}
    keys = {o.key for o in frontier}
    return (types.pop() if len(types) == 1 else UNKNOWN), (keys.pop() if len(keys) == 1 else UNKNOWN)


def service_order(checked: Checked) -> list[str]:
    """The checker's order when it gave one, else producers before consumers (ties: file order)."""
    names = list(checked.pipeline.services)
    given = [s for s in checked.service_order if s in checked.pipeline.services]
    if given:
        return given + [s for s in names if s not in given]
    svcs = checked.pipeline.services
    writes = {s: {e.id for e in svcs[s].sinks if e.kind == "topic"} for s in names}
    reads = {s: {e.id for e in svcs[s].sources if e.kind == "topic"} for s in names}
    deps = {s: {p for p in names if p != s and writes[p] & reads[s]} for s in names}
    out: list[str] = []
    while len(out) < len(names):
        ready = [s for s in names if s not in out and deps[s] <= set(out)]
        out.append(ready[0] if ready else next(s for s in names if s not in out))  # a cycle: file order
    return out


def _dependency(d: A.Dependency) -> Dependency:
    return Dependency(d.name, d.version, d.path, d.git, tuple(d.features), d.default_features, d.tag)

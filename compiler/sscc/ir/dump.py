"""Dumps of the IR: text (like Kafka Streams' Topology.describe()), JSON, Graphviz DOT, Mermaid.

The text dump is the plan as it will run: topics, then each service's operators in topological
order with the record type on every edge, fused groups as `Fused[a -> b -> c]`, then which
passes ran, what they decided and why, and what they noticed.
"""

from __future__ import annotations

import re

from .diagram import to_dot, to_mermaid
from .labels import detail, edge_label, short, title
from .nodes import CLOSE, IR, Edge, FnNode, Fused, Node, Topic
from .serialize import to_json
from .types import describe


def dump(ir: IR, fmt: str = "text") -> str:
    """The IR in one of FORMATS."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown dump format `{fmt}`; formats: {', '.join(FORMATS)}")
    return FORMATS[fmt](ir)


def to_text(ir: IR) -> str:
    out = [f"Pipeline {ir.name or '(unnamed)'}  ({ir.source}, apiVersion {ir.api_version})", ""]
    topics = [n for n in ir.nodes if isinstance(n, Topic)]
    if topics:
        out.append("Topics")
        out += [f"  {_topic_line(ir, t)}" for t in topics]
        out.append("")
    for svc in ir.services:
        out.append(f"Service {svc}")
        for s in ir.states:
            if s.service == svc:
                what = f"from {s.ref}" if s.ref else f"{s.kind} state, key {describe(s.key)}, value {describe(s.value)}"
                out.append(f"  state {s.name}: {what}")
        for n in ir.nodes_of_service(svc):
            out += ["  " + node_line(n, svc)] + [f"    {_edge_line(e, svc)}" for e in ir.out_edges(n.id)]
            preds = ir.in_edges(n.id)
            if len(preds) > 1:
                out += [f"    <-- {short(e.src, svc)}" for e in preds]
        out.append("")
    out.append("Passes: " + (", ".join(ir.passes) if ir.passes else "none (unoptimized)"))
    if ir.decisions:
        out.append("Decisions")
        out += [f"  [{d.by}] {_subject(d.subject)}: {d.what} -- {d.why}" for d in ir.decisions]
    if ir.notes:
        out.append("Notes")
        out += [f"  [{n.by}] {n.span}: {n.kind}: {n.message}" for n in ir.notes]
    return "\n".join(out)


def node_line(n: Node, svc: str) -> str:
    """`FlatMap transforms/0 split-sentence [rust] at 12:9`: kind, id in the service, what, where."""
    at = " at " + ":".join(n.span.rsplit(":", 2)[1:]) if isinstance(n, (FnNode, Fused)) else ""
    return f"{title(n)} {short(n.id, svc)} {detail(n)}".rstrip() + at


def _edge_line(e: Edge, svc: str) -> str:
    return f"{'~~>' if e.kind == CLOSE else '-->'} {short(e.dst, svc)} : {edge_label(e)}"


def _subject(subject: str) -> str:
    """A decision's subject relative to its service: `split transforms/0 -> sinks/0/encode`."""
    m = re.match(r"(?:fused:)?services/([^/]+)/", subject)
    if m is None:
        return subject or "pipeline"
    svc = m.group(1)
    return f"{svc} " + " -> ".join(short(part, svc) for part in subject.split(" -> "))


def _topic_line(ir: IR, t: Topic) -> str:
    writers = sorted({ir.node(e.src).service or "" for e in ir.in_edges(t.id)})
    readers = sorted({ir.node(e.dst).service or "" for e in ir.out_edges(t.id)})
    key = f"key {describe(t.key)} [{t.key_converter}], " if t.key is not None else ""
    name = f" (name {t.name})" if t.name != t.topic else ""
    flow = f"from {', '.join(writers) or 'outside'} to {', '.join(readers) or 'outside'}"
    internal = "  internal: in-process candidate, kept durable" if t.internal else ""
    return f"{t.topic}{name}: {key}value {describe(t.value)} [{t.value_converter}]  {flow}{internal}"


FORMATS = {"text": to_text, "json": to_json, "dot": to_dot, "mermaid": to_mermaid}

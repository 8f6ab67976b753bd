"""Graphviz DOT and Mermaid flowcharts of the IR: one cluster per service, topics between them.

Diagram ids are positions (`n0`, `n1`, ...) in `IR.nodes`, so they are stable and always valid
identifiers whatever the service and topic names hold; every label is quoted and escaped.
"""

from __future__ import annotations

from .labels import detail, edge_label, title
from .nodes import CLOSE, IR, Node, Topic

_DOT_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n"})
_MERMAID_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;"}


def to_dot(ir: IR) -> str:
    ids = _ids(ir)
    out = [
        f"digraph {_dq(ir.name or ir.source)} {{",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for t in _topics(ir):
        out.append(f"  {ids[t.id]} [shape=cylinder, label={_dq(_label(t))}];")
    for i, svc in enumerate(ir.services):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(f"    label={_dq(svc)};")
        out += [f"    {ids[n.id]} [label={_dq(_label(n))}];" for n in ir.nodes_of_service(svc)]
        out.append("  }")
    for e in ir.edges:
        style = ", style=dashed" if e.kind == CLOSE else ""
        out.append(f"  {ids[e.src]} -> {ids[e.dst]} [label={_dq(edge_label(e))}{style}];")
    out.append("}")
    return "\n".join(out)


def to_mermaid(ir: IR) -> str:
    ids = _ids(ir)
    out = ["flowchart LR"]
    for t in _topics(ir):
        out.append(f'  {ids[t.id]}[("{_mq(_label(t))}")]')
    for i, svc in enumerate(ir.services):
        out.append(f'  subgraph s{i}["{_mq(svc)}"]')
        out += [f'    {ids[n.id]}["{_mq(_label(n))}"]' for n in ir.nodes_of_service(svc)]
        out.append("  end")
    for e in ir.edges:
        arrow = "-.->" if e.kind == CLOSE else "-->"
        out.append(f'  {ids[e.src]} {arrow}|"{_mq(edge_label(e))}"| {ids[e.dst]}')
    return "\n".join(out)


def _ids(ir: IR) -> dict[str, str]:
    return {n.id: f"n{i}" for i, n in enumerate(ir.nodes)}


def _topics(ir: IR) -> list[Topic]:
    return [n for n in ir.nodes if isinstance(n, Topic)]


def _label(n: Node) -> str:
    if isinstance(n, Topic):
        return f"topic {n.topic}" + ("\n(internal)" if n.internal else "")
    return f"{title(n)}\n{detail(n)}".strip()


def _dq(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.translate(_DOT_ESCAPES) + '"'


def _mq(text: str) -> str:
    """Text for inside a Mermaid quoted label: entity codes for what Mermaid would parse, <br/> for newlines."""
    for ch, code in _MERMAID_ESCAPES.items():
        text = text.replace(ch, code)
    return text.replace("\n", "<br/>")

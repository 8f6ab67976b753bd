"""fuse: run a chain of stateless operators as one call per batch.

An edge u -> v is fused when all of these hold (stated up front, like Arroyo's ChainingOptimizer):

  1. u and v are stateless operators: decode, map, filter, filter-map, flat-map, encode.
     Never into or out of a topic, source, sink, window, assign-key, assign-timestamp,
     update-state or flush.
  2. u has exactly one consumer and v exactly one producer (no fan-out, no fan-in across it).
  3. u and v are on the same side of a partition (per-key steps only with per-key steps).
  4. u and v have the same language. Decode and encode are generated code and join any rust
     or python chain; imported functions (wasm-import) are prebuilt modules and never fuse.
  5. the chain holds at least one user function (a bare decode -> encode stays as it is).

A maximal chain becomes one `Fused` node named after its members, `decode -> split -> encode`,
with id `fused:<first member id>`; it keeps the member nodes and the typed edges between them,
so nothing is lost. The runtime then crosses into WASM once per batch for the whole chain,
decoding and encoding inside it. Edges that rule 2, 3 or 4 kept apart are recorded as decisions.

Before:
    Decode sources/0/decode -> FlatMap split-sentence -> Map uppercase -> Encode sinks/0/encode
After:
    Fused[decode -> split-sentence -> uppercase -> encode]
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from ..ir.nodes import IR, Decision, Decode, Edge, Encode, Filter, FilterMap, FlatMap, FnNode, Fused, Map, Node, sort_edges

STATELESS = (Decode, Map, Filter, FilterMap, FlatMap, Encode)


def fuse(ir: IR) -> IR:
    apart: list[Decision] = []
    next_of: dict[str, str] = {}
    for e in ir.edges:
        u, v = ir.node(e.src), ir.node(e.dst)
        if not (isinstance(u, STATELESS) and isinstance(v, STATELESS)):
            continue
        why_not = _why_not(ir, u, v)
        if why_not is None:
            next_of[u.id] = v.id
        else:
            apart.append(Decision("fuse", f"{u.id} -> {v.id}", "kept apart", why_not))
    chains = [c for c in _chains(ir, next_of) if any(isinstance(n, FnNode) for n in c)]
    decisions: list[Decision] = []
    member_of: dict[str, Fused] = {}
    for chain in chains:
        f = _fused(ir, chain)
        member_of.update({n.id: f for n in chain})
        decisions.append(
            Decision("fuse", f.id, f"Fused[{f.name}]", f"{len(chain)} stateless {f.language} operators, each with one producer and one consumer: one call per batch")
        )
    nodes = tuple(_replaced(ir.nodes, member_of))
    edges = []
    for e in ir.edges:
        src = member_of[e.src].id if e.src in member_of else e.src
        dst = member_of[e.dst].id if e.dst in member_of else e.dst
        if src != dst:
            edges.append(Edge(src, dst, e.type, e.key, e.kind))
    return dataclasses.replace(ir, nodes=nodes, edges=sort_edges(nodes, edges), decisions=ir.decisions + tuple(decisions + apart))


def _why_not(ir: IR, u: Node, v: Node) -> Optional[str]:
    """Why the edge u -> v between two stateless operators cannot be fused (rules 2-4), or None."""
    consumers, producers = len(ir.out_edges(u.id)), len(ir.in_edges(v.id))
    if consumers != 1:
        return f"`{_name(u)}` fans out to {consumers} consumers"
    if producers != 1:
        return f"`{_name(v)}` merges {producers} producers"
    if _keyed(u) != _keyed(v):
        return "partition boundary (per-key and unkeyed steps run apart)"
    lu, lv = _lang(u), _lang(v)
    if "wasm-import" in (lu, lv):
        return "imported functions are prebuilt modules and run on their own"
    if lu and lv and lu != lv:
        return f"language boundary ({lu} -> {lv})"
    return None


def _chains(ir: IR, next_of: dict[str, str]) -> list[list[Node]]:
    targets = set(next_of.values())
    out = []
    for n in ir.nodes:
        if n.id in next_of and n.id not in targets:
            chain = [n]
            while chain[-1].id in next_of:
                chain.append(ir.node(next_of[chain[-1].id]))
            out.append(chain)
    return out


def _fused(ir: IR, chain: list[Node]) -> Fused:
    ids = {n.id for n in chain}
    inner = tuple(e for n in chain for e in ir.out_edges(n.id) if e.dst in ids)
    language = next(n.language for n in chain if isinstance(n, FnNode))
    first = chain[0]
    return Fused(
        id=f"fused:{first.id}",
        service=first.service,
        span=first.span,
        name=" -> ".join(_name(n) for n in chain),
        language=language,
        nodes=tuple(chain),
        edges=inner,
    )


def _replaced(nodes: tuple[Node, ...], member_of: dict[str, Fused]):
    for n in nodes:
        f = member_of.get(n.id)
        if f is None:
            yield n
        elif f.nodes[0].id == n.id:
            yield f


def _name(n: Node) -> str:
    return n.function if isinstance(n, FnNode) else n.op


def _lang(n: Node) -> Optional[str]:
    return n.language if isinstance(n, FnNode) else None


def _keyed(n: Node) -> bool:
    return isinstance(n, FnNode) and n.region == "partition"


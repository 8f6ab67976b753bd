"""dead_code: report what never runs or is never used, as notes; drop nothing.

Finds, each as an IR note (the checker reports the same facts as W043–W045, see check/unused.py):
  * unused types: a type of the file's `types:` that no topic, state, edge or other used type
    refers to and whose Rust name (`WordCount` for `word-count`) no inline code mentions.
    Skipped when an imported function's edges are untyped (its signature could use any type).
  * unused states: a declared state (or `from:` reference) no operator of its service reads or
    writes. Skipped for a service whose imported functions declare no states (unknowable).
  * an always-false filter: a filter whose inline body is literally `Ok(false)` (Python:
    `return False`), with the steps after it that can then never receive a record (stopping at
    topics, which may have writers outside the pipeline).

Before:
    Filter drop-all (body `Ok(false)`) -> Map shout -> Encode -> Sink out
After: the same graph, plus
    note always-false-filter at dataflow.yaml:12:9: filter `drop-all` always returns false; never run: shout, sink to `out`
"""

from __future__ import annotations

import dataclasses
import re

from .. import ast as A
from ..ir import types as T
from ..ir.nodes import IR, Code, Decode, Encode, Filter, FnNode, Node, Note, Sink, Topic, unfuse
from ..syntax.fn_body import always_false


def dead_code(ir: IR) -> IR:
    flat = unfuse(ir)
    found = _unused_types(flat) + _unused_states(flat) + _false_filters(flat)
    notes = ir.notes + tuple(n for n in found if n not in ir.notes)
    return dataclasses.replace(ir, notes=notes)


# ---------------------------------------------------------------------------- types


def _unused_types(ir: IR) -> list[Note]:
    for n in ir.nodes:
        if isinstance(n, FnNode) and n.language == "wasm-import":
            if not all(T.is_known(e.type) and T.is_known(e.key) for e in ir.in_edges(n.id) + ir.out_edges(n.id)):
                return []
    roots: set[str] = set()
    for t in _mentioned_types(ir):
        roots |= T.refs(t)
    table = {td.name: td for td in ir.types}
    texts = "\n".join(c.text for c in ir.code)
    roots |= {name for name in table if _named_in_code(name, texts)}
    used = _closure(roots, table)
    return [
        Note("dead_code", "unused-type", f"types/{td.name}", td.span, f"type `{td.name}` is never used")
        for td in ir.types
        if not td.imported and td.name not in used
    ]


def _mentioned_types(ir: IR):
    for n in ir.nodes:
        if isinstance(n, Topic):
            yield from (n.value, n.key)
        elif isinstance(n, (Decode, Encode)):
            yield from (n.type, n.key_type)
    for e in ir.edges:
        yield from (e.type, e.key)
    for s in ir.states:
        yield from (s.key, s.value)


def _named_in_code(name: str, text: str) -> bool:
    """Inline Rust names a type `word-count` as `WordCount`."""
    return re.search(rf"\b{re.escape(A.pascal(name))}\b", text) is not None


def _closure(roots: set[str], table: dict) -> set[str]:
    used: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in used:
            continue
        used.add(name)
        if name in table:
            todo += T.refs(table[name].type)
    return used


# ---------------------------------------------------------------------------- states


def _unused_states(ir: IR) -> list[Note]:
    touched: dict[str, set[str]] = {}  # service -> state ids its operators read or write
    unknowable: set[str] = set()  # services with an imported function that declares no states
    for n in ir.nodes:
        if isinstance(n, FnNode):
            touched.setdefault(n.service or "", set()).update(n.states_read, n.states_written)
            if n.language == "wasm-import" and not n.states_read:
                unknowable.add(n.service or "")
    anywhere = set().union(*touched.values())
    unknowable_refs = {s.ref for s in ir.states if s.ref and s.service in unknowable}
    notes = []
    for s in ir.states:
        if s.service in unknowable or s.id in unknowable_refs or s.kind == "system":
            continue
        used = s.ref in touched.get(s.service, set()) if s.ref else s.id in anywhere
        if not used:
            what = f"reference `{s.name}` (from {s.ref})" if s.ref else f"state `{s.name}`"
            notes.append(Note("dead_code", "unused-state", f"states/{s.id}", s.span, f"{what} of service `{s.service}` is never read or written"))
    return notes


# ---------------------------------------------------------------------------- always-false filters


def _false_filters(ir: IR) -> list[Note]:
    false = {n.id for n in ir.nodes if isinstance(n, Filter) and _always_false(ir.code_by_id(n.code), n.function)}
    if not false:
        return []
    dead: dict[str, str] = {}  # node id -> the filter that starves it
    for n in ir.topo_order():
        preds = ir.in_edges(n.id)
        if isinstance(n, Topic) or not preds:
            continue
        causes = {p.src if p.src in false else dead.get(p.src) for p in preds}
        if None not in causes:
            dead[n.id] = sorted(causes)[0]
    notes = []
    for fid in sorted(false, key=[n.id for n in ir.nodes].index):
        f = ir.node(fid)
        victims = [_victim(ir.node(d)) for d, cause in dead.items() if cause == fid]
        victims = [v for v in victims if v]
        tail = f"; never run: {', '.join(victims)}" if victims else "; no record gets past it"
        notes.append(Note("dead_code", "always-false-filter", fid, f.span, f"filter `{f.function}` always returns false{tail}"))
    return notes


def _victim(n: Node) -> str:
    if isinstance(n, FnNode):
        return n.function
    return f"sink to `{n.topic}`" if isinstance(n, Sink) else ""


def _always_false(code: Code | None, function: str) -> bool:
    return code is not None and always_false(code.lang, code.text, function)

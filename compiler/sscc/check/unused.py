"""Declared but never used, or never run: warnings W043-W045.

The IR pass `dead_code` (passes/dead_code.py) records the same three facts as notes on the
optimized IR; `sscc check` reports them here, from what the checker resolved, so that checking
a file never has to lower it (the IR modules cost more to import than a whole check).
tests/check/test_check_unused.py compares these warnings with the pass's notes.

  W043 a type of `types:` that no topic, state, step or other used type refers to, and whose
       Rust name (`WordCount` for `word-count`) no inline code mentions. Skipped when an
       imported function's types are unknown (its real signature could use any type).
  W044 a state (or `from:` reference) that no operator of its service reads or writes.
       Skipped for a service with an imported function that lists no states (unknowable).
  W045 a filter whose inline body is literally `Ok(false)` (Python: `return False`), with the
       steps and sinks after it that can then never receive a record.
"""

from __future__ import annotations

import re
from typing import Optional

from .. import ast as A
from ..ir import states as S
from ..syntax.fn_body import always_false
from .context import Ctx

_TYPE_KINDS = {"prim", "named", "object", "enum", "list", "option", "key-value", "keyed-state", "arrow-row", "null"}


def check_unused(ctx: Ctx) -> None:
    """Only for a file without errors (as the IR, which is built only then): a misspelt name
    would make what it meant look unused, two diagnostics for one mistake."""
    if ctx.diags.has_errors:
        return
    _unused_types(ctx)
    _unused_states(ctx)
    _false_filters(ctx)


# ---------------------------------------------------------------------------- W043 types


def _refs(t: Optional[A.Type], out: set) -> set:
    """Names of the named types `t` mentions (not following the type table)."""
    if t is None:
        return out
    if t.kind == "named" and t.name:
        out.add(t.name)
    for sub in (t.item, t.key, t.value, *(f.type for f in t.fields)):
        _refs(sub, out)
    return out


def _known(t: Optional[A.Type]) -> bool:
    """False when `t` or a part of it is a type sscc could not resolve (as the IR's Unknown)."""
    if t is None or t.kind not in _TYPE_KINDS or (t.kind == "named" and (not t.name or t.name == "?")):
        return False
    parts = [t.item] if t.kind in ("list", "option") else [t.key, t.value] if t.kind in ("key-value", "keyed-state") else []
    return all(_known(p) for p in parts) and all(f.type is None or _known(f.type) for f in t.fields)


def _unused_types(ctx: Ctx) -> None:
    pipe, io = ctx.pipe, ctx.out.step_io
    if not pipe.types:
        return
    roots: set[str] = set()
    for step, _where in ctx.steps():
        sio = io.get(step.loc)
        types = (sio.in_type, sio.out_type, sio.key_in, sio.key_out) if sio else ()
        if step.function.inline is None and (sio is None or not all(_known(t) for t in (sio.in_type, sio.out_type))):
            return  # an imported function whose signature sscc does not know could use any type
        for t in types:
            _refs(t, roots)
    for svc in pipe.services.values():
        for ep in svc.sources + svc.sinks:
            topic = pipe.topics.get(ep.id) if ep.kind == "topic" else None
            for part in (topic.value, topic.key) if topic else ():
                if part is not None:
                    _refs(part.type, roots)
        for decl in (ctx.out.states.get(svc.name) or svc.states).values():
            _refs(decl.type, roots)
    code = "\n".join(st.function.inline.text for st, _w in ctx.steps() if st.function.inline)
    roots |= {name for name in pipe.types if re.search(rf"\b{re.escape(A.pascal(name))}\b", code)}
    used: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in used:
            used.add(name)
            td = pipe.types.get(name)
            t = td.type if td else ctx.out.types.get(name)
            todo += _refs(t, set())
    for name, td in pipe.types.items():
        if name not in used:
            ctx.warning("W043", td.span, f"type `{name}` is never used", "remove it, or use it in a topic, a state or a step")


# ---------------------------------------------------------------------------- W044 states


def _unused_states(ctx: Ctx) -> None:
    touched: dict[str, set[str]] = {}  # service -> ids of the states its operators read or write
    unknowable: set[str] = set()  # services with an imported function that lists no states
    scopes = {name: ctx.out.states.get(name) or svc.states for name, svc in ctx.pipe.services.items()}
    for step, where in ctx.steps():
        svc = where.service
        decls = scopes[svc.name]
        fn = step.function
        declared = list(fn.states)
        imported = ctx.out.functions.get(fn.uses) if fn.uses else None
        if imported is not None:
            declared += imported.states
        read = set(S.accessed(fn, declared, S.state_ids(svc.name, decls)))
        own = {f"{svc.name}.{n}" for n, d in decls.items() if not d.is_ref}
        if step.operator == "update-state" and len(own) == 1 and not read & own:
            read |= own  # an update-state updates state: the service's only one
        touched.setdefault(svc.name, set()).update(read)
        if fn.inline is None and not read:
            unknowable.add(svc.name)
    anywhere = set().union(*touched.values()) if touched else set()
    unknowable_refs = {
        f"{d.from_ref[0]}.{d.from_ref[1]}" for s in unknowable for d in scopes[s].values() if d.from_ref
    }  # fmt: skip
    for name in ctx.out.service_order or list(ctx.pipe.services):
        if name in unknowable:
            continue
        for sname, decl in sorted(scopes[name].items()):
            sid = f"{name}.{sname}"
            if decl.system or sid in unknowable_refs:
                continue
            ref = f"{decl.from_ref[0]}.{decl.from_ref[1]}" if decl.from_ref else None
            if (ref in touched.get(name, set())) if ref else (sid in anywhere):
                continue
            what = f"reference `{sname}` (from {ref})" if ref else f"state `{sname}`"
            ctx.warning(
                "W044", decl.span, f"{what} of service `{name}` is never read or written",
                "remove it, or use it in an operator of the service (an accessor call or a SQL table)",
            )  # fmt: skip


# ---------------------------------------------------------------------------- W045 always-false filters


def _false_filters(ctx: Ctx) -> None:
    for svc in ctx.pipe.services.values():
        graph = _ServiceGraph(svc)
        false = [loc for loc, step in graph.steps.items() if step.operator == "filter" and _always_false(step.function)]
        if not false:
            continue
        dead: dict[str, str] = {}  # node -> the filter that starves it
        for node in graph.order:
            preds = graph.preds[node]
            causes = {p if p in false else dead.get(p) for p in preds}
            if preds and None not in causes:
                dead[node] = sorted(causes)[0]
        for loc in false:
            step = graph.steps[loc]
            victims = [graph.label[d] for d, cause in dead.items() if cause == loc and graph.label.get(d)]
            tail = f"; never run: {', '.join(victims)}" if victims else "; no record gets past it"
            ctx.warning(
                "W045", step.span, f"filter `{step.function.name}` always returns false{tail}",
                "remove the filter (and what it starves), or make it return a condition",
            )  # fmt: skip


class _ServiceGraph:
    """One service's operators as the IR lowers them: node ids are YAML paths, edges follow the
    pipeline order (sources -> transforms -> window or partition -> each sink)."""

    def __init__(self, svc: A.Service) -> None:
        self.order: list[str] = []
        self.preds: dict[str, list[str]] = {}
        self.label: dict[str, str] = {}
        self.steps: dict[str, A.Step] = {}
        base = f"services/{svc.name}"
        frontier: list[str] = []
        for i, src in enumerate(svc.sources):
            frontier += self.chain(src.transforms, [f"{base}/sources/{i}"], f"{base}/sources/{i}/transforms")
        frontier = self.chain(svc.transforms, frontier, f"{base}/transforms")
        w, p = svc.window, svc.partition
        if w is not None:
            loc = f"{base}/window"
            if w.assign_timestamp is not None:
                frontier = self.chain([w.assign_timestamp], frontier, f"{loc}/assign-timestamp")
            frontier = [self.add(loc, frontier)]
            frontier = self.chain(w.transforms, frontier, f"{loc}/transforms")
            if w.partition is not None:
                frontier = self.partition(w.partition, frontier, f"{loc}/partition")
            frontier = self.chain([w.flush], frontier, f"{loc}/flush") if w.flush is not None else []
        elif p is not None:
            frontier = self.partition(p, frontier, f"{base}/partition")
            if p.update_state is not None:
                frontier = []
        for i, snk in enumerate(svc.sinks):
            loc = f"{base}/sinks/{i}"
            end = self.chain(snk.transforms, frontier, f"{loc}/transforms")
            self.add(loc, [self.add(f"{loc}/encode", end)], f"sink to `{snk.id}`")

    def add(self, node: str, preds: list[str], label: str = "") -> str:
        self.order.append(node)
        self.preds[node] = list(preds)
        self.label[node] = label
        return node

    def chain(self, steps: list, frontier: list[str], loc: str) -> list[str]:
        for i, step in enumerate(steps):
            node = step.loc or f"{loc}/{i}"
            self.steps[node] = step
            frontier = [self.add(node, frontier, step.function.name)]
        return frontier

    def partition(self, p: A.Partition, frontier: list[str], loc: str) -> list[str]:
        steps = ([p.assign_key] if p.assign_key else []) + p.transforms + ([p.update_state] if p.update_state else [])
        return self.chain(steps, frontier, f"{loc}/transforms")


def _always_false(fn: A.Function) -> bool:
    code = fn.inline
    return code is not None and always_false(code.lang, code.text, fn.name)

"""States: well-formed declarations and `from:` references that point at a real owner.

    states:
      counts: {from: count-words.count-per-wrd}   # E071 no such state in `count-words`
      seen:   {from: lookup.counts}               # E072 `lookup.counts` is itself a reference

A reference is read-only and must name the state where it is declared (CQRS: one writer).
"""

from __future__ import annotations

from typing import Optional

from .. import ast as A
from .context import Ctx, kebab, lines_of
from .typesys import RT, hashable, resolve, unfold

INT_VALUE_TYPES = ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64")


def check_refs(ctx: Ctx) -> None:
    """E079/E070/E071/E072: `from: <service>.<state>` resolves to a state owned by that service."""
    services = ctx.pipe.services
    for svc in services.values():
        for st in svc.states.values():
            if not st.is_ref:
                continue
            owner_name, state_name = st.from_ref
            span = st.from_span or st.span
            if not owner_name or not state_name:
                ctx.shape_error(
                    "E079",
                    span,
                    lines_of(span),
                    f"`from:` must be `<service>.<state>`, found `{owner_name}{'.' if state_name else ''}{state_name}`",
                    f"write `from: <service>.{st.name}` naming the service that owns the state",
                )
                continue
            owner = services.get(owner_name)
            if owner is None:
                ctx.error(
                    "E070",
                    span,
                    f"unknown service `{owner_name}` in `from: {owner_name}.{state_name}`",
                    ctx.hint(owner_name, services, "services defined"),
                )
                continue
            target = _state(owner, state_name)
            if target is None:
                owned = [n for n, s in owner.states.items() if not s.is_ref]
                ctx.error(
                    "E071",
                    span,
                    f"service `{owner_name}` has no state `{state_name}`",
                    ctx.hint(state_name, owned, f"`{owner_name}` owns", f"`{owner_name}` declares no states"),
                )
            elif target.is_ref:
                o2, s2 = target.from_ref
                ctx.error(
                    "E072",
                    span,
                    f"`{owner_name}.{state_name}` is itself a reference (to `{o2}.{s2}`), not the owner's state",
                    f"refer to the owner directly: `from: {o2}.{s2}`",
                )


def _state(svc: A.Service, name: str) -> Optional[A.StateDecl]:
    st = svc.states.get(name)
    if st is not None:
        return st
    k = kebab(name)
    return next((s for n, s in svc.states.items() if kebab(n) == k), None)


def owner_decl(ctx: Ctx, st: A.StateDecl) -> Optional[A.StateDecl]:
    """The declaration a state stands for: itself, or the owner's one for a `from:` reference."""
    if not st.is_ref:
        return st
    owner = ctx.pipe.services.get(st.from_ref[0])
    target = _state(owner, st.from_ref[1]) if owner else None
    return target if target is not None and not target.is_ref else None


def state_kind(ctx: Ctx, st: A.StateDecl) -> str:
    """A state's kind: "value", "arrow-row" or "unknown", following a reference to its owner."""
    decl = owner_decl(ctx, st)
    if decl is None or decl.type is None:
        return "unknown"
    rt = _keyed(ctx, decl.type)
    if rt is None or rt.value is None:
        return "unknown"
    v = unfold(rt.value) if rt.value.kind == "nom" else rt.value
    if v.kind == "arrow-row":
        return "arrow-row"
    if v.kind == "prim":
        return "value"
    return "unknown"


def _keyed(ctx: Ctx, t: A.Type) -> Optional[RT]:
    rt = resolve(t, ctx.env)
    if rt.kind == "nom":
        rt = unfold(rt)
    return rt if rt.kind == "keyed-state" else None


def check_declarations(ctx: Ctx) -> None:
    """E045: a state is a keyed-state with a hashable key and an integer or arrow-row value."""
    decls = [st for svc in ctx.pipe.services.values() for st in svc.states.values()]
    decls += list(ctx.pipe.package_states.values())
    for st in decls:
        if st.is_ref or st.system or st.type is None:
            continue
        rt = resolve(st.type, ctx.env)
        if rt.kind == "?":
            continue  # unknown type: E040 already
        keyed = _keyed(ctx, st.type)
        if keyed is None:
            ctx.error(
                "E045",
                st.type.span,
                f"state `{st.name}` must be a `keyed-state`, found `{rt.describe()}`",
                "declare it as `type: keyed-state` with `properties: {key: {type: string}, value: {type: u32}}`",
            )
            continue
        if keyed.item is not None and not hashable(keyed.item):
            ctx.error(
                "E045",
                _part_span(st.type, "key"),
                f"the key of state `{st.name}` must be hashable, found `{keyed.item.describe()}`",
                "use string, an integer, bool or a float (or an alias of one)",
            )
        v = keyed.value
        if v is None or v.kind == "?":
            continue
        vv = unfold(v) if v.kind == "nom" else v
        if vv.kind == "arrow-row" or vv.kind == "?" or (vv.kind == "prim" and vv.name in INT_VALUE_TYPES):
            continue
        ctx.error(
            "E045",
            _part_span(st.type, "value"),
            f"the value of state `{st.name}` must be an integer (a value state) or an `arrow-row`, found `{v.describe()}`",
            "use `value: {type: u32}` for a counter, or `value: {type: arrow-row, properties: {...}}` for a row",
        )


def _part_span(t: A.Type, part: str):
    sub = getattr(t, part, None)
    return sub.span if sub is not None else t.span


def states_in_scope(ctx: Ctx, svc: Optional[A.Service]) -> dict[str, A.StateDecl]:
    """kebab name -> declaration of every state a function may touch.

    A `from:` reference is in scope under its own key and under the referenced state's name:
    the corpus has `tracker: {from: svc.commentlist}` read as `commentlist()`, and no file
    tells the two apart otherwise."""
    out = {kebab(n): s for n, s in ctx.imported_states.items()}
    for n, s in ctx.pipe.package_states.items():
        out[kebab(n)] = s
    if svc is not None:
        for n, s in svc.states.items():
            if s.is_ref and s.from_ref[1]:
                out.setdefault(kebab(s.from_ref[1]), s)
        for n, s in svc.states.items():
            out[kebab(n)] = s
    return out


def check_function_states(ctx: Ctx) -> None:
    """E078: a function's `states: [{name}]` lists a state that is not in scope."""
    items = [(step.function, where.service) for step, where in ctx.steps()]
    items += [(fn, None) for fn in ctx.pipe.functions.values()]
    for fn, svc in items:
        if not fn.states:
            continue
        scope = states_in_scope(ctx, svc)
        for name in fn.states:
            if name and kebab(name) not in scope:
                ctx.error(
                    "E078",
                    fn.span,
                    f"function `{fn.name}` lists state `{name}`, which is not in scope",
                    ctx.hint(kebab(name), scope, "states in scope", "declare the state under `states:`"),
                )

"""Type definitions and references: every name resolves, none is reserved or defined twice.

types:
  word-count: {type: object, properties: {count: {type: u23}}}   # E040 unknown type `u23`
  object: {type: string}                                         # E041 reserved
"""

from __future__ import annotations

import re
from typing import Optional

from .. import ast as A
from ..syntax.rust_map import rust_to_sdf, unwrap_result
from .context import Ctx, Where, kebab, lines_of, rust_span, service_steps
from .scope import walk_types
from .typesys import resolve

RUST_PRIMITIVES = ("String", "bool", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64", "Vec<u8>")
YAML_PRIMITIVES = tuple(sorted(set(A.PRIMITIVES) | {"s8", "s16", "s32", "s64", "float32", "float64"}))
ARROW_EXTRA = ("timestamp",)


def check_definitions(ctx: Ctx) -> None:
    """E041: a type named like a reserved word or a primitive; E043: one `type-name` for two types."""
    for name, td in ctx.pipe.types.items():
        if name in A.RESERVED_TYPE_NAMES or name in A.PRIMITIVE_ALIASES:
            what = "a reserved word" if name in A.RESERVED_TYPE_NAMES else "the name of a primitive type"
            ctx.error(
                "E041",
                td.span,
                f"`{td.written}` cannot name a type: it is {what}",
                f"rename it, e.g. `{name}-type`, and update the places that use it",
            )
    seen: dict[str, A.Type] = {}
    named = [t for t in ctx.type_nodes if t.type_name]
    for t in sorted(named, key=lambda t: (t.span.line, t.span.col)):
        name = kebab(t.type_name)
        first = seen.setdefault(name, t)
        if first is not t:
            ctx.error(
                "E043",
                t.span,
                f"type name `{t.type_name}` is already given to another type (line {first.span.line})",
                "every `type-name` must be unique in the file; rename one of them",
            )
        elif name in ctx.pipe.types and ctx.pipe.types[name].type is not t:
            ctx.error(
                "E043",
                t.span,
                f"type name `{t.type_name}` is already the name of the type defined at line {ctx.pipe.types[name].span.line}",
                "every `type-name` must be unique in the file; rename the inline one",
            )


def check_arrow_columns(ctx: Ctx) -> None:
    """E044: arrow-row columns are primitives (u8..u64, i8..i64, f32, f64, bool, string, timestamp)."""
    for t in ctx.type_nodes:
        if t.kind != "arrow-row":
            continue
        for f in t.fields:
            ft = f.type
            if (
                ft is None
                or ft.kind == "prim"
                and ft.name in A.ARROW_COLUMN_TYPES
                or ft.kind == "named"
                and ft.name in ARROW_EXTRA
            ):
                continue
            rt = resolve(ft, ctx.env)
            if rt.kind == "?" or rt.kind == "prim" and rt.name in A.ARROW_COLUMN_TYPES:
                continue
            ctx.shape_error(
                "E044",
                ft.span,
                lines_of(ft.span),
                f"arrow-row column `{f.name}` must have a primitive type, found `{rt.describe()}`",
                "columns are u8..u64, i8..i64, f32, f64, bool, string or timestamp; store a composite as a string (e.g. JSON)",
            )


def check_references(ctx: Ctx) -> None:
    """E040: every `type:` written in YAML names a primitive, a defined or an imported type."""
    _check_yaml_types(ctx, ctx.type_nodes, ctx.env)
    for fn in ctx.pipe.functions.values():
        _check_function_types(ctx, fn, Where(None, "function"))
    for svc in ctx.pipe.services.values():
        for step, where in service_steps(svc):
            _check_function_types(ctx, step.function, where)


def _check_yaml_types(ctx: Ctx, nodes, env) -> None:
    for t in nodes:
        if t.kind != "named" or not t.name or t.name == "?":
            continue
        if env.knows(t.name) or (t.name in ARROW_EXTRA and id(t) in ctx.arrow_columns):
            continue
        ctx.error(
            "E040",
            t.span,
            f"unknown type `{t.name}`",
            ctx.hint(
                t.name, list(env.defs) + list(env.opaque) + list(YAML_PRIMITIVES), "types in scope", "define it under `types:`"
            ),
        )


def _check_function_types(ctx: Ctx, fn: A.Function, where: Where) -> None:
    """Types in a step's own declaration: the Rust signature, or `inputs:`/`output:` of a `uses`."""
    env = ctx.env_of(fn)
    if fn.inline is None:
        roots = [p.type for p in fn.inputs] + ([fn.output.type] if fn.output is not None else [])
        _check_yaml_types(ctx, [t for r in roots for t in walk_types(r)], env)
        return
    rust = fn.inline.signature
    if rust is None:
        return
    for rparam, param in zip(rust.params, fn.inputs):
        if not _is_state_param(ctx, param, where):
            _check_rust_type(ctx, fn.inline, rparam.type, param.type, env)
    if rust.ret is not None and fn.output is not None:
        _check_rust_type(ctx, fn.inline, unwrap_result(rust.ret)[0], fn.output.type, env)


def _check_rust_type(ctx: Ctx, code: A.InlineCode, rtype, t: A.Type, env) -> None:
    """E040 for a Rust type with no pipeline equivalent, or naming a type nobody defines."""
    if rust_to_sdf(rtype, code.span) is None:
        ctx.error(
            "E040",
            rust_span(code, rtype),
            f"Rust type `{rtype.text}` has no SDF equivalent",
            "use String, bool, u8..u64, i8..i64, f32, f64, Vec<T>, Option<T>, (Option<K>, V) or a type from `types:`",
        )
        return
    for sub in walk_types(t):
        if sub.kind != "named" or not sub.name or env.knows(sub.name):
            continue
        node = _find_rust_path(rtype, sub.name)
        written = node.name if node is not None else A.pascal(sub.name)
        if re.search(rf"\b(?:struct|enum|type)\s+{re.escape(written)}\b", code.text):
            hint = f"`{written}` is declared inside the `run:` block; a signature type must come from `types:`, which SDF turns into Rust (define `{sub.name}` there)"
        else:
            cands = [A.pascal(n) for n in list(env.defs) + list(env.opaque)] + list(RUST_PRIMITIVES)
            hint = ctx.hint(
                written,
                cands,
                "types in scope",
                f"define `{sub.name}` under `types:` (Rust `{written}` is the type `{sub.name}`)",
            )
        ctx.error(
            "E040",
            rust_span(code, node) if node is not None else sub.span,
            f"unknown type `{written}` in the Rust signature",
            hint,
        )


def _find_rust_path(rtype, kebab_name: str):
    stack = [rtype]
    while stack:
        cur = stack.pop()
        if cur.kind == "path" and cur.name and kebab(cur.name) == kebab_name:
            return cur
        stack.extend(reversed(cur.args))
    return None


def _is_state_param(ctx: Ctx, p: A.Param, where: Where) -> bool:
    """0.1.0 aggregate functions took the whole state as argument: `fn agg(counts: CountPerWord)`.
    Not a type reference; the flush rule (operators) decides whether the version allows it."""
    if where.slot != "flush" or where.service is None or p.type is None or p.type.kind != "named":
        return False
    return any(kebab(s) == p.type.name for s in where.service.states)


# rustc's recursion limit is 128: a chain of 200 nested structs failed here with "overflow
# representing the type `T129`" (E203), 63 built. Half the limit leaves room for the wrappers
# (Option, Vec) each level adds; no real pipeline comes near it.
MAX_TYPE_DEPTH = 64


def check_type_graph(ctx: Ctx) -> None:
    """E082: a type that contains itself (SDF's types are WIT types, which cannot be recursive);
    E083: types nested deeper than MAX_TYPE_DEPTH levels, counting named types and inline ones.
    Walks iteratively: a hostile file cannot exhaust Python's stack here."""
    defs = ctx.pipe.types
    refs: dict[str, list[tuple[str, A.Span, int]]] = {}  # name -> (named type, where, depth there)
    own: dict[str, int] = {}  # the definition's own inline depth
    for name, td in defs.items():
        found, deepest, stack = [], 0, [(td.type, 1)]
        while stack:
            t, depth = stack.pop()
            deepest = max(deepest, depth)
            if t.kind == "named":
                if t.name in defs:
                    found.append((t.name, t.span, depth))
                continue
            children = [f.type for f in t.fields] + [t.item, t.key, t.value]
            stack.extend((c, depth + 1) for c in children if c is not None)
        refs[name], own[name] = found, deepest
    cyclic = _report_cycles(ctx, defs, refs)
    total: dict[str, int] = {}
    for name in _postorder(refs, cyclic):
        total[name] = max([own[name]] + [d - 1 + total[r] for r, _, d in refs[name] if r in total])
    too_deep = {n for n, d in total.items() if d > MAX_TYPE_DEPTH}
    inner = {r for n in too_deep for r, _, _ in refs[n]}
    for name in sorted(too_deep - inner, key=lambda n: (defs[n].span.line, defs[n].span.col)):
        ctx.error(
            "E083",
            defs[name].span,
            f"type `{defs[name].written}` nests {total[name]} levels of types; at most {MAX_TYPE_DEPTH} can be compiled",
            "flatten the type: fewer levels of objects, lists and options inside each other",
        )


def _report_cycles(ctx: Ctx, defs: dict, refs: dict) -> set[str]:
    """One E082 per reference that closes a cycle; returns the names on cycles."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    on_cycle: set[str] = set()
    for root in defs:
        if root in state:
            continue
        path = [root]
        stack = [iter(refs[root])]
        state[root] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            target, span, _ = step
            if state.get(target) == 1:
                cycle = path[path.index(target) :]
                on_cycle.update(cycle)
                chain = " -> ".join(defs[n].written for n in [*cycle, target])
                ctx.error(
                    "E082",
                    span,
                    f"type `{defs[target].written}` contains itself ({chain})",
                    "SDF types cannot be recursive (they become WIT types); break the cycle, "
                    "e.g. keep the id of the related record instead of the record",
                )
            elif target not in state:
                state[target] = 1
                path.append(target)
                stack.append(iter(refs[target]))
    return on_cycle


def _postorder(refs: dict, skip: set[str]) -> list[str]:
    """Names so that every name comes after the names it references (cycles left out)."""
    order, seen = [], set(skip)
    for root in refs:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(refs[root]))]
        while stack:
            name, it = stack[-1]
            step = next(it, None)
            if step is None:
                order.append(name)
                stack.pop()
            elif step[0] not in seen:
                seen.add(step[0])
                stack.append((step[0], iter(refs[step[0]])))
    return order

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

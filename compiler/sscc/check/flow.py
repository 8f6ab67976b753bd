"""Types along every edge of a service, with the record key tracked beside the value.

    source topic value -> per-source transforms -> (merge) -> transforms -> partition | window
                       -> per-sink transforms -> sink topic value

Each step must accept what the previous one produces (E054 value, E055 key); merged sources must
agree (E066); what reaches a sink must be what its topic holds (E067). The key (SDF-FORMAT §8)
starts as the topic's key schema (or no key), is set by assign-key and by any `(Option<K>, V)`
output, and is read by a function with two value arguments. Fills `Checked.step_io`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from .. import ast as A
from .context import Ctx, fn_label
from .model import StepIO
from .operators import output_rt
from .signature import Sig, signature
from .typesys import I64, RT, UNKNOWN, Val, resolve, rust_name, same, unfold


@dataclass
class Rec:
    """What flows on an edge: the value, the key (None: records carry no key), and its origin."""

    value: Val
    key: Optional[Val]
    origin: str  # for messages: "topic `x`", "`split` (flat-map)"


UNKNOWN_REC = Rec(Val(None), None, "")


def check_flow(ctx: Ctx) -> None:
    for svc in ctx.pipe.services.values():
        _service(ctx, svc)


def _service(ctx: Ctx, svc: A.Service) -> None:
    outs = []
    for src in svc.sources:
        rec = _source(ctx, src)
        rec = _run_list(ctx, src.transforms, rec)
        outs.append((src, rec))
    rec = _merge(ctx, svc, outs)
    rec = _run_list(ctx, svc.transforms, rec)
    if svc.partition is not None:
        rec = _partition(ctx, svc.partition, rec)
    if svc.window is not None:
        rec = _window(ctx, svc.window, rec)
    for snk in svc.sinks:
        out = _run_list(ctx, snk.transforms, rec)
        _sink(ctx, svc, snk, out)


# ---------------------------------------------------------------------------- ends


def _source(ctx: Ctx, src: A.Endpoint) -> Rec:
    if src.kind == "schedule":
        return Rec(Val(A.Type("prim", src.span, name="i64"), I64), None, f"schedule `{src.id}`")
    topic = ctx.pipe.topics.get(src.id)
    if topic is None:
        return UNKNOWN_REC
    value = _val(topic.value.type, ctx) if topic.value else Val(None)
    key = _val(topic.key.type, ctx) if topic.key else None
    return Rec(value, key, f"topic `{src.id}`")


def _val(t: Optional[A.Type], ctx: Ctx, env=None) -> Val:
    return Val(t, resolve(t, env or ctx.env)) if t is not None else Val(None)


def _merge(ctx: Ctx, svc: A.Service, outs: list) -> Optional[Rec]:
    """E066: every source of a merging service produces the same type (after its transforms)."""
    known = [(src, rec) for src, rec in outs if rec is not None]
    if not known:
        return None if outs else UNKNOWN_REC
    first_src, first = known[0]
    for src, rec in known[1:]:
        if not same(rec.value.rt, first.value.rt):
            ctx.error(
                "E066",
                src.id_span or src.span,
                f"the sources of service `{svc.name}` disagree: `{src.id}` gives `{rec.value.describe()}`, "
                f"`{first_src.id}` gives `{first.value.describe()}`",
                f"add a map under this source's `transforms:` producing `{first.value.describe()}`",
            )
    if len(known) == 1:
        return first
    keys = {id(r.key) for _, r in known}
    key = first.key if len(keys) == 1 else (Val(None) if any(r.key for _, r in known) else None)
    return Rec(first.value, key, f"the sources of `{svc.name}`")


def _sink(ctx: Ctx, svc: A.Service, snk: A.Endpoint, rec: Optional[Rec]) -> None:
    """E067: what reaches a sink is what its topic holds."""
    topic = ctx.pipe.topics.get(snk.id) if snk.kind == "topic" else None
    if topic is None or rec is None:
        return
    if topic.value is not None:
        want = _val(topic.value.type, ctx)
        if not same(rec.value.rt, want.rt):
            ctx.error(
                "E067",
                snk.id_span or snk.span,
                f"topic `{snk.id}` holds `{want.describe()}`, but {rec.origin} gives `{rec.value.describe()}`",
                f"add `transforms:` to this sink producing `{want.describe()}`, or change the topic's type",
            )
    if topic.key is not None and rec.key is not None:
        want = _val(topic.key.type, ctx)
        if not same(rec.key.rt, want.rt):
            ctx.error(
                "E067",
                snk.id_span or snk.span,
                f"topic `{snk.id}` has keys of type `{want.describe()}`, but the records reaching it have `{rec.key.describe()}` keys",
                f"return `(Option<{rust_name(want.rt)}>, T)` from the last map, or change the topic's key type",
            )


# ---------------------------------------------------------------------------- middles


def _run_list(ctx: Ctx, steps: list, rec: Optional[Rec]) -> Optional[Rec]:
    for st in steps:
        rec = _step(ctx, st, rec)
    return rec


def _partition(ctx: Ctx, part: A.Partition, rec: Optional[Rec]) -> Optional[Rec]:
    steps = ([part.assign_key] if part.assign_key else []) + part.transforms + ([part.update_state] if part.update_state else [])
    return _run_list(ctx, steps, rec)


def _window(ctx: Ctx, w: A.Window, rec: Optional[Rec]) -> Optional[Rec]:
    if w.assign_timestamp is not None:
        rec = _step(ctx, w.assign_timestamp, rec)
    rec = _run_list(ctx, w.transforms, rec)
    if w.partition is not None:
        rec = _partition(ctx, w.partition, rec)
    if w.flush is None:
        return rec
    return _step(ctx, w.flush, rec)


def _step(ctx: Ctx, step: A.Step, rec: Optional[Rec]) -> Optional[Rec]:
    op = step.operator
    if op == "flush":
        return _flush(ctx, step)
    if rec is None:  # nothing flows here (after update-state)
        ctx.out.step_io[step.loc] = StepIO(None, None)
        return None
    if op not in A.OPERATORS:
        ctx.out.step_io[step.loc] = StepIO(rec.value.ast, None, _ast(rec.key), None)
        return Rec(Val(None), rec.key and Val(None), f"`{fn_label(step.function)}`")
    sig = signature(ctx, step)
    if sig.known_inputs:
        _check_inputs(ctx, step, sig, rec)
    out = _output(ctx, step, sig, rec)
    ctx.out.step_io[step.loc] = StepIO(
        rec.value.ast, out.value.ast if out else None, _ast(rec.key), _ast(out.key) if out else None
    )
    return out


def _flush(ctx: Ctx, step: A.Step) -> Rec:
    sig = signature(ctx, step)
    value = _output_value(sig) if sig.known_output and sig.out is not None else Val(None)
    key = None
    if _is_kv(value.rt):
        value, key = _split_kv(value, sig)
    null = A.Type("null", step.span)
    ctx.out.step_io[step.loc] = StepIO(null, value.ast, None, _ast(key))
    return Rec(value, key, f"`{fn_label(step.function)}` (flush)")


def _check_inputs(ctx: Ctx, step: A.Step, sig: Sig, rec: Rec) -> None:
    own = sig.fn is step.function
    name = fn_label(step.function)
    if step.operator == "assign-timestamp":
        value_param = sig.params[0] if sig.params else None
    else:
        value_param = sig.values[0] if len(sig.values) == 1 else None
    if value_param is not None:
        want = resolve(value_param.type, sig.env)
        if not same(want, rec.value.rt):
            fix = (
                f"declare the parameter as `{value_param.name or 'value'}: {rust_name(rec.value.rt)}`"
                if sig.inline and rust_name(rec.value.rt) != "_"
                else f"add a map before it turning `{rec.value.describe()}` into `{want.describe()}`"
            )
            ctx.error(
                "E054",
                (value_param.span if own and value_param.span else step.span),
                f"`{name}` takes `{want.describe()}`, but {rec.origin} gives `{rec.value.describe()}`",
                fix,
            )
    if sig.key is not None and rec.key is not None and step.operator != "assign-timestamp":
        want = resolve(sig.key.type, sig.env)
        if not same(want, rec.key.rt):
            ctx.error(
                "E055",
                (sig.key.span if own and sig.key.span else step.span),
                f"`{name}` reads a key of type `{want.describe()}`, but the records here have `{rec.key.describe()}` keys",
                (
                    f"declare the key parameter as `Option<{rust_name(rec.key.rt)}>`"
                    if sig.inline
                    else "convert the key with a map first"
                ),
            )


def _output(ctx: Ctx, step: A.Step, sig: Sig, rec: Rec) -> Optional[Rec]:
    op = step.operator
    name = f"`{fn_label(step.function)}` ({op})"
    if op in ("filter", "assign-timestamp"):
        return replace(rec, origin=name)
    if op == "update-state":
        return None
    if not sig.known_output or sig.out is None:
        return Rec(Val(None), Val(None) if (rec.key is not None or op == "assign-key") else None, name)
    value = _output_value(sig)
    if op == "assign-key":
        return Rec(rec.value, value, name)
    if op in ("filter-map", "flat-map"):
        value = _unwrap(value, "option" if op == "filter-map" else "list")
    key = rec.key
    if _is_kv(value.rt):
        value, key = _split_kv(value, sig)
    return Rec(value, key, name)


def _output_value(sig: Sig) -> Val:
    """The declared output as one Val, `optional`/`list` flags folded into the type."""
    t = sig.out.type
    rt = output_rt(sig)
    if sig.out.optional and t.kind != "option":
        t = A.Type("option", t.span, item=t)
    if sig.out.list:
        t = A.Type("list", t.span, item=t)
    return Val(t, rt)


def _unwrap(v: Val, kind: str) -> Val:
    rt = v.rt
    if rt.kind == "nom":
        rt = unfold(rt)
    if rt.kind != kind:
        return Val(None)  # the operator rule reported it (E057/E058)
    t = v.ast
    item_ast = t.item if t is not None and t.kind == kind else None
    if item_ast is not None and item_ast.optional and kind == "option":
        item_ast = replace(item_ast, optional=False)
    return Val(item_ast, rt.item or UNKNOWN)


def _is_kv(rt: RT) -> bool:
    return rt.kind == "kv" or (rt.kind == "nom" and unfold(rt).kind == "kv")


def _split_kv(v: Val, sig: Sig) -> tuple[Val, Optional[Val]]:
    """`(Option<K>, V)` -> (V, K): the output sets the record key."""
    rt = unfold(v.rt) if v.rt.kind == "nom" else v.rt
    t = v.ast
    if t is not None and t.kind == "named":
        t = sig.env.defs.get(t.name)
    key_ast = t.key if t is not None and t.kind == "key-value" else None
    value_ast = t.value if t is not None and t.kind == "key-value" else None
    key_rt = rt.item or UNKNOWN
    if key_rt.kind == "option":
        key_rt = key_rt.item or UNKNOWN
        key_ast = key_ast.item if key_ast is not None and key_ast.kind == "option" else key_ast
    return Val(value_ast, rt.value or UNKNOWN), Val(key_ast, key_rt)


def _ast(v: Optional[Val]) -> Optional[A.Type]:
    return v.ast if v is not None else None

"""The signature of a step's function, however it was given, in one shape for every rule.

Inline Rust gives it through the `fn` line (build_ast turned it into inputs/output already);
`uses:` gives it through the package's declaration when the package was loaded, else through the
`inputs:`/`output:` the file itself writes, else not at all (`known` False: nothing is checked).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

from .. import ast as A
from ..diagnostics import Span
from ..syntax.rust_map import unwrap_result
from .context import Ctx, fn_span, rust_span
from .typesys import Env


@dataclass
class Sig:
    fn: A.Function  # the function that declares the signature (the package's one for `uses`)
    env: Env
    span: Span  # where to point at the function
    key: Optional[A.Param] = None
    values: list[A.Param] = field(default_factory=list)
    out: Optional[A.Output] = None
    known_inputs: bool = True
    known_output: bool = True
    returns_result: Optional[bool] = None  # inline Rust only
    inline: bool = False
    ret_span: Optional[Span] = None  # inline Rust: the `T` of `-> Result<T>` (or the bare return type)

    @property
    def params(self) -> list[A.Param]:
        return ([self.key] if self.key else []) + self.values


def declared_kind(fn: A.Function) -> str:
    """A package function's `operator:` as a step operator: `aggregate` is flush, `_` is `-`."""
    op = (fn.declared_operator or "").replace("_", "-")
    return "flush" if op == "aggregate" else op


def signature(ctx: Ctx, step: A.Step) -> Sig:
    hit = ctx.sigs.get(id(step))
    if hit is None:
        hit = ctx.sigs[id(step)] = _signature(ctx, step)
    return hit


def _signature(ctx: Ctx, step: A.Step) -> Sig:
    fn = step.function
    if fn.inline is not None:
        sig = Sig(fn, ctx.env_of(fn), fn_span(fn), inline=True)
        rust = fn.inline.signature
        if rust is None:
            sig.known_inputs = sig.known_output = False
            return sig
        if rust.ret is not None:
            inner, _err, sig.returns_result = unwrap_result(rust.ret)
            sig.ret_span = rust_span(fn.inline, inner)
        return _split(sig, fn)
    decl = ctx.out.functions.get(fn.uses) if fn.uses else None
    if decl is not None and decl.resolved:
        return _split(Sig(decl, ctx.env_of(decl), fn.span), decl, step.operator)
    sig = Sig(fn, ctx.env_of(fn), fn.span)
    sig.known_inputs = bool(fn.inputs)
    sig.known_output = fn.output is not None
    return _split(sig, fn, step.operator)


def _split(sig: Sig, fn: A.Function, operator: str = "") -> Sig:
    for p in fn.inputs:
        if p.kind == "key" and sig.key is None and not sig.values:
            sig.key = p
        else:
            sig.values.append(p)
    sig.out = fn.output
    if fn.inline is None:
        if fn.output is None and sig.known_output:
            # a declaration without `output:` returns nothing (update-state), as in SDF's parser
            sig.out = A.Output(A.Type("null", fn.span), span=fn.span)
        elif operator == "flat-map" and fn.output is not None and not fn.output.list and fn.output.type.kind != "list":
            # declarations name the element type of a flat-map (`list: true` is optional)
            sig.out = replace(fn.output, list=True)
    return sig

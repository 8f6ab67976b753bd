"""Operator rules: where each operator may stand, how many arguments it takes, what it returns.

    - operator: filter
      run: |
        fn long(s: String) -> Result<String> { .. }     # E056 a filter returns bool

| operator          | arguments                 | returns                    |
|-------------------|---------------------------|----------------------------|
| map               | [key,] value              | T or (Option<K>, T)        |
| filter            | [key,] value              | bool                       |
| filter-map        | [key,] value              | Option<T>                  |
| flat-map          | [key,] value              | Vec<T>                     |
| assign-key        | [key,] value              | a hashable K               |
| assign-timestamp  | value, i64                | i64                        |
| update-state      | [key,] value              | ()                         |
| flush             | (none)                    | T                          |

`Result<T>` and `Result<T, E>` both wrap the return value; a bare `T` is accepted with W040.
"""

from __future__ import annotations

from .. import ast as A
from ..syntax import SyntaxProblem
from ..syntax import rust as rust_syntax
from .context import Ctx, Where, fn_label, kebab, lines_of
from .signature import Sig, declared_kind, signature
from .typesys import RT, hashable, resolve


def check_positions(ctx: Ctx) -> None:
    """E052: a slot operator written as a `transforms:` item, or update-state not last."""
    for step, where in ctx.steps():
        op = step.operator
        if not where.listed or op in A.STEP_OPERATORS or op not in A.OPERATORS:
            continue
        if op == "update-state" and where.in_partition and where.last and where.partition.update_state is None:
            continue  # the 0.4 (preview 7) shape: update-state as the last partition transform
        ctx.shape_error(
            "E052", step.span, lines_of(step.span), f"`{op}` cannot be a `transforms:` item here", _position_hint(op, where)
        )


def _position_hint(op: str, where: Where) -> str:
    if op == "update-state":
        if where.in_partition:
            return "update-state ends the partition: move it to `partition: update-state:` (or make it the last transform)"
        return "update-state needs a key: put it under `partition: {assign-key: ..., update-state: ...}`"
    if op == "assign-key":
        return "write it as `partition: assign-key:`"
    if op == "assign-timestamp":
        return "write it as `window: assign-timestamp:`"
    return "write it as `window: flush:`"


def check_declared_kind(ctx: Ctx) -> None:
    """E050: an imported function used as another operator than the one its package declares."""
    for step, _where in ctx.steps():
        fn = step.function
        if fn.inline is not None or not fn.uses:
            continue
        decl = ctx.out.functions.get(fn.uses)
        if decl is None or not decl.resolved or not decl.declared_operator:
            continue
        declared = declared_kind(decl)
        if declared in A.OPERATORS and step.operator in A.OPERATORS and declared != step.operator:
            ctx.error(
                "E050",
                step.span,
                f"function `{fn.uses}` is a `{declared}` function, used here as `{step.operator}`",
                f"use it as `operator: {declared}`, or use a function declared as `{step.operator}`",
            )


def check_signatures(ctx: Ctx) -> None:
    """E053 arity; E056-E062 what each operator returns/takes; W040 a return outside `Result`."""
    for step, where in ctx.steps():
        if step.operator in A.OPERATORS:
            _check_step(ctx, step, where)
    for fn in ctx.pipe.functions.values():
        op = declared_kind(fn)
        if op in A.OPERATORS:
            step = A.Step(operator=op, function=fn, span=fn.span, loc=f"functions/{fn.name}")
            _check_step(ctx, step, Where(None, "function"))


def _check_step(ctx: Ctx, step: A.Step, where: Where) -> None:
    sig = signature(ctx, step)
    code = step.function.inline
    if code is not None and code.lang == "rust" and code.signature is None and not _syntax_reported(ctx, code):
        _no_operator_function(ctx, step, code)
    own = sig.fn is step.function  # declared in this file (spans point here)
    op = step.operator
    if sig.known_inputs:
        _arity(ctx, step, sig, where, own)
    if sig.known_output and sig.out is not None:
        _returns(ctx, step, sig, own)
    if sig.inline and sig.returns_result is False:
        ctx.warning(
            "W040",
            sig.ret_span or sig.span,
            f"the {op} function `{fn_label(step.function)}` does not return `Result`",
            "SDF's generated glue calls operator functions as `-> Result<T>`; wrap the return type and value in `Ok(..)`",
        )


def _no_operator_function(ctx: Ctx, step: A.Step, code: A.InlineCode) -> None:
    """E080: several top-level functions and none of them is the operator (build_ast left it)."""
    try:
        names = [f"`{f.name}`" for f in rust_syntax.parse_functions(code.text)]
    except SyntaxProblem:
        names = []
    ctx.error(
        "E080",
        code.span,
        f"cannot tell which function of this `run:` block is the {step.operator} operator"
        + (f": {', '.join(names)} do not call each other" if len(names) > 1 else ""),
        "SDF reads one function per block: nest helper functions inside the operator function",
    )


def _syntax_reported(ctx: Ctx, code: A.InlineCode) -> bool:
    """build_ast already reported this block's signature as unreadable (E030)."""
    last = code.line + code.text.count("\n")
    return any(d.code == "E030" and code.line <= d.span.line <= last for d in ctx.diags.items)


def _arity(ctx: Ctx, step: A.Step, sig: Sig, where: Where, own: bool) -> None:
    op = step.operator
    params = sig.params
    span = sig.span if own else step.span
    if op == "flush":
        if not params:
            return
        if _state_params(ctx, params, where):
            if ctx.pipe.upgraded_from == "0.1.0":
                return
            ctx.error(
                "E062",
                params[0].span if own and params[0].span else span,
                "a flush function takes no arguments; the state is read through its accessor",
                f"remove the parameter and call `{A.snake(params[0].type.name)}()` inside the function (the 0.1.0 form passed the state in)",
            )
            return
        ctx.error(
            "E062",
            params[0].span if own and params[0].span else span,
            f"a flush function takes no arguments, `{fn_label(step.function)}` takes {len(params)}",
            "flush runs when the window closes, with no record: read what you need from the state",
        )
        return
    if op == "assign-timestamp":
        if len(params) != 2:
            ctx.error(
                "E053",
                span,
                f"an assign-timestamp function takes 2 arguments (value, event time), `{fn_label(step.function)}` takes {len(params)}",
                "write it as `fn f(value: T, event_time: i64) -> Result<i64>`",
            )
            return
        t = resolve(params[1].type, sig.env)
        if not _is(t, "i64"):
            ctx.error(
                "E060",
                params[1].span if own and params[1].span else span,
                f"the second argument of an assign-timestamp function is the event time, an `i64`; found `{t.describe()}`",
                f"declare it as `{params[1].name or 'event_time'}: i64`",
            )
        return
    n = len(sig.values)
    if n == 1:
        return
    if n == 0:
        msg = f"a {op} function takes the record value as argument, `{fn_label(step.function)}` takes none"
        hint = "add the value parameter: `fn f(value: T)` (optionally after the key: `fn f(key: Option<K>, value: T)`)"
    else:
        msg = f"a {op} function takes 1 or 2 arguments ([key,] value), `{fn_label(step.function)}` takes {len(params)}"
        hint = "keep the value parameter, optionally preceded by the key `Option<K>`"
    ctx.error("E053", span, msg, hint)


def _state_params(ctx: Ctx, params: list[A.Param], where: Where) -> bool:
    svc = where.service
    if svc is None:
        return False
    names = {kebab(n) for n in svc.states}
    return all(p.type is not None and p.type.kind == "named" and p.type.name in names for p in params)


def _is(t: RT, name: str) -> bool:
    return t.kind == "?" or (t.kind == "prim" and t.name == name)


def output_rt(sig: Sig) -> RT:
    """What the function returns as one type (option/list wrappers of the declaration applied)."""
    rt = resolve(sig.out.type, sig.env)
    if sig.out.optional and rt.kind not in ("option", "?"):
        rt = RT("option", item=rt)
    if sig.out.list and rt.kind != "?":
        rt = RT("list", item=rt)
    return rt


def _returns(ctx: Ctx, step: A.Step, sig: Sig, own: bool) -> None:
    op = step.operator
    rt = output_rt(sig)
    if rt.kind == "?":
        return
    span = (sig.ret_span or sig.out.span or sig.span) if own else step.span
    name = fn_label(step.function)
    found = rt.describe()
    if op == "filter" and not _is(rt, "bool"):
        ctx.error(
            "E056",
            span,
            f"a filter function returns `bool`, `{name}` returns `{found}`",
            "return `Result<bool>`; use filter-map to change the value",
        )
    elif op == "filter-map" and rt.kind != "option":
        ctx.error(
            "E057",
            span,
            f"a filter-map function returns an `Option`, `{name}` returns `{found}`",
            "return `Result<Option<T>>` (`None` drops the record), or use `operator: map`",
        )
    elif op == "flat-map" and rt.kind != "list":
        ctx.error(
            "E058",
            span,
            f"a flat-map function returns a list, `{name}` returns `{found}`",
            "return `Result<Vec<T>>` (one output record per item), or use `operator: map`",
        )
    elif op == "assign-key" and not hashable(rt):
        ctx.error(
            "E059",
            span,
            f"an assign-key function returns a hashable key, `{name}` returns `{found}`",
            "return a String, an integer, a bool or a float (e.g. a field of the value)",
        )
    elif op == "assign-timestamp" and not _is(rt, "i64"):
        ctx.error(
            "E060",
            span,
            f"an assign-timestamp function returns the timestamp as `i64` (ms), `{name}` returns `{found}`",
            "return `Result<i64>`",
        )
    elif op == "update-state" and rt.kind != "null":
        ctx.error(
            "E061",
            span,
            f"an update-state function returns nothing, `{name}` returns `{found}`",
            "return `Result<()>`: update-state ends the partition, its value goes nowhere",
        )

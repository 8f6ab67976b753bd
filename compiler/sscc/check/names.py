"""Names that must resolve or stay distinct: topics, schedules, `uses`, operators, duplicates.

sources: [{type: topic, id: sentense}]      # E046 unknown topic, did you mean `sentence`?
transforms: [{operator: flatmap, ...}]      # E051 unknown operator, did you mean `flat-map`?
services: {word-count: ..., word_count: ...} # E042 both are `word-count` once normalised
"""

from __future__ import annotations

from typing import Iterable

from .. import ast as A
from ..diagnostics import Span
from .context import Ctx, fn_span, kebab, lines_of, service_steps
from .signature import declared_kind

LEGACY_OPERATORS = {"group-by": "assign-key", "process": "update-state", "aggregate": "flush"}


def check_endpoints(ctx: Ctx) -> None:
    """E046/E047: a source or sink reads a topic (or schedule) the file does not define."""
    topics = ctx.pipe.topics
    for svc in ctx.pipe.services.values():
        for ep in list(svc.sources) + list(svc.sinks):
            if ep.kind == "schedule":
                if ep.id not in ctx.pipe.schedules:
                    ctx.error(
                        "E047",
                        ep.id_span or ep.span,
                        f"unknown schedule `{ep.id}`",
                        ctx.hint(ep.id, ctx.pipe.schedules, "schedules defined", "define it under `schedule:` with a `cron:`"),
                    )
            elif ep.id not in topics and ep.id:
                ctx.error(
                    "E046",
                    ep.id_span or ep.span,
                    f"unknown topic `{ep.id}`",
                    ctx.hint(ep.id, topics, "topics defined", "define it under `topics:`"),
                )


def check_uses(ctx: Ctx) -> None:
    """E048: `uses:` names a function no import (or, in a package, no definition) provides.
    A step using a function of a package that could not be loaded is marked `resolved=False`."""
    known = set(ctx.out.functions) | set(ctx.pipe.functions)
    aliases = {kebab(i.name): kebab(i.alias) for imp in ctx.pipe.imports for i in imp.functions if i.alias}
    for step, _where in ctx.steps():
        name = step.function.uses
        if not name or step.function.inline is not None:
            continue
        if name in known:
            decl = ctx.out.functions.get(name)
            if decl is not None and not decl.resolved:
                step.function.resolved = False
            continue
        hint = f"it is imported as `{aliases[name]}`; write `uses: {aliases[name]}`" if name in aliases else None
        ctx.error(
            "E048",
            step.function.uses_span or step.span,
            f"unknown function `{name}` in `uses`",
            hint
            or ctx.hint(
                name,
                known,
                "imported functions",
                "import it: `imports: [{pkg: ns/name@version, functions: [{name: " + name + "}]}]`",
            ),
        )


def check_operators(ctx: Ctx) -> None:
    """E051: an operator name SDF does not have."""
    for step, _where in ctx.steps():
        op = step.operator
        if not op or op in A.OPERATORS:
            continue
        if op in LEGACY_OPERATORS:
            hint = f"`{op}` is the preview name of `{LEGACY_OPERATORS[op]}`"
        else:
            hint = ctx.hint(op, A.STEP_OPERATORS, "operators are", None)
        ctx.shape_error("E051", step.span, lines_of(step.span), f"unknown operator `{op}`", hint)
    for fn in ctx.pipe.functions.values():
        op = declared_kind(fn)
        if op and op not in A.OPERATORS:
            ctx.error(
                "E051",
                fn.span,
                f"unknown operator `{fn.declared_operator}`",
                ctx.hint(op, A.OPERATORS + ("aggregate",), "operators are"),
            )


def check_duplicates(ctx: Ctx) -> None:
    """E042: names that differ only in spelling collide once SDF normalises them to kebab-case."""
    pipe = ctx.pipe
    _collisions(ctx, "service", ((n, s.span) for n, s in pipe.services.items()))
    _collisions(ctx, "topic", ((n, t.span) for n, t in pipe.topics.items()))
    _collisions(ctx, "schedule", ((n, s.span) for n, s in pipe.schedules.items()))
    _collisions(ctx, "state", ((n, s.span) for n, s in pipe.package_states.items()))
    _collisions(ctx, "type", pipe.written_names.get("type", ()))
    _collisions(ctx, "function", pipe.written_names.get("function", ()))
    for svc in pipe.services.values():
        _collisions(ctx, f"state of service `{svc.name}`", ((n, s.span) for n, s in svc.states.items()))
        inline = [
            (step.function.name, fn_span(step.function))
            for step, _w in service_steps(svc)
            if step.function.inline is not None and step.function.inline.signature is not None and step.function.name
        ]
        _collisions(ctx, f"function of service `{svc.name}`", inline, exact_too=True)


def _collisions(ctx: Ctx, what: str, items: Iterable[tuple[str, Span]], exact_too: bool = False) -> None:
    first: dict[str, tuple[str, Span]] = {}
    for name, span in items:
        k = kebab(name)
        if k not in first:
            first[k] = (name, span)
            continue
        other, ospan = first[k]
        if other == name and not exact_too:
            continue
        same = (
            f"`{name}` is already defined"
            if other == name
            else f"`{name}` and `{other}` are the same name once normalised to `{k}`"
        )
        ctx.error(
            "E042",
            span,
            f"duplicate {what}: {same} (line {ospan.line})",
            "SDF compares names in kebab-case (`my_name`, `MyName` and `my-name` are one name); rename one",
        )

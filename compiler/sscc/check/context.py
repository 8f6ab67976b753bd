"""What every rule reads and writes: the file, its packages, the diagnostics, and the result.

Rules are plain functions `rule(ctx) -> None` run in order by `sscc.check.check`; the early ones
(scope) fill in what later ones look up (types, imported functions, states per service, each
step's signature), so no rule resolves a name twice and no rule depends on a later one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterator, Optional

from .. import ast as A
from ..diagnostics import Diagnostics, Span, suggest, suggestions_spent
from .model import Checked
from .typesys import Env


@functools.lru_cache(maxsize=None)
def kebab(name: str) -> str:
    """sscc.ast.kebab, memoised: the rules normalise the same few names over and over."""
    return A.kebab(name)


@dataclass
class Where:
    """Where a step sits: its service (None in a package) and the slot it fills."""

    service: Optional[A.Service]
    slot: str  # "source" | "transforms" | "partition" | "window" | "flush" | "sink" | "function"
    index: int = 0  # position in its transforms list
    last: bool = False  # last item of its transforms list
    in_partition: bool = False
    listed: bool = False  # an item of a `transforms:` list (not a named slot)
    partition: Optional[A.Partition] = None  # the partition the step is in


@dataclass
class Ctx:
    pipe: A.Pipeline
    packages: dict[str, A.Pipeline]
    diags: Diagnostics
    out: Checked
    env: Env = field(default_factory=lambda: Env("<file>"))
    fn_envs: dict[int, Env] = field(default_factory=dict)  # id(Function) -> Env its types resolve in
    imported_states: dict[str, A.StateDecl] = field(default_factory=dict)  # kebab -> decl (packages)
    sigs: dict = field(default_factory=dict)  # id(Step) -> signature.Sig, filled on first use
    type_nodes: list = field(default_factory=list)  # every type expression in the file, nested ones too
    arrow_columns: set = field(default_factory=set)  # id() of the types of arrow-row columns
    _steps: Optional[list] = None

    # ------------------------------------------------------------------ reporting

    def error(self, code: str, span: Optional[Span], message: str, hint: Optional[str] = None, notes=()) -> None:
        self.diags.error(code, span or self.file_span, message, hint, notes)

    def warning(self, code: str, span: Optional[Span], message: str, hint: Optional[str] = None, notes=()) -> None:
        self.diags.warning(code, span or self.file_span, message, hint, notes)

    def shape_error(self, code: str, span: Span, lines: tuple[int, int], message: str, hint: Optional[str] = None) -> None:
        """A structural error the JSON Schema stage (E010-E029) may have reported on these lines
        already: the checker repeats nothing, but still reports it when check() runs alone."""
        first, last = lines
        for d in self.diags.items:
            if d.code[0] == "E" and 10 <= int(d.code[1:]) <= 29 and d.span.path == self.pipe.path and first <= d.span.line <= last:
                return
        self.error(code, span, message, hint)

    @property
    def file_span(self) -> Span:
        return Span(self.pipe.path, 1, 1)

    @staticmethod
    def hint(name: str, candidates, listing: str, fallback: Optional[str] = None) -> Optional[str]:
        """`did you mean `x`?` for a close candidate, else `<listing>: `a`, `b``, else fallback."""
        if suggestions_spent(candidates):
            return fallback
        cands = sorted({c for c in candidates if isinstance(c, str)})
        best = suggest(name, cands)
        if best is not None:
            return f"did you mean `{best}`?"
        if cands:
            more = f" and {len(cands) - 8} more" if len(cands) > 8 else ""
            return f"{listing}: " + ", ".join(f"`{c}`" for c in cands[:8]) + more
        return fallback

    # ------------------------------------------------------------------ walking

    def steps(self) -> list[tuple[A.Step, Where]]:
        """Every step of every service, in pipeline order, with where it sits."""
        if self._steps is None:
            self._steps = [sw for svc in self.pipe.services.values() for sw in service_steps(svc)]
        return self._steps

    def env_of(self, fn: A.Function) -> Env:
        return self.fn_envs.get(id(fn), self.env)


def _listed(steps: list, svc, slot, part=None):
    n = len(steps)
    for i, st in enumerate(steps):
        yield st, Where(svc, slot, i, i == n - 1, part is not None, listed=True, partition=part)


def service_steps(svc: A.Service) -> Iterator[tuple[A.Step, Where]]:
    for src in svc.sources:
        yield from _listed(src.transforms, svc, "source")
    yield from _listed(svc.transforms, svc, "transforms")
    if svc.partition:
        yield from partition_steps(svc.partition, svc)
    if svc.window:
        w = svc.window
        if w.assign_timestamp:
            yield w.assign_timestamp, Where(svc, "window")
        yield from _listed(w.transforms, svc, "window")
        if w.partition:
            yield from partition_steps(w.partition, svc)
        if w.flush:
            yield w.flush, Where(svc, "flush")
    for snk in svc.sinks:
        yield from _listed(snk.transforms, svc, "sink")


def partition_steps(part: A.Partition, svc: A.Service) -> Iterator[tuple[A.Step, Where]]:
    if part.assign_key:
        yield part.assign_key, Where(svc, "partition", in_partition=True, partition=part)
    yield from _listed(part.transforms, svc, "partition", part)
    if part.update_state:
        yield part.update_state, Where(svc, "partition", last=True, in_partition=True, partition=part)


def lines_of(*spans: Optional[Span]) -> tuple[int, int]:
    """The first and last line a group of nodes covers."""
    real = [s for s in spans if s is not None and s.line]
    if not real:
        return (0, 0)
    return min(s.line for s in real), max(max(s.end_line, s.line) for s in real)


def window_lines(w: A.Window) -> tuple[int, int]:
    steps = [w.assign_timestamp, w.flush, *w.transforms]
    if w.partition:
        steps += [w.partition.assign_key, w.partition.update_state, *w.partition.transforms]
    return lines_of(w.span, w.partition.span if w.partition else None, *(st.span for st in steps if st))


def service_lines(svc: A.Service) -> tuple[int, int]:
    spans = [svc.span, *(e.span for e in svc.sources + svc.sinks), *(st.span for _w, st in svc.all_steps())]
    spans += [s.span for s in svc.states.values()]
    if svc.partition:
        spans.append(svc.partition.span)
    if svc.window:
        spans.append(Span(svc.span.path, *window_lines(svc.window)))
    return lines_of(*spans)


def fn_label(fn: A.Function) -> str:
    """A function as the user wrote it: the Rust name of inline code, else the `uses` name."""
    sig = fn.inline.signature if fn.inline else None
    return getattr(sig, "name", None) or fn.uses or fn.name or "?"


def fn_span(fn: A.Function) -> Span:
    """The function's own position: its Rust `fn` line for inline code, else the step."""
    code = fn.inline
    sig = code.signature if code else None
    if sig is not None and getattr(sig, "line", None):
        return code_span(code, sig.line, sig.col, len(sig.name))
    return fn.span


def code_span(code: A.InlineCode, line: int, col: int, length: int = 0) -> Span:
    """A 1-based (line, col) inside a `run:` block -> its position in the YAML file."""
    fl = code.line + line - 1
    fc = code.col + col - 1
    return Span(code.span.path, fl, fc, fl, fc + length if length else 0)


def rust_span(code: A.InlineCode, rtype) -> Span:
    """Where a sscc.syntax RustType (block-relative line/col) is written in the YAML file."""
    length = len(rtype.name) if rtype.kind == "path" and not rtype.args else len(rtype.text) if "\n" not in rtype.text else 0
    return code_span(code, rtype.line or 1, rtype.col or 1, length)

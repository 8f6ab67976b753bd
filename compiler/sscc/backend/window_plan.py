"""Stage planning of a windowed service (docs/semantics.md, docs/state-design.md §3).

The optimized IR of a windowed service is

    Source -> Decode -> transforms -> AssignTimestamp -> Window -> window transforms
           -> AssignKey -> partition transforms -> UpdateState ~~close~~> Flush -> Encode -> Sink

and becomes three groups of stages:

- the steps before `assign-timestamp`, placed as in any service (stages.place);
- the *window stage*: assign-timestamp through update-state as ONE export. Its glue classifies
  every record against the watermark right after assign-timestamp (late records become error
  entries of kind `late`) and runs the rest once per window the record counts in, with the
  state scoped to that window. It emits nothing. With one source it is joined with the stage
  before it (one guest call per batch); with several it runs on the merged stream ("service");
- the *flush stage* (place "flush", first of its place): the runtime calls it with one frame per
  closing window; it runs the user's flush (if any) and drops the window's state. Steps after the
  flush (encode, per-sink steps) are "flush" stages (every sink) or "sink" stages.

`WindowPlan` holds the window's constants and which stages are the window and flush stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..ir.nodes import CLOSE, IR, AssignTimestamp, Encode, Flush, FnNode, Fused, Node, Sink, Source, State, Window
from .stages import JOINED, PLACE_ORDER, ServicePlan, Stage, _join_partition, _joined_ends, _last_input, _parts, member_name, place


@dataclass(frozen=True)
class WindowPlan:
    node: Window  # the IR node: kind, duration, slide, offset, watermark
    stage: int  # index of the window stage (export sscc_stage_<stage>)
    flush: int  # index of the flush stage

    @property
    def slide_ms(self) -> int:
        return self.node.slide_ms if self.node.kind == "sliding" and self.node.slide_ms else self.node.duration_ms

    @property
    def offset_ms(self) -> int:
        return self.node.offset_ms or 0

    @property
    def grace_ms(self) -> int:
        wm = self.node.watermark
        return (wm.grace_period_ms if wm and wm.grace_period_ms is not None else 0) or 0

    @property
    def idleness_ms(self) -> int:
        """Default: the window's slide (its duration when tumbling), docs/semantics.md."""
        wm = self.node.watermark
        return wm.idleness_ms if wm and wm.idleness_ms is not None else self.slide_ms


def _forward(ir: IR, start: Node, follow_close: bool) -> list[str]:
    """Ids of the service's nodes reachable from `start` (itself included), in topological order."""
    seen, todo = {start.id}, [start.id]
    while todo:
        nid = todo.pop()
        for e in ir.out_edges(nid):
            if (follow_close or e.kind != CLOSE) and e.dst not in seen and ir.node(e.dst).service == start.service:
                seen.add(e.dst)
                todo.append(e.dst)
    return [n.id for n in ir.nodes_of_service(start.service) if n.id in seen]


def _refuse(service: str, sources, sinks, why: str) -> ServicePlan:
    return ServicePlan(service, sources, sinks, (), (why,))


def plan_windowed(
    ir: IR, service: str, nodes: list[Node], sources: tuple[Source, ...], sinks: tuple[Sink, ...], states: tuple[State, ...]
) -> ServicePlan:
    window = next(n for n in nodes if isinstance(n, Window))
    if window.kind not in ("tumbling", "sliding") or not window.duration_ms:
        return _refuse(service, sources, sinks, "the window has no tumbling or sliding duration")
    stamps = [ir.node(e.src) for e in ir.in_edges(window.id)]
    if len(stamps) != 1 or not isinstance(stamps[0], AssignTimestamp):
        return _refuse(service, sources, sinks, "the window is not fed by one assign-timestamp step")
    stamp = stamps[0]
    flush = next((n for n in nodes if isinstance(n, Flush)), None)
    region_ids = [i for i in _forward(ir, stamp, follow_close=False) if not isinstance(ir.node(i), Sink)]
    region = [ir.node(i) for i in region_ids]
    if any(isinstance(m, (Encode, Flush)) for n in region for m in _parts(n)):
        return _refuse(service, sources, sinks, "records leave the window without a flush; only flushes write to sinks")
    after = [] if flush is None else [ir.node(i) for i in _forward(ir, flush, True)[1:] if not isinstance(ir.node(i), Sink)]
    inside = set(region_ids) | {n.id for n in after} | ({flush.id} if flush else set())
    before = [n for n in nodes if n.id not in inside]
    placed, problems = place(ir, before, sources, sinks)
    if problems:
        return ServicePlan(service, sources, sinks, (), tuple(problems))
    if "fuse" in ir.passes:
        placed = _join_partition(ir, placed)
    where = ("source", 0) if len(sources) == 1 else ("service", -1)
    members = [m for n in region for m in _parts(n)]
    edges = [e for n in region if isinstance(n, Fused) for e in n.edges]
    edges += [e for n in region for e in ir.out_edges(n.id) if e.dst in set(region_ids) and e.kind != CLOSE]
    head = region[0]
    prev = placed[-1] if placed else None
    join = (
        "fuse" in ir.passes
        and prev is not None
        and prev[:2] == where
        and [e.dst for e in ir.out_edges(prev[2].id)] == [head.id]
        and all(not isinstance(m, FnNode) or m.language == "rust" for m in _parts(prev[2]))
    )
    if join:
        _, _, p = placed.pop()
        edges = [*(p.edges if isinstance(p, Fused) else ()), *ir.out_edges(p.id), *edges]
        members = [*_parts(p), *members]
        head = p
    names = [n.name if isinstance(n, Fused) else member_name(n) for n in ([head] if join else []) + region]
    window_node = Fused(
        id=f"{JOINED}{head.id}",
        service=service,
        span=head.span,
        name=" -> ".join(names),
        language="rust",
        nodes=tuple(members),
        edges=tuple(edges),
    )
    entries = [*placed, (*where, window_node), ("flush", -1, flush or window)]
    post, problems = place(ir, after, sources, sinks)
    if problems:
        return ServicePlan(service, sources, sinks, (), tuple(problems))
    for p, endpoint, n in post:
        entries.append(("flush", -1, n) if p in ("source", "service", "flush") else (p, endpoint, n))
    # Stable: the flush stage stays the first "flush" stage, topological order is kept per place.
    entries.sort(key=lambda e: (PLACE_ORDER[e[0]], e[1]))
    stages, window_at, flush_at = [], -1, -1
    for i, (p, endpoint, n) in enumerate(entries):
        if n is window_node:
            ins, _ = _joined_ends(ir, n)
            first_in = ins[0] if ins else ir.in_edges(stamp.id)[0]
            stages.append(Stage(i, n, first_in, _last_input(n, first_in), p, endpoint))
            window_at = i
        elif n is flush or n is window:
            ins, outs = ir.in_edges(n.id), ir.out_edges(n.id)
            edge = ins[0] if ins else ir.in_edges(window.id)[0]
            stages.append(Stage(i, n, edge, outs[0] if outs and n is flush else edge, p, endpoint))
            flush_at = i
        else:
            ins, outs = _joined_ends(ir, n) if n.id.startswith(JOINED) else (ir.in_edges(n.id), ir.out_edges(n.id))
            stages.append(Stage(i, n, ins[0], outs[0] if outs else _last_input(n, ins[0]), p, endpoint))
    return ServicePlan(service, sources, sinks, tuple(stages), states=states, window=WindowPlan(window, window_at, flush_at))


def window_stage(plan: ServicePlan) -> Optional[Stage]:
    return plan.stages[plan.window.stage] if plan.window else None

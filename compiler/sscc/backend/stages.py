"""Stage planning: which wasm export runs which IR nodes, and where the runtime runs it.

The optimized IR of a service is a line with a merge at the front and a split at the back
(SDF-FORMAT.md §4.1):

    Source -> Decode -> per-source steps --+--> transforms --+--> per-sink steps -> Encode -> Sink

Every runnable node between a Source and a Sink becomes one *stage*: a Fused node (the fuse pass
already chained it) or a single Decode / Encode / stateless operator left on its own (`-O0`,
fan-out points). Stage `n` of a service is the export `sscc_stage_<n>` of that service's wasm
module, and is placed where the runtime's service description (docs/runtime.md §2) runs it:

    ("source", i)  runs on records of source i only   (everything it feeds reaches every sink)
    ("service", -1) runs on the merged stream          (after the merge, before the split)
    ("sink", j)    runs for sink j only                (everything feeding it comes from every source)

The records between two stages are in the *internal encoding*: the value as serde_json of the
edge type, the key as serde_json of the edge's key type when it has one, otherwise the key bytes
pass through untouched. A stage whose first member is a Decode reads topic bytes instead; one
whose last member is an Encode writes topic bytes. Both sides of this module (the Rust code
generator and the project emitter) rely on exactly this.

A service with keyed states (value or arrow-row) runs its partition region too: `assign-key`
and `update-state` are stages like the others (AssignKey sets the record's key, UpdateState runs
the user's function against the guest-resident state and emits nothing). `ServicePlan.states`
lists the service's own states; state `i` is index `i` of the guest's change table
(docs/state-design.md). `ServicePlan.refs` lists its `from:` references (read-only; `sql()` reads
them from the host's mirror of the owner's changelog), each paired with the owner's state.

A windowed service (a `window:` with assign-timestamp, partition and flush) is planned by
`window_plan.py`: its window region becomes one stage that classifies records against the
watermark and updates the per-window state, its flush one more stage the runtime calls per
closing window (`ServicePlan.window`).

A schedule source (0.6 `type: schedule`) has no Decode: the runtime fires its records (value: the
fire time in ms as internal JSON i64) into a store topic of the service (docs/schedules.md), so
its stages start from the internal encoding like any stage after the first.

Services the runtime cannot run yet (Python, functions of packages that were not found) get `unsupported` reasons instead of stages; `sscc compile` reports them as errors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from ..ir.nodes import IR, AssignKey, AssignTimestamp, Flush, Window, Decode, Edge, Encode, Filter, FilterMap, FlatMap, FnNode, Fused, Map, Node, Sink, Source, State, UpdateState

STATELESS = (Decode, Encode, Map, Filter, FilterMap, FlatMap)
PARTITION = (AssignKey, UpdateState)
OWN_KINDS = ("value", "arrow-row")  # the kinds of state a service can own and run
WINDOWED = (AssignTimestamp, Flush)  # runnable inside a window (window_plan.py)


@dataclass(frozen=True)
class Stage:
    index: int  # the export is `sscc_stage_<index>`
    node: Node  # the Fused node, or the single node run alone
    input: Edge  # the edge into the stage (value type, key type)
    output: Edge  # the edge out of it
    place: str  # "source" | "service" | "sink"
    endpoint: int  # index into ServicePlan.sources / .sinks; -1 for "service"

    @property
    def export(self) -> str:
        return f"sscc_stage_{self.index}"

    @property
    def members(self) -> tuple[Node, ...]:
        return self.node.nodes if isinstance(self.node, Fused) else (self.node,)

    @property
    def name(self) -> str:
        """Shown in dead letters and progress: the Fused name `a -> b -> c`, or the one member."""
        return self.node.name if isinstance(self.node, Fused) else member_name(self.node)

    @property
    def reads_topic(self) -> bool:
        return isinstance(self.members[0], Decode)

    @property
    def writes_topic(self) -> bool:
        return isinstance(self.members[-1], Encode)


@dataclass(frozen=True)
class ServicePlan:
    name: str
    sources: tuple[Source, ...]  # the description's sources[], in this order
    sinks: tuple[Sink, ...]  # the description's sinks[], in this order
    stages: tuple[Stage, ...]  # run order: per source, then service, then per sink
    unsupported: tuple[str, ...] = ()  # why this service cannot run yet; empty = runnable
    states: tuple[State, ...] = ()  # own keyed states; the index is the guest's state number
    refs: tuple[tuple[State, State], ...] = ()  # (the `from:` reference, the owner's state)
    window: Optional["WindowPlan"] = None  # set for a windowed service (window_plan.py)

    @property
    def runnable(self) -> bool:
        return not self.unsupported

    def stages_at(self, place: str, endpoint: int = -1) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.place == place and s.endpoint == endpoint)


def member_name(n: Node) -> str:
    """The operator's function name; a function without one (inline Python, whose `def` the front
    end does not name yet) goes by its operator kind."""
    return (n.function or f"{n.op} operator") if isinstance(n, FnNode) else n.op


def plan(ir: IR) -> tuple[ServicePlan, ...]:
    """One plan per service, in the IR's service order (producers first)."""
    return tuple(plan_service(ir, s) for s in ir.services)


def plan_service(ir: IR, service: str) -> ServicePlan:
    nodes = ir.nodes_of_service(service)
    sources = tuple(n for n in nodes if isinstance(n, Source))
    sinks = tuple(n for n in nodes if isinstance(n, Sink))
    states = tuple(st for st in ir.states if st.service == service and st.kind != "ref")
    by_id = {st.id: st for st in ir.states}
    refs = tuple((st, by_id[st.ref]) for st in ir.states if st.service == service and st.kind == "ref" and st.ref in by_id)
    unsupported = tuple(_unsupported(nodes, sources, states, refs))
    if unsupported:
        return ServicePlan(service, sources, sinks, (), unsupported)
    if any(isinstance(n, Window) for n in nodes):
        from .window_plan import plan_windowed  # the windowed region has a planner of its own

        return replace(plan_windowed(ir, service, nodes, sources, sinks, states), refs=refs)
    placed, problems = place(ir, nodes, sources, sinks)
    if problems:
        return ServicePlan(service, sources, sinks, (), tuple(problems))
    split = _split_at_assign_key(placed) if states else []
    if "fuse" in ir.passes:
        placed = _join_partition(ir, placed)
        split = [(p, e, _rename(n, p)) for p, e, n in _join_partition(ir, split)]
    stages = []
    for i, (place_, endpoint, n) in enumerate([*placed, *split]):
        # At a merge or a split the edges agree on the types (the checker saw to it).
        ins, outs = _joined_ends(ir, n) if n.id.startswith(JOINED) else (ir.in_edges(n.id), ir.out_edges(n.id))
        # A stage ending in update-state emits nothing: its "output" edge is its last step's input.
        stages.append(Stage(i, n, ins[0], outs[0] if outs else _last_input(n, ins[0]), place_, endpoint))
    return ServicePlan(service, sources, sinks, tuple(stages), states=states, refs=refs)


def _split_at_assign_key(placed: list[tuple[str, int, Node]]) -> list[tuple[str, int, Node]]:
    """The partition region cut after `assign-key`, for a runtime that shards keyed state by task
    (docs/scale-out.md): the steps of assign-key's place up to it become ("repartition",
    endpoint) stages (their output, keyed records, goes to the repartition topic), the steps after
    it ("keyed", -1) stages (run on the repartition topic by the task owning the key's shard). The
    ordinary stages stay for a run with one shard. Empty when there is nothing to cut."""
    at = next((k for k, (_, _, n) in enumerate(placed) if isinstance(n, AssignKey)), None)
    if at is None:
        return []
    where = placed[at][:2]
    same = [k for k, entry in enumerate(placed) if entry[:2] == where]
    post = [("keyed", -1, placed[k][2]) for k in same if k > at]
    if not post:
        return []
    return [("repartition", where[1] if where[0] == "source" else -1, placed[k][2]) for k in same if k <= at] + post


def _rename(n: Node, place_: str) -> Node:
    """A joined split stage gets an id of its own (the full join of the same steps has the other)."""
    return replace(n, id=f"{JOINED}{place_}/{n.id[len(JOINED):]}") if n.id.startswith(JOINED) else n


PLACE_ORDER = {"source": 0, "service": 1, "flush": 2, "sink": 3}


def place(ir: IR, nodes: list[Node], sources: tuple[Source, ...], sinks: tuple[Sink, ...]) -> tuple[list, list[str]]:
    """(place, endpoint, node) for every runnable node, sorted into run order; and problems."""
    reach_src = _reaching(ir, sources, forward=True)
    reach_snk = _reaching(ir, sinks, forward=False)
    all_src, all_snk = frozenset(range(len(sources))), frozenset(range(len(sinks)))
    placed: list[tuple[str, int, Node]] = []
    problems: list[str] = []
    for n in nodes:
        if isinstance(n, (Source, Sink)):
            continue
        src, snk = reach_src.get(n.id, frozenset()), reach_snk.get(n.id, frozenset())
        if src == all_src and snk == all_snk and len(sources) != 1:
            placed.append(("service", -1, n))
        elif snk == all_snk and len(src) == 1:
            placed.append(("source", next(iter(src)), n))
        elif src == all_src and len(snk) == 1:
            placed.append(("sink", next(iter(snk)), n))
        else:
            problems.append(f"`{member_name(n)}` ({n.id}) sits neither before the split nor after the merge")
    # Stable sort keeps topological order within one place and endpoint.
    placed.sort(key=lambda p: (PLACE_ORDER[p[0]], p[1]))
    return placed, problems


JOINED = "joined:"  # id prefix of a stage made by _join_partition


def _parts(n: Node) -> tuple[Node, ...]:
    return n.nodes if isinstance(n, Fused) else (n,)


def _join_partition(ir: IR, placed: list[tuple[str, int, Node]]) -> list[tuple[str, int, Node]]:
    """Run the partition region in the same call as the stateless chain before it.

    The fuse pass keeps per-key steps apart from unkeyed ones (a distributed runtime would shuffle
    by key between them). This runtime runs a service's partitions in the batch's own process, so
    `decode -> split -> key-by-word -> count` can be one export: one guest call per batch and no
    JSON between the steps. Joined only along single edges, within one place and endpoint."""
    groups: list[list[tuple[str, int, Node]]] = []
    for entry in placed:
        prev = groups[-1][-1] if groups else None
        if prev is not None and prev[:2] == entry[:2] and _joinable(ir, prev[2], entry[2]):
            groups[-1].append(entry)
        else:
            groups.append([entry])
    out = []
    for group in groups:
        if len(group) == 1:
            out.append(group[0])
            continue
        nodes = [m for _, _, n in group for m in _parts(n)]
        edges = [e for _, _, n in group if isinstance(n, Fused) for e in n.edges]
        for (_, _, a), (_, _, b) in zip(group, group[1:]):
            e = ir.out_edges(a.id)[0]
            edges.append(Edge(_parts(a)[-1].id, _parts(b)[0].id, e.type, e.key, e.kind))
        first = group[0][2]
        joined = Fused(
            id=f"{JOINED}{first.id}",
            service=first.service,
            span=first.span,
            name=" -> ".join(n.name if isinstance(n, Fused) else member_name(n) for _, _, n in group),
            language="rust",
            nodes=tuple(nodes),
            edges=tuple(edges),
        )
        out.append((group[0][0], group[0][1], joined))
    return out


def _joinable(ir: IR, a: Node, b: Node) -> bool:
    parts = (*_parts(a), *_parts(b))
    if not any(isinstance(m, PARTITION) for m in parts):
        return False
    if any(isinstance(m, FnNode) and m.language != "rust" for m in parts):
        return False
    outs, ins = ir.out_edges(a.id), ir.in_edges(b.id)
    return len(outs) == 1 and len(ins) == 1 and outs[0].dst == b.id


def _joined_ends(ir: IR, joined: Fused) -> tuple[tuple[Edge, ...], tuple[Edge, ...]]:
    """The edges into and out of a joined stage: those of the placed nodes it was made of."""
    by_member = {m.id: n for n in ir.nodes if isinstance(n, Fused) for m in n.nodes}
    head = by_member.get(joined.nodes[0].id, joined.nodes[0])
    tail = by_member.get(joined.nodes[-1].id, joined.nodes[-1])
    return ir.in_edges(head.id), ir.out_edges(tail.id)


def _last_input(n: Node, stage_input: Edge) -> Edge:
    last = _parts(n)[-1]
    inner = [e for e in n.edges if e.dst == last.id] if isinstance(n, Fused) else []
    return inner[0] if inner else stage_input


MAX_STATES = 16  # the guest's change table (runtime_stub/guest/src/state.rs)


def _unsupported(
    nodes: list[Node], sources: tuple[Source, ...], states: tuple[State, ...] = (), refs: tuple[tuple[State, State], ...] = ()
) -> list[str]:
    out: list[str] = []
    for st in states:
        if st.kind not in OWN_KINDS:
            out.append(f"state `{st.name}` is a{'n' if st.kind[0] in 'aeiou' else ''} {st.kind} state; only keyed value and arrow-row states run")
    for ref, owner in refs:
        if owner.kind not in OWN_KINDS:
            out.append(f"state `{ref.name}` refers to `{owner.id}`, a {owner.kind} state, which does not run")
    if len(states) > MAX_STATES:
        out.append(f"the service has {len(states)} states; at most {MAX_STATES} run")
    own_ids = {st.id for st in states if st.kind in OWN_KINDS}
    readable = own_ids | {owner.id for _, owner in refs}
    for n in nodes:
        if isinstance(n, (Source, Sink)):
            if isinstance(n, Source) and n.endpoint not in ("topic", "schedule"):
                out.append(f"`{n.topic}` is a {n.endpoint} source, which does not run")
            continue
        members = n.nodes if isinstance(n, Fused) else (n,)
        for m in members:
            if isinstance(m, Window):
                continue  # the window itself runs inside the windowed stage (window_plan.py)
            if isinstance(m, PARTITION + WINDOWED):
                unknown = [x for x in (*m.states_read, *m.states_written) if x not in own_ids]
                if not _compiled(m):
                    out.append(f"`{member_name(m)}` is {m.language} code; only inline Rust and package functions are compiled")
                elif unknown:
                    out.append(f"`{m.function}` uses state `{unknown[0]}`, which is not a keyed state of this service")
            elif not isinstance(m, STATELESS):
                article = "an" if m.op[0] in "aeiou" else "a"
                out.append(f"`{member_name(m)}` is {article} {m.op} operator, which does not run yet")
            elif isinstance(m, FnNode) and not _compiled(m):
                what = "an imported function of a package that was not found" if m.language == "wasm-import" else f"{m.language} code"
                out.append(f"`{member_name(m)}` is {what}; only inline Rust and package functions are compiled")
            elif isinstance(m, FnNode) and any(x not in readable for x in m.states_read):
                out.append(f"`{m.function}` reads a state that is neither this service's nor a `from:` reference")
    if not sources:
        out.append("the service has no source")
    return out


def _compiled(m: FnNode) -> bool:
    """Inline Rust, or an imported function whose package file was found (lowered as Rust: its
    source is compiled into the service's crate; the backend reports a package without sources)."""
    return m.language == "rust"


def _reaching(ir: IR, ends: tuple[Node, ...], forward: bool) -> dict[str, frozenset]:
    """For every node, the indexes of the ends (sources going forward, sinks going back) it is reached from."""
    out: dict[str, set] = {}
    for i, end in enumerate(ends):
        todo, seen = [end.id], {end.id}
        while todo:
            nid = todo.pop()
            out.setdefault(nid, set()).add(i)
            edges = ir.out_edges(nid) if forward else ir.in_edges(nid)
            for e in edges:
                nxt = e.dst if forward else e.src
                if nxt not in seen and ir.node(nxt).service == ends[0].service:
                    seen.add(nxt)
                    todo.append(nxt)
    return {k: frozenset(v) for k, v in out.items()}


def stage_by_export(plan_: ServicePlan, export: str) -> Optional[Stage]:
    return next((s for s in plan_.stages if s.export == export), None)

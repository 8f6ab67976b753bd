"""Services joined through topics form a DAG; its topological order is `Checked.service_order`.

    a: {sources: [{id: t1}], sinks: [{id: t2}]}
    b: {sources: [{id: t2}], sinks: [{id: t1}]}   # E077 a -> topic t2 -> b -> topic t1 -> a

A cycle would feed a service its own output forever; SDF runs chained services in sequence.
"""

from __future__ import annotations

from .context import Ctx


def check_dag(ctx: Ctx) -> None:
    services = ctx.pipe.services
    names = list(services)
    writers: dict[str, list[str]] = {}
    for name, svc in services.items():
        for snk in svc.sinks:
            if snk.kind == "topic" and snk.id in ctx.pipe.topics:  # an unknown topic is E046 already
                writers.setdefault(snk.id, []).append(name)
    # edges producer -> consumer, labelled by the topic, in declaration order
    edges: dict[str, list[tuple[str, str]]] = {n: [] for n in names}
    for name, svc in services.items():
        for src in svc.sources:
            if src.kind != "topic":
                continue
            for producer in writers.get(src.id, ()):
                if (src.id, name) not in edges[producer]:
                    edges[producer].append((src.id, name))
    ctx.out.service_order = _order(names, edges)
    for cycle in _cycles(names, edges):
        head = cycle[0][0]
        path = " -> ".join(f"{svc} -> topic {topic}" for svc, topic in cycle) + f" -> {head}"
        ctx.error(
            "E077",
            services[head].span,
            f"services form a cycle through topics: {path}",
            "a service must not read, directly or through other services, a topic it writes; break the loop with a new topic",
        )


def _order(names: list[str], edges: dict) -> list[str]:
    """Kahn's algorithm, ties in declaration order; services on a cycle come last, in order."""
    indeg = {n: 0 for n in names}
    for n in names:
        for _topic, m in edges[n]:
            indeg[m] += 1
    ready = [n for n in names if indeg[n] == 0]
    out: list[str] = []
    while ready:
        n = ready.pop(0)
        out.append(n)
        for _topic, m in edges[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
                ready.sort(key=names.index)
    out.extend(n for n in names if n not in out)
    return out


def _cycles(names: list[str], edges: dict) -> list[list[tuple[str, str]]]:
    """One cycle per strongly connected group, as [(service, topic it writes to the next), ...]."""
    color = {n: 0 for n in names}  # 0 new, 1 on the stack, 2 done
    found: list[list[tuple[str, str]]] = []
    seen_members: set[frozenset] = set()

    def visit(n: str, stack: list[tuple[str, str]]) -> None:
        color[n] = 1
        for topic, m in edges[n]:
            if color[m] == 1:
                start = next(i for i, (s, _t) in enumerate(stack + [(n, topic)]) if s == m)
                cycle = (stack + [(n, topic)])[start:]
                members = frozenset(s for s, _t in cycle)
                if members not in seen_members:
                    seen_members.add(members)
                    found.append(cycle)
            elif color[m] == 0:
                visit(m, stack + [(n, topic)])
        color[n] = 2

    for n in names:
        if color[n] == 0:
            visit(n, [])
    return found

"""Short descriptions of nodes and edges, shared by the text dump and the diagrams."""

from __future__ import annotations

from .nodes import CLOSE, Decode, Edge, Encode, FnNode, Fused, Node, Sink, Source, Topic, Window
from .types import describe


def short(node_id: str, svc: str) -> str:
    """A node id without its service prefix: `services/wc/transforms/0` -> `transforms/0`."""
    prefix = f"services/{svc}/"
    fused = "fused:" + prefix
    if node_id.startswith(fused):
        return "fused:" + node_id[len(fused) :]
    if node_id.startswith(prefix):
        return node_id[len(prefix) :]
    return f"topic {node_id[len('topics/'):]}" if node_id.startswith("topics/") else node_id


def title(n: Node) -> str:
    """`FlatMap`, `Window`, ... and `Fused[a -> b -> c]` for a fused chain."""
    return f"Fused[{n.name}]" if isinstance(n, Fused) else type(n).__name__


def detail(n: Node) -> str:
    """What a node does, in a few words (also the second line of diagram labels)."""
    if isinstance(n, Fused):
        return " ".join([f"[{n.language}]"] + _state_use(n.service, n.nodes))
    if isinstance(n, FnNode):
        parts = [n.function, f"[{n.language}]"] + _state_use(n.service, [n])
        if n.params:
            parts.append("with " + ", ".join(f"{k}={v!r}" for k, v in n.params))
        return " ".join(parts)
    if isinstance(n, Source):
        return f"(schedule {n.topic}: {n.cron})" if n.endpoint == "schedule" else f"(topic {n.topic})"
    if isinstance(n, Sink):
        return f"(topic {n.topic})"
    if isinstance(n, (Decode, Encode)):
        key = f", key {n.key_converter}: {describe(n.key_type)}" if n.key_type is not None else ""
        return f"({n.converter}: {describe(n.type)}{key})"
    if isinstance(n, Window):
        return f"({_window(n)})"
    return n.topic if isinstance(n, Topic) else ""


def _state_use(service, nodes) -> list[str]:
    """`writes a`, `reads b, owner.c`: the service's own states by name, others by id."""
    fns = [m for m in nodes if isinstance(m, FnNode)]
    written = sorted({s for m in fns for s in m.states_written})
    read = sorted({s for m in fns for s in m.states_read} - set(written))
    own = f"{service}."
    out = []
    if written:
        out.append("writes " + ", ".join(s.removeprefix(own) for s in written))
    if read:
        out.append("reads " + ", ".join(s.removeprefix(own) for s in read))
    return out


def _window(w: Window) -> str:
    parts = [w.kind or "?", _ms(w.duration_ms)]
    if w.slide_ms is not None:
        parts.append(f"slide {_ms(w.slide_ms)}")
    if w.offset_ms is not None:
        parts.append(f"offset {_ms(w.offset_ms)}")
    if w.watermark is not None:
        if w.watermark.idleness_ms is not None:
            parts.append(f"idleness {_ms(w.watermark.idleness_ms)}")
        if w.watermark.grace_period_ms is not None:
            parts.append(f"grace {_ms(w.watermark.grace_period_ms)}")
    return " ".join(parts)


def _ms(ms: int | None) -> str:
    if ms is None:
        return "?"
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def edge_label(e: Edge) -> str:
    if e.kind == CLOSE:
        return "on window close"
    return describe(e.type) + (f", key {describe(e.key)}" if e.key is not None else "")

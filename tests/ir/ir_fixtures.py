"""Hand-built pipelines for the IR tests, written the way build_ast would produce them.

`svc(...)` takes steps as `(operator, function, lang)` tuples (lang "rust", "python" or
"import"; an optional 4th item is the Rust body) and gives each Step the `loc` build_ast
would: `services/<svc>/transforms/0`, `services/<svc>/sources/0/transforms/1`, ...
"""

from __future__ import annotations

from sscc import ast as A
from sscc.check.model import Checked
from sscc.diagnostics import Span

PATH = "/somewhere/dataflow.yaml"
_line = [0]


def sp() -> Span:
    """A fresh span (line numbers increase), so every node has a distinct position."""
    _line[0] += 1
    return Span(PATH, _line[0], 5)


def ty(name: str) -> A.Type:
    canon = A.PRIMITIVE_ALIASES.get(name)
    return A.Type("prim", sp(), name=canon) if canon else A.Type("named", sp(), name=name)


def step(spec, loc: str) -> A.Step:
    op, name, lang, *body = spec
    snake = A.snake(name)
    if lang == "import":
        fn = A.Function(name=name, span=sp(), uses=name)
    elif lang == "python":
        text = f"def {snake}(v):\n    {body[0] if body else 'return v'}\n"
        fn = A.Function(name=name, span=sp(), inline=A.InlineCode(text, "python", sp(), 1, 1))
    else:
        text = f"fn {snake}(v: String) -> Result<String> {{\n    {body[0] if body else 'Ok(v)'}\n}}\n"
        fn = A.Function(name=name, span=sp(), inline=A.InlineCode(text, "rust", sp(), 1, 1))
    return A.Step(operator=op, function=fn, span=sp(), loc=loc)


def steps(specs, loc: str) -> list[A.Step]:
    return [step(s, f"{loc}/{i}") for i, s in enumerate(specs)]


def endpoint(tid: str, specs, loc: str, kind: str = "topic") -> A.Endpoint:
    return A.Endpoint(kind=kind, id=tid, transforms=steps(specs, f"{loc}/transforms"), span=sp())


def svc(name, sources, sinks=(), transforms=(), partition=None, window=None, states=None) -> A.Service:
    """sources/sinks: topic ids or (topic id, [step specs]); partition: dict with assign-key,
    transforms, update-state specs; window: dict with kind, duration_ms, assign-timestamp,
    transforms, partition, flush."""
    base = f"services/{name}"

    def ends(items, what):
        out = []
        for i, item in enumerate(items):
            tid, specs = (item, []) if isinstance(item, str) else item
            out.append(endpoint(tid, specs, f"{base}/{what}/{i}"))
        return out

    def part(p, loc):
        if p is None:
            return None
        return A.Partition(
            assign_key=step(p["assign-key"], f"{loc}/assign-key") if "assign-key" in p else None,
            transforms=steps(p.get("transforms", []), f"{loc}/transforms"),
            update_state=step(p["update-state"], f"{loc}/update-state") if "update-state" in p else None,
            span=sp(),
        )

    win = None
    if window is not None:
        loc = f"{base}/window"
        win = A.Window(
            kind=window.get("kind", "tumbling"),
            duration=None,
            slide=None,
            offset=None,
            duration_ms=window.get("duration_ms", 20_000),
            slide_ms=window.get("slide_ms"),
            offset_ms=None,
            watermark=None,
            assign_timestamp=step(window["assign-timestamp"], f"{loc}/assign-timestamp"),
            transforms=steps(window.get("transforms", []), f"{loc}/transforms"),
            partition=part(window.get("partition"), f"{loc}/partition"),
            flush=step(window["flush"], f"{loc}/flush") if "flush" in window else None,
            span=sp(),
        )
    return A.Service(
        name=name,
        sources=ends(sources, "sources"),
        sinks=ends(sinks, "sinks"),
        states=states or {},
        transforms=steps(transforms, f"{base}/transforms"),
        partition=part(partition, f"{base}/partition"),
        window=win,
        span=sp(),
    )


def topic(tid: str, value: str = "string", converter: str | None = "json", key: str | None = None) -> A.Topic:
    return A.Topic(
        id=tid,
        name=tid,
        value=A.TopicSchemaPart(ty(value), converter, sp()),
        key=A.TopicSchemaPart(ty(key), None, sp()) if key else None,
        consumer=None,
        producer=None,
        span=sp(),
    )


def state(name: str, value: str = "u32", key: str = "string") -> A.StateDecl:
    t = A.Type("keyed-state", sp(), key=ty(key), value=ty(value))
    return A.StateDecl(name=name, span=sp(), type=t)


def ref_state(name: str, owner: str, owner_state: str) -> A.StateDecl:
    return A.StateDecl(name=name, span=sp(), from_ref=(owner, owner_state))


def pipeline(services, topics, types=None) -> Checked:
    pipe = A.Pipeline(
        path=PATH,
        kind="dataflow",
        api_version="0.5.0",
        meta=A.Meta("demo", "0.1.0", "tests", sp()),
        imports=[],
        config=A.Config(converter="json"),
        types={n: A.TypeDef(n, n, t, sp()) for n, t in (types or {}).items()},
        topics={t.id: t for t in topics},
        services={s.name: s for s in services},
    )
    return Checked(pipe)


# ---------------------------------------------------------------------------- the shapes the brief names


def split_sentence() -> Checked:
    """source -> decode -> flat-map -> map -> encode -> sink."""
    s = svc("sentence", ["sentence"], ["words"], transforms=[("flat-map", "split-sentence", "rust"), ("map", "uppercase", "rust")])
    return pipeline([s], [topic("sentence", converter="raw"), topic("words")])


def merge() -> Checked:
    """Two sources, each with its own step, into one service transform."""
    s = svc("merge", [("a", [("map", "from-a", "rust")]), ("b", [("map", "from-b", "rust")])], ["out"], transforms=[("filter", "keep", "rust", "Ok(true)")])
    return pipeline([s], [topic("a"), topic("b"), topic("out")])


def split() -> Checked:
    """One transform, two sinks with a filter each."""
    s = svc("split", ["in"], [("left", [("filter", "is-left", "rust", "Ok(true)")]), ("right", [("filter", "is-right", "rust", "Ok(true)")])], transforms=[("map", "prepare", "rust")])
    return pipeline([s], [topic("in"), topic("left"), topic("right")])


def two_services() -> Checked:
    """split-words writes `words`, count-words reads it and keeps a count per word."""
    producer = svc("split-words", ["sentence"], ["words"], transforms=[("flat-map", "split", "rust")])
    consumer = svc(
        "count-words",
        ["words"],
        partition={"assign-key": ("assign-key", "key-by-word", "rust"), "update-state": ("update-state", "count-word", "rust", "count_per_word().increment(1); Ok(())")},
        states={"count-per-word": state("count-per-word")},
    )
    # consumer first in the file: lowering still orders the producer first
    return pipeline([consumer, producer], [topic("sentence"), topic("words")])


def windowed() -> Checked:
    """window with assign-timestamp, a partition with update-state, and a flush to a sink."""
    s = svc(
        "window-count",
        ["words"],
        ["top"],
        window={
            "assign-timestamp": ("assign-timestamp", "event-time", "rust"),
            "partition": {"assign-key": ("assign-key", "by-word", "rust"), "update-state": ("update-state", "bump", "rust", "counts().increment(1); Ok(())")},
            "flush": ("flush", "top-words", "rust", "let t = sql(\"select * from counts\")?; Ok(t)"),
        },
        states={"counts": state("counts")},
    )
    return pipeline([s], [topic("words"), topic("top")])

"""Properties over generated pipelines: round trip, topological order, fusion rules, unfuse."""

import ir_fixtures as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sscc.ir.lower import lower
from sscc.ir.nodes import REGIONS, FnNode, Fused, unfuse
from sscc.ir.serialize import from_json, to_json
from sscc.passes import optimize
from sscc.passes.fuse import STATELESS, fuse

STEP = st.tuples(
    st.sampled_from(["map", "filter", "filter-map", "flat-map"]),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["rust", "python", "import"]),
)
STEPS = st.lists(STEP, max_size=3)


@st.composite
def pipelines(draw):
    """Services in a chain of topics t0..tN: service i reads topics <= i and writes topics > i (a DAG)."""
    n = draw(st.integers(1, 3))
    services = []
    for i in range(n):
        reads = draw(st.lists(st.integers(0, i), min_size=1, max_size=2, unique=True))
        writes = draw(st.lists(st.integers(i + 1, n), max_size=2, unique=True))
        shape = draw(st.sampled_from(["plain", "partition", "window"]))
        partition = {"assign-key": ("assign-key", "k", "rust"), "transforms": draw(STEPS)}
        if draw(st.booleans()):
            partition["update-state"] = ("update-state", "u", "rust", "Ok(())")
        window = {"assign-timestamp": ("assign-timestamp", "ts", "rust"), "transforms": draw(STEPS), "partition": partition, "flush": ("flush", "f", "rust")}
        services.append(
            F.svc(
                f"s{i}",
                [(f"t{r}", draw(STEPS)) for r in reads],
                [(f"t{w}", draw(STEPS)) for w in writes],
                transforms=draw(STEPS),
                partition=partition if shape == "partition" else None,
                window=window if shape == "window" else None,
            )
        )
    return F.pipeline(services, [F.topic(f"t{i}") for i in range(n + 1)])


@settings(max_examples=80, deadline=None)
@given(pipelines())
def test_generated_pipelines(checked):
    ir = lower(checked)
    assert to_json(lower(checked)) == to_json(ir)
    for g in (ir, optimize(ir)):
        assert from_json(to_json(g)) == g
        position = {n.id: i for i, n in enumerate(g.topo_order())}
        assert len(position) == len(g.nodes)
        assert all(position[e.src] < position[e.dst] for e in g.edges)

    assert all(n.region in REGIONS for n in ir.nodes if isinstance(n, FnNode))
    fused = fuse(ir)
    back = unfuse(fused)
    assert (back.nodes, back.edges) == (ir.nodes, ir.edges)
    for f in (n for n in fused.nodes if isinstance(n, Fused)):
        assert all(isinstance(m, STATELESS) for m in f.nodes)
        langs = {m.language for m in f.nodes if isinstance(m, FnNode)}
        assert langs == {f.language} and "wasm-import" not in langs
        assert len({isinstance(m, FnNode) and m.region == "partition" for m in f.nodes}) == 1
        for a, b in zip(f.nodes, f.nodes[1:]):  # a straight chain: one consumer, one producer
            assert [e.dst for e in ir.out_edges(a.id)] == [b.id] and [e.src for e in ir.in_edges(b.id)] == [a.id]

"""The fuse pass: which chains become one Fused node, and which edges it keeps apart."""

import ir_fixtures as F
import pytest
from sscc.ir.lower import lower
from sscc.ir.nodes import Fused, unfuse
from sscc.passes import optimize, pass_names
from sscc.passes.fuse import fuse


def fused_names(ir):
    return [n.name for n in ir.nodes if isinstance(n, Fused)]


def kept_apart(ir):
    return {d.subject: d.why for d in ir.decisions if d.by == "fuse" and d.what == "kept apart"}


def one_service(transforms=(), sinks=("out",), partition=None):
    s = F.svc("s", ["in"], list(sinks), transforms=list(transforms), partition=partition)
    return lower(F.pipeline([s], [F.topic("in")] + [F.topic(t if isinstance(t, str) else t[0]) for t in sinks]))


def test_a_stateless_chain_becomes_one_node_with_its_inner_edges():
    before = lower(F.split_sentence())
    after = fuse(before)
    (f,) = [n for n in after.nodes if isinstance(n, Fused)]
    assert f.name == "decode -> split-sentence -> uppercase -> encode"
    assert (f.id, f.language, f.service) == ("fused:services/sentence/sources/0/decode", "rust", "sentence")
    assert [n.op for n in f.nodes] == ["decode", "flat-map", "map", "encode"]
    assert [(e.src, e.dst) for e in f.edges] == [(a.id, b.id) for a, b in zip(f.nodes, f.nodes[1:])]
    assert [n.op for n in after.nodes_of_service("sentence")] == ["source", "fused", "sink"]
    assert [(e.src, e.dst) for e in after.edges] == [
        ("topics/sentence", "services/sentence/sources/0"),
        ("services/sentence/sources/0", f.id),
        (f.id, "services/sentence/sinks/0"),
        ("services/sentence/sinks/0", "topics/words"),
    ]
    assert any(d.subject == f.id and d.what == f"Fused[{f.name}]" for d in after.decisions)


def test_unfuse_restores_the_plan_exactly():
    for checked in (F.split_sentence(), F.merge(), F.split(), F.windowed()):
        before = lower(checked)
        back = unfuse(fuse(before))
        assert (back.nodes, back.edges) == (before.nodes, before.edges)


def test_not_fused_across_fan_out():
    ir = fuse(lower(F.split()))
    assert fused_names(ir) == ["decode -> prepare", "is-left -> encode", "is-right -> encode"]
    assert kept_apart(ir)["services/split/transforms/0 -> services/split/sinks/0/transforms/0"] == "`prepare` fans out to 2 consumers"


def test_not_fused_across_fan_in():
    ir = fuse(lower(F.merge()))
    assert fused_names(ir) == ["decode -> from-a", "decode -> from-b", "keep -> encode"]
    assert kept_apart(ir)["services/merge/sources/0/transforms/0 -> services/merge/transforms/0"] == "`keep` merges 2 producers"


def test_not_fused_through_a_stateful_node_nor_across_the_partition_boundary():
    ir = fuse(
        one_service(
            transforms=[("map", "before", "rust")],
            partition={"assign-key": ("assign-key", "by", "rust"), "transforms": [("map", "inside-a", "rust"), ("map", "inside-b", "rust")]},
        )
    )
    assert fused_names(ir) == ["decode -> before", "inside-a -> inside-b"]
    assert ir.node("services/s/partition/assign-key").op == "assign-key"
    assert kept_apart(ir)["services/s/partition/transforms/1 -> services/s/sinks/0/encode"].startswith("partition boundary")


def test_not_fused_across_a_language_boundary():
    ir = fuse(one_service(transforms=[("map", "in-rust", "rust"), ("map", "in-python", "python")]))
    assert fused_names(ir) == ["decode -> in-rust", "in-python -> encode"]
    assert [n.language for n in ir.nodes if isinstance(n, Fused)] == ["rust", "python"]
    assert kept_apart(ir)["services/s/transforms/0 -> services/s/transforms/1"] == "language boundary (rust -> python)"


def test_imported_functions_are_never_fused():
    ir = fuse(one_service(transforms=[("map", "imported", "import"), ("map", "local", "rust")]))
    assert fused_names(ir) == ["local -> encode"]
    assert ir.node("services/s/transforms/0").op == "map"


def test_decode_straight_to_encode_is_left_alone():
    ir = lower(F.pipeline([F.svc("copy", ["in"], ["out"])], [F.topic("in"), F.topic("out")]))
    assert fuse(ir).nodes == ir.nodes


def test_fuse_is_idempotent():
    once = fuse(lower(F.split_sentence()))
    assert fuse(once).nodes == once.nodes


def test_fuse_can_be_switched_off_by_name_and_by_O0():
    base = lower(F.split_sentence())
    off = optimize(base, disabled={"fuse"})
    assert fused_names(off) == [] and "fuse" not in off.passes
    assert ("optimize", "pass fuse skipped") in [(d.by, d.what) for d in off.decisions]
    assert fused_names(optimize(base)) == ["decode -> split-sentence -> uppercase -> encode"]
    o0 = optimize(base, disabled=set(pass_names()))
    assert (o0.nodes, o0.edges, o0.passes, o0.notes) == (base.nodes, base.edges, (), ())


def test_unknown_pass_names_are_refused():
    with pytest.raises(ValueError, match="unknown pass `fusion`"):
        optimize(lower(F.split_sentence()), disabled={"fusion"})

"""internal_topics, dead_code, and the optimize() fold."""

import ir_fixtures as F
from sscc import ast as A
from sscc.ir.lower import lower
from sscc.ir.nodes import Topic
from sscc.passes import PASSES, optimize, pass_names
from sscc.passes.dead_code import dead_code
from sscc.passes.internal_topics import internal_topics


def test_passes_run_in_their_declared_order_and_trace_sees_each():
    seen = []
    ir = optimize(lower(F.split_sentence()), trace=lambda name, g: seen.append((name, g.passes)))
    assert pass_names() == [p.__name__ for p in PASSES] == ["dead_code", "internal_topics", "fuse"]
    assert seen == [("dead_code", ("dead_code",)), ("internal_topics", ("dead_code", "internal_topics")), ("fuse", tuple(pass_names()))]
    assert ir.passes == tuple(pass_names())
    seen.clear()
    optimize(lower(F.split_sentence()), disabled={"internal_topics"}, trace=lambda name, g: seen.append(name))
    assert seen == ["dead_code", "fuse"]


# ---------------------------------------------------------------------------- internal_topics


def test_a_topic_written_and_read_in_the_pipeline_is_marked_internal_with_its_reason():
    before = lower(F.two_services())
    after = internal_topics(before)
    flags = {n.topic: n.internal for n in after.nodes if isinstance(n, Topic)}
    assert flags == {"sentence": False, "words": True}
    (d,) = after.decisions
    assert (d.by, d.subject, d.what) == ("internal_topics", "topics/words", "in-process candidate, kept durable")
    assert d.why == "written by split-words and read by count-words, all in this pipeline"
    assert after.edges == before.edges  # semantics unchanged: the topic stays in the graph


def test_external_topics_stay_external():
    after = internal_topics(lower(F.split()))
    assert not any(n.internal for n in after.nodes if isinstance(n, Topic)) and after.decisions == ()


# ---------------------------------------------------------------------------- dead_code


def kinds(ir):
    return sorted((n.kind, n.subject) for n in ir.notes)


def typed_pipeline(transforms):
    obj = A.Type("object", F.sp(), fields=[A.Field("inner", F.ty("inner"), F.sp())])
    types = {"used-t": obj, "inner": F.ty("u32"), "unused-t": F.ty("string"), "in-code": F.ty("string")}
    s = F.svc("s", ["in"], ["out"], transforms=transforms)
    return lower(F.pipeline([s], [F.topic("in", value="used-t"), F.topic("out", value="used-t")], types=types))


def test_unused_types_are_reported_through_references_and_code_mentions():
    ir = dead_code(typed_pipeline([("map", "m", "rust", "let x: InCode = v; Ok(x)")]))
    assert kinds(ir) == [("unused-type", "types/unused-t")]
    (note,) = ir.notes
    assert note.message == "type `unused-t` is never used" and note.span.startswith("dataflow.yaml:")


def test_unused_types_are_not_guessed_past_an_untyped_imported_function():
    assert dead_code(typed_pipeline([("map", "m", "import")])).notes == ()


def test_unused_states_and_references_are_reported():
    owner = F.svc(
        "owner",
        ["in"],
        partition={"assign-key": ("assign-key", "k", "rust"), "update-state": ("update-state", "u", "rust", "counts().increment(1); Ok(())")},
        states={"counts": F.state("counts"), "spare": F.state("spare"), "shared": F.state("shared")},
    )
    reader = F.svc(
        "reader",
        ["q"],
        ["a"],
        transforms=[("map", "lookup", "rust", 'let t = sql("select * from shared")?; Ok(v)')],
        states={"shared": F.ref_state("shared", "owner", "shared"), "idle": F.ref_state("idle", "owner", "counts")},
    )
    ir = dead_code(lower(F.pipeline([owner, reader], [F.topic("in"), F.topic("q"), F.topic("a")])))
    assert kinds(ir) == [("unused-state", "states/owner.spare"), ("unused-state", "states/reader.idle")]


def false_filter(body, lang="rust", sources=("in",)):
    s = F.svc("s", list(sources), ["out"], transforms=[("filter", "drop-all", lang, body), ("map", "shout", "rust")])
    return lower(F.pipeline([s], [F.topic(t) for t in sources] + [F.topic("out")]))


def test_steps_after_an_always_false_filter_are_reported_not_dropped():
    before = false_filter("Ok(false)")
    after = dead_code(before)
    (note,) = after.notes
    assert (note.kind, note.subject) == ("always-false-filter", "services/s/transforms/0")
    assert note.message == "filter `drop-all` always returns false; never run: shout, sink to `out`"
    assert (after.nodes, after.edges) == (before.nodes, before.edges)


def test_python_always_false_filter_and_a_real_filter():
    assert kinds(dead_code(false_filter("return False", lang="python"))) == [("always-false-filter", "services/s/transforms/0")]
    assert dead_code(false_filter("Ok(v.len() > 3)")).notes == ()
    assert dead_code(false_filter("Ok(false || true)")).notes == ()


def test_a_merge_keeps_steps_alive_that_another_source_still_feeds():
    s = F.svc("s", [("a", [("filter", "never", "rust", "Ok(false)")]), "b"], ["out"], transforms=[("map", "both", "rust")])
    ir = dead_code(lower(F.pipeline([s], [F.topic("a"), F.topic("b"), F.topic("out")])))
    (note,) = ir.notes
    assert note.message == "filter `never` always returns false; no record gets past it"


def test_dead_code_notes_are_not_repeated():
    once = dead_code(false_filter("Ok(false)"))
    assert dead_code(once).notes == once.notes


def test_dead_code_sees_through_fused_nodes():
    fused_first = optimize(false_filter("Ok(false)"), disabled={"dead_code"})
    assert any(n.op == "fused" for n in fused_first.nodes)
    assert kinds(dead_code(fused_first)) == [("always-false-filter", "services/s/transforms/0")]

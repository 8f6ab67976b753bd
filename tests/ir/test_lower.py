"""Lowering: the shapes of SDF services become the expected DAGs."""

import dataclasses

import ir_fixtures as F
from sscc import ast as A
from sscc.check.model import StepIO
from sscc.ir import types as T
from sscc.ir.lower import lower
from sscc.ir.nodes import CLOSE, AssignKey, Decode, Encode, FlatMap, Map, Sink, Source, Topic, UpdateState, Window
from sscc.ir.serialize import to_json


def ops(ir, service):
    return [n.op for n in ir.nodes_of_service(service)]


def test_split_sentence_is_a_straight_line():
    ir = lower(F.split_sentence())
    assert ops(ir, "sentence") == ["source", "decode", "flat-map", "map", "encode", "sink"]
    chain = ["topics/sentence"] + [n.id for n in ir.nodes_of_service("sentence")] + ["topics/words"]
    assert [(e.src, e.dst) for e in ir.edges] == list(zip(chain, chain[1:]))
    assert [n.id for n in ir.nodes_of_service("sentence")] == [
        "services/sentence/sources/0",
        "services/sentence/sources/0/decode",
        "services/sentence/transforms/0",
        "services/sentence/transforms/1",
        "services/sentence/sinks/0/encode",
        "services/sentence/sinks/0",
    ]
    dec = ir.node("services/sentence/sources/0/decode")
    enc = ir.node("services/sentence/sinks/0/encode")
    assert isinstance(dec, Decode) and (dec.converter, dec.type) == ("raw", T.Prim("string"))
    assert isinstance(enc, Encode) and (enc.converter, enc.type) == ("json", T.Prim("string"))
    fm = ir.node("services/sentence/transforms/0")
    assert isinstance(fm, FlatMap)
    assert (fm.function, fm.language, fm.region) == ("split-sentence", "rust", "transforms")
    assert fm.span.startswith("dataflow.yaml:")  # base name only: the IR does not depend on the checkout
    assert "fn split_sentence" in ir.code_by_id(fm.code).text


def test_edge_types_come_from_step_io_and_are_unknown_without_it():
    checked = F.split_sentence()
    svc = checked.pipeline.services["sentence"]
    fm, mp = svc.transforms
    checked.step_io[fm.loc] = StepIO(F.ty("string"), F.ty("string"))
    checked.step_io[mp.loc] = StepIO(F.ty("string"), F.ty("word"), key_out=F.ty("u32"))
    ir = lower(checked)
    out_of = {e.src: e for e in ir.edges}
    assert out_of["services/sentence/sources/0/decode"].type == T.Prim("string")
    assert out_of[fm.loc].type == T.Prim("string") and out_of[fm.loc].key is None
    assert (out_of[mp.loc].type, out_of[mp.loc].key) == (T.Ref("word"), T.Prim("u32"))
    assert out_of["services/sentence/sources/0"].type == T.BYTES

    bare = lower(F.split_sentence())
    assert {e.src: e.type for e in bare.edges}["services/sentence/transforms/0"] == T.UNKNOWN


def test_filter_and_assign_key_pass_their_input_value_without_step_io():
    checked = F.pipeline(
        [F.svc("s", ["in"], ["out"], partition={"assign-key": ("assign-key", "by", "rust"), "transforms": [("filter", "keep", "rust")]})],
        [F.topic("in", value="u64"), F.topic("out")],
    )
    ir = lower(checked)
    ak = ir.node("services/s/partition/assign-key")
    assert isinstance(ak, AssignKey)
    (edge,) = ir.out_edges(ak.id)
    assert edge.type == T.Prim("u64") and edge.key == T.UNKNOWN  # keyed now, key type unknown
    (after_filter,) = ir.out_edges("services/s/partition/transforms/0")
    assert (after_filter.dst, after_filter.type) == ("services/s/sinks/0/encode", T.Prim("u64"))  # no update-state: on to the sinks


def test_merge_joins_every_source_chain_into_the_service_transforms():
    ir = lower(F.merge())
    keep = "services/merge/transforms/0"
    assert sorted(e.src for e in ir.in_edges(keep)) == ["services/merge/sources/0/transforms/0", "services/merge/sources/1/transforms/0"]
    per_source = ir.node("services/merge/sources/1/transforms/0")
    assert isinstance(per_source, Map) and per_source.region == "source" and per_source.function == "from-b"
    assert [n.topic for n in ir.nodes_of_service("merge") if isinstance(n, Source)] == ["a", "b"]


def test_split_offers_every_record_to_every_sink_chain():
    ir = lower(F.split())
    prepare = "services/split/transforms/0"
    assert [e.dst for e in ir.out_edges(prepare)] == ["services/split/sinks/0/transforms/0", "services/split/sinks/1/transforms/0"]
    for i, topic in enumerate(["left", "right"]):
        sink = ir.node(f"services/split/sinks/{i}")
        assert isinstance(sink, Sink) and sink.topic == topic
        assert [e.dst for e in ir.out_edges(sink.id)] == [f"topics/{topic}"]
        assert ir.node(f"services/split/sinks/{i}/transforms/0").region == "sink"


def test_services_are_joined_through_one_topic_node_and_ordered_producer_first():
    ir = lower(F.two_services())
    assert ir.services == ("split-words", "count-words")
    words = ir.node("topics/words")
    assert isinstance(words, Topic) and words.service is None
    assert [ir.node(e.src).service for e in ir.in_edges(words.id)] == ["split-words"]
    assert [ir.node(e.dst).service for e in ir.out_edges(words.id)] == ["count-words"]
    assert sum(isinstance(n, Topic) and n.topic == "words" for n in ir.nodes) == 1
    topo = [n.id for n in ir.topo_order()]
    assert topo.index("services/split-words/sinks/0") < topo.index("topics/words") < topo.index("services/count-words/sources/0")


def test_partition_with_update_state_is_terminal_and_writes_its_state():
    ir = lower(F.two_services())
    assert ops(ir, "count-words") == ["source", "decode", "assign-key", "update-state"]
    us = ir.node("services/count-words/partition/update-state")
    assert isinstance(us, UpdateState)
    assert us.state == "count-words.count-per-word"
    assert us.states_written == ("count-words.count-per-word",)
    assert us.region == "partition"
    assert ir.out_edges(us.id) == ()
    assert [s.id for s in ir.states] == ["count-words.count-per-word"]
    assert (ir.states[0].kind, ir.states[0].key, ir.states[0].value) == ("value", T.Prim("string"), T.Prim("u32"))


def test_window_partition_and_flush():
    ir = lower(F.windowed())
    assert ops(ir, "window-count") == ["source", "decode", "assign-timestamp", "window", "assign-key", "update-state", "flush", "encode", "sink"]
    win = ir.node("services/window-count/window")
    assert isinstance(win, Window) and (win.kind, win.duration_ms) == ("tumbling", 20_000)
    (close,) = ir.in_edges("services/window-count/window/flush")
    assert (close.src, close.kind, close.type) == ("services/window-count/window/partition/update-state", CLOSE, T.NULL)
    flush = ir.node("services/window-count/window/flush")
    assert flush.states_read == ("window-count.counts",) and flush.states_written == ()  # read through sql()
    assert ir.node("services/window-count/window/partition/update-state").states_written == ("window-count.counts",)
    assert [e.dst for e in ir.out_edges(flush.id)] == ["services/window-count/sinks/0/encode"]


def test_window_without_flush_sends_nothing_to_the_sinks():
    checked = F.pipeline(
        [F.svc("w", ["in"], ["out"], window={"assign-timestamp": ("assign-timestamp", "ts", "rust"), "transforms": [("map", "m", "rust")]})],
        [F.topic("in"), F.topic("out")],
    )
    ir = lower(checked)
    assert ir.in_edges("services/w/sinks/0/encode") == ()


def test_a_from_reference_reads_the_owners_state():
    owner = F.svc("owner", ["in"], partition={"assign-key": ("assign-key", "k", "rust"), "update-state": ("update-state", "u", "rust", "Ok(())")}, states={"counts": F.state("counts")})
    reader = F.svc("reader", ["q"], ["a"], transforms=[("map", "lookup", "rust", "let n = counts().get(); Ok(v)")], states={"counts": F.ref_state("counts", "owner", "counts")})
    ir = lower(F.pipeline([owner, reader], [F.topic("in"), F.topic("q"), F.topic("a")]))
    lookup = ir.node("services/reader/transforms/0")
    assert lookup.states_read == ("owner.counts",) and lookup.states_written == ()
    ref = next(s for s in ir.states if s.id == "reader.counts")
    assert (ref.kind, ref.ref) == ("ref", "owner.counts")
    # the owner's update-state touches no accessor by name: it updates the service's only state
    assert ir.node("services/owner/partition/update-state").state == "owner.counts"


def test_schedule_source_emits_the_time_and_has_no_topic():
    checked = F.pipeline([F.svc("tick", [], ["out"], transforms=[("map", "now", "rust")])], [F.topic("out")])
    svc = checked.pipeline.services["tick"]
    svc.sources.append(A.Endpoint(kind="schedule", id="every-minute", transforms=[], span=F.sp()))
    checked.pipeline.schedules["every-minute"] = A.Schedule("every-minute", "* * * * *", F.sp())
    ir = lower(checked)
    src = ir.node("services/tick/sources/0")
    assert isinstance(src, Source) and (src.endpoint, src.topic, src.cron) == ("schedule", "every-minute", "* * * * *")
    assert ir.in_edges(src.id) == ()
    assert [(e.dst, e.type) for e in ir.out_edges(src.id)] == [("services/tick/transforms/0", T.Prim("i64"))]
    assert [n.topic for n in ir.nodes if isinstance(n, Topic)] == ["out"]


def test_topic_key_reaches_the_edges_and_the_codecs():
    ir = lower(F.pipeline([F.svc("s", ["in"], ["out"])], [F.topic("in", key="string"), F.topic("out")]))
    dec = ir.node("services/s/sources/0/decode")
    assert (dec.key_type, dec.key_converter) == (T.Prim("string"), "raw")
    assert [e.key for e in ir.out_edges("topics/in")] == [T.BYTES]
    assert [e.key for e in ir.out_edges(dec.id)] == [T.Prim("string")]


def test_identical_inline_code_is_stored_once():
    s = F.svc("s", ["in"], ["out"], transforms=[("map", "same", "rust"), ("map", "same", "rust")])
    ir = lower(F.pipeline([s], [F.topic("in"), F.topic("out")]))
    a, b = (ir.node(f"services/s/transforms/{i}") for i in range(2))
    assert a.code == b.code and len(ir.code) == 1


def test_lowering_is_deterministic():
    checked = F.windowed()
    assert to_json(lower(checked)) == to_json(lower(checked))


def test_declaration_order_of_states_does_not_change_the_ir():
    checked = F.two_services()
    svc = checked.pipeline.services["count-words"]
    svc.states["extra"] = F.state("extra")
    first = to_json(lower(checked))
    svc.states = dict(reversed(list(svc.states.items())))
    assert to_json(lower(checked)) == first


def test_checker_service_order_wins():
    checked = F.two_services()
    reordered = dataclasses.replace(checked, service_order=["count-words", "split-words"])
    assert lower(reordered).services == ("count-words", "split-words")

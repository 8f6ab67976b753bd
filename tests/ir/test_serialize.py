"""Versioned JSON: deterministic text, exact round trip, every node kind included."""

import dataclasses
import json

import corpus
import ir_fixtures as F
import pytest
from sscc import ast as A
from sscc.ir import nodes as N
from sscc.ir.lower import lower
from sscc.ir.serialize import IR_VERSION, from_json, to_json
from sscc.passes import optimize


def rich_ir():
    """One IR holding every node kind, a watermark, a schedule, decisions and notes."""
    checked = F.windowed()
    svc = checked.pipeline.services["window-count"]
    svc.window.watermark = A.Watermark("5s", "1s", 5000, 1000)
    svc.transforms = F.steps([("filter", "f", "rust"), ("filter-map", "fm", "python"), ("flat-map", "fl", "rust"), ("map", "m2", "rust"), ("map", "m", "import")], "services/window-count/transforms")
    svc.transforms[4].function.with_params = {"filter": ".x"}
    svc.sources.append(A.Endpoint(kind="schedule", id="tick", transforms=[], span=F.sp()))
    checked.pipeline.schedules["tick"] = A.Schedule("tick", "*/5 * * * *", F.sp())
    ir = optimize(lower(checked))
    return dataclasses.replace(ir, notes=(N.Note("dead_code", "unused-type", "types/x", "f.yaml:1:1", "type `x` is never used"),))


def test_every_node_kind_round_trips_exactly():
    ir = rich_ir()
    ops = {n.op for n in ir.walk()}
    assert ops == set(N.NODE_CLASSES), set(N.NODE_CLASSES) - ops
    text = to_json(ir)
    back = from_json(text)
    assert back == ir
    assert to_json(back) == text


def test_json_is_versioned_with_tagged_nodes_and_types():
    data = json.loads(to_json(lower(F.split_sentence())))
    assert data["ir_version"] == IR_VERSION == 1
    assert list(data)[:4] == ["ir_version", "name", "source", "api_version"]
    decode = next(n for n in data["nodes"] if n["op"] == "decode")
    assert list(decode)[:2] == ["op", "id"]
    assert decode["type"] == {"kind": "prim", "name": "string"}
    assert data["edges"][0] == {"src": "topics/sentence", "dst": "services/sentence/sources/0", "type": {"kind": "prim", "name": "bytes"}, "key": None, "kind": "data"}
    assert "/somewhere" not in json.dumps(data)  # no absolute paths


def test_other_ir_versions_are_refused():
    data = json.loads(to_json(lower(F.split_sentence())))
    data["ir_version"] = 2
    with pytest.raises(ValueError, match="unsupported IR version 2"):
        from_json(json.dumps(data))


@pytest.mark.parametrize("name", corpus.dataflow_files())
@pytest.mark.parametrize("checker", [False, True], ids=["ast", "checked"])
def test_corpus_dataflows_round_trip(name, checker):
    ir = corpus.lowered(name, checker=checker)
    assert ir.nodes, "a dataflow lowers to some nodes"
    for opt in (ir, optimize(ir)):
        text = to_json(opt)
        back = from_json(text)
        assert back == opt
        assert to_json(back) == text
    assert to_json(corpus.lowered(name, checker=checker)) == to_json(ir)  # deterministic across loads

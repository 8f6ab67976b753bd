"""The pieces of `run --ui` that need no running pipeline: the address flag, the graph drawn
from a hand-written service description (no graph.json), the snapshot board's rates, and the
metric families built from a snapshot."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "runtime_stub"))

from sscc_runtime import app, service  # noqa: E402
from sscc_runtime.graph import Model  # noqa: E402
from sscc_runtime.loop import Counters  # noqa: E402

DESCRIPTION = {
    "format": 1,
    "services": [
        {
            "name": "count",
            "sources": [{"topic": "words", "stages": [{"name": "decode -> key", "module": "m.wasm", "export": "sscc_stage_0"}]}],
            "stages": [{"name": "update", "module": "m.wasm", "export": "sscc_stage_1"}],
            "sinks": [{"topic": "counts", "stages": [{"name": "encode", "module": "m.wasm", "export": "sscc_stage_2"}]}],
            "states": [{"name": "per-word"}],
        },
        {
            "name": "probe",
            "sources": [{"topic": "probes"}],
            "stages": [{"name": "look-up", "module": "p.wasm", "export": "sscc_stage_0"}],
            "sinks": [{"topic": "answers"}],
            "refs": [{"name": "per-word", "changelog": "count.per-word.changelog"}],
            "sql": True,
        },
    ],
}


def services():
    return service.load(DESCRIPTION, "/nonexistent")


@pytest.mark.parametrize(
    "text, want",
    [("8080", ("127.0.0.1", 8080)), ("0", ("127.0.0.1", 0)), ("0.0.0.0:9464", ("0.0.0.0", 9464)), ("[::1]:80", ("::1", 80))],
)
def test_address_takes_host_and_port(text, want):
    assert app._address(text) == want


@pytest.mark.parametrize("text", ["", "http", "host:", ":80", "1:99999", "localhost:http"])
def test_address_refuses_what_is_not_one(text):
    with pytest.raises(argparse.ArgumentTypeError):
        app._address(text)


def test_graph_without_graph_json_draws_stages_states_and_references():
    model = Model("demo", services())
    described = model.to_json()["services"]
    assert [s["place"] for s in described[0]["stages"]] == ["source words", "service", "sink counts"]
    assert [o["name"] for o in described[0]["stages"][0]["operators"]] == ["decode", "key"]
    dot = model.dot()
    for needle in ('label="words"', '"stage:s0_0"', '"stage:s1_0"', 'label="state per-word"', 'label="from: per-word"',
                   'label="count.dead-letters"', "ltail=cluster_svc0"):
        assert needle in dot, needle
    # the chain of the first service, source to sink, in order
    assert "svc0_src0 -> s0_0;" in dot and "s0_0 -> s0_1;" in dot and "s0_1 -> s0_2;" in dot and "s0_2 -> svc0_sink0;" in dot
    if shutil.which("dot"):
        svg = model.svg()
        assert svg.startswith("<svg") and 'id="stage:s0_2"' in svg


def test_graph_json_adds_operator_kinds(tmp_path):
    (tmp_path / "graph.json").write_text(
        '{"format": 1, "services": {"count": {"sscc_stage_1": {"operators": [{"name": "update", "kind": "update-state"}],'
        ' "input": "word, key string", "output": "word"}}}}'
    )
    model = Model.load("demo", services(), tmp_path / "services.json")
    stage = model.to_json()["services"][0]["stages"][1]
    assert stage["operators"] == [{"name": "update", "kind": "update-state"}] and stage["input"] == "word, key string"
    assert "s0_1 -> state0 [style=dotted];" in model.dot()  # the update-state stage writes the state


def test_board_rates_are_differences_of_two_snapshots():
    pytest.importorskip("starlette")
    from sscc_runtime.webserver import Board

    model = Model("demo", services())
    board = Board(model)
    svc = services()[0]
    counters = Counters()
    counters.records_in, counters.records_out = 100, 50
    counters.stage(svc.stages[0])[:] = [100, 50, 2]
    board.publish({"count": counters})
    first_time = board._pair[1][0]
    counters.records_in, counters.records_out = 300, 150
    counters.stage(svc.stages[0])[:] = [300, 150, 4]
    board.publish({"count": counters})
    seconds = board._pair[1][0] - first_time
    rates = board.rates()
    assert rates["services"]["count"]["in"] == pytest.approx(200 / seconds)
    assert rates["stages"]["s0_1"] == pytest.approx((200 / seconds, 100 / seconds, 2 / seconds))
    assert board.latest()["count"]["stages"]["s0_1"] == (300, 150, 4)

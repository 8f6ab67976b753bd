"""Every stateless operator kind, keys in and out, operator errors and panics, on real wasm."""

import json

import pytest

from rust_backend_helpers import PIPELINES, Service, needs_toolchain

from sscc_runtime import frames


def order(i, item="widget", qty=2, tags=("a", "b")):
    return json.dumps({"id": i, "item": item, "qty": qty, "tags": list(tags)}).encode()


INPUT = [
    (b"k0", order(0)),  # two tags -> two lines keyed by tag
    (b"k1", order(1, qty=0)),  # filtered out by `positive`
    (None, order(2, tags=())),  # dropped by `tagged` (filter-map None); no key
    (b"k3", order(3, item="boom")),  # panics in `check`: a trap for this record only
    (b"k4", order(4, qty=500)),  # `check` returns Err
    (b"k5", b"{not json"),  # decode error
    (None, order(6, tags=("z",))),  # no key in; the flat-map sets one
]

EXPECTED = [
    (b"a", {"id": 0, "tag": "k0:widget/a", "owner": "a"}),
    (b"b", {"id": 0, "tag": "k0:widget/b", "owner": "b"}),
    (b"z", {"id": 6, "tag": "widget/z", "owner": "z"}),
]


@pytest.fixture(scope="module", params=[True, False], ids=["optimized", "O0"])
def ops(request):
    needs_toolchain()
    return Service(PIPELINES / "ops.yaml", optimize=request.param)


def test_plan_shapes(ops):
    # optimized: one fused stage; -O0: decode, five operators and encode each on their own
    assert len(ops.plan.stages) in (1, 7)


def test_chain_of_every_operator_kind(ops):
    (out,), _ = ops.run(INPUT)
    # Keys come from the flat-map's (Option<K>, V) output and are written raw (topic key converter).
    assert [(k, json.loads(v)) for k, v in out] == EXPECTED


def test_errors_and_panics_cost_their_record_only(ops):
    _, errors = ops.run(INPUT)
    got = sorted((e.origin, e.kind, e.operator) for _, e in errors)  # -O0 reports them stage by stage
    assert got == [(3, "trap", "check"), (4, "operator", "check"), (5, "decode", "decode")]
    by_origin = {e.origin: e.message for _, e in errors}
    assert "boom on order 3" in by_origin[3]
    assert by_origin[4] == "qty 500 too large"


def test_outputs_keep_source_offsets_and_timestamps(ops):
    records = [(b"k0", order(0)), (b"k9", order(9, tags=("x",)))]
    data, _ = frames.build([(k, v, 77) for k, v in records])
    for i, st in enumerate(ops.plan.stages):
        out = ops.guest.run(st.export, data, base_offset=500 if i == 0 else -1)
        data = out.data
    recs = list(frames.iter_records(data))
    assert [(r.origin, r.timestamp) for r in recs] == [(500, 77), (500, 77), (501, 77)]

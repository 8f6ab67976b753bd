import json

import pytest
import wasmtime

from runtime_fixtures import fixture_wasm  # noqa: F401

from sscc_runtime import fastcall, frames
from sscc_runtime.fastcall import GuestFault
from sscc_runtime.wasm_host import ABI_VERSION, Guest, Limits


def order(i, item="widget", qty=2, price=1.5):
    return json.dumps({"id": i, "item": item, "qty": qty, "price": price}).encode()


def raw(*values, key=None):
    return frames.build([(key, v) for v in values])[0]


@pytest.fixture(scope="module")
def guest(fixture_wasm):
    return Guest(fixture_wasm, Limits(timeout_ms=500, memory_mb=32))


def test_fused_chain_decodes_filters_maps_and_encodes(guest):
    data, _ = frames.build(
        [(b"k%d" % i, order(i, qty=i % 3), 1000 + i) for i in range(6)]
    )
    out = guest.run("sscc_stage_0", data, base_offset=40)
    assert out.errors == []
    recs = list(frames.iter_records(out.data))
    assert out.count == len(recs) == 4  # qty 0 filtered out for i = 0 and 3
    assert [json.loads(r.value) for r in recs] == [
        {"id": i, "item": "widget", "total": (i % 3) * 1.5} for i in (1, 2, 4, 5)
    ]
    assert [(r.key, r.timestamp, r.origin) for r in recs] == [
        (b"k%d" % i, 1000 + i, 40 + i) for i in (1, 2, 4, 5)
    ]


def test_bad_records_become_errors_and_the_rest_passes(guest):
    values = [
        order(0),
        b"{not json",
        order(2, item="boom"),
        order(3, qty=5000),
        order(4),
    ]
    out = guest.run("sscc_stage_0", raw(*values), base_offset=100)
    assert [json.loads(r.value)["id"] for r in frames.iter_records(out.data)] == [0, 4]
    assert [(e.index, e.origin, e.kind, e.operator) for e in out.errors] == [
        (1, 101, "decode", "decode-order"),
        (2, 102, "trap", "price"),
        (3, 103, "operator", "price"),
    ]
    assert "boom on order 2" in out.errors[1].message
    assert out.errors[2].message == "qty 5000 too large"


def test_many_panics_in_one_batch_each_cost_one_record(guest):
    values = [order(i, item="boom" if i % 3 == 0 else "ok") for i in range(30)]
    out = guest.run("sscc_stage_0", raw(*values), base_offset=0)
    assert [json.loads(r.value)["id"] for r in frames.iter_records(out.data)] == [
        i for i in range(30) if i % 3
    ]
    assert [e.index for e in out.errors] == list(range(0, 30, 3))
    assert all(e.kind == "trap" for e in out.errors)


def test_an_endless_loop_is_interrupted_and_isolated(guest):
    out = guest.run("sscc_stage_1", raw(b"a", b"spin", b"b"), base_offset=0)
    assert [r.value for r in frames.iter_records(out.data)] == [b"a", b"b"]
    (error,) = out.errors
    assert (error.index, error.kind, error.operator) == (1, "trap", "misbehave")
    assert error.message == "timeout: the record ran over 500 ms (the time limit per record)"


def test_the_memory_cap_is_enforced(guest):
    out = guest.run("sscc_stage_1", raw(b"hog", b"after"), base_offset=0)
    assert [r.value for r in frames.iter_records(out.data)] == [b"after"]
    assert out.errors[0].message.startswith("out of memory")


def test_a_failed_record_leaves_none_of_its_outputs(guest):
    out = guest.run(
        "sscc_stage_2", raw(b"a b", b"x bad y", b"p panic q", b"z"), base_offset=0
    )
    assert [(r.key, r.value) for r in frames.iter_records(out.data)] == [
        (b"a", b"a"),
        (b"b", b"b"),
        (b"z", b"z"),
    ]
    assert [(e.index, e.kind) for e in out.errors] == [(1, "operator"), (2, "trap")]


def test_chained_stages_carry_the_source_offset_in_origin(guest):
    first = guest.run(
        "sscc_stage_0", raw(order(0), order(1, item="spin"), order(2)), base_offset=70
    )
    second = guest.run(
        "sscc_stage_1", first.data
    )  # base_offset -1: offsets come from frames
    assert [r.origin for r in frames.iter_records(second.data)] == [70, 72]
    assert [(e.index, e.origin) for e in second.errors] == [(1, 71)]


def test_outputs_larger_than_the_first_buffer_and_repeated_calls(guest):
    values = [order(i, item="x" * 500) for i in range(5000)]
    for _ in range(3):
        out = guest.run("sscc_stage_0", raw(*values), base_offset=0)
        assert out.errors == [] and out.count == frames.count(out.data) == 5000


def test_public_call_path_gives_the_same_results(fixture_wasm):
    data = raw(order(0), b"{", order(2, item="boom"), order(3))
    fast = Guest(fixture_wasm, fast=True).run("sscc_stage_0", data, 0)
    slow = Guest(fixture_wasm, fast=False).run("sscc_stage_0", data, 0)
    assert fast == slow and slow.count == 2


def test_the_fast_path_is_available_with_the_pinned_wasmtime():
    assert fastcall.AVAILABLE


def test_an_empty_batch_does_not_enter_the_guest(guest):
    assert guest.run("sscc_stage_0", b"", 0) == (b"", 0, [], {}, None)  # no window report


def test_a_record_over_the_memory_cap_fails_alone(fixture_wasm):
    tiny = Guest(fixture_wasm, Limits(memory_mb=2))
    out = tiny.run("sscc_stage_1", raw(b"x" * (3 << 20)), base_offset=7)
    (error,) = out.errors
    assert (error.kind, error.origin, out.count) == ("limit", 7, 0)
    assert "does not fit the guest's 2 MiB memory limit" in error.message
    after = tiny.run("sscc_stage_1", raw(b"small"), base_offset=8)
    assert [r.value for r in frames.iter_records(after.data)] == [b"small"], "the run goes on"


def test_modules_that_do_not_speak_the_abi_are_refused(tmp_path):
    plain = tmp_path / "plain.wat"
    plain.write_text('(module (memory (export "memory") 1) (func (export "f")))')
    with pytest.raises(GuestFault, match="missing exports"):
        Guest(plain)
    importing = tmp_path / "importing.wat"
    importing.write_text('(module (import "env" "f" (func)))')
    with pytest.raises(GuestFault, match="imports env.f"):
        Guest(importing)


def test_wild_guest_pointers_raise_instead_of_crashing(tmp_path):
    # A module that claims its outputs live far outside its memory.
    wat = tmp_path / "wild.wat"
    wat.write_text(f"""(module
          (memory (export "memory") 1)
          (func (export "sscc_abi_version") (result i32) i32.const {ABI_VERSION})
          (func (export "sscc_control") (result i32) i32.const 0)
          (func (export "sscc_reserve") (param i32) (result i32)
            (i32.store (i32.const 4) (i32.const 1024))
            (i32.store (i32.const 8) (i32.const 60000))
            i32.const 1024)
          (func (export "sscc_stage_0") (param i32 i32 i64) (result i32)
            (i32.store (i32.const 12) (i32.const 65000))
            (i32.store (i32.const 16) (i32.const 100000))
            i32.const 0))""")
    with pytest.raises(GuestFault, match="outside"):
        Guest(wat).run("sscc_stage_0", raw(b"x"))


def test_a_wrong_stage_signature_is_refused(guest):
    with pytest.raises(GuestFault, match="must be"):
        guest.run("sscc_reserve", raw(b"x"))
    with pytest.raises(GuestFault, match="no function export"):
        guest.run("nope", raw(b"x"))


def test_export_checks_signatures():
    store = wasmtime.Store()
    module = wasmtime.Module(store.engine, '(module (func (export "f") (param f32)))')
    func = wasmtime.Instance(store, module, []).exports(store)["f"]
    with pytest.raises(TypeError):
        fastcall.Export(store, func)


def test_without_a_timeout_the_same_module_runs_uninterruptible(fixture_wasm):
    data = raw(order(0), b"{", order(2, item="boom"), order(3))
    assert Guest(fixture_wasm, Limits(timeout_ms=0)).run(
        "sscc_stage_0", data, 0
    ) == Guest(fixture_wasm).run("sscc_stage_0", data, 0)


def test_a_module_too_big_for_the_memory_cap_is_a_clear_error(tmp_path):
    big = tmp_path / "big.wat"
    big.write_text('(module (memory (export "memory") 100))')  # 6.4 MB initial memory
    with pytest.raises(GuestFault, match="cannot instantiate"):
        Guest(big, Limits(memory_mb=1))


def test_malformed_frames_are_refused_by_the_guest(guest):
    with pytest.raises(GuestFault, match="malformed"):
        guest.run("sscc_stage_1", raw(b"ok") + b"\x05\x00\x00")

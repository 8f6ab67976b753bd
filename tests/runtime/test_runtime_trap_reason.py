"""How a trap reads in a dead letter (wasm_host.trap_reason), on real wasmtime traps: a stack
overflow says so whether wasmtime's call-stack limit or Rust's shadow stack (wrapping below
address 0) caught it; any other fault keeps wasmtime's own reason."""

from __future__ import annotations

import pytest
import wasmtime

from sscc.runtime_stub.sscc_runtime.wasm_host import trap_reason

GUEST = """
(module
  (memory 17)
  (func $down (export "recurse") (param i32) (result i32)
    (call $down (i32.add (local.get 0) (i32.const 1))))
  (func (export "wrapped_stack") (i32.store (i32.const -16) (i32.const 1)))
  (func (export "wild_pointer") (i32.store (i32.const 0x200000) (i32.const 1)))
  (func (export "unreachable") unreachable))
"""


def trap(export: str, *args) -> Exception:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, GUEST), [])
    with pytest.raises(wasmtime.Trap) as caught:
        instance.exports(store)[export](store, *args)
    return caught.value


@pytest.mark.parametrize("export, args", [("recurse", (0,)), ("wrapped_stack", ())])
def test_stack_overflows_say_stack_overflow(export, args):
    assert trap_reason(trap(export, *args)).startswith("stack overflow")


def test_a_wild_pointer_stays_an_out_of_bounds_access():
    assert trap_reason(trap("wild_pointer")) == "wasm trap: out of bounds memory access"


def test_other_traps_keep_wasmtimes_reason():
    assert "unreachable" in trap_reason(trap("unreachable"))

"""The fast path across the wasm boundary; the only module touching wasmtime-py private APIs.

`Func.__call__` costs ~60 µs per call here (type lookup and Val boxing every time); the C entry
point `wasmtime_func_call_unchecked` with a reused raw-value array costs ~3 µs. Both that and the
raw memory/deadline calls below come from `wasmtime._bindings`, which is private, so the emitted
project pins wasmtime and, if these names disappear, everything falls back to the public API.
"""

from __future__ import annotations

import ctypes

import wasmtime

try:
    from wasmtime import _bindings as _b

    _CALL = _b._wasmtime_func_call_unchecked
    _RAW = _b.wasmtime_val_raw_t
    _TRAP_PTR = ctypes.POINTER(_b.wasm_trap_t)
    # Own function objects (`dll[name]` is not cached, unlike `dll.name`) so the address comes
    # back as a plain int without touching the restype wasmtime-py itself relies on.
    _MEM_DATA = _b.dll["wasmtime_memory_data"]
    _MEM_DATA.argtypes = _b._wasmtime_memory_data.argtypes
    _MEM_DATA.restype = ctypes.c_size_t
    _MEM_SIZE = _b._wasmtime_memory_data_size
    _DEADLINE = _b._wasmtime_context_set_epoch_deadline
except (
    ImportError,
    AttributeError,
):  # pragma: no cover - depends on the wasmtime release
    _CALL = None

AVAILABLE = _CALL is not None
_KINDS = ("i32", "i64")


class GuestFault(RuntimeError):
    """The guest broke the ABI (wild pointer, malformed output); a bug, never a record's fault."""


class Export:
    """An export taking i32/i64 arguments and returning one i32 or nothing, called like a function.

    The signature is checked once here, which is what makes the unchecked call safe.
    """

    def __init__(self, store: wasmtime.Store, func: wasmtime.Func, fast: bool = True):
        ty = func.type(store)
        self.params = tuple(str(p) for p in ty.params)
        results = tuple(str(r) for r in ty.results)
        if any(p not in _KINDS for p in self.params) or results not in ((), ("i32",)):
            raise TypeError(f"unsupported export signature {self.params} -> {results}")
        self._store, self._func = store, func
        self._returns = bool(results)
        self.fast = fast and AVAILABLE
        if self.fast:
            self._raw = (_RAW * max(len(self.params), 1))()
            self._ctx = store._context()
            self._func_ref = ctypes.byref(func._func)

    def __call__(self, *args: int) -> int | None:
        if not self.fast:
            return self._func(self._store, *args)
        raw = self._raw
        for i, (field, value) in enumerate(zip(self.params, args)):
            setattr(raw[i], field, value)
        trap = _TRAP_PTR()
        error = _CALL(self._ctx, self._func_ref, raw, len(raw), ctypes.byref(trap))
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)
        if trap:
            raise wasmtime.Trap._from_ptr(trap)
        return raw[0].i32 if self._returns else None


class Memory:
    """Bulk, bounds-checked access to a guest's linear memory.

    `refresh()` re-reads base address and size; call it after any guest call (only guest code can
    grow memory). Every read and write is checked against the size, so a buggy guest publishing
    a wild pointer raises instead of crashing the host.
    """

    def __init__(
        self, store: wasmtime.Store, memory: wasmtime.Memory, fast: bool = True
    ):
        self._store, self._memory = store, memory
        self._fast = fast and AVAILABLE
        if self._fast:
            self._ctx = store._context()
            self._ref = ctypes.byref(memory._memory)
        self.base = self.size = 0
        self.refresh()

    def refresh(self) -> None:
        if self._fast:
            self.base = _MEM_DATA(self._ctx, self._ref)
            self.size = _MEM_SIZE(self._ctx, self._ref)
        else:
            self.base = (
                ctypes.cast(self._memory.data_ptr(self._store), ctypes.c_void_p).value
                or 0
            )
            self.size = self._memory.data_len(self._store)

    def write(self, ptr: int, data: bytes) -> None:
        self._check(ptr, len(data))
        ctypes.memmove(self.base + ptr, data, len(data))

    def read(self, ptr: int, length: int) -> bytes:
        if length == 0:
            return b""
        self._check(ptr, length)
        return ctypes.string_at(self.base + ptr, length)

    def _check(self, ptr: int, length: int) -> None:
        if ptr < 0 or length < 0 or ptr + length > self.size:
            raise GuestFault(
                f"guest range {ptr}+{length} outside its {self.size}-byte memory"
            )


def set_deadline(store: wasmtime.Store, ticks: int, fast: bool = True) -> None:
    """Arm epoch interruption `ticks` epochs from now (before every guest call)."""
    if fast and AVAILABLE:
        _DEADLINE(store._context(), ticks)
    else:
        store.set_epoch_deadline(ticks)

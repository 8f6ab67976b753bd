"""Runs stage modules that speak the batch ABI (docs/abi.md) under wasmtime.

One call per fused stage per batch: the framed batch goes into guest memory with one memmove,
framed outputs and per-record errors come back in bulk. Guests run with limits (epoch deadline
against endless loops, a memory cap). A trap — a Rust panic aborts on wasm32 —
costs only the record that caused it: the guest publishes the record in progress in its control
block before each record, so the host keeps the outputs committed before it, turns that record
into a `trap` error, and re-runs the rest of the batch on a fresh instance.
"""

from __future__ import annotations

import re
import struct
import threading
import time
from .records import record as dataclass  # records.py: dataclass's methods without its import cost
from pathlib import Path
from typing import NamedTuple

import wasmtime

from . import fastcall, frames, linemap, modcache, wasi
from .fastcall import GuestFault
from .http_client import HttpClient, HttpFailure
from .statesql import SqlError

ABI_VERSION = 3
# A batch bigger than memory_mb / BATCH_SHARE goes to the guest in parts: its bytes, the outputs
# and the operators' working memory must fit together, and a record must not fail for the
# company it came in (Guest.run).
BATCH_SHARE = 4
TICK_MS = 10
NO_RECORD = 0xFFFFFFFF
# Control block (docs/abi.md): 14 u32 then the i64 origin of the record in progress.
_CONTROL = struct.Struct("<14Iq")
_ERROR_HEAD = struct.Struct("<IIIqII")
KINDS = {1: "decode", 2: "operator", 3: "encode", 5: "late"}
# The only imports a stage module may have: `sql()` (docs/state-design.md §5), sdf-http's
# request and response copy (docs/http.md), and WASI preview 1 functions (wasi.py: env vars,
# stdout/stderr to the run's log, clocks).
HOST_IMPORTS = {("sscc", "sql"), ("sscc", "sql_result"), ("sscc", "http_request"), ("sscc", "http_response")}
# Window report (docs/abi.md, "Windows"): largest timestamp, touched windows (ptr, bytes).
_REPORT = struct.Struct("<qII")
_ROWS_HEAD = struct.Struct("<II")  # own-state rows sent with sql(): state index, JSON length
I64_MIN = -(2**63)


@dataclass(frozen=True)
class Limits:
    """Per-record wall-clock budget, linear-memory cap of one guest instance, largest record.

    timeout_ms=0 turns epoch interruption off: guest code then runs ~30% faster here, but
    nothing stops an endless loop. Only for trusted, tested operators.
    """

    timeout_ms: int = 10_000
    memory_mb: int = 256
    # the largest record (key + value bytes) a service reads or writes; larger ones are
    # dead-lettered where they cross into or out of the service (loop.py)
    record_bytes: int = 16 << 20


class GuestError(NamedTuple):
    """A record that failed: index in the stage call's input, its source offset, why; `pos` is
    where its frame starts in that input (so the host never walks the batch to find it)."""

    index: int
    origin: int
    kind: str  # decode | operator | encode | trap
    operator: str
    message: str
    pos: int = -1


class WindowReport(NamedTuple):
    """What a window stage call saw: its largest event time (None: no record classified) and the
    windows its on-time records went to, in first-touched order."""

    max_ts: int | None
    touched: list[tuple[int, int]]

    def merge(self, later: "WindowReport") -> "WindowReport":
        stamps = [t for t in (self.max_ts, later.max_ts) if t is not None]
        seen = set(self.touched)
        return WindowReport(
            max(stamps) if stamps else None,
            self.touched + [w for w in later.touched if w not in seen],
        )


class StageOutput(NamedTuple):
    data: bytes
    count: int
    errors: list[GuestError]
    # Change records per state (state index -> (framed bytes, count)); empty for stateless stages.
    changes: dict[int, tuple[bytes, int]] = {}
    window: WindowReport | None = None  # set for a window stage call


class _Control(NamedTuple):
    abi_version: int
    in_ptr: int
    in_cap: int
    out_ptr: int
    out_len: int
    err_ptr: int
    err_len: int
    cur_index: int
    cur_pos: int
    op_ptr: int
    op_len: int
    panic_ptr: int
    panic_len: int
    out_count: int
    cur_origin: int


_ENGINES: dict[bool, wasmtime.Engine] = {}
_MODULES: dict[tuple[Path, bool], wasmtime.Module] = {}


def engine(interruptible: bool = True) -> wasmtime.Engine:
    """The process-wide engine; the interruptible one has its epoch ticked every TICK_MS by a
    daemon thread (the epoch check is compiled into the code, hence two engines)."""
    if interruptible not in _ENGINES:
        config = wasmtime.Config()
        config.epoch_interruption = interruptible
        _ENGINES[interruptible] = wasmtime.Engine(config)
        if interruptible:
            threading.Thread(
                target=_tick, args=(_ENGINES[True],), name="sscc-epoch", daemon=True
            ).start()
    return _ENGINES[interruptible]


# Set by interrupt_guests() (Ctrl-C, loop.py): a guest call stopped by it raises Interrupted, and
# every call armed after it traps at once, so nothing runs a batch to its end any more.
_INTERRUPTED = threading.Event()
_MAX_TICKS = [1]  # the longest deadline any instance was armed with, in ticks


class MalformedInput(GuestFault):
    """A stage call's input did not frame: from a topic, a corrupt store (the loop says where)."""


class StateTooLarge(GuestFault):
    """A state's committed changes do not fit the guest's memory limit (Guest names the state)."""

    def __init__(self, index: int, size: int, memory_mb: int, name: str = "", service: str = ""):
        self.index, self.size, self.memory_mb = index, size, memory_mb
        what = f"state `{name}` of service `{service}`" if name else f"state {index}"
        option = f"{service}=MIB" if service else "MIB"
        super().__init__(
            f"{what} does not fit the guest's {memory_mb} MiB memory limit: loading its {size:,} bytes"
            f" of change records ran out of memory; raise the limit (`run --max-memory {option}`, or"
            " limits.memory_mb in services.json) or keep fewer keys (docs/state.md, \"Limits\")"
        )


class Interrupted(Exception):
    """A guest call was stopped by interrupt_guests(): its batch must not be committed."""


def interrupt_guests() -> None:
    """Make every guest call of this process trap at its next epoch check (any thread may call
    this; it is what lets Ctrl-C stop a long batch within about a tick). Guests of an engine
    without epoch interruption (`timeout_ms: 0`) cannot be interrupted."""
    _INTERRUPTED.set()
    eng = _ENGINES.get(True)
    if eng is not None:
        for _ in range(_MAX_TICKS[0] + 1):  # past every deadline armed so far
            eng.increment_epoch()


def clear_interrupt() -> None:
    """A new run in this process (tests run several)."""
    _INTERRUPTED.clear()


def interrupted() -> bool:
    return _INTERRUPTED.is_set()


def _tick(eng: wasmtime.Engine) -> None:
    while True:
        time.sleep(TICK_MS / 1000)
        eng.increment_epoch()


def load_module(path: str | Path, interruptible: bool = True) -> wasmtime.Module:
    """Compile once per process (and once per build of the module: modcache.py keeps the machine
    code for the next process); re-instantiation after a trap reuses the compiled code."""
    key = (Path(path).resolve(), interruptible)
    if key not in _MODULES:
        settings = f"epoch_interruption={interruptible}"  # what engine() configures
        module = modcache.load(engine(interruptible), key[0], settings)
        foreign = [
            i for i in module.imports if (i.module, i.name) not in HOST_IMPORTS and i.module != wasi.MODULE
        ]
        if foreign:
            names = ", ".join(f"{i.module}.{i.name}" for i in foreign)
            raise GuestFault(
                f"{key[0].name} imports {names}; stage modules may import only sscc.sql, sscc.http_request and WASI preview 1"
            )
        _MODULES[key] = module
    return _MODULES[key]


# Rust's stack on wasm32 is 1 MiB of linear memory growing down from 1 MiB: a recursion that
# outgrows it wraps the stack pointer below 0, so its first store faults just under 4 GiB.
_WRAPPED_STACK = 0xFFFFFFFF - (1 << 20)
_FAULT_ADDRESS = re.compile(r"memory fault at wasm address 0x([0-9a-f]+)")
_CAUSE_NUMBER = re.compile(r"^\d+: ")


def trap_reason(exc: Exception) -> str:
    """A trap's reason as users should read it: stack overflows (wasmtime's call-stack limit, or
    Rust's shadow stack wrapping below address 0) say so instead of 'out of bounds memory access'."""
    text = str(exc)
    code = getattr(exc, "trap_code", None)
    fault = _FAULT_ADDRESS.search(text)
    if code == wasmtime.TrapCode.STACK_OVERFLOW or (
        code == wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS and fault and int(fault.group(1), 16) >= _WRAPPED_STACK
    ):
        return "stack overflow: the operator recursed too deep (endless recursion?)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # wasmtime puts the reason last, after the backtrace, sometimes numbered as a cause ("1: ")
    return _CAUSE_NUMBER.sub("", lines[-1]) if lines else type(exc).__name__


class _Trapped(Exception):
    def __init__(self, salvaged: StageOutput, error: GuestError, pos: int, limit: bool = False):
        self.salvaged, self.error, self.pos = salvaged, error, pos
        # the time or memory limit, not the record's own fault as such: retried alone first
        self.limit = limit


class _TooBig(GuestFault):
    """The batch's bytes could not be reserved in guest memory (Guest.run splits it)."""


OOM_PREFIX = "out of memory"  # the guest allocator's note (runtime_stub/guest, OOM_MESSAGE)


class _Instance:
    """One instance in its own Store (limits and deadline are per store)."""

    def __init__(self, module: wasmtime.Module, limits: Limits, fast: bool, sql=None, http=None, env=None, service=""):
        if _INTERRUPTED.is_set():  # its guest calls would trap at once
            raise Interrupted("interrupted")
        self._limits, self._fast = limits, fast
        self._store = wasmtime.Store(engine(limits.timeout_ms > 0))
        self._store.set_limits(memory_size=limits.memory_mb << 20)
        self._arm()
        # sql(query text, window, own-state rows) -> result bytes, raising SqlError; None = no tables
        self._sql, self._pending = sql, b""
        # http(encoded request) -> encoded response, raising HttpFailure (http_client.HttpClient.send)
        self._http, self._http_pending = http, b""
        try:
            self._wasi = wasi.WasiHost(env, service, lambda: self._memory, self._operator)
            imports = [
                self._wasi.func(self._store, i.name, i.type) if i.module == wasi.MODULE else self._host_func(i.name)
                for i in module.imports
            ]
            exports = wasmtime.Instance(self._store, module, imports).exports(self._store)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            raise GuestFault(f"cannot instantiate the module: {exc}") from exc
        missing = {"memory", "sscc_abi_version", "sscc_control", "sscc_reserve"} - set(
            exports
        )
        if missing:
            raise GuestFault(
                f"not a batch-ABI module: missing exports {sorted(missing)}"
            )
        self._exports = exports
        # Before any guest code runs: WASI calls made by constructors read and write memory.
        self._memory = fastcall.Memory(self._store, exports["memory"], fast)
        if isinstance(exports.get("_initialize"), wasmtime.Func):  # a wasm32-wasi reactor
            self._arm()
            try:
                self._export("_initialize")()
            except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
                _raise_if_interrupted(exc)
                raise GuestFault(f"initializing the module failed: {exc}") from exc
        version = self._export("sscc_abi_version")()
        if version != ABI_VERSION:
            raise GuestFault(
                f"guest speaks ABI {version}, this runtime speaks {ABI_VERSION}"
            )
        self._control_ptr = self._export("sscc_control")() & 0xFFFFFFFF
        self._reserve = self._export("sscc_reserve")
        self._stages: dict[str, fastcall.Export] = {}
        self._in_ptr = self._in_cap = 0
        table = exports.get("sscc_state_table")
        self._table_ptr = (
            self._export("sscc_state_table")() & 0xFFFFFFFF
            if isinstance(table, wasmtime.Func)
            else None
        )
        self.states = 0  # how many state slots of the change table the host reads
        self._windowed, self._report_ptr = False, 0  # a window stage call is in progress
        # arrow-row `ttl` (docs/state-design.md): the batch's wall clock in, expired rows out
        has = lambda name: isinstance(exports.get(name), wasmtime.Func)  # noqa: E731
        self._set_now = self._export("sscc_set_now") if has("sscc_set_now") else None
        self._expire = self._export("sscc_expire") if has("sscc_expire") else None

    def _operator(self) -> str:
        """The operator running now (the control block), for the log prefix of what it prints."""
        if not hasattr(self, "_control_ptr"):  # a constructor printing, before the ABI is set up
            return ""
        self._memory.refresh()
        control = self._control()
        return self._memory.read(control.op_ptr, control.op_len).decode("utf-8", "replace")

    def set_now(self, now_ms: int) -> None:
        if self._set_now is not None:
            self._set_now(now_ms)

    def expire(self, now_ms: int) -> dict[int, tuple[bytes, int]]:
        """Delete the rows past their ttl; the `D` change records it wrote."""
        if self._expire is None:
            return {}
        self._arm()
        try:
            self._expire(now_ms)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            _raise_if_interrupted(exc)
            raise GuestFault(f"expiring state rows failed: {exc}") from exc
        self._memory.refresh()
        return self._changes()

    def _host_func(self, name: str) -> wasmtime.Func:
        i32 = wasmtime.ValType.i32()
        if name == "http_request":  # (request ptr, len) -> response length or -(error) - 1
            return wasmtime.Func(self._store, wasmtime.FuncType([i32, i32], [i32]), self._host_http_request)
        if name == "http_response":
            return wasmtime.Func(self._store, wasmtime.FuncType([i32], []), self._host_http_response)
        if name == "sql":  # (query ptr, len, window start, end, rows ptr, len) -> result length or -(error) - 1
            i64 = wasmtime.ValType.i64()
            ty = wasmtime.FuncType([i32, i32, i64, i64, i32, i32], [i32])
            return wasmtime.Func(self._store, ty, self._host_sql)
        return wasmtime.Func(self._store, wasmtime.FuncType([i32], []), self._host_sql_result)

    def _host_sql(self, ptr: int, length: int, start: int, end: int, rows_ptr: int, rows_len: int) -> int:
        """`sscc.sql`: run the query, keep the result pending; its length, or -(len) - 1 for an
        error message. Never raises (an exception here would trap the guest). The guest sends the
        current rows of its own states that changed since its last query along (docs/abi.md §7)."""
        try:
            self._memory.refresh()
            query = self._memory.read(ptr & 0xFFFFFFFF, length & 0xFFFFFFFF).decode("utf-8", "replace")
            rows = _own_rows(self._memory.read(rows_ptr & 0xFFFFFFFF, rows_len & 0xFFFFFFFF))
            if self._sql is None:
                raise SqlError("this service has no state tables to query")
            self._pending = self._sql(query, (start, end), rows)
            return len(self._pending)
        except SqlError as exc:
            self._pending = str(exc).encode()
        except Exception as exc:  # a host bug: the record fails with the reason, the run goes on
            self._pending = f"internal error in the host's sql(): {exc!r}".encode()
        return -len(self._pending) - 1

    def _host_http_request(self, ptr: int, length: int) -> int:
        """`sscc.http_request`: run the request, keep the response pending; its length, or
        -(len) - 1 for a failure message (the operator's Err). Never raises. The time spent here
        does not count against the call's deadline: the deadline is re-armed with what the guest
        had left (docs/http.md, "Limits")."""
        started = time.monotonic()
        try:
            self._memory.refresh()
            request = self._memory.read(ptr & 0xFFFFFFFF, length & 0xFFFFFFFF)
            if self._http is None:
                raise HttpFailure("HTTP is not available in this runtime")
            self._http_pending = self._http(request)
            return len(self._http_pending)
        except HttpFailure as exc:
            self._http_pending = str(exc).encode()
        except Exception as exc:  # a host bug: the record fails with the reason, the run goes on
            self._http_pending = f"internal error in the host's HTTP client: {exc!r}".encode()
        finally:
            self._rearm(time.monotonic() - started)
        return -len(self._http_pending) - 1

    def _host_http_response(self, dst: int) -> None:
        self._memory.refresh()
        self._memory.write(dst & 0xFFFFFFFF, self._http_pending)
        self._http_pending = b""

    def _rearm(self, host_seconds: float) -> None:
        """After a host call: the deadline again, less only the guest's own time since _arm."""
        if self._limits.timeout_ms <= 0:
            return
        self._host_s += host_seconds
        used_ms = (time.monotonic() - self._armed_at - self._host_s) * 1000
        left_ms = max(self._limits.timeout_ms - used_ms, TICK_MS)
        fastcall.set_deadline(self._store, -(-int(left_ms) // TICK_MS), self._fast)

    def _host_sql_result(self, dst: int) -> None:
        self._memory.refresh()
        self._memory.write(dst & 0xFFFFFFFF, self._pending)
        self._pending = b""

    def load_state(self, index: int, data: bytes) -> None:
        """Replay change records into the resident state `index` (sscc_state_load)."""
        if not data:
            return
        self._arm()
        try:
            ptr = self._reserve(len(data)) & 0xFFFFFFFF
            self._memory.refresh()
            self._in_cap = self._control().in_cap
            self._in_ptr = ptr
            self._memory.write(ptr, data)
            status = self._export("sscc_state_load")(index, ptr, len(data))
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            _raise_if_interrupted(exc)
            if self._out_of_memory():
                raise StateTooLarge(index, len(data), self._limits.memory_mb) from None
            raise GuestFault(f"loading state {index} into the guest failed: {exc}") from exc
        self._memory.refresh()
        if status != 0:
            raise GuestFault(f"the changelog of state {index} holds malformed change records")

    def _out_of_memory(self) -> bool:
        """Whether the guest's allocator noted a failed allocation (the trap alone does not say)."""
        self._memory.refresh()
        control = self._control()
        note = self._memory.read(control.panic_ptr, control.panic_len) if control.panic_len else b""
        return note.startswith(OOM_PREFIX.encode())

    def _changes(self) -> dict[int, tuple[bytes, int]]:
        if self._table_ptr is None or not self.states:
            return {}
        words = struct.unpack(
            f"<{3 * self.states}I", self._memory.read(self._table_ptr, 12 * self.states)
        )
        out = {}
        for i in range(self.states):
            ptr, length, count = words[3 * i : 3 * i + 3]
            if count:
                out[i] = (self._memory.read(ptr, length), count)
        return out

    def window_begin(self, watermark: int | None) -> None:
        """Before a window stage call: the watermark before the batch (None: no record yet)."""
        self._arm()
        self._export("sscc_window_begin")(I64_MIN if watermark is None else watermark)
        self._report_ptr = self._export("sscc_window_report")() & 0xFFFFFFFF
        self._windowed = True

    def _window_report(self) -> WindowReport | None:
        if not getattr(self, "_windowed", False):
            return None
        max_ts, ptr, length = _REPORT.unpack(self._memory.read(self._report_ptr, _REPORT.size))
        raw = self._memory.read(ptr, length) if length else b""
        pairs = struct.unpack(f"<{length // 8}q", raw)
        touched = [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
        return WindowReport(None if max_ts == I64_MIN else max_ts, touched)

    def call(self, export: str, data: bytes, base_offset: int) -> StageOutput:
        stage = self._stages.get(export) or self._bind(export)
        if len(data) > self._in_cap:
            self._arm()
            try:
                self._in_ptr = self._reserve(len(data)) & 0xFFFFFFFF
            except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
                _raise_if_interrupted(exc)
                raise _TooBig(
                    f"a {len(data)}-byte batch does not fit the guest's {self._limits.memory_mb} MiB limit"
                ) from exc
            self._memory.refresh()
            self._in_cap = self._control().in_cap
        self._memory.write(self._in_ptr, data)
        self._arm()
        try:
            status = stage(self._in_ptr, len(data), base_offset)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            _raise_if_interrupted(exc)
            self._memory.refresh()
            raise self._trapped(export, exc) from None
        self._memory.refresh()
        control = self._control()
        if status != 0:
            raise MalformedInput(f"{export} found malformed frames in its input")
        return self._outputs(control)

    def _bind(self, export: str) -> fastcall.Export:
        self._stages[export] = self._export(export)
        if self._stages[export].params != ("i32", "i32", "i64"):
            raise GuestFault(
                f"{export} must be (i32 in_ptr, i32 in_len, i64 base_offset) -> i32"
            )
        return self._stages[export]

    def _export(self, name: str) -> fastcall.Export:
        func = self._exports.get(name)
        if not isinstance(func, wasmtime.Func):
            raise GuestFault(f"module has no function export {name!r}")
        return fastcall.Export(self._store, func, self._fast)

    def _arm(self) -> None:
        self._armed_at, self._host_s = time.monotonic(), 0.0
        if self._limits.timeout_ms > 0:
            ticks = -(-self._limits.timeout_ms // TICK_MS)
            _MAX_TICKS[0] = max(_MAX_TICKS[0], ticks)
            # interrupted: trap at the first check instead of running a whole batch
            fastcall.set_deadline(self._store, 0 if _INTERRUPTED.is_set() else ticks, self._fast)

    def _control(self) -> _Control:
        return _Control._make(
            _CONTROL.unpack(self._memory.read(self._control_ptr, _CONTROL.size))
        )

    def _outputs(self, control: _Control) -> StageOutput:
        data = self._memory.read(control.out_ptr, control.out_len)
        errors = _parse_errors(self._memory.read(control.err_ptr, control.err_len))
        report = self._window_report()
        self._windowed = False
        return StageOutput(data, control.out_count, errors, self._changes(), report)

    def _trapped(self, export: str, exc: Exception) -> _Trapped:
        control = self._control()
        if control.cur_index == NO_RECORD:
            raise GuestFault(f"{export} trapped outside any record: {exc}") from exc
        operator = self._memory.read(control.op_ptr, control.op_len).decode(
            "utf-8", "replace"
        )
        if control.panic_len:
            message = self._memory.read(control.panic_ptr, control.panic_len).decode(
                "utf-8", "replace"
            )
        elif self._wasi.exit_message:
            message, self._wasi.exit_message = self._wasi.exit_message, None
        elif (
            isinstance(exc, wasmtime.Trap)
            and exc.trap_code == wasmtime.TrapCode.INTERRUPT
        ):
            message = f"timeout: the record ran over {self._limits.timeout_ms} ms (the time limit per record)"
        else:
            message = trap_reason(exc)
        limit = message.startswith(("timeout:", OOM_PREFIX))
        if message.startswith(OOM_PREFIX):
            message = f"{message} ({self._limits.memory_mb} MiB, for this record alone)"
        error = GuestError(
            control.cur_index, control.cur_origin, "trap", operator, message, control.cur_pos
        )
        return _Trapped(self._outputs(control), error, control.cur_pos, limit)


def _raise_if_interrupted(exc: Exception) -> None:
    """An epoch trap after interrupt_guests() is the interrupt, not the record's timeout."""
    if _INTERRUPTED.is_set() and getattr(exc, "trap_code", None) == wasmtime.TrapCode.INTERRUPT:
        raise Interrupted("interrupted") from None


def _own_rows(data: bytes) -> list[tuple[int, bytes]]:
    """The own-state rows sent with a query: (state index, JSON `[[key, column, ...], ...]`) each."""
    out, pos = [], 0
    while pos < len(data):
        if pos + 8 > len(data):
            raise GuestFault(f"malformed state rows at byte {pos}")
        index, length = _ROWS_HEAD.unpack_from(data, pos)
        pos += 8
        if pos + length > len(data):
            raise GuestFault(f"malformed state rows at byte {pos}")
        out.append((index, data[pos : pos + length]))
        pos += length
    return out


def _parse_errors(data: bytes) -> list[GuestError]:
    errors, pos = [], 0
    while pos < len(data):
        entry_len, index, at, origin, kind, op_len = _ERROR_HEAD.unpack_from(data, pos)
        body = pos + _ERROR_HEAD.size
        end = pos + 4 + entry_len
        if kind not in KINDS or body + op_len > end or end > len(data):
            raise GuestFault(f"malformed error entry at byte {pos}")
        operator = data[body : body + op_len].decode("utf-8", "replace")
        message = data[body + op_len : end].decode("utf-8", "replace")
        errors.append(GuestError(index, origin, KINDS[kind], operator, message, at))
        pos = end
    return errors


class Guest:
    """A stage module ready to run batches; survives traps by re-instantiating itself."""

    def __init__(
        self, path: str | Path, limits: Limits = Limits(), fast: bool = True, env=None, service: str = ""
    ):
        self.path = Path(path)
        # What the operators see through WASI (wasi.Environment) and the log prefix's service.
        self._env, self._service = env, service
        self.limits = limits
        self._module = load_module(path, limits.timeout_ms > 0)
        self._fast = fast
        # Stateful services: how many states, and where a fresh instance gets the committed
        # state from (index -> change records); set by the run loop before the first batch.
        self.states = 0
        self.state_names: list[str] = []  # for errors: index -> the state's name
        self.committed_state = None
        # The SQL mirror's query function for `sql()` (set by the run loop when the module uses it).
        self.sql = None
        self._now = 0

        self.uncommitted = None  # () -> {index: [(change records, count), ...]} of the batch so far
        self._carry: dict[int, list[bytes]] | None = None  # earlier parts' changes (_in_parts)
        # panic locations (`src/lib.rs:L:C`) back in the pipeline file, when the compiler left a map
        self._lines = linemap.LineMap.load(self.path)
        # Runs the requests of sdf-http (docs/http.md); the run loop sets the run's own client.
        self.http: HttpClient | None = None
        self._instance = _Instance(self._module, limits, fast, self._query, self._send, self._env, self._service)

    def _send(self, request: bytes) -> bytes:
        if self.http is None:
            self.http = HttpClient()  # the default policy: every host, 30 s, 16 MiB
        return self.http.send(request)

    def _query(self, text: str, window: tuple[int, int], rows: list[tuple[int, bytes]]) -> bytes:
        if self.sql is None:
            raise SqlError("this service has no state tables to query")
        return self.sql(text, window, rows)

    def route(self, data: bytes, parts: int) -> list[tuple[bytes, int]] | None:
        """The batch's frames grouped by repartition partition, crc32(key) % parts, in the guest
        (`sscc_route`, docs/scale-out.md): one call instead of a Python step per record. None
        when the module has no `sscc_route` (built before it existed)."""
        instance = self._instance
        if not isinstance(instance._exports.get("sscc_route"), wasmtime.Func):
            return None
        try:
            out = instance.call("sscc_route", data, parts)
        except _Trapped as trapped:
            raise GuestFault(f"sscc_route trapped: {trapped}") from None
        table = struct.unpack_from(f"<{2 * parts}I", out.data)
        groups, at = [], 8 * parts
        for p in range(parts):
            count, size = table[2 * p], table[2 * p + 1]
            groups.append((out.data[at : at + size], count))
            at += size
        if at != len(out.data) or sum(n for _, n in groups) != out.count:
            raise GuestFault("sscc_route returned a table that does not match its frames")
        return groups

    def restore(self) -> None:
        """Load the committed state into the current instance (start-up)."""
        self._fresh(self._instance)

    def reset(self) -> None:
        """A fresh instance holding only the committed state: a consumer-group backend gave this
        worker other partitions, and what the old instance held may be another worker's past."""
        self._instance = _Instance(self._module, self.limits, self._fast, self._query, self._send, self._env, self._service)
        self._fresh(self._instance)

    @property
    def expires(self) -> bool:
        """Whether the module has states with a `ttl`."""
        return self._instance._expire is not None

    def set_now(self, now_ms: int) -> None:
        """The batch's wall clock (ms), for `_updated_at` and `ttl`."""
        self._now = now_ms
        self._instance.set_now(now_ms)

    def expire(self, now_ms: int) -> dict[int, tuple[bytes, int]]:
        self._now = now_ms
        return self._instance.expire(now_ms)

    def _fresh(self, instance: "_Instance", pending: dict | None = None) -> None:
        try:
            self._load(instance, pending)
        except StateTooLarge as exc:
            names = self.state_names
            name = names[exc.index] if exc.index < len(names) else ""
            raise StateTooLarge(exc.index, exc.size, exc.memory_mb, name, self._service) from None

    def _load(self, instance: "_Instance", pending: dict | None) -> None:
        instance.states = self.states
        instance.set_now(self._now)
        if self.committed_state is None:
            return
        for index, data in self.committed_state().items():
            instance.load_state(index, data)
        # Changes of this batch's earlier calls (window stage before a flush), not committed yet.
        for index, parts in (self.uncommitted() if self.uncommitted else {}).items():
            instance.load_state(index, b"".join(part[0] for part in parts))
        # Changes of earlier parts of this call's batch (_in_parts), then of this part so far.
        for index, parts in (self._carry or {}).items():
            instance.load_state(index, b"".join(parts))
        for index, parts in (pending or {}).items():
            instance.load_state(index, b"".join(parts))

    def run(
        self, export: str, data: bytes, base_offset: int = -1, *, window: bool = False, watermark: int | None = None
    ) -> StageOutput:
        """Run `export` over a framed batch. `base_offset` is the topic offset of the first
        record when the batch comes straight from a topic, -1 when it is a stage's output.
        `window=True` marks a window stage: the guest classifies against `watermark` (the
        watermark before the batch) and the output carries its WindowReport.
        """
        if not data:
            return StageOutput(b"", 0, [], {}, WindowReport(None, []) if window else None)
        budget = (self.limits.memory_mb << 20) // BATCH_SHARE
        if len(data) > budget:  # a big batch goes in parts: its size must not decide what fails
            starts = frames.positions(data)
            if len(starts) > 1:
                return self._in_parts(export, data, starts, base_offset, window, watermark, budget)
        try:
            if window:
                self._instance.window_begin(watermark)
            return self._instance.call(export, data, base_offset)
        except _Trapped as trapped:
            return self._isolate(export, data, base_offset, trapped, window, watermark)
        except _TooBig:
            # One record that cannot even be copied in: it fails, the pipeline goes on. The
            # instance that failed to allocate may be torn: a fresh one for what follows.
            self._instance = self._new_instance()
            self._fresh(self._instance)
            origin = base_offset if base_offset >= 0 else frames.HEADER.unpack_from(data, 0)[2]
            message = (
                f"the record is {len(data):,} bytes framed and does not fit the guest's"
                f" {self.limits.memory_mb} MiB memory limit"
            )
            error = GuestError(0, origin, "limit", "", message, 0)
            return StageOutput(b"", 0, [error], {}, WindowReport(None, []) if window else None)

    def _new_instance(self) -> "_Instance":
        return _Instance(self._module, self.limits, self._fast, self._query, self._send, self._env, self._service)

    def _in_parts(
        self, export: str, data: bytes, starts: list[int], base_offset: int, window: bool, watermark: int | None, budget: int
    ) -> StageOutput:
        """Run a batch larger than `budget` bytes as consecutive calls of at most that size (a
        record larger than it alone), joined as one call's output would be: the same records
        fail at any batch size. Each call's state changes reach a fresh instance of a later one
        (`_carry`), as a window's watermark does."""
        bounds = starts + [len(data)]
        chunks, first = [], 0
        for i in range(1, len(starts) + 1):
            if bounds[i] - bounds[first] > budget and i - 1 > first:
                chunks.append((first, i - 1))
                first = i - 1
        chunks.append((first, len(starts)))
        parts, errors, count = [], [], 0
        changes: dict[int, list[bytes]] = {}
        counts: dict[int, int] = {}
        report = WindowReport(None, []) if window else None
        carried = self._carry
        try:
            for a, b in chunks:
                # an outer split's earlier parts, then ours
                both = {i: (carried or {}).get(i, []) + changes.get(i, []) for i in {*(carried or {}), *changes}}
                self._carry = both or None
                mark = watermark
                if window and report is not None and report.max_ts is not None:
                    mark = report.max_ts if watermark is None else max(watermark, report.max_ts)
                sub_base = base_offset + a if base_offset >= 0 else -1
                out = self.run(export, data[bounds[a] : bounds[b]], sub_base, window=window, watermark=mark)
                parts.append(out.data)
                count += out.count
                errors.extend(e._replace(index=e.index + a, pos=e.pos + bounds[a]) for e in out.errors)
                for index, (data_, n) in out.changes.items():
                    changes.setdefault(index, []).append(data_)
                    counts[index] = counts.get(index, 0) + n
                if report is not None and out.window is not None:
                    report = report.merge(out.window)
        finally:
            self._carry = carried
        joined = {i: (b"".join(changes[i]), counts[i]) for i in changes}
        return StageOutput(b"".join(parts), count, errors, joined, report)

    def _isolate(
        self,
        export: str,
        data: bytes,
        base_offset: int,
        trapped: _Trapped,
        window: bool = False,
        watermark: int | None = None,
    ) -> StageOutput:
        """Fail the trapping record and run the rest on a fresh instance; repeat while traps
        occur (each costs one record and one instantiation).

        A stateless call's output before the trapping record is kept as the trapped call left it.
        A stateful guest writes its change records only when a call completes (guest keyed.rs),
        so there the records before the trap run again, on the fresh instance, for their output
        and their changes; if one of them traps this time (a timeout), that one is failed instead.
        """
        parts: list[bytes] = []
        errors: list[GuestError] = []
        changes: dict[int, list[bytes]] = {}
        counts: dict[int, int] = {}
        count = shift = byte_shift = 0
        report = WindowReport(None, []) if window else None
        begun = watermark  # the watermark the call of `data` started from

        def keep(out: StageOutput) -> None:
            nonlocal count, report
            if report is not None and out.window is not None:
                report = report.merge(out.window)
            parts.append(out.data)
            count += out.count
            errors.extend(e._replace(index=e.index + shift, pos=e.pos + byte_shift) for e in out.errors)
            for index, (data_, n) in out.changes.items():
                changes.setdefault(index, []).append(data_)
                counts[index] = counts.get(index, 0) + n

        while trapped is not None:
            # The trapped instance's state may be torn: a fresh one gets the committed state
            # plus the changes of this batch's records that completed (docs/state-design.md §3).
            self._instance = self._new_instance()
            self._fresh(self._instance, changes)
            # A record past the time or memory limit after others in the same call may have
            # paid for them (time used, outputs held): it runs again first in a call of its own,
            # and fails only if it is over the limit alone (per-record limits, docs/abi.md §7).
            retry = trapped.limit and trapped.error.index > 0
            if self.states and trapped.error.index > 0:
                try:
                    if window:
                        self._instance.window_begin(begun)
                    keep(self._instance.call(export, data[: trapped.pos], base_offset))
                except _Trapped as earlier:
                    trapped = earlier
                    continue
                if report is not None and trapped.salvaged.window is not None and not retry:
                    # the trapping record was classified, and moved the watermark, before it trapped
                    report = report.merge(WindowReport(trapped.salvaged.window.max_ts, []))
            else:
                keep(trapped.salvaged)
            error = trapped.error
            if retry:
                done, cut = error.index, trapped.pos
            else:
                if self._lines is not None and "src/" in error.message:
                    error = error._replace(message=self._lines.rewrite(error.message))
                errors.append(error._replace(index=error.index + shift, pos=error.pos + byte_shift))
                done = error.index + 1
                cut = frames.skip(data, 1, trapped.pos)
            data = data[cut:]
            shift += done
            byte_shift += cut
            base_offset = base_offset + done if base_offset >= 0 else -1
            trapped = None
            if data:
                try:
                    if window:  # the rest is judged by the watermark the completed part left
                        stamps = [t for t in (watermark, report.max_ts) if t is not None]
                        begun = max(stamps) if stamps else None
                        self._instance.window_begin(begun)
                    keep(self._instance.call(export, data, base_offset))
                except _Trapped as exc:
                    trapped = exc
        joined = {i: (b"".join(changes[i]), counts[i]) for i in changes}
        return StageOutput(b"".join(parts), count, errors, joined, report)

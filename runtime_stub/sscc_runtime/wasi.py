"""The WASI preview 1 functions a stage module may import, served by the host (docs/env-and-logs.md).

Operators are built for wasm32-wasi so that `std::env::var`, `println!` / `eprintln!` and
`SystemTime::now()` (chrono's `Utc::now()`) work as in SDF. Rust's std only calls WASI when the
operator does one of those things, so nothing here is on the hot path. What an operator sees:

- environment: exactly the variables of `run -e KEY=VALUE` / `--env-file` (never the host's);
- fd 1 and 2: whole lines go to the run's log (oplog.py), or nowhere with `run --quiet`;
  fd 0 reads as empty; other descriptors do not exist (EBADF);
- clocks: realtime from the run's clock (clock.py), monotonic and CPU time from the host;
- random_get: the host's os.urandom (HashMap seeds, getrandom);
- no arguments, no preopened directories: file system calls fail with an error the operator sees;
- proc_exit: traps, so that record is dead-lettered with the exit code as its reason.

Any other preview 1 function the module imports is linked to a stub returning ENOSYS.
"""

from __future__ import annotations

import os
import struct
import time
from .records import field, record as dataclass
from typing import Callable

import wasmtime

from . import clock
from .oplog import OperatorLog

MODULE = "wasi_snapshot_preview1"

SUCCESS, EBADF, EFAULT, EINVAL, ENOSYS = 0, 8, 21, 28, 52
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_IOVEC = struct.Struct("<II")
# fdstat: filetype u8, flags u16, rights base u64, rights inheriting u64 (24 bytes)
_FDSTAT = struct.Struct("<BxHxxxxQQ")
CHARACTER_DEVICE = 2
ALL_RIGHTS = (1 << 29) - 1
IMPLEMENTED = frozenset(
    "environ_sizes_get environ_get args_sizes_get args_get fd_write fd_read fd_fdstat_get"
    " fd_prestat_get fd_close clock_time_get clock_res_get random_get sched_yield proc_exit".split()
)


@dataclass
class Environment:
    """What the operators of one run see of the outside world."""

    variables: dict[str, str] = field(default_factory=dict)
    log: OperatorLog | None = None  # None: operator output is discarded (`run --quiet`)

    def environ(self) -> list[bytes]:
        return [f"{k}={v}".encode() + b"\0" for k, v in self.variables.items()]


class ProcExit(Exception):
    """The operator called std::process::exit: the record in progress fails."""


class WasiHost:
    """The WASI functions of one guest instance. `memory()` is the instance's fastcall.Memory
    (it exists once the instance does; host functions only run during a call), `operator()`
    the operator running (from the control block) for the log prefix."""

    def __init__(
        self,
        env: Environment | None,
        service: str,
        memory: Callable[[], object],
        operator: Callable[[], str],
    ):
        self.env = env or Environment()
        self.service = service
        self._memory, self._operator = memory, operator
        self.exit_message: str | None = None

    def func(self, store: wasmtime.Store, name: str, ty: wasmtime.FuncType) -> wasmtime.Func:
        impl = getattr(self, f"_{name}") if name in IMPLEMENTED else self._unsupported(ty)
        return wasmtime.Func(store, ty, impl)

    def _mem(self):
        memory = self._memory()
        memory.refresh()
        return memory

    @staticmethod
    def _unsupported(ty: wasmtime.FuncType):
        returns = [str(r) for r in ty.results]

        def stub(*_args):
            return ENOSYS if returns == ["i32"] else None

        return stub

    # ------------------------------------------------------------------ environment and arguments

    def _environ_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        items = self.env.environ()
        mem = self._mem()
        mem.write(count_ptr & 0xFFFFFFFF, _U32.pack(len(items)))
        mem.write(size_ptr & 0xFFFFFFFF, _U32.pack(sum(map(len, items))))
        return SUCCESS

    def _environ_get(self, environ_ptr: int, buf_ptr: int) -> int:
        mem = self._mem()
        at, buf = environ_ptr & 0xFFFFFFFF, buf_ptr & 0xFFFFFFFF
        for item in self.env.environ():
            mem.write(at, _U32.pack(buf))
            mem.write(buf, item)
            at, buf = at + 4, buf + len(item)
        return SUCCESS

    def _args_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        mem = self._mem()
        mem.write(count_ptr & 0xFFFFFFFF, _U32.pack(0))
        mem.write(size_ptr & 0xFFFFFFFF, _U32.pack(0))
        return SUCCESS

    def _args_get(self, _argv: int, _buf: int) -> int:
        return SUCCESS

    # ------------------------------------------------------------------ stdio

    def _fd_write(self, fd: int, iovs: int, iovs_len: int, nwritten_ptr: int) -> int:
        if fd not in (1, 2):
            return EBADF
        mem = self._mem()
        raw = mem.read(iovs & 0xFFFFFFFF, 8 * (iovs_len & 0xFFFFFFFF))
        data = b"".join(mem.read(p, n) for p, n in _IOVEC.iter_unpack(raw))
        if self.env.log is not None and data:
            self.env.log.write(self.service, self._operator() or "?", fd, data)
        mem.write(nwritten_ptr & 0xFFFFFFFF, _U32.pack(len(data)))
        return SUCCESS

    def _fd_read(self, fd: int, _iovs: int, _iovs_len: int, nread_ptr: int) -> int:
        if fd != 0:
            return EBADF
        self._mem().write(nread_ptr & 0xFFFFFFFF, _U32.pack(0))  # stdin is empty
        return SUCCESS

    def _fd_fdstat_get(self, fd: int, ptr: int) -> int:
        if fd not in (0, 1, 2):
            return EBADF
        self._mem().write(ptr & 0xFFFFFFFF, _FDSTAT.pack(CHARACTER_DEVICE, 0, ALL_RIGHTS, ALL_RIGHTS))
        return SUCCESS

    def _fd_prestat_get(self, _fd: int, _ptr: int) -> int:
        return EBADF  # no preopened directories (wasi-libc stops scanning at EBADF)

    def _fd_close(self, fd: int) -> int:
        return SUCCESS if fd in (0, 1, 2) else EBADF

    # ------------------------------------------------------------------ clocks, randomness, exit

    def _clock_time_get(self, clock_id: int, _precision: int, ptr: int) -> int:
        if clock_id == 0:
            ns = clock.now_ns()
        elif clock_id == 1:
            ns = time.monotonic_ns()
        elif clock_id == 2:
            ns = time.process_time_ns()
        elif clock_id == 3:
            ns = time.thread_time_ns()
        else:
            return EINVAL
        self._mem().write(ptr & 0xFFFFFFFF, _U64.pack(ns & 0xFFFFFFFFFFFFFFFF))
        return SUCCESS

    def _clock_res_get(self, clock_id: int, ptr: int) -> int:
        if not 0 <= clock_id <= 3:
            return EINVAL
        self._mem().write(ptr & 0xFFFFFFFF, _U64.pack(1000))
        return SUCCESS

    def _random_get(self, buf: int, length: int) -> int:
        self._mem().write(buf & 0xFFFFFFFF, os.urandom(length & 0xFFFFFFFF))
        return SUCCESS

    def _sched_yield(self) -> int:
        return SUCCESS

    def _proc_exit(self, code: int) -> None:
        self.exit_message = f"the operator called std::process::exit({code})"
        raise ProcExit(self.exit_message)

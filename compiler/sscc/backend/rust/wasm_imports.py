"""The imports a wasm module declares, read from its binary import section (no compilation).

Stage modules import nothing but the host's `sql()` and sdf-http's request pair (docs/abi.md §2,
`HOST_IMPORTS`) and WASI preview 1 functions (modules are built for wasm32-wasi; the runtime
serves env vars, stdout and stderr, clocks and randomness and stubs the rest,
docs/env-and-logs.md). A dependency built with wasm-bindgen (js-sys, getrandom's `js`) leaves
imports the runtime would refuse, so the backend checks every module it builds.
"""

from __future__ import annotations

# What the runtime links (runtime_stub/sscc_runtime/wasm_host.py): `sql()` and its result copy,
# and sdf-http's request and response copy (docs/http.md).
HOST_IMPORTS = ("sscc.sql", "sscc.sql_result", "sscc.http_request", "sscc.http_response")
WASI_MODULE = "wasi_snapshot_preview1"  # every function of it is linked (runtime wasi.py)


def foreign_imports(wasm: bytes) -> list[str]:
    """The imports the runtime cannot satisfy."""
    return [i for i in imports(wasm) if i not in HOST_IMPORTS and not i.startswith(WASI_MODULE + ".")]


def imports(wasm: bytes) -> list[str]:
    """`module.name` of every import; [] for a module without an import section."""
    if wasm[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    try:
        return _imports(wasm)
    except IndexError:
        raise ValueError("a truncated wasm module") from None


def _imports(wasm: bytes) -> list[str]:
    pos = 8
    while pos < len(wasm):
        section, pos = wasm[pos], pos + 1
        size, pos = _leb(wasm, pos)
        if section == 2:
            return _import_names(wasm[pos : pos + size])
        pos += size
    return []


def _import_names(body: bytes) -> list[str]:
    count, pos = _leb(body, 0)
    out = []
    for _ in range(count):
        module, pos = _name(body, pos)
        name, pos = _name(body, pos)
        kind, pos = body[pos], pos + 1
        if kind == 0:  # function: type index
            _, pos = _leb(body, pos)
        elif kind == 1:  # table: reftype + limits
            pos = _limits(body, pos + 1)
        elif kind == 2:  # memory: limits
            pos = _limits(body, pos)
        else:  # global: valtype + mutability
            pos += 2
        out.append(f"{module}.{name}")
    return out


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _name(data: bytes, pos: int) -> tuple[str, int]:
    n, pos = _leb(data, pos)
    return data[pos : pos + n].decode("utf-8", "replace"), pos + n


def _limits(data: bytes, pos: int) -> int:
    flags, pos = data[pos], pos + 1
    _, pos = _leb(data, pos)
    if flags & 1:
        _, pos = _leb(data, pos)
    return pos

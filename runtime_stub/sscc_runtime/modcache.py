"""Precompiled stage modules: compile a .wasm with Cranelift once, then load its machine code.

Compiling a stage module takes 0.2-0.5 s here; loading it precompiled (`Module.deserialize_file`)
takes about a millisecond. The machine code is kept in `__wasmcache__/` beside the .wasm, one file
per module, named by a key over the module's bytes, the wasmtime build, the engine's settings and
the machine; a rebuilt module or another wasmtime gets another key, so a stale file is never
loaded (and is deleted when its replacement is written). Files are written atomically (temporary
file, then rename), and wasmtime itself refuses an artifact of another version or engine setting.
Anything unusual (a read-only directory, a rejected or unreadable file) falls back to compiling:
the cache only ever saves time, it never decides behaviour.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import wasmtime

CACHE_DIR = "__wasmcache__"
SUFFIX = ".cwasm"
KEY_CHARS = 24


@functools.cache
def wasmtime_build() -> str:
    """Which wasmtime this is, without importlib.metadata (~30 ms of imports): the dist-info
    directory beside the package and the size and mtime of its native library."""
    package = Path(wasmtime.__file__).parent
    try:
        dists = sorted(n for n in os.listdir(package.parent) if n.startswith("wasmtime-") and n.endswith(".dist-info"))
    except OSError:
        dists = []
    try:
        from wasmtime import _ffi

        lib = os.stat(_ffi.filename)
        native = f"{lib.st_size}:{lib.st_mtime_ns}"
    except (ImportError, AttributeError, OSError):
        native = "?"
    return f"{','.join(dists) or '?'}|{native}"


try:  # CPython's own SHA-256: `import hashlib` loads OpenSSL, a few ms of every start-up
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python 3.12+ (_sha2), or another interpreter
    try:
        from _sha2 import sha256  # type: ignore[no-redef]
    except ImportError:
        from hashlib import sha256  # type: ignore[no-redef]

SETTLED_NS = 2_000_000_000  # a module file this much older than its digest memo is trusted


def cache_key(data: bytes | str, settings: str, build: str | None = None) -> str:
    """Key of one module's machine code: its bytes (or their SHA-256 in hex, `module_digest`),
    the wasmtime build, the engine's settings."""
    digest = sha256()
    for part in (build or wasmtime_build(), settings, os.uname().machine):
        digest.update(part.encode() + b"\0")
    digest.update(sha256(data).hexdigest().encode() if isinstance(data, bytes) else data.encode())
    return digest.hexdigest()[:KEY_CHARS]


def module_digest(path: Path) -> str:
    """SHA-256 of the module's bytes, memoised in `__wasmcache__/<stem>.sha256` under the file's
    size, mtime and inode: reading and hashing ~1 MB of modules was a few ms of every start-up.
    As with git's racily clean index entries, the memo is trusted only for a file settled well
    before the memo was written (a rewrite within the same clock tick keeps size and mtime)."""
    st = os.stat(path)
    seen = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    memo = path.parent / CACHE_DIR / f"{path.stem}.sha256"
    try:
        stamp, written, digest = memo.read_text(encoding="utf-8").split()
        if stamp == seen and st.st_mtime_ns + SETTLED_NS < int(written) and len(digest) == 64:
            return digest
    except (OSError, ValueError):
        pass  # no memo, or another file's: hash
    digest = sha256(path.read_bytes()).hexdigest()
    try:
        tmp = memo.with_name(f".{memo.name}.{os.getpid()}.tmp")
        tmp.write_text(f"{seen} {time.time_ns()} {digest}\n", encoding="utf-8")
        os.replace(tmp, memo)
    except OSError:
        pass  # no cache directory yet (written with the first artifact), or read-only
    return digest


def cache_path(path: Path, key: str) -> Path:
    return path.parent / CACHE_DIR / f"{path.stem}-{key}{SUFFIX}"


def load(engine: wasmtime.Engine, path: Path, settings: str) -> wasmtime.Module:
    """The module at `path` for `engine` (whose configuration `settings` names), precompiled when
    a cached artifact exists, else compiled now and cached for the next process."""
    cached = cache_path(path, cache_key(module_digest(path), settings))
    if cached.is_file():
        try:
            return wasmtime.Module.deserialize_file(engine, str(cached))
        except wasmtime.WasmtimeError:
            pass  # not an artifact of this wasmtime / engine: compile, and overwrite it below
    module = wasmtime.Module(engine, path.read_bytes())
    _store(module, cached)
    return module


def _store(module: wasmtime.Module, cached: Path) -> None:
    import tempfile  # only when compiling: its imports cost start-up time

    try:
        cached.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{cached.name}.", suffix=".tmp", dir=cached.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(module.serialize())
            os.replace(tmp, cached)
        except BaseException:
            os.unlink(tmp)
            raise
        stem = cached.name[: -len(SUFFIX) - KEY_CHARS - 1]
        for old in cached.parent.glob(f"{stem}-*{SUFFIX}"):
            if old != cached and len(old.name) == len(cached.name):
                old.unlink(missing_ok=True)  # the artifact of an older build of this module
    except (OSError, wasmtime.WasmtimeError):
        pass  # read-only project or full disk: run compiled, just without the cache

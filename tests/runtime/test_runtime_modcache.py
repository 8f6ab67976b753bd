"""The precompiled-module cache (sscc_runtime/modcache.py): real wasmtime, real modules.

A module's machine code is reused only for the same module bytes, wasmtime build and engine
settings; anything else compiles again, and a rejected artifact is replaced, never an error.
"""

from __future__ import annotations

import runtime_fixtures  # noqa: F401 - puts runtime_stub/ on sys.path
import wasmtime

from sscc_runtime import modcache  # noqa: E402

SETTINGS = "epoch_interruption=False"


def _engine(epoch: bool = False) -> wasmtime.Engine:
    config = wasmtime.Config()
    config.epoch_interruption = epoch
    return wasmtime.Engine(config)


def _write_module(path, value: int) -> None:
    path.write_bytes(wasmtime.wat2wasm(f'(module (func (export "f") (result i32) i32.const {value}))'))


def _call(engine: wasmtime.Engine, module: wasmtime.Module) -> int:
    store = wasmtime.Store(engine)
    return wasmtime.Instance(store, module, []).exports(store)["f"](store)


def _artifacts(path) -> list:
    return sorted((path.parent / modcache.CACHE_DIR).glob(f"{path.stem}-*{modcache.SUFFIX}"))


def test_the_second_load_uses_the_cached_artifact(tmp_path):
    path = tmp_path / "m.wasm"
    _write_module(path, 7)
    engine = _engine()
    assert _call(engine, modcache.load(engine, path, SETTINGS)) == 7
    (artifact,) = _artifacts(path)
    before = artifact.stat().st_mtime_ns
    assert _call(engine, modcache.load(engine, path, SETTINGS)) == 7
    assert _artifacts(path) == [artifact] and artifact.stat().st_mtime_ns == before  # read, not rewritten


def test_new_module_bytes_compile_again_and_drop_the_old_artifact(tmp_path):
    path = tmp_path / "m.wasm"
    engine = _engine()
    _write_module(path, 1)
    modcache.load(engine, path, SETTINGS)
    (old,) = _artifacts(path)
    _write_module(path, 2)
    assert _call(engine, modcache.load(engine, path, SETTINGS)) == 2
    (new,) = _artifacts(path)
    assert new != old and not old.exists()


def test_another_wasmtime_build_has_another_key(tmp_path, monkeypatch):
    path = tmp_path / "m.wasm"
    engine = _engine()
    _write_module(path, 3)
    data = path.read_bytes()
    assert modcache.cache_key(data, SETTINGS, "wasmtime-50.0.0.dist-info|1:2") != modcache.cache_key(
        data, SETTINGS, "wasmtime-51.0.0.dist-info|1:2"
    )
    modcache.load(engine, path, SETTINGS)
    (old,) = _artifacts(path)
    monkeypatch.setattr(modcache, "wasmtime_build", lambda: "wasmtime-99.0.0.dist-info|0:0")
    assert _call(engine, modcache.load(engine, path, SETTINGS)) == 3
    (new,) = _artifacts(path)
    assert new != old and not old.exists()


def test_the_build_names_the_installed_wasmtime():
    build = modcache.wasmtime_build()
    assert build.startswith("wasmtime-") and ".dist-info|" in build
    assert not build.endswith("|?")  # the native library was found


def test_a_rejected_artifact_is_compiled_over(tmp_path):
    """An artifact wasmtime refuses (damaged, or made for other engine settings) under the right
    name: the module compiles and the artifact is replaced by a good one."""
    path = tmp_path / "m.wasm"
    _write_module(path, 5)
    target = modcache.cache_path(path, modcache.cache_key(path.read_bytes(), SETTINGS))
    target.parent.mkdir()
    # (1) not an artifact at all
    target.write_bytes(b"\x7fELF" + b"\0" * 200)
    engine = _engine()
    assert _call(engine, modcache.load(engine, path, SETTINGS)) == 5
    assert wasmtime.Module.deserialize_file(engine, str(target))  # replaced by a real one
    # (2) a real artifact of an engine with other settings (epoch interruption on)
    other = _engine(epoch=True)
    target.write_bytes(wasmtime.Module(other, path.read_bytes()).serialize())
    assert _call(engine, modcache.load(engine, path, SETTINGS)) == 5
    assert wasmtime.Module.deserialize_file(engine, str(target))


def test_a_read_only_directory_still_runs(tmp_path):
    path = tmp_path / "ro" / "m.wasm"
    path.parent.mkdir()
    _write_module(path, 9)
    (path.parent / modcache.CACHE_DIR).write_text("a file where the cache directory would go")
    engine = _engine()
    assert _call(engine, modcache.load(engine, path, SETTINGS)) == 9


def test_the_module_digest_memo_is_used_only_for_a_settled_file(tmp_path):
    """The SHA-256 of a module's bytes is memoised under its size, mtime and inode, but only
    trusted for a file written well before the memo (a same-size rewrite within one clock tick
    would otherwise be served the old digest). A memo is seen being used by planting a wrong
    digest in it."""
    import hashlib
    import os

    path = tmp_path / "m.wasm"
    _write_module(path, 4)
    (tmp_path / modcache.CACHE_DIR).mkdir()
    real = hashlib.sha256(path.read_bytes()).hexdigest()
    memo = tmp_path / modcache.CACHE_DIR / "m.sha256"
    assert modcache.module_digest(path) == real and memo.is_file()

    def plant(digest: str) -> None:
        stamp, written, _ = memo.read_text().split()
        memo.write_text(f"{stamp} {written} {digest}\n")

    plant("0" * 64)
    assert modcache.module_digest(path) == real  # just written: the file is not settled, hashed again
    old = path.stat().st_mtime_ns - 10 * 10**9
    os.utime(path, ns=(old, old))
    assert modcache.module_digest(path) == real  # another stamp: hashed, memo rewritten
    plant("1" * 64)
    assert modcache.module_digest(path) == "1" * 64  # settled and unchanged: the memo answers
    _write_module(path, 5)  # a rewrite: new mtime, so hashed again
    assert modcache.module_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()

"""The project cache of `sscc run FILE`: compile once, reuse while nothing changed.

One directory per pipeline path and compile options, under $SSCC_CACHE_DIR/projects/ (default
~/.cache/sscc/projects/). A stamp records the files the last compile read, a hash over them, the
options and sscc's own sources (identity.py: compiler, templates, runtime, guest crate, grammars),
and the size and mtime of every file the compile wrote; the project is compiled again when that
hash changes or a written file is missing or altered. The stamp is removed before a compile and
written (atomically) after it, so a compile stopped half-way is never trusted. A file lock keeps
two concurrent `sscc run`s from compiling into the same directory at once.

`warm_project` is the whole check of a warm `sscc run` (fastrun.py): it reads the stamp, stats the
files and hashes the pipeline's inputs; nothing of the front end is imported.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from . import identity
from .sha import sha256  # not hashlib: its OpenSSL costs start-up time

if TYPE_CHECKING:  # the front end is imported only when a compile is needed: a cached
    from ...diagnostics import SourceCache  # `sscc run` starts without it (~0.4 s saved)
    from ...driver import Options
    from .emit import Compiled

STAMP = ".sscc-stamp"


def cache_root() -> Path:
    base = os.environ.get("SSCC_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "sscc") / "projects"


def _options_key(options: "Options") -> list:
    return [options.strict, sorted(options.disabled_passes), options.optimize]


def project_dir(path: str, options: "Options") -> Path:
    key = json.dumps([os.path.realpath(path), _options_key(options)])
    return cache_root() / sha256(key.encode()).hexdigest()[:16]


def hashed_sources() -> list[tuple[str, Path]]:
    """(name, path) of every file of sscc whose change must recompile a cached project: the sscc
    package, the templates, the runtime and guest glue crate the wasm modules are built from, the
    grammars (identity.py)."""
    return [(name, Path(path)) for name, path, _ in identity.source_files(identity.source_roots())]


@functools.cache
def _sscc_hash() -> str:
    """Hash of sscc's own sources: an edited compiler, runtime or guest invalidates cached projects
    (memoised by the files' stat fingerprint, so a run does not read them all)."""
    return identity.sscc_identity(cache_root().parent)


def _inputs_hash(inputs: list[str], options: "Options") -> Optional[str]:
    digest = sha256(json.dumps([_sscc_hash(), _options_key(options)]).encode())
    for path in inputs:
        try:
            digest.update(os.path.realpath(path).encode() + b"\0" + Path(path).read_bytes())
        except OSError:
            return None  # an input vanished: compile again
    return digest.hexdigest()


def _stamp_files(out_dir: Path) -> dict[str, list[int]]:
    """{relative path: [size, mtime_ns]} of every file the compile wrote (its manifest)."""
    from .files import MANIFEST  # files.py's imports are not needed on the warm path

    names = (out_dir / MANIFEST).read_text(encoding="utf-8").splitlines()
    out = {}
    for rel in names:
        st = os.stat(out_dir / rel)
        out[rel] = [st.st_size, st.st_mtime_ns]
    return out


def _read_stamp(out_dir: Path) -> Optional[dict]:
    try:
        stamp = json.loads((out_dir / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def _is_current(out_dir: Path, stamp: Optional[dict], options: "Options") -> bool:
    """Whether the stamped compile still stands: same inputs, options and sscc, and every file
    it wrote still there as written (a deleted or truncated file means compile again)."""
    if not stamp or not stamp.get("hash") or not isinstance(stamp.get("package"), str):
        return False
    written = stamp.get("files")
    if not isinstance(written, dict) or not written:
        return False
    for rel, (size, mtime_ns) in written.items():
        try:
            st = os.stat(out_dir / rel)
        except (OSError, ValueError):
            return False
        if st.st_size != size or st.st_mtime_ns != mtime_ns:
            return False
    return stamp["hash"] == _inputs_hash(stamp.get("inputs", []), options)


def warm_project(path: str, options: "Options") -> Optional[tuple[Path, str]]:
    """(project directory, package) when the cache holds a current compile of `path`, else None.
    Needs nothing of the front end: this is all a warm `sscc run` does before running."""
    out_dir = project_dir(path, options)
    try:
        with open(out_dir / ".lock", "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)  # not while a compile is writing the directory
            stamp = _read_stamp(out_dir)
            if _is_current(out_dir, stamp, options):
                return out_dir, stamp["package"]
    except (OSError, TypeError, ValueError):
        pass
    return None


def compiled_project(
    path: str, options: "Options", sources: "SourceCache", force: bool = False
) -> tuple[Path, Optional[str], Optional["Compiled"]]:
    """(project directory, package name or None on errors, the Compiled when it compiled now).
    `options` only needs strict / disabled_passes / optimize until a compile is needed; `force`
    compiles even over a current stamp (the cached project turned out not to load)."""
    out_dir = project_dir(path, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = _read_stamp(out_dir)
        if not force and _is_current(out_dir, stamp, options):
            return out_dir, stamp["package"], None
        from .emit import compile_project
        from .files import MANIFEST

        # No stamp while the directory is being rewritten: a compile stopped half-way leaves
        # a directory that the next run compiles again, never one it trusts.
        (out_dir / STAMP).unlink(missing_ok=True)
        result = compile_project(path, str(out_dir), options, sources)
        if not result.ok:
            if not (out_dir / MANIFEST).exists():
                import shutil

                shutil.rmtree(out_dir, ignore_errors=True)  # never compiled: leave nothing behind
            return out_dir, None, result
        _compile_bytecode(out_dir / result.package)
        stamp = {"inputs": [os.path.abspath(p) for p in result.inputs], "package": result.package}
        stamp["hash"] = _inputs_hash(stamp["inputs"], options)
        stamp["files"] = _stamp_files(out_dir)
        tmp = out_dir / f".{STAMP}.tmp"
        tmp.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out_dir / STAMP)
        return out_dir, result.package, result


def _compile_bytecode(package_dir: Path) -> None:
    """Bytecode for the cached project's modules, written now: with PYTHONDONTWRITEBYTECODE set
    Python would otherwise compile the runtime's sources again on every run. Hash-checked pycs
    stay correct whatever happens to the sources' mtimes."""
    import compileall
    import py_compile

    compileall.compile_dir(
        str(package_dir), quiet=2, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH
    )

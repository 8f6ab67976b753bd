"""The project cache of `sscc run FILE`: compile once, reuse while nothing changed.

One directory per pipeline path and compile options, under $SSCC_CACHE_DIR/projects/ (default
~/.cache/sscc/projects/). A stamp records the files the last compile read and a hash over them,
the options and sscc's own sources (compiler, templates, runtime, guest crate); the project is compiled again
only when that hash changes. A file lock keeps two concurrent `sscc run`s from compiling into the
same directory at once.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.resources
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from . import files

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
    return cache_root() / hashlib.sha256(key.encode()).hexdigest()[:16]


def hashed_sources() -> list[tuple[str, Path]]:
    """(name, path) of every file of sscc whose change must recompile a cached project: the sscc
    package, the templates, the runtime and the guest glue crate the wasm modules are built from."""
    roots = [
        Path(__file__).resolve().parents[2],  # the sscc package
        importlib.resources.files("sscc.templates"),
        importlib.resources.files("sscc.runtime_stub"),  # sscc_runtime/ and guest/
    ]
    out = []
    for root in roots:
        base = Path(str(root))
        for path in sorted(base.rglob("*")):
            parts = path.relative_to(base).parts
            skip = "__pycache__" in parts or "target" in parts  # target/: a local cargo build's output
            if path.is_file() and not skip and path.suffix != ".pyc":
                out.append((str(path.relative_to(base)), path))
    return out


@functools.cache
def _sscc_hash() -> str:
    """Hash of sscc's own sources: an edited compiler, runtime or guest invalidates cached projects."""
    digest = hashlib.sha256()
    for name, path in hashed_sources():
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _inputs_hash(inputs: list[str], options: "Options") -> Optional[str]:
    digest = hashlib.sha256(json.dumps([_sscc_hash(), _options_key(options)]).encode())
    for path in inputs:
        try:
            digest.update(os.path.realpath(path).encode() + b"\0" + Path(path).read_bytes())
        except OSError:
            return None  # an input vanished: compile again
    return digest.hexdigest()


def compiled_project(path: str, options: "Options", sources: "SourceCache") -> tuple[Path, Optional[str], Optional["Compiled"]]:
    """(project directory, package name or None on errors, the Compiled when it compiled now).
    `options` only needs strict / disabled_passes / optimize until a compile is needed."""
    out_dir = project_dir(path, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            stamp = json.loads((out_dir / STAMP).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stamp = None
        if (
            stamp
            and stamp.get("hash")
            and (out_dir / "plan.json").is_file()
            and stamp["hash"] == _inputs_hash(stamp.get("inputs", []), options)
        ):
            return out_dir, stamp["package"], None
        from .emit import compile_project

        result = compile_project(path, str(out_dir), options, sources)
        if not result.ok:
            if not (out_dir / files.MANIFEST).exists():
                shutil.rmtree(out_dir, ignore_errors=True)  # never compiled: leave nothing behind
            return out_dir, None, result
        stamp = {"inputs": [os.path.abspath(p) for p in result.inputs], "package": result.package}
        stamp["hash"] = _inputs_hash(stamp["inputs"], options)
        (out_dir / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        return out_dir, result.package, result

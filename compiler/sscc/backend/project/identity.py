"""Which sscc this is, for the project cache of `sscc run`: a hash over its own sources.

An edited compiler, template, runtime or guest crate must recompile a cached project, so the
identity is a content hash over every such file. Hashing ~800 KB on every `sscc run` cost ~18 % of
its start-up, so the hash is memoised: a fingerprint of the files' names, sizes, mtimes and inodes
(one stat each) is looked up in a small JSON file under the cache root, and the files are read and
hashed again only when that fingerprint changes (an edit in an editable install, a reinstall).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Optional

from .sha import sha256  # not hashlib: its OpenSSL costs start-up time

# The packages whose files make a compiled project: the compiler itself, the templates, the
# runtime and guest crate copied into projects, the grammars of the front end.
PACKAGES = ("sscc", "sscc.templates", "sscc.runtime_stub", "sscc.grammars")
_SKIP_DIRS = {"__pycache__", "target"}  # target/: a local cargo build's output


def source_roots() -> list[Path]:
    """The directories of PACKAGES (find_spec follows an editable install's mapping without
    importing importlib.resources)."""
    roots = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            roots.append(Path(location).resolve())
    return roots


def source_files(roots: list[Path]) -> list[tuple[str, str, os.stat_result]]:
    """(root-relative name, path, stat) of every source file under `roots`, sorted. A root nested
    in another (the templates inside an installed sscc package) is listed once, as itself."""
    out = []
    nested = {str(r) for r in roots}

    def walk(root: Path, directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in _SKIP_DIRS and entry.path not in nested:
                        walk(root, entry.path, f"{prefix}{entry.name}/")
                elif entry.is_file() and not entry.name.endswith((".pyc", ".pyo")):
                    out.append((f"{root.name}/{prefix}{entry.name}", entry.path, entry.stat()))

    for root in roots:
        walk(root, str(root), "")
    return out


def fingerprint(files: list[tuple[str, str, os.stat_result]]) -> str:
    digest = sha256()
    for name, _, st in files:
        digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
    return digest.hexdigest()


def content_hash(files: list[tuple[str, str, os.stat_result]]) -> str:
    digest = sha256()
    for name, path, _ in files:
        with open(path, "rb") as fh:
            digest.update(name.encode() + b"\0" + fh.read())
    return digest.hexdigest()


def memo_path(cache_root: Path, roots: list[Path]) -> Path:
    """One memo per installation (the cache root is shared by every sscc of a user)."""
    where = sha256("\0".join(map(str, roots)).encode()).hexdigest()[:16]
    return cache_root / "identity" / f"{where}.json"


def sscc_identity(cache_root: Path, roots: Optional[list[Path]] = None) -> str:
    """The content hash of sscc's sources, read from the memo when their fingerprint matches."""
    roots = source_roots() if roots is None else roots
    files = source_files(roots)
    seen = fingerprint(files)
    memo = memo_path(cache_root, roots)
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
        if known.get("fingerprint") == seen and isinstance(known.get("hash"), str):
            return known["hash"]
    except (OSError, ValueError, AttributeError):
        pass  # no memo yet, or an unreadable one: hash and write it
    value = content_hash(files)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f".{memo.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"fingerprint": seen, "hash": value}), encoding="utf-8")
        os.replace(tmp, memo)
    except OSError:
        pass  # a read-only cache: correct, only slower
    return value

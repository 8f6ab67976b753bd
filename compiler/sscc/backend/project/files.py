"""Writing the project tree: the runtime copy, atomic file replacement, stale-file removal.

`DIR/.sscc-files` lists every file the last compile produced. A new compile replaces each file
atomically (write a temporary file beside it, then rename), writes `plan.json` last so that it is
the newest file (Make's target), then deletes the files the previous list had and this one has
not. Files sscc did not produce (a store, a venv, notes) are never touched, and a compile that
would overwrite one (a README.md of the pipeline's own directory) is refused.
"""

from __future__ import annotations

import importlib.resources
import os
import tempfile
from pathlib import Path

MANIFEST = ".sscc-files"
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


def runtime_files() -> dict[str, bytes]:
    """The runtime package `sscc_runtime` as {relative path: bytes}, without caches."""
    root = importlib.resources.files("sscc.runtime_stub") / "sscc_runtime"
    out: dict[str, bytes] = {}

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                if child.name not in _SKIP_DIRS:
                    walk(child, f"{prefix}{child.name}/")
            elif not child.name.endswith(_SKIP_SUFFIXES):
                out[prefix + child.name] = child.read_bytes()

    walk(root, "")
    return dict(sorted(out.items()))


def write_tree(out_dir: Path, files: dict[str, bytes], last: str = "plan.json") -> list[str]:
    """Write `files` ({relative posix path: bytes}) into out_dir; return the stale paths removed."""
    old = _read_manifest(out_dir)
    foreign = sorted(rel for rel in files if rel not in old and (out_dir / rel).exists())
    if foreign:
        # Never overwrite a file sscc did not write (compiling into the pipeline's own
        # directory would otherwise replace its README.md).
        raise FileExistsError(
            f"{out_dir / foreign[0]} exists and was not written by sscc"
            f"{f' (and {len(foreign) - 1} more)' if len(foreign) > 1 else ''}; use an empty or new directory"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    order = sorted(p for p in files if p != last) + ([last] if last in files else [])
    for rel in order:
        _write_atomic(out_dir / rel, files[rel])
    manifest = "".join(f"{p}\n" for p in sorted([*files, MANIFEST]))
    _write_atomic(out_dir / MANIFEST, manifest.encode())
    stale = sorted(set(old) - set(files) - {MANIFEST})
    for rel in stale:
        path = out_dir / rel
        if _inside(out_dir, path) and (path.is_file() or path.is_symlink()):
            path.unlink()
            _prune_empty_dirs(out_dir, path.parent)
    return stale


def _read_manifest(out_dir: Path) -> list[str]:
    try:
        text = (out_dir / MANIFEST).read_text(encoding="utf-8")
    except OSError:
        return []
    return [line for line in text.splitlines() if line and not line.startswith("/") and ".." not in line.split("/")]


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _prune_empty_dirs(root: Path, directory: Path) -> None:
    root = root.resolve()
    directory = directory.resolve()
    while directory != root and _inside(root, directory):
        try:
            directory.rmdir()  # only succeeds when empty
        except OSError:
            return
        directory = directory.parent

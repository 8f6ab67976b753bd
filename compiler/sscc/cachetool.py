"""`sscc cache info` and `sscc cache prune`: the build cache ($SSCC_CACHE_DIR, else ~/.cache/sscc),
which nothing else ever shrinks.

What is in it (docs/cli.md): `projects/<hash>/` compiled projects of `sscc run` / `sscc test`,
`wasm/<key>.wasm` built modules, `target/` cargo's shared target directory (serde & co., a
minute of cold build to get back), `src/<key>/` crates of builds that failed or were stopped,
`black/` and `lark/` small memo caches, `tests/` the test suite's fixtures; `identity/`,
`toolchain.json` and the lock files are kept (tiny, and in use).

Pruning removes whole entries, least recently used first (last use: the later of a file's
access and modification times; a cache hit reads the module or the project's stamp). An entry is
removed only under its lock, taken without waiting: a project under its `.lock` (a `sscc run`
compiling or checking it holds that), modules, crates and the target directory under
`build.lock` (a build holds it while cargo runs). An entry whose lock is held is skipped and said
so; a later prune gets it. A `sscc run` whose project was pruned compiles it again.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

DAY = 86400
KEPT = {"identity", "toolchain.json", "build.lock"}


def cache_root() -> Path:
    base = os.environ.get("SSCC_CACHE_DIR")
    return Path(base) if base else Path.home() / ".cache" / "sscc"


@dataclass
class Entry:
    kind: str  # project, module, target, crate, memo, tests
    path: Path
    size: int
    last_used: float
    lock: Optional[Path]  # the lock file guarding it (None: no lock needed)


def _usage(path: Path) -> tuple[int, float]:
    """(bytes, last use) of a file or a directory tree."""
    try:
        st = path.lstat()
    except OSError:
        return 0, 0.0
    if not path.is_dir() or path.is_symlink():
        return st.st_size, max(st.st_atime, st.st_mtime)
    size, last = 0, 0.0
    for here, _dirs, files in os.walk(path):
        for name in files:
            try:
                fst = os.lstat(os.path.join(here, name))
            except OSError:
                continue
            size += fst.st_size
            last = max(last, fst.st_atime, fst.st_mtime)
    return size, last or st.st_mtime  # a directory's own mtime moves whenever an entry is added


def _stamp_use(project: Path) -> float:
    """A project's last use: its stamp is read by every warm `sscc run`."""
    try:
        st = (project / ".sscc-stamp").stat()
        return max(st.st_atime, st.st_mtime)
    except OSError:
        return 0.0


def entries(root: Path) -> list[Entry]:
    out: list[Entry] = []
    build_lock = root / "build.lock"
    for project in _children(root / "projects"):
        size, last = _usage(project)
        out.append(Entry("project", project, size, max(_stamp_use(project), 0.0) or last, project / ".lock"))
    for module in _children(root / "wasm"):
        size, last = _usage(module)
        out.append(Entry("module", module, size, last, build_lock))
    for crate in _children(root / "src"):
        size, last = _usage(crate)
        out.append(Entry("crate", crate, size, last, build_lock))
    if (root / "target").exists():
        size, last = _usage(root / "target")
        out.append(Entry("target", root / "target", size, last, build_lock))
    for memo in ("black", "lark"):
        if (root / memo).exists():
            size, last = _usage(root / memo)
            out.append(Entry("memo", root / memo, size, last, None))
    if (root / "tests").exists():
        size, last = _usage(root / "tests")
        out.append(Entry("tests", root / "tests", size, last, root / "tests" / "build.lock"))
    return out


def _children(where: Path) -> list[Path]:
    try:
        return sorted(p for p in where.iterdir() if not p.name.startswith(".tmp"))
    except OSError:
        return []


def total_size(root: Path) -> int:
    return _usage(root)[0] if root.exists() else 0


# ---------------------------------------------------------------------------- sizes


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.I)


def parse_size(text: str) -> int:
    """`500M`, `2G`, `1.5GiB`, `800k`, `1024` (bytes); powers of 1024."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"`{text}` is not a size (e.g. 500M, 2G, 1.5GiB)")
    unit = m.group(2).lower()
    return int(float(m.group(1)) * (1024 ** ("kmgt".index(unit) + 1) if unit else 1))


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _age(seconds: float) -> str:
    days = seconds / DAY
    return f"{days:.0f} days" if days >= 1 else f"{seconds / 3600:.0f} hours"


# ---------------------------------------------------------------------------- prune


@dataclass
class PruneResult:
    removed: list[Entry]
    skipped: list[Entry]  # their lock was held
    before: int
    after: int


def choose(all_entries: list[Entry], total: int, max_size: Optional[int], older_than_days: Optional[float], now: float) -> list[Entry]:
    """What to remove: everything unused for `older_than_days`, then least recently used
    entries until the cache is at most `max_size`."""
    chosen: list[Entry] = []
    by_age = sorted(all_entries, key=lambda e: e.last_used)
    if older_than_days is not None:
        cutoff = now - older_than_days * DAY
        chosen = [e for e in by_age if e.last_used < cutoff]
    if max_size is not None:
        left = total - sum(e.size for e in chosen)
        for e in by_age:
            if left <= max_size:
                break
            if e not in chosen:
                chosen.append(e)
                left -= e.size
    return chosen


@contextmanager
def _locked(lock: Optional[Path]) -> Iterator[bool]:
    """Holds `lock` exclusively if nobody else does; yields whether it got it."""
    if lock is None:
        yield True
        return
    try:
        fh = open(lock, "a")
    except FileNotFoundError:  # no lock file: nobody can be using it through one
        yield True
        return
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def prune(root: Path, max_size: Optional[int], older_than_days: Optional[float], dry_run: bool) -> PruneResult:
    all_entries = entries(root)
    before = total_size(root)
    chosen = choose(all_entries, before, max_size, older_than_days, time.time())
    removed, skipped = [], []
    by_lock: dict[Optional[Path], list[Entry]] = {}
    for e in chosen:
        by_lock.setdefault(e.lock, []).append(e)
    for lock, group in by_lock.items():
        if dry_run:
            removed += group
            continue
        with _locked(lock) as got:
            if not got:
                skipped += group
                continue
            for e in group:
                _remove(e.path)
                removed.append(e)
    after = before - sum(e.size for e in removed) if dry_run else total_size(root)
    order = {id(e): i for i, e in enumerate(chosen)}  # least recently used first, as chosen
    removed.sort(key=lambda e: order[id(e)])
    skipped.sort(key=lambda e: order[id(e)])
    return PruneResult(removed, skipped, before, after)


def describe(e: Entry, root: Path, now: float) -> str:
    return f"{human(e.size):>10}  {e.kind:<8} {os.path.relpath(e.path, root)}  (last used {_age(now - e.last_used)} ago)"

"""Cargo in a sandbox: compiling someone else's pipeline must not read the build machine.

Inline code runs at build time through macros (`include_str!`, `env!`), and so do the build
scripts and procedural macros of its dependencies. check/build_reach.py refuses the plain
spellings at their line; this closes the class. cargo runs under bubblewrap (Debian's
`bubblewrap`) in new namespaces with:

- a read-only /usr (toolchain, offline registry), /tmp as an empty tmpfs, no /etc, no /home,
  no /root, no network;
- the crate's own directory and the shared target directory writable, the crates it names by
  `path` (the guest glue, sscc's sdf-http, package sources) and a toolchain outside /usr readable;
- an environment of the build's own variables only (`env!("HOME")` sees /tmp).

A file outside that view does not exist for the compiler: `include_str!("/etc/hostname")` built
through a macro fails with rustc's "couldn't read" at the line, instead of embedding the file.
Where bubblewrap cannot run, builds stop with E207 (the hint says how to install it); setting
SSCC_UNSANDBOXED_BUILD=1 builds without the sandbox, for pipelines one trusts.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterable

UNSANDBOXED_ENV = "SSCC_UNSANDBOXED_BUILD"
# Top-level directories that are links into /usr on a merged-/usr system (Debian 12).
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_PATH_DEP = re.compile(r"""\bpath\s*=\s*["']([^"']+)["']""")


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot create namespaces here; the message says which."""


def wanted() -> bool:
    return os.environ.get(UNSANDBOXED_ENV, "") in ("", "0")


@functools.lru_cache(maxsize=1)
def _probe() -> str | None:
    """None when a sandbox starts here; else why not."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (`apt-get install bubblewrap`)"
    try:
        proc = subprocess.run(
            [bwrap, "--unshare-all", "--die-with-parent", *_base_view(), "--", "/usr/bin/true"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap could not start: {e}"
    if proc.returncode != 0:
        return f"bubblewrap cannot create a sandbox here: {proc.stderr.strip() or proc.returncode}"
    return None


def check_available() -> None:
    problem = _probe()
    if problem is not None:
        raise SandboxUnavailable(problem)


def _base_view() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for name in _ROOT_LINKS:
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    return args


def path_dependencies(crate_dir: Path, manifests: Iterable[tuple[str, str]]) -> list[Path]:
    """Directories named by `path = "..."` in the crate's Cargo.toml files (relative to each
    manifest's directory), outside the crate itself: they must be visible inside."""
    found = []
    for rel, text in manifests:
        base = (crate_dir / rel).parent
        for m in _PATH_DEP.finditer(text):
            target = (base / m.group(1)).resolve()
            if not _inside(target, crate_dir.resolve()):
                found.append(target)
    return found


def wrap(
    cmd: list[str], *, cwd: Path, env: dict[str, str], writable: Iterable[Path], readable: Iterable[Path]
) -> list[str]:
    """`cmd` as run inside the sandbox, in `cwd`, with exactly `env` as its environment."""
    args = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session", *_base_view()]
    shown: list[Path] = [Path("/usr")]
    for path in _outermost(readable):
        if path.exists() and not any(_inside(path, s) for s in shown):
            args += ["--ro-bind", str(path), str(path)]
            shown.append(path)
    for path in _outermost(writable):
        args += ["--bind", str(path), str(path)]
    args += ["--chdir", str(cwd), "--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return [*args, "--", *cmd]


def build_env(toolchain_dirs: Iterable[str], **variables: str) -> dict[str, str]:
    """The whole environment of a sandboxed cargo: PATH, HOME and the build's own variables."""
    path = [*dict.fromkeys(toolchain_dirs), "/usr/local/bin", "/usr/bin", "/bin"]
    return {"PATH": ":".join(path), "HOME": "/tmp", "CARGO_HOME": "/tmp/cargo-home", **variables}


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """Resolved paths, dropping those inside another one of the list."""
    resolved = sorted({Path(p).resolve() for p in paths}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for p in resolved:
        if not any(_inside(p, k) for k in kept):
            kept.append(p)
    return kept

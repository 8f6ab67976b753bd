"""Finding a Rust toolchain that can build wasm32-wasi offline, and its crate registry.

Tried in order: `$SSCC_CARGO` + `$SSCC_RUSTC` when set (then nothing else), Debian's
/usr/bin/cargo + /usr/bin/rustc, then rustup's ~/.cargo/bin proxies. A toolchain counts only if
its sysroot has the wasm32-wasi standard library (rustup's default toolchain here has none, which
is why Debian's comes first; Debian's libstd-rust-dev-wasm32 ships it with wasi-libc's libc.a).
Operators are built for WASI so std::env, println! and the clocks reach the host (docs/env-and-logs.md). Crates come from a directory registry,
`$SSCC_CARGO_REGISTRY` or Debian's /usr/share/cargo/registry (`librust-*-dev` packages).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TARGET = "wasm32-wasi"
DEBIAN_REGISTRY = "/usr/share/cargo/registry"
BASE_PACKAGES = (
    "rustc cargo libstd-rust-dev-wasm32 librust-serde-dev librust-serde-derive-dev librust-serde-json-dev librust-anyhow-dev"
)
INSTALL = f"apt-get install -y {BASE_PACKAGES}"
BASE_CRATES = ("serde", "serde_derive", "serde_json", "anyhow")


@dataclass(frozen=True)
class Toolchain:
    cargo: str
    rustc: str
    registry: str
    version: str  # `rustc -vV` and `cargo -V`: part of every cache key


def registry_dir() -> str:
    return os.environ.get("SSCC_CARGO_REGISTRY", DEBIAN_REGISTRY)


def find() -> Toolchain | str:
    """A usable toolchain, or the reason there is none (with the command that installs one)."""
    if os.environ.get("SSCC_CARGO") or os.environ.get("SSCC_RUSTC"):
        candidates = [(os.environ.get("SSCC_CARGO", "/usr/bin/cargo"), os.environ.get("SSCC_RUSTC", "/usr/bin/rustc"))]
    else:
        home = Path.home() / ".cargo" / "bin"
        candidates = [("/usr/bin/cargo", "/usr/bin/rustc"), (str(home / "cargo"), str(home / "rustc"))]
    reasons = []
    for cargo, rustc in candidates:
        found = _remembered(cargo, rustc) or _probe(cargo, rustc, _mtime(cargo), _mtime(rustc))
        if isinstance(found, Toolchain):
            _remember(found)
        if isinstance(found, str):
            reasons.append(found)
            continue
        missing = [c for c in BASE_CRATES if not available_versions(found.registry, c)]
        if missing:
            return f"the crates {', '.join(missing)} are missing from the offline registry {found.registry}; install them with: {INSTALL}"
        return found
    return f"no Rust toolchain that builds {TARGET} was found ({'; '.join(reasons)}); install one with: {INSTALL}"


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0


@lru_cache(maxsize=8)
def _probe(cargo: str, rustc: str, _cargo_mtime: float, _rustc_mtime: float) -> Toolchain | str:
    """Checked once per process and binary version (the mtimes are part of the cache key)."""
    if _cargo_mtime < 0 or _rustc_mtime < 0:
        return f"{cargo if _cargo_mtime < 0 else rustc} does not exist"
    try:
        env = dict(os.environ, RUSTC=rustc)
        rv = subprocess.run([rustc, "-vV"], capture_output=True, text=True, timeout=60)
        sysroot = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=60)
        cv = subprocess.run([cargo, "-V"], capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.SubprocessError) as e:
        return f"{rustc} / {cargo} do not run ({e})"
    if rv.returncode or sysroot.returncode or cv.returncode:
        return f"{rustc} / {cargo} do not run ({(rv.stderr or sysroot.stderr or cv.stderr).strip()[:200]})"
    if not (Path(sysroot.stdout.strip()) / "lib" / "rustlib" / TARGET).is_dir():
        return f"{rustc} has no {TARGET} standard library"
    return Toolchain(cargo, rustc, registry_dir(), rv.stdout.strip() + "\n" + cv.stdout.strip())


# Probing runs three subprocesses (~0.2 s), most of an unchanged recompile, so a good probe is
# kept on disk, keyed by the binaries' identity, and trusted while the wasm32 std is still there.
def _identity(cargo: str, rustc: str) -> list:
    out: list = [cargo, rustc]
    for path in (cargo, rustc):
        try:
            st = os.stat(path)
            out += [st.st_size, st.st_mtime_ns]
        except OSError:
            return []
    return out


def _remembered_file() -> Path:
    base = os.environ.get("SSCC_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "sscc") / "toolchain.json"


def _remembered(cargo: str, rustc: str) -> Toolchain | None:
    try:
        data = json.loads(_remembered_file().read_text(encoding="utf-8"))
        if data["identity"] != _identity(cargo, rustc) or data["registry"] != registry_dir():
            return None
        if not (Path(data["sysroot"]) / "lib" / "rustlib" / TARGET).is_dir():
            return None
        return Toolchain(cargo, rustc, data["registry"], data["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember(tc: Toolchain) -> None:
    if _remembered(tc.cargo, tc.rustc) is not None:
        return
    try:
        sysroot = subprocess.run([tc.rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=60).stdout.strip()
        data = {"identity": _identity(tc.cargo, tc.rustc), "registry": tc.registry, "sysroot": sysroot, "version": tc.version}
        path = _remembered_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except (OSError, subprocess.SubprocessError):
        pass  # not remembering only costs speed


_CRATE_DIR = re.compile(r"^(.+?)-(\d+\.\d+\.\d+(?:[-+].*)?)$")


def available_versions(registry: str, crate: str) -> list[str]:
    """Versions of `crate` in the directory registry (Debian: one directory `name-x.y.z` each)."""
    return _registry_index(registry, _mtime(registry)).get(crate.replace("-", "_"), [])


@lru_cache(maxsize=4)
def _registry_index(registry: str, _mtime_key: float) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    try:
        names = os.listdir(registry)
    except OSError:
        return out
    for entry in sorted(names):
        m = _CRATE_DIR.match(entry)
        if m:  # Cargo treats `-` and `_` in crate names alike when looking one up
            out.setdefault(m.group(1).replace("-", "_"), []).append(m.group(2))
    return out


def compatible(requirement: str, version: str) -> bool:
    """Does `version` satisfy a caret requirement of the simple form codegen writes (`1`, `0.4`, `*`)?"""
    if requirement == "*":
        return True
    want = requirement.split(".")
    have = version.split(".")
    return have[: len(want)] == want


def apt_package(crate: str) -> str:
    return f"librust-{crate.replace('_', '-').lower()}-dev"

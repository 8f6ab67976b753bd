"""`sscc doctor`: is this machine ready to compile and run pipelines? Each check says what it
found; each problem comes with the command that fixes it (the lines of scripts/setup.sh).

The toolchain is looked up exactly as a build does (backend/rust/toolchain.py: $SSCC_CARGO /
$SSCC_RUSTC, Debian's /usr/bin, rustup's ~/.cargo/bin), the sandbox as sandbox.py starts it
(`bwrap` on PATH), wasmtime by importing it. Exit 0 healthy, 1 with problems.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The crates scripts/setup.sh installs (Debian package -> crate directory name in the registry).
SETUP_CRATES = {
    "serde": "librust-serde-dev",
    "serde_derive": "librust-serde-derive-dev",
    "serde_json": "librust-serde-json-dev",
    "anyhow": "librust-anyhow-dev",
    "regex": "librust-regex-dev",
    "chrono": "librust-chrono-dev",
    "sha2": "librust-sha2-dev",
    "serde_yaml": "librust-serde-yaml-dev",
    "base64": "librust-base64-dev",
    "http": "librust-http-dev",
}
CACHE_NOTE_BYTES = 5 * 1024**3  # past this, doctor suggests `sscc cache prune`


@dataclass
class Check:
    name: str
    ok: bool
    found: str
    fix: str = ""
    warning: bool = False  # reported, but not a problem (exit code unaffected)


def _run(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 and (proc.stdout or proc.stderr).strip() else ""


def checks() -> list[Check]:
    from . import __version__
    from .backend.rust import sandbox, toolchain

    out = [Check("sscc", True, f"sscc {__version__}, Python {sys.version.split()[0]} ({sys.executable})")]
    install = toolchain.INSTALL
    found = toolchain.find()
    if isinstance(found, str):
        out.append(Check("Rust toolchain", False, found.split("; install one with:")[0], install))
        tc = None
    else:
        tc = found
        rustc_v = tc.version.splitlines()[0]
        cargo_v = tc.version.splitlines()[-1]
        out.append(Check("Rust toolchain", True, f"{tc.rustc} ({rustc_v}), {tc.cargo} ({cargo_v})"))
        for tool in ("cargo", "rustc"):
            if shutil.which(tool) is None:  # builds call it by its full path; a shell or make does not
                where = os.path.dirname(getattr(tc, tool))
                out.append(Check(f"{tool} on PATH", True, f"not found on PATH (sscc builds with {getattr(tc, tool)})", f'export PATH="{where}:$PATH"', warning=True))
    out.append(_wasm_std(tc))
    out.append(_crates(tc.registry if tc else toolchain.registry_dir()))
    out.append(_sandbox(sandbox))
    out.append(_wasmtime())
    out.append(_cache())
    make = shutil.which("make")
    out.append(
        Check("make", True, make, warning=False)
        if make
        else Check("make", True, "not on PATH: the Makefile `sscc new` writes needs it", "apt-get install -y make", warning=True)
    )
    return out


def _wasm_std(tc) -> Check:
    from .backend.rust.toolchain import TARGET

    name = f"{TARGET} standard library"
    if tc is None:
        return Check(name, False, "no toolchain to look in", "apt-get install -y libstd-rust-dev-wasm32")
    sysroot = _run([tc.rustc, "--print", "sysroot"])
    where = Path(sysroot) / "lib" / "rustlib" / TARGET
    if sysroot and where.is_dir():
        return Check(name, True, str(where))
    return Check(name, False, f"not in the sysroot of {tc.rustc} ({sysroot or 'unknown'})", "apt-get install -y libstd-rust-dev-wasm32")


def _crates(registry: str) -> Check:
    from .backend.rust.toolchain import available_versions

    name = "offline crates"
    if not os.path.isdir(registry):
        return Check(name, False, f"no registry directory {registry}", "apt-get install -y " + " ".join(SETUP_CRATES.values()))
    missing = [c for c in SETUP_CRATES if not available_versions(registry, c)]
    present = [f"{c} {available_versions(registry, c)[-1]}" for c in SETUP_CRATES if c not in missing]
    if missing:
        return Check(
            name,
            False,
            f"{registry} lacks {', '.join(missing)} (has {', '.join(present) or 'none of them'})",
            "apt-get install -y " + " ".join(SETUP_CRATES[c] for c in missing),
        )
    return Check(name, True, f"{registry}: {', '.join(present)}")


def _sandbox(sandbox) -> Check:
    name = "build sandbox"
    if not sandbox.wanted():
        return Check(name, True, f"off ({sandbox.UNSANDBOXED_ENV} is set: builds run unsandboxed)", warning=True)
    problem = sandbox._probe()
    if problem is not None:
        fix = "apt-get install -y bubblewrap" if shutil.which("bwrap") is None else "run where user namespaces are allowed (e.g. sysctl kernel.unprivileged_userns_clone=1), or set SSCC_UNSANDBOXED_BUILD=1 for pipelines you trust"
        return Check(name, False, problem, fix)
    bwrap = shutil.which("bwrap")
    return Check(name, True, f"{_run([bwrap, '--version']) or 'bubblewrap'} ({bwrap})")


def _wasmtime() -> Check:
    try:
        import wasmtime  # noqa: F401

        from importlib.metadata import version

        return Check("wasmtime", True, f"wasmtime {version('wasmtime')}")
    except Exception as exc:  # noqa: BLE001 - any import failure is the finding
        return Check("wasmtime", False, f"cannot import wasmtime: {exc}", f"{sys.executable} -m pip install 'wasmtime>=20'")


def _cache() -> Check:
    from .cachetool import cache_root, human, total_size

    root = cache_root()
    name = "build cache"
    probe = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
    if not os.access(probe, os.W_OK):
        return Check(name, False, f"{root} is not writable", f"set SSCC_CACHE_DIR to a writable directory, or: chown -R $USER {probe}")
    size = total_size(root)
    text = f"{root}, {human(size)}" + ("" if root.exists() else " (not created yet)")
    if size > CACHE_NOTE_BYTES:
        return Check(name, True, text + "; `sscc cache info` shows what uses it", "sscc cache prune --max-size 2G", warning=True)
    return Check(name, True, text)


def report(results: list[Check], color: bool) -> str:
    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    lines = []
    for c in results:
        tag = paint("ok     ", "32") if c.ok and not c.warning else paint("note   ", "33") if c.ok else paint("PROBLEM", "1;31")
        lines.append(f"{tag} {c.name}: {c.found}")
        if c.fix and (not c.ok or c.warning):
            lines.append(f"        fix: {c.fix}")
    problems = sum(not c.ok for c in results)
    lines.append(
        "healthy: this machine can compile and run pipelines" if not problems else f"{problems} problem{'s' if problems != 1 else ''} found"
    )
    return "\n".join(lines)

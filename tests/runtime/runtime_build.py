"""Builds tests/runtime/guest_fixture to wasm with Debian's offline Rust toolchain, cached.

The cache key is a hash of the fixture and runtime_stub/guest sources plus the rustc version,
so edits rebuild and repeated runs do not. Shared by the tests and bench/abi_overhead.py.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUSTC = Path("/usr/bin/rustc")
CARGO = Path("/usr/bin/cargo")
REGISTRY = Path("/usr/share/cargo/registry")
TARGET = "wasm32-unknown-unknown"
CRATES = ("serde", "serde_derive", "serde_json", "anyhow")
INSTALL = (
    "apt-get install -y rustc cargo libstd-rust-dev-wasm32 librust-serde-dev "
    "librust-serde-derive-dev librust-serde-json-dev librust-anyhow-dev"
)
SOURCES = (
    ROOT / "runtime_stub" / "guest",
    ROOT / "tests" / "runtime" / "guest_fixture",
)
CARGO_CONFIG = f"""[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "{REGISTRY}"

[net]
offline = true
"""


def missing_toolchain() -> str | None:
    """Why the fixture cannot be built here, or None."""
    if not (RUSTC.exists() and CARGO.exists()):
        return (
            f"Debian rustc/cargo not found at {RUSTC}, {CARGO}; install with: {INSTALL}"
        )
    sysroot = subprocess.run(
        [RUSTC, "--print", "sysroot"], capture_output=True, text=True
    ).stdout.strip()
    if not (Path(sysroot) / "lib" / "rustlib" / TARGET).is_dir():
        return f"no {TARGET} standard library for {RUSTC}; install with: {INSTALL}"
    present = (
        {p.name.rsplit("-", 1)[0] for p in REGISTRY.glob("*-*")}
        if REGISTRY.is_dir()
        else set()
    )
    absent = [c for c in CRATES if c not in present]
    if absent:
        return f"crates {absent} missing from {REGISTRY}; install with: {INSTALL}"
    return None


def cache_root() -> Path:
    return Path(
        os.environ.get("SSCC_TEST_CACHE", Path.home() / ".cache" / "sscc" / "tests")
    )


def build_fixture() -> Path:
    """Path of the built fixture .wasm (built at most once per source hash)."""
    key = _source_hash()
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    wasm = root / f"guest-fixture-{key}.wasm"
    with open(root / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if wasm.exists():
            return wasm
        work = root / f"src-{key}"
        shutil.rmtree(work, ignore_errors=True)
        for (
            source
        ) in SOURCES:  # same layout as the repo, so relative path dependencies hold
            shutil.copytree(
                source,
                work / source.relative_to(ROOT),
                ignore=shutil.ignore_patterns("target"),
            )
        (work / ".cargo").mkdir()
        (work / ".cargo" / "config.toml").write_text(CARGO_CONFIG)
        crate = work / "tests" / "runtime" / "guest_fixture"
        env = dict(os.environ, RUSTC=str(RUSTC), CARGO_TARGET_DIR=str(root / "target"))
        result = subprocess.run(
            [CARGO, "build", "--release", "--target", TARGET],
            cwd=crate,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"fixture build failed:\n{result.stderr[-4000:]}")
        shutil.copy(
            root / "target" / TARGET / "release" / "sscc_guest_fixture.wasm", wasm
        )
        shutil.rmtree(work, ignore_errors=True)
        return wasm


def _source_hash() -> str:
    digest = hashlib.sha256()
    digest.update(subprocess.run([RUSTC, "--version"], capture_output=True).stdout)
    for source in SOURCES:
        for path in sorted(
            p
            for p in source.rglob("*")
            if p.is_file() and "target" not in p.relative_to(source).parts
        ):
            digest.update(
                str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes()
            )
    return digest.hexdigest()[:16]

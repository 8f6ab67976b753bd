"""`sscc doctor` on this machine and on broken environments; `sscc cache info|prune` on a cache
directory of its own (SSCC_CACHE_DIR) laid out as the build leaves it, with locks held by this
test process the way a running build or run holds them."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "runtime"))

import runtime_build  # noqa: E402

DAY = 86400
VENV_BIN = os.path.dirname(sys.executable)


def sscc(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["sscc", *args], capture_output=True, text=True, env=env, timeout=300)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def sscc_bin() -> str:
    import shutil

    return shutil.which("sscc")


# ---------------------------------------------------------------------------- doctor


def test_doctor_finds_this_machine_healthy():
    if runtime_build.missing_toolchain():
        pytest.skip(runtime_build.missing_toolchain())
    proc = sscc("doctor")
    assert proc.returncode == 0, proc.stdout
    for name in ("Rust toolchain", "wasm32-wasi standard library", "offline crates", "build sandbox", "wasmtime", "build cache"):
        assert f"ok      {name}: " in proc.stdout, proc.stdout
    assert "serde_json" in proc.stdout and "rustc 1." in proc.stdout
    assert proc.stdout.rstrip().endswith("healthy: this machine can compile and run pipelines")


def test_doctor_reports_a_toolchain_it_cannot_find_with_the_fix(tmp_path):
    env = dict(os.environ, SSCC_CARGO=str(tmp_path / "no-cargo"), SSCC_CACHE_DIR=str(tmp_path / "cache"))
    proc = sscc("doctor", env=env)
    assert proc.returncode == 1
    assert f"PROBLEM Rust toolchain: no Rust toolchain that builds wasm32-wasi was found ({tmp_path / 'no-cargo'} does not exist)" in proc.stdout
    assert "        fix: apt-get install -y rustc cargo libstd-rust-dev-wasm32" in proc.stdout
    assert "problems found" in proc.stdout


def test_doctor_with_a_path_lacking_cargo_and_bubblewrap(tmp_path):
    """PATH without /usr/bin: sscc still builds with /usr/bin/cargo (noted), but the sandbox needs
    `bwrap` on PATH (a problem, with the apt-get line)."""
    if runtime_build.missing_toolchain():
        pytest.skip(runtime_build.missing_toolchain())
    env = dict(os.environ, PATH=VENV_BIN, SSCC_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sscc_bin(), "doctor"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stdout
    assert "note    cargo on PATH: not found on PATH (sscc builds with /usr/bin/cargo)" in proc.stdout
    assert "PROBLEM build sandbox: bubblewrap is not installed" in proc.stdout
    assert "        fix: apt-get install -y bubblewrap" in proc.stdout
    assert "1 problem found" in proc.stdout


def test_doctor_reports_missing_crates(tmp_path):
    registry = tmp_path / "registry"
    (registry / "serde-1.0.0").mkdir(parents=True)
    env = dict(os.environ, SSCC_CARGO_REGISTRY=str(registry), SSCC_CACHE_DIR=str(tmp_path / "cache"))
    proc = sscc("doctor", env=env)
    assert proc.returncode == 1
    line = next(l for l in proc.stdout.splitlines() if "offline crates" in l)
    assert line.startswith("PROBLEM") and "lacks serde_derive, serde_json, anyhow" in line and "has serde 1.0.0" in line
    assert "fix: apt-get install -y librust-serde-derive-dev librust-serde-json-dev librust-anyhow-dev" in proc.stdout


# ---------------------------------------------------------------------------- cache


def make_cache(root: Path) -> dict[str, Path]:
    """A cache as builds and runs leave it; ages in days set on every file."""
    now = time.time()

    def put(rel: str, size: int, age_days: float) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
        os.utime(path, (now - age_days * DAY, now - age_days * DAY))
        return path

    put("build.lock", 0, 0)
    put("toolchain.json", 10, 90)
    put("identity/abc.json", 10, 90)
    for name, age in (("old", 40), ("new", 1)):
        put(f"projects/{name}/.lock", 0, age)
        put(f"projects/{name}/.sscc-stamp", 100, age)
        put(f"projects/{name}/pkg/wasm/s.wasm", 100_000, age)
    put("wasm/aaa.wasm", 200_000, 60)
    put("wasm/bbb.wasm", 200_000, 2)
    put("target/release/libserde.rlib", 1_000_000, 5)
    put("src/dead/src/lib.rs", 1_000, 100)
    return {"old": root / "projects" / "old", "new": root / "projects" / "new"}


def cache_env(root: Path) -> dict:
    return dict(os.environ, SSCC_CACHE_DIR=str(root))


def test_cache_info_lists_what_uses_the_cache(tmp_path):
    root = tmp_path / "cache"
    make_cache(root)
    proc = sscc("cache", "info", env=cache_env(root))
    assert proc.returncode == 0
    assert f"build cache: {root}" in proc.stdout
    kinds = {line.split()[0]: line for line in proc.stdout.splitlines()[2:]}
    assert set(kinds) == {"project", "module", "target", "crate"}
    assert "2 entries" in kinds["project"] and "2 entries" in kinds["module"]


def test_prune_older_than_removes_only_entries_unused_that_long(tmp_path):
    root = tmp_path / "cache"
    projects = make_cache(root)
    dry = sscc("cache", "prune", "--older-than", "30", "--dry-run", env=cache_env(root))
    assert dry.returncode == 0
    assert "would remove" in dry.stdout and "projects/old" in dry.stdout and "wasm/aaa.wasm" in dry.stdout
    assert projects["old"].exists() and (root / "wasm" / "aaa.wasm").exists()  # nothing removed

    proc = sscc("cache", "prune", "--older-than", "30", env=cache_env(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not projects["old"].exists() and not (root / "wasm" / "aaa.wasm").exists() and not (root / "src" / "dead").exists()
    assert projects["new"].exists() and (root / "wasm" / "bbb.wasm").exists() and (root / "target").exists()
    assert (root / "identity" / "abc.json").exists() and (root / "toolchain.json").exists()  # never pruned
    assert "removed 3 entries" in proc.stdout


def test_prune_max_size_goes_least_recently_used_first(tmp_path):
    root = tmp_path / "cache"
    projects = make_cache(root)
    # 1.6 MB in all: the target directory (1 MB, 5 days) must go after the older ones to reach 500k
    proc = sscc("cache", "prune", "--max-size", "500k", env=cache_env(root))
    assert proc.returncode == 0
    import re

    order = [re.search(r"(?:project|module|target|crate)\s+(\S+)", line).group(1) for line in proc.stdout.splitlines() if line.startswith("removed ") and "entries" not in line]
    assert order == ["src/dead", "wasm/aaa.wasm", "projects/old", "target"]
    assert projects["new"].exists() and (root / "wasm" / "bbb.wasm").exists()
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total <= 500 * 1024


def test_prune_skips_what_a_running_build_or_run_holds(tmp_path):
    """build.lock held (a cargo build in progress) keeps modules, crates and target; a project's
    .lock held (a `sscc run` compiling it) keeps that project."""
    root = tmp_path / "cache"
    projects = make_cache(root)
    with open(root / "build.lock", "w") as build, open(projects["old"] / ".lock", "a") as run:
        fcntl.flock(build, fcntl.LOCK_EX)
        fcntl.flock(run, fcntl.LOCK_SH)
        proc = sscc("cache", "prune", "--max-size", "0", env=cache_env(root))
    assert proc.returncode == 0
    assert (root / "wasm" / "aaa.wasm").exists() and (root / "target").exists() and projects["old"].exists()
    assert "skipped (in use: its lock is held)" in proc.stdout
    assert not projects["new"].exists()  # nobody held its lock
    # once the locks are free, the same prune removes them
    sscc("cache", "prune", "--max-size", "0", env=cache_env(root))
    assert not (root / "wasm").exists() or not any((root / "wasm").iterdir())
    assert not projects["old"].exists()


def test_prune_refuses_a_size_it_cannot_read(tmp_path):
    proc = sscc("cache", "prune", "--max-size", "lots", env=cache_env(tmp_path))
    assert proc.returncode == 2 and "is not a size" in proc.stderr

"""The build is a sandbox (backend/rust/sandbox.py, issue 13 item 5): code compiled for a
pipeline sees no file of the build machine outside the toolchain and the crate, and none of its
environment variables, even when the macros are built from tokens where check's E084 scan cannot
see them. Real cargo, real bubblewrap, real runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import sscc  # noqa: E402
from rust_backend_helpers import PIPELINES, needs_toolchain  # noqa: E402
from sscc.backend.rust import sandbox  # noqa: E402
from sscc.backend.rust.build import cache_root  # noqa: E402


def needs_sandbox():
    needs_toolchain()
    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as e:
        pytest.skip(f"no sandbox on this machine: {e}")


def test_a_file_of_the_build_machine_cannot_be_included(tmp_path):
    needs_sandbox()
    assert Path("/etc/hostname").exists()
    proc = sscc("compile", PIPELINES / "sandbox_leak.yaml", "-o", tmp_path / "out")
    assert proc.returncode == 1, proc.stderr
    assert "error[E201]" in proc.stderr and "couldn't read /etc/hostname" in proc.stderr
    assert "sandbox_leak.yaml:16:" in proc.stderr  # at the macro's line in the pipeline file
    assert not (tmp_path / "out").exists()


def test_the_build_machines_environment_is_not_visible(tmp_path):
    needs_sandbox()
    store = tmp_path / "store"
    sscc("topic", "produce", "words", "--store", store, input="x\n", check=True)
    cache = str(cache_root())  # the usual build cache, though HOME changes
    sscc("run", PIPELINES / "sandbox_env.yaml", "--store", store, "--until-idle", "--quiet", check=True, HOME=str(tmp_path), SSCC_CACHE_DIR=cache)
    out = sscc("topic", "consume", "out", "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    assert out.splitlines() == ["/tmp"], out  # the sandbox's HOME, not the caller's


def test_without_bubblewrap_the_build_stops_with_e208(tmp_path):
    needs_toolchain()
    env = dict(os.environ, PATH=str(tmp_path), SSCC_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "sscc", "compile", str(PIPELINES / "sandbox_env.yaml"), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert "error[E208]" in proc.stderr and "bubblewrap is not installed" in proc.stderr
    assert "SSCC_UNSANDBOXED_BUILD=1" in proc.stderr


def test_the_sandbox_shows_path_dependencies_read_only_and_the_crate_writable(tmp_path):
    crate = tmp_path / "crate"
    outside = tmp_path / "glue"
    manifests = [("Cargo.toml", f'[dependencies]\nglue = {{ path = "{outside}" }}\nown = {{ path = "sub" }}\n')]
    deps = sandbox.path_dependencies(crate, manifests)
    assert deps == [outside.resolve()]  # `sub` is inside the crate
    outside.mkdir()
    cmd = sandbox.wrap(["cargo", "build"], cwd=crate, env={"HOME": "/tmp"}, writable=[crate], readable=deps)
    text = " ".join(cmd)
    assert f"--ro-bind {outside.resolve()} {outside.resolve()}" in text
    assert f"--bind {crate.resolve()} {crate.resolve()}" in text
    assert "--clearenv" in cmd and "--unshare-all" in cmd and "/etc" not in text
    assert cmd[-3:] == ["--", "cargo", "build"]


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_inside_the_sandbox_etc_and_home_do_not_exist(tmp_path):
    (tmp_path / "crate").mkdir()
    cmd = sandbox.wrap(
        ["/bin/sh", "-c", "ls /etc /root 2>&1; echo HOME=$HOME; echo PATH=$PATH"],
        cwd=tmp_path / "crate", env=sandbox.build_env([]), writable=[tmp_path / "crate"], readable=[],
    )
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    assert "/etc" in out and "No such file" in out and "HOME=/tmp" in out

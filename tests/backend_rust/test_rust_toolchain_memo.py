"""A good toolchain probe is remembered on disk, so later processes start no rustc/cargo to find it."""

import subprocess

import pytest
from sscc.backend.rust import toolchain


def test_a_remembered_toolchain_is_found_without_running_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SSCC_CACHE_DIR", str(tmp_path))
    toolchain._probe.cache_clear()
    first = toolchain.find()
    if isinstance(first, str):
        pytest.skip(first)
    assert (tmp_path / "toolchain.json").exists()

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran {args[0]}")

    toolchain._probe.cache_clear()  # as in a new process
    monkeypatch.setattr(subprocess, "run", no_subprocess)
    assert toolchain.find() == first


def test_a_memo_for_other_binaries_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("SSCC_CACHE_DIR", str(tmp_path))
    toolchain._probe.cache_clear()
    first = toolchain.find()
    if isinstance(first, str):
        pytest.skip(first)
    fake = tmp_path / "cargo"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    assert toolchain._remembered(str(fake), first.rustc) is None
    assert toolchain._remembered(first.cargo, first.rustc) == first

"""`sscc new NAME`: the project it writes builds with make (through the depfile) and its tests
pass with `make test`; a changed pipeline makes them fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "runtime"))

import runtime_build  # noqa: E402

TIMEOUT = 900


def run(argv: list[str], cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def test_new_demo_then_make_test_passes(tmp_path):
    if runtime_build.missing_toolchain():
        pytest.skip(runtime_build.missing_toolchain())
    if shutil.which("make") is None:
        pytest.skip("make is not installed (apt-get install make)")
    made = run(["sscc", "new", "demo"], tmp_path)
    assert made.returncode == 0, made.stderr
    demo = tmp_path / "demo"
    assert {p.name for p in demo.iterdir()} >= {"dataflow.yaml", "dataflow.test.yaml", "input", "Makefile", "README.md"}
    assert (demo / "input" / "orders.txt").read_text().count("\n") == 4
    assert run(["sscc", "check", "--strict", "dataflow.yaml"], demo).returncode == 0

    proc = run(["make", "test"], demo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed, 0 failed, 0 errors" in proc.stdout
    assert "--depfile build.d" in proc.stdout and (demo / "build" / "plan.json").exists()
    assert "dataflow.yaml" in (demo / "build.d").read_text()

    # The depfile at work: nothing to do until the pipeline changes.
    assert "Nothing to be done" in run(["make"], demo).stdout
    time.sleep(0.01)
    pipeline = demo / "dataflow.yaml"
    pipeline.write_text(pipeline.read_text().replace("amount_cents >= 10_000", "amount_cents >= 20_000"))
    proc = run(["make", "test"], demo)
    assert "sscc compile" in proc.stdout  # rebuilt
    assert proc.returncode != 0  # cleo's 100.00 order is no longer big: the test says so
    assert "FAIL  big orders pass, small ones are dropped" in proc.stdout
    assert '-{"customer": "cleo", "id": 3, "total": 100.0}' in proc.stdout


def test_new_refuses_a_bad_name_and_an_existing_directory(tmp_path):
    proc = run(["sscc", "new", "Bad_Name"], tmp_path)
    assert proc.returncode == 2 and "cannot name a pipeline" in proc.stderr
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    proc = run(["sscc", "new", "taken"], tmp_path)
    assert proc.returncode == 2 and "not an empty directory" in proc.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]

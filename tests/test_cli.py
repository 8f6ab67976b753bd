"""The real command line: exit codes, output formats, pass switches."""

import json
import os
import subprocess
import sys

from conftest import ROOT

EXAMPLE = os.path.join(ROOT, "examples", "split-sentence", "dataflow.yaml")


def sscc(*args):
    return subprocess.run([sys.executable, "-m", "sscc", *args], capture_output=True, text=True)


def test_ir_fuses_unless_switched_off():
    assert "Fused[" in sscc("ir", EXAMPLE).stdout
    assert "Fused[" not in sscc("ir", EXAMPLE, "-O0").stdout
    assert "Fused[" not in sscc("ir", EXAMPLE, "--no-pass", "fuse").stdout
    traced = sscc("ir", EXAMPLE, "--trace").stdout
    assert "=== after pass `fuse` ===" in traced


def test_ir_json_is_versioned():
    proc = sscc("ir", EXAMPLE, "--format", "json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["ir_version"] == 1


def test_usage_errors_exit_2():
    assert sscc("ir", EXAMPLE, "--no-pass", "nosuchpass").returncode == 2
    assert sscc("schema", "--api-version", "9.9.9").returncode == 2
    assert sscc("frobnicate").returncode == 2


def test_check_json_reports_errors_with_positions(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(EXAMPLE).read().replace("id: words", "id: wrods"))
    proc = sscc("check", "--format", "json", str(bad))
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    diag = next(d for d in report["files"][0]["diagnostics"] if d["code"] == "E046")
    assert diag["line"] > 0 and diag["column"] > 0 and "words" in diag["hint"]


def test_schema_prints_json_schema():
    proc = sscc("schema", "--package")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["$schema"].startswith("https://json-schema.org/")


def test_upgrade_sets_latest_version():
    corpus = os.path.join(ROOT, "..", "shared", "conformance", "corpus")
    src = os.path.join(corpus, "stateful-dataflows-examples__primitives__map__dataflow.yaml")
    if not os.path.exists(src):
        src = EXAMPLE
    proc = sscc("upgrade", src)
    assert proc.returncode == 0
    assert proc.stdout.startswith("apiVersion: 0.6.0")

"""Crates the conformance corpus names, from the offline registry (scripts/setup.sh installs
them): `sha2` builds and hashes like Python's hashlib, and code that needs an API newer than the
registry's crate gets E201 at its line with a note naming both versions."""

import hashlib

import pytest

from rust_backend_helpers import PIPELINES, Service, ir_of, needs_toolchain, render

from sscc.backend.rust import build_service, toolchain
from sscc.backend.stages import plan
from sscc.diagnostics import Diagnostics

PIPELINE = PIPELINES / "corpus_crates.yaml"


def registry_has(crate):
    needs_toolchain()
    versions = toolchain.available_versions(toolchain.registry_dir(), crate)
    if not versions:
        pytest.skip(f"{toolchain.apt_package(crate)} is not installed (scripts/setup.sh installs it)")
    return versions


def test_sha2_builds_and_hashes_like_hashlib():
    registry_has("sha2")
    svc = Service(PIPELINE, name="digest")
    lines = [b"", b"abc", "größe".encode(), b"x" * 1000]
    (out,), errors = svc.run([(None, v) for v in lines])
    assert not errors
    assert [v for _, v in out] == [hashlib.sha256(v).hexdigest().encode() for v in lines]


def test_an_api_newer_than_the_registry_crate_is_E201_with_both_versions():
    have = registry_has("chrono")
    if tuple(int(p) for p in have[-1].split(".")[:3]) >= (0, 4, 38):
        pytest.skip(f"the registry's chrono {have[-1]} has `and_utc`")
    fe, ir = ir_of(PIPELINE)
    sp = next(p for p in plan(ir) if p.name == "newer-chrono")
    diags = Diagnostics()
    assert build_service(ir, sp, str(PIPELINE), diags) is None
    (d,) = diags.errors()
    text = PIPELINE.read_text().split("\n")
    line = next(i for i, t in enumerate(text, 1) if "and_utc" in t)
    assert (d.code, d.span.line, d.span.col) == ("E201", line, text[line - 1].index("and_utc") + 1), render(fe, diags)
    assert "no method named `and_utc`" in d.message
    assert any("`chrono` 0.4.38" in n and have[-1] in n for n in d.notes), d.notes


def test_serde_yaml_from_debian_builds_and_parses():
    registry_has("serde_yaml")
    svc = Service(PIPELINE, name="yaml-keys")
    (out,), errors = svc.run([(None, b"b: 1\na: [2]\n"), (None, b"- not a mapping\n")])
    assert [v for _, v in out] == [b"b,a"]
    assert [(e.index, e.kind) for _, e in errors] == [(1, "operator")]


def test_a_version_no_offline_crate_satisfies_is_E202_naming_what_there_is():
    have = registry_has("serde_yaml")
    if any(v.startswith("0.9.") for v in have):
        pytest.skip("the registry has serde_yaml 0.9")
    _, ir = ir_of(PIPELINE)
    sp = next(p for p in plan(ir) if p.name == "yaml-newer")
    diags = Diagnostics()
    assert build_service(ir, sp, str(PIPELINE), diags) is None
    (d,) = diags.errors()
    text = PIPELINE.read_text().split("\n")
    line = next(i for i, t in enumerate(text, 1) if 'version: "0.9.34"' in t) - 1  # the `name:` line
    assert (d.code, d.span.line) == ("E202", line)
    assert "`serde_yaml` 0.9.34" in d.message and have[-1] in d.message

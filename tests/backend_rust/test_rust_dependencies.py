"""A `dependencies:` crate from the offline registry, and a module that would import JavaScript."""

import pytest

from rust_backend_helpers import PIPELINES, Service, ir_of, needs_toolchain

from sscc.backend.rust import build_service, toolchain
from sscc.backend.stages import plan
from sscc.diagnostics import Diagnostics


@pytest.fixture(autouse=True)
def chrono_available():
    needs_toolchain()
    if not toolchain.available_versions(toolchain.registry_dir(), "chrono"):
        pytest.skip("librust-chrono-dev is not installed")


def test_chrono_builds_without_its_javascript_features_and_runs():
    svc = Service(PIPELINES / "chrono.yaml", name="parse")
    (out,), errors = svc.run([(None, b"2024-01-01T00:00:00Z"), (None, b"yesterday")])
    assert [v for _, v in out] == [b"1704067200000"]  # raw i64 as decimal text (docs/runtime.md §3a)
    assert [(e.index, e.kind, e.operator) for _, e in errors] == [(1, "operator", "to-millis")]


def test_a_module_with_imports_is_E206():
    _, ir = ir_of(PIPELINES / "chrono.yaml")
    sp = next(p for p in plan(ir) if p.name == "parse-js")  # default_features: true pulls wasm-bindgen
    diags = Diagnostics()
    assert build_service(ir, sp, str(PIPELINES / "chrono.yaml"), diags) is None
    (d,) = diags.errors()
    assert d.code == "E206" and "__wbindgen" in d.message and "`chrono`" in d.hint

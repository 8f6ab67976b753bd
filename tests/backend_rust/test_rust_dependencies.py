"""A `dependencies:` crate from the offline registry, and a module with an import the runtime lacks."""

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


def test_chrono_with_its_default_features_builds_for_wasi_and_runs():
    # On wasm32-wasi chrono's `wasmbind` feature is inert (no wasm-bindgen), and `clock` works.
    svc = Service(PIPELINES / "chrono.yaml", name="parse-js")
    (out,), errors = svc.run([(None, b"2024-01-01T00:00:00Z")])
    assert [v for _, v in out] == [b"1704067200000"] and not errors


def test_a_module_with_imports_is_E206():
    path = PIPELINES / "foreign_import.yaml"
    _, ir = ir_of(path)
    (sp,) = plan(ir)
    diags = Diagnostics()
    assert build_service(ir, sp, str(path), diags) is None
    (d,) = diags.errors()
    assert d.code == "E206" and "env.host_answer" in d.message and "dependencies: none" in d.hint

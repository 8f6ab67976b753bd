"""Shared by the runtime tests (imported, not a conftest.py: a second conftest module would
shadow tests/conftest.py for the `from conftest import ...` other test areas do).

Puts runtime_stub/ on sys.path so `sscc_runtime` imports under the name emitted projects use,
and provides the Rust guest fixture, built once per source hash.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "runtime_stub"))

import runtime_build  # noqa: E402


@pytest.fixture(scope="session")
def fixture_wasm() -> Path:
    reason = runtime_build.missing_toolchain()
    if reason:
        pytest.skip(reason)
    return runtime_build.build_fixture()

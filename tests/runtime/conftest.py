"""Runtime tests import `sscc_runtime` from runtime_stub/ (it is copied into emitted projects
under that name) and share one build of the Rust guest fixture per source hash."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "runtime_stub"))
sys.path.insert(0, str(HERE))

import runtime_build  # noqa: E402


@pytest.fixture(scope="session")
def fixture_wasm() -> Path:
    reason = runtime_build.missing_toolchain()
    if reason:
        pytest.skip(reason)
    return runtime_build.build_fixture()

"""`sscc generate DIR` writes the crate `sdf generate` would (lib.rs with sdf_package!, one stub
per function with its types from the bindings), keeps existing files, and `sscc build DIR` then
builds it to wasm; a dataflow using the stubs compiles and dead-letters "not implemented"."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import need_toolchain, sscc  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WASM_MAGIC = b"\0asm"


@pytest.fixture
def package(tmp_path):
    pkg = tmp_path / "text-tools"
    pkg.mkdir()
    shutil.copy(FIXTURES / "text-tools" / "sdf-package.yaml", pkg / "sdf-package.yaml")
    return pkg


def test_generate_writes_the_sdf_layout(package):
    out = sscc("generate", package)
    assert out.returncode == 0, out.stderr
    crate = package / "rust" / "text-tools"
    assert (crate / "src" / "lib.rs").read_text() == 'sdfg::sdf_package!({ path : "../../sdf-package.yaml", });\n'
    stub = (crate / "src" / "word_stat.rs").read_text()
    assert '#[sdf(fn_name = "word-stat")]' in stub
    assert "pub(crate) fn word_stat(word: String) -> Result<WordStat>" in stub
    assert "use crate::bindings::tests::text_tools_types::types::WordStat;" in stub
    assert "pub(crate) fn split_words(line: String) -> Result<Vec<String>>" in (crate / "src" / "split_words.rs").read_text()
    assert "pub(crate) fn keep_matching(word: String) -> Result<bool>" in (crate / "src" / "keep_matching.rs").read_text()
    assert 'sdfg = { version = "0.13"' in (crate / "Cargo.toml").read_text()


def test_generate_keeps_existing_files(package):
    assert sscc("generate", package).returncode == 0
    mine = package / "rust" / "text-tools" / "src" / "word_stat.rs"
    mine.write_text("// my code\n")
    out = sscc("generate", package)
    assert out.returncode == 0
    assert mine.read_text() == "// my code\n"
    assert "kept rust/text-tools/src/word_stat.rs" in out.stderr


def test_generated_crate_builds(package, tmp_path):
    need_toolchain()
    assert sscc("generate", package).returncode == 0
    out = sscc("build", package, "-o", tmp_path / "wasm")
    assert out.returncode == 0, out.stderr
    built = sorted(p.name for p in (tmp_path / "wasm").iterdir())
    assert built == ["keep-matching.wasm", "split-words.wasm", "word-stat.wasm"]
    for p in (tmp_path / "wasm").iterdir():
        assert p.read_bytes()[:4] == WASM_MAGIC


def test_build_without_package_file_is_e111(tmp_path):
    out = sscc("build", tmp_path)
    assert out.returncode == 1
    assert "error[E111]" in out.stderr


def test_build_reports_a_missing_crate_as_e110(package):
    need_toolchain()
    out = sscc("build", package)
    assert out.returncode == 1
    assert "error[E110]" in out.stderr and "sscc generate" in out.stderr

"""A dataflow importing a package by `path:` compiles the package's Rust sources and runs them
end to end: produce -> `sscc run --until-idle` -> consume, with `with:` parameters per use, a
helper module of the package, its types through `crate::bindings::...::types`, and an error
from package code dead-lettered with its reason. Also: a rustc error in a package source is E201
at that file's line, and a package without sources is E110."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import need_toolchain, remove_run_cache, sscc  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def project(tmp_path):
    """A private copy of the package and the dataflow beside it (as in a repository)."""
    need_toolchain()
    shutil.copytree(FIXTURES / "text-tools", tmp_path / "text-tools")
    shutil.copytree(FIXTURES / "flow", tmp_path / "flow")
    yield tmp_path
    remove_run_cache(tmp_path / "flow" / "dataflow.yaml")


def _consume(store, topic):
    out = sscc("topic", "consume", topic, "--from-beginning", "--until-idle", "--store", store, check=True)
    return [line for line in out.stdout.splitlines() if line]


def _words(line):
    """split-words of the fixture, written again here: trim non-alphanumerics, lowercase."""
    out = []
    for w in line.split():
        start, end = 0, len(w)
        while start < end and not w[start].isalnum():
            start += 1
        while end > start and not w[end - 1].isalnum():
            end -= 1
        if w[start:end]:
            out.append(w[start:end].lower())
    return out


def test_dataflow_runs_imported_package_functions_with_parameters(project, tmp_path):
    lines = ["Cats and dogs!", "A banana, an orange", "Zoo of frogs", "xyz"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "store")
    flow = project / "flow" / "dataflow.yaml"
    sscc("topic", "produce", "lines", "--file", tmp_path / "in.txt", "--store", store, check=True)
    run = sscc("run", flow, "--until-idle", "--store", store)
    assert run.returncode == 0, run.stderr

    # a-stats: contains "a", tag "has-a"; a line holding the word "banana" fails as a whole
    want_a = [
        {"word": w, "length": len(w), "tag": "has-a"}
        for line in lines
        if "banana" not in _words(line)
        for w in _words(line)
        if "a" in w
    ]
    assert [json.loads(v) for v in _consume(store, "a-words")] == want_a
    # o-stats: contains "o", no `tag` given, so the package's default; no `reject` given
    want_o = [{"word": w, "length": len(w), "tag": "none"} for line in lines for w in _words(line) if "o" in w]
    assert [json.loads(v) for v in _consume(store, "o-words")] == want_o

    dead = [json.loads(v) for v in _consume(store, "a-stats.dead-letters")]
    assert [(d["value"], d["operator"], d["reason"]) for d in dead] == [
        ("A banana, an orange", "keep-matching", "rejected word `banana`")
    ]
    assert _consume(store, "o-stats.dead-letters") == []


def test_rust_error_in_a_package_source_points_at_its_file(project):
    src = project / "text-tools" / "rust" / "text-tools" / "src" / "word_stat.rs"
    text = src.read_text()
    src.write_text(text.replace("let length = word.chars().count() as u32;", "let length: u32 = word.chars().count();"))
    line = next(i for i, l in enumerate(src.read_text().splitlines(), 1) if "let length: u32" in l)
    out = sscc("compile", project / "flow" / "dataflow.yaml", "-o", project / "out")
    assert out.returncode == 1
    assert f"{src}:{line}:" in out.stderr and "error[E201]" in out.stderr, out.stderr
    assert "E203" not in out.stderr


def test_package_without_sources_is_e110(project):
    shutil.rmtree(project / "text-tools" / "rust")
    out = sscc("compile", project / "flow" / "dataflow.yaml", "-o", project / "out")
    assert out.returncode == 1
    assert "error[E110]" in out.stderr and "has no Rust sources" in out.stderr, out.stderr
    assert "sscc generate" in out.stderr


def test_missing_function_file_is_e110(project):
    (project / "text-tools" / "rust" / "text-tools" / "src" / "word_stat.rs").unlink()
    out = sscc("compile", project / "flow" / "dataflow.yaml", "-o", project / "out")
    assert out.returncode == 1
    assert "error[E110]" in out.stderr and 'fn_name = "word-stat"' in out.stderr, out.stderr


def test_package_sources_are_inputs_of_the_compile():
    """`sscc run`'s project cache and `--depfile` depend on the package's Rust sources, so an
    edited package function is compiled again."""
    from sscc.backend.project.emit import input_files
    from sscc.driver import Options, front_end

    fe = front_end(str(FIXTURES / "flow" / "dataflow.yaml"), Options(mode="compile"))
    crate = FIXTURES / "text-tools" / "rust" / "text-tools"
    inputs = {os.path.normpath(p) for p in input_files(fe)}
    for rel in ("Cargo.toml", "src/lib.rs", "src/words.rs", "src/word_stat.rs", "src/keep_matching.rs", "src/split_words.rs"):
        assert str(crate / rel) in inputs

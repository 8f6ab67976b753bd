"""`sscc compile`: the tree it writes, determinism, the depfile, stale files, refusals."""

from __future__ import annotations

import json
import re

import pytest
from project_helpers import EXAMPLE, UNRUNNABLE, copy_example, need_toolchain, sscc, tree


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    need_toolchain()
    out = tmp_path_factory.mktemp("compiled") / "split"
    sscc("compile", EXAMPLE, "-o", out, check=True)
    return out


def test_layout_of_the_emitted_project(compiled):
    files = set(tree(compiled))
    for rel in [
        "pyproject.toml",
        "README.md",
        "plan.json",
        ".sscc-files",
        "split_sentence/__init__.py",
        "split_sentence/__main__.py",
        "split_sentence/pipeline.py",
        "split_sentence/services.json",
        "split_sentence/wasm/sentence-words.wasm",
        "split_sentence/sscc_runtime/app.py",
        "split_sentence/sscc_runtime/loop.py",
    ]:
        assert rel in files, rel
    assert not any(".pyc" in f or "__pycache__" in f for f in files)
    manifest = (compiled / ".sscc-files").read_text().splitlines()
    assert sorted(manifest) == sorted(files)
    wasm = (compiled / "split_sentence/wasm/sentence-words.wasm").read_bytes()
    assert wasm[:4] == b"\0asm"


def test_pyproject_pins_the_installed_wasmtime(compiled):
    import importlib.metadata

    text = (compiled / "pyproject.toml").read_text()
    assert f'"wasmtime=={importlib.metadata.version("wasmtime")}"' in text
    assert 'name = "split-sentence"' in text
    assert '"split-sentence" = "split_sentence.pipeline:main"' in text


def test_services_json_follows_the_stage_plan(compiled):
    """Description format 1: the source's stage, one per sink, starting offset from config."""
    desc = json.loads((compiled / "split_sentence/services.json").read_text())
    assert desc["format"] == 1
    (svc,) = desc["services"]
    assert svc["name"] == "examples.split-sentence.sentence-words"  # namespace.pipeline.service in the store
    (src,) = svc["sources"]
    assert src["topic"] == "sentences"
    assert src["starting_offset"] == {"position": "Beginning", "value": 0}
    assert [s["export"] for s in src["stages"]] == ["sscc_stage_0"]
    assert src["stages"][0]["name"] == "decode -> normalize -> not-empty -> sentence-to-words"
    assert [s["topic"] for s in svc["sinks"]] == ["words", "word-lengths"]
    assert [[st["export"] for st in s["stages"]] for s in svc["sinks"]] == [["sscc_stage_1"], ["sscc_stage_2"]]
    assert {st["module"] for s in svc["sinks"] for st in s["stages"]} == {"wasm/sentence-words.wasm"}


def test_generated_python_is_black_formatted(compiled):
    import black

    for name in ("__init__.py", "__main__.py", "pipeline.py"):
        text = (compiled / "split_sentence" / name).read_text()
        assert black.format_str(text, mode=black.Mode()) == text, name
        compile(text, name, "exec")


def test_compiling_twice_gives_identical_trees(compiled, tmp_path):
    again = tmp_path / "again"
    sscc("compile", EXAMPLE, "-o", again, check=True)
    assert tree(again) == tree(compiled)
    sscc("compile", EXAMPLE, "-o", again, check=True)  # over its own previous output
    assert tree(again) == tree(compiled)


def test_depfile_names_every_input(tmp_path):
    need_toolchain()
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "sdf-package.yaml").write_text(
        "apiVersion: 0.6.0\nmeta: {name: greet-types, version: 0.1.0, namespace: test}\n"
        "types:\n  greeting:\n    type: object\n    properties:\n      name: {type: string}\n"
    )
    (tmp_path / "dataflow.yaml").write_text("""apiVersion: 0.6.0
meta: {name: greeter, version: 0.1.0, namespace: test}
imports:
  - pkg: test/greet-types@0.1.0
    path: ./pkg
    types: [{name: greeting}]
config: {converter: json}
topics:
  names: {schema: {value: {type: string}}}
  greetings: {schema: {value: {type: greeting}}}
services:
  greet:
    sources: [{type: topic, id: names}]
    transforms:
      - operator: map
        run: |
          fn greet(name: String) -> Result<Greeting> {
            Ok(Greeting { name: format!("hello {}", name) })
          }
    sinks: [{type: topic, id: greetings}]
""")
    sscc("compile", "dataflow.yaml", "-o", "out", "--depfile", "deps/out.d", cwd=tmp_path, check=True)
    rule = (tmp_path / "deps" / "out.d").read_text()
    head, _, rest = rule.partition(":")
    targets = head.split()
    assert targets[0] == "out/plan.json"
    assert "out/greeter/services.json" in targets and "out/greeter/wasm/greet.wasm" in targets
    prerequisites = rest.split("\n\n")[0].replace("\\\n", " ").split()
    assert prerequisites == ["dataflow.yaml", "pkg/sdf-package.yaml"]
    # `gcc -MP` style empty rules: removing an input does not break make
    assert "\ndataflow.yaml:\n" in rule and "\npkg/sdf-package.yaml:\n" in rule


def test_depfile_is_valid_make(tmp_path):
    import shutil
    import subprocess

    need_toolchain()
    if not shutil.which("make"):
        pytest.skip("make not installed")
    copy_example(tmp_path)
    (tmp_path / "Makefile").write_text(
        "out/plan.json: dataflow.yaml\n\tsscc compile dataflow.yaml -o out --depfile out.d\n-include out.d\n"
    )
    first = subprocess.run(["make", "-s"], cwd=tmp_path, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(["make", "-q", "out/plan.json"], cwd=tmp_path)
    assert second.returncode == 0, "up to date after one build"
    import os
    import time

    later = time.time() + 5
    os.utime(tmp_path / "dataflow.yaml", (later, later))
    assert subprocess.run(["make", "-q", "out/plan.json"], cwd=tmp_path).returncode == 1, "stale after an edit"


def test_stale_files_are_removed_and_foreign_files_kept(tmp_path):
    need_toolchain()
    first = copy_example(tmp_path / "a")
    sscc("compile", first, "-o", tmp_path / "out", check=True)
    (tmp_path / "out" / "notes.txt").write_text("mine")
    (tmp_path / "out" / ".sscc").mkdir()  # a store the user ran in place
    (tmp_path / "out" / ".sscc" / "store.db").write_text("x")
    # The same pipeline under another name and with a renamed service: a different package.
    second = copy_example(
        tmp_path / "b",
        lambda t: t.replace("name: split-sentence", "name: word-splitter").replace("sentence-words:", "splitter:"),
    )
    sscc("compile", second, "-o", tmp_path / "out", check=True)
    files = set(tree(tmp_path / "out"))
    assert "word_splitter/wasm/splitter.wasm" in files
    assert not any(f.startswith("split_sentence/") for f in files), "old package files are gone"
    assert not (tmp_path / "out" / "split_sentence").exists(), "and its emptied directories"
    assert {"notes.txt", ".sscc/store.db"} <= files
    expected = tree(tmp_path / "out")
    del expected["notes.txt"], expected[".sscc/store.db"]
    sscc("compile", second, "-o", tmp_path / "fresh", check=True)
    assert tree(tmp_path / "fresh") == expected


def test_a_service_the_runtime_cannot_run_is_E220_at_the_service(tmp_path):
    proc = sscc("compile", UNRUNNABLE, "-o", tmp_path / "out")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = re.findall(r"^(.+?):(\d+):(\d+): error\[(E\d+)\]: (.*)$", proc.stderr, re.M)
    assert errors and all(e[3] == "E220" for e in errors)
    assert {(e[1], e[2]) for e in errors} == {("7", "3")}, "the service `count-words` at line 7"
    assert any("`map operator` is python code; only inline Rust and package functions are compiled" in e[4] for e in errors)
    assert "7 |   count-words:" in proc.stderr
    assert not (tmp_path / "out").exists(), "nothing is written"


def test_check_errors_stop_compile_without_output(tmp_path):
    bad = copy_example(tmp_path, lambda t: t.replace("id: words", "id: wrods", 1))
    proc = sscc("compile", bad, "-o", tmp_path / "out")
    assert proc.returncode == 1
    assert "error[E046]" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_version_pip_refuses_is_W220_and_falls_back(tmp_path):
    need_toolchain()
    path = copy_example(tmp_path, lambda t: t.replace("version: 0.1.0", "version: 0.1.0-snapshot"))
    proc = sscc("compile", path, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"dataflow.yaml:\d+:\d+: warning\[W220\]", proc.stderr)
    assert 'version = "0.0.0"' in (tmp_path / "out" / "pyproject.toml").read_text()
    assert 'VERSION = "0.1.0-snapshot"' in (tmp_path / "out" / "split_sentence" / "__init__.py").read_text()
    assert sscc("compile", path, "-o", tmp_path / "strict", "--strict").returncode == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--no-pass", "nosuch"], "unknown pass"),
        (["-o", "afile"], "is a file"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    (tmp_path / "afile").write_text("")
    argv = ["compile", EXAMPLE, *args] + (["-o", tmp_path / "out"] if "-o" not in args else [])
    proc = sscc(*argv, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def test_a_package_file_is_not_compiled(tmp_path):
    pkg = tmp_path / "sdf-package.yaml"
    pkg.write_text("apiVersion: 0.6.0\nmeta: {name: t, version: 0.1.0, namespace: test}\ntypes:\n  a: {type: string}\n")
    proc = sscc("compile", pkg, "-o", tmp_path / "out")
    assert proc.returncode == 2, proc.stderr
    assert "not a pipeline" in proc.stderr


def test_semver_prereleases_get_their_pep440_spelling():
    from sscc.backend.project.names import python_version

    assert python_version("0.1.0") == "0.1.0"
    assert python_version("1.0.0-beta.2") == "1.0.0b2"
    assert python_version("1.0.0-rc1+build.7") == "1.0.0rc1+build.7"
    assert python_version("1.0.0-snapshot") is None


def test_files_sscc_did_not_write_are_never_overwritten(tmp_path):
    need_toolchain()
    copy_example(tmp_path)
    (tmp_path / "README.md").write_text("the user's own")
    proc = sscc("compile", "dataflow.yaml", "-o", ".", cwd=tmp_path)
    assert proc.returncode == 1
    assert (
        proc.stderr.startswith("error: cannot write the project to .:")
        and "README.md exists and was not written by sscc" in proc.stderr
    )
    assert (tmp_path / "README.md").read_text() == "the user's own"
    assert not (tmp_path / "plan.json").exists(), "checked before anything is written"

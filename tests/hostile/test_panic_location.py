"""Panic locations (issue 13 item 14): a panic in inline code is reported at its line and column
in the pipeline file, not at the generated `src/lib.rs`, in the dead letter's reason; the emitted
project carries the line map beside each module. Real compiled pipeline, real store."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import pipeline_copy, sscc  # noqa: E402

WORD_COUNT = Path(ROOT) / "tests" / "state" / "word_count_state.yaml"
LIMITS = Path(__file__).resolve().parent / "limits.yaml"


def _at(path: Path, needle: str) -> tuple[int, int]:
    """1-based line and column of `needle` in the file (found here, not taken from sscc)."""
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if needle in text:
            return number, text.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


def _dead(store: Path, topic: str) -> list[dict]:
    out = sscc("topic", "consume", topic, "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def counting(tmp_path):
    yield from pipeline_copy(tmp_path, WORD_COUNT, "dataflow.yaml")


def test_a_panic_names_its_line_in_the_pipeline_file(counting, tmp_path):
    store = tmp_path / "store"
    sscc("topic", "produce", "sentences", "--store", store, input="a boom b\n", check=True)
    sscc("run", counting, "--store", store, "--until-idle", "--quiet", check=True)
    (letter,) = _dead(store, "count-words.dead-letters")
    line, col = _at(counting, 'panic!("boom after counting')
    assert letter["kind"] == "trap" and letter["reason"].startswith("panicked at 'boom after counting to 1'")
    assert f"{counting}:{line}:{col}" in letter["reason"], letter["reason"]
    assert "src/lib.rs" not in letter["reason"]


def test_an_unwrap_in_an_emitted_project_names_its_call(tmp_path):
    for path in pipeline_copy(tmp_path, LIMITS, "dataflow.yaml"):
        text = path.read_text()
        text = text.replace("out.push(line);", "let n: u32 = line.parse().unwrap(); out.push(n.to_string());")
        path.write_text(text)
        out = tmp_path / "project"
        sscc("compile", path, "-o", out, check=True)
        assert (out / "limits" / "wasm" / "worker.lines.json").exists(), "the map ships with the module"
        store = tmp_path / "store"
        sscc("topic", "produce", "commands", "--store", store, input="7\nnot-a-number\n", check=True)
        sscc("run", path, "--store", store, "--until-idle", "--quiet", check=True)
        (letter,) = _dead(store, "worker.dead-letters")
        line, col = _at(path, "unwrap()")
        assert letter["offset"] == 1 and letter["reason"].endswith(f"{path}:{line}:{col}"), letter["reason"]


def test_line_map_modes():
    """The three kinds of region the compiler writes, and lines it generated itself."""
    from sscc.runtime_stub.sscc_runtime.linemap import LineMap

    lines = LineMap(
        {
            "regions": [[10, 14, "p.yaml", 30, 11, "lines"], [15, 20, "p.yaml", 30, 11, "call"], [40, 41, "p.yaml", 50, 7, "at"]],
            "files": {"src/pkg/helper.rs": "pkg/rust/helper.rs"},
        }
    )
    message = "panicked at 'x', src/lib.rs:12:5 / src/lib.rs:16:1 / src/lib.rs:41:9 / src/lib.rs:99:1 / src/pkg/helper.rs:3:4"
    assert lines.rewrite(message) == (
        "panicked at 'x', p.yaml:32:15 / p.yaml:30:11 (the operator's signature, as sscc calls it)"
        " / p.yaml:50:7 (line 2 of its code, column 9) / src/lib.rs:99:1 / pkg/rust/helper.rs:3:4"
    )

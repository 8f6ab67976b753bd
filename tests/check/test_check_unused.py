"""W043-W045 (check/unused.py) say what the IR pass `dead_code` notes, for every file it runs on.

The checker finds unused types, unused states and always-false filters without lowering to the
IR (the IR modules cost more to import than a whole check); the pass finds them on the IR.
Both must agree exactly, message and position, on the corpus, the check cases and the examples.
"""

import glob
import json
import os
import subprocess
import sys

import pytest

from check_helpers import CASES, CORPUS, MANIFEST, ROOT
from sscc.diagnostics import SourceCache
from sscc.driver import Options, front_end, lower_ir
from sscc.passes.dead_code import dead_code

CODE_OF_NOTE = {"unused-type": "W043", "unused-state": "W044", "always-false-filter": "W045"}


def _files():
    files = sorted(glob.glob(os.path.join(CASES, "*.yaml"))) + sorted(
        glob.glob(os.path.join(ROOT, "examples", "*", "dataflow.yaml"))
    )
    if os.path.exists(MANIFEST):
        with open(MANIFEST) as fh:
            files += [os.path.join(CORPUS, e["file"]) for e in json.load(fh)]
    return files


def test_checker_warnings_equal_the_dead_code_notes():
    compared = warned = 0
    for path in _files():
        fe = front_end(path, Options(), SourceCache())
        if fe.kind != "dataflow" or not fe.ok:
            continue
        warnings = {(d.code, d.span.line, d.span.col, d.message) for d in fe.diags.items if d.code in CODE_OF_NOTE.values()}
        notes = set()
        for note in dead_code(lower_ir(fe)).notes:
            if note.kind in CODE_OF_NOTE:
                line, col = note.span.rsplit(":", 2)[1:]
                notes.add((CODE_OF_NOTE[note.kind], int(line), int(col), note.message))
        assert warnings == notes, path
        compared += 1
        warned += len(warnings)
    assert compared >= 150 and warned >= 20, (compared, warned)


@pytest.mark.parametrize("case", ["W043_unused_type", "W044_unused_state", "W045_always_false_filter"])
def test_sscc_check_and_sscc_ir_print_the_warnings(case):
    path = os.path.join(CASES, case + ".yaml")
    code = case[:4]
    for command in (["check"], ["ir", "--format", "json"]):
        run = subprocess.run([sys.executable, "-m", "sscc", *command, path], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert f"warning[{code}]" in run.stderr


def test_no_unused_warning_for_a_file_with_errors(tmp_path):
    text = open(os.path.join(CASES, "W043_unused_type.yaml")).read().replace("type: sentence", "type: sentense")
    path = tmp_path / "dataflow.yaml"
    path.write_text(text)
    fe = front_end(str(path), Options(), SourceCache())
    assert [d.code for d in fe.diags.items] == ["E040"]  # not also "`sentence` is never used"

"""The 0.5.0/0.6.0 dataflows of the conformance corpus, lowered the way the driver will.

load_file -> build_ast(doc, "dataflow") -> sscc.check.check (or a bare Checked) -> lower.
Tests that use it skip while the front end (sscc.syntax, used by build_ast) is not importable.
"""

from __future__ import annotations

import json
import os

import pytest
from sscc.check.model import Checked
from sscc.diagnostics import Diagnostics
from sscc.ir.lower import lower

SHARED = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
CORPUS = os.path.join(SHARED, "conformance", "corpus")
MANIFEST = os.path.join(SHARED, "conformance", "manifest.json")


def dataflow_files() -> list[str]:
    if not os.path.exists(MANIFEST):
        return []
    with open(MANIFEST) as fh:
        entries = json.load(fh)
    return sorted(e["file"] for e in entries if e["kind"] == "dataflow" and e["apiVersion"] in ("0.5.0", "0.6.0"))


def lowered(name: str, checker: bool = True):
    """The IR of one corpus file; `checker=False` lowers the bare AST (no types on edges)."""
    build_ast = pytest.importorskip("sscc.build_ast", reason="the front end (sscc.syntax) is not importable yet", exc_type=ImportError).build_ast
    from sscc.load.yaml_loader import load_file

    diags = Diagnostics()
    doc = load_file(os.path.join(CORPUS, name), diags)
    assert doc is not None, [d.message for d in diags.items]
    pipe = build_ast(doc, "dataflow", diags)
    checked = Checked(pipe)
    if checker:
        from sscc import check as check_mod

        if hasattr(check_mod, "check"):
            checked = check_mod.check(pipe, {}, diags)
    return lower(checked)

"""Build a file's AST the way the driver does, without schema validation, and check it."""

from __future__ import annotations

import os
import re

from sscc.build_ast import build_ast
from sscc.check import check, check_package
from sscc.diagnostics import Diagnostics
from sscc.load.detect import detect_kind, detect_version
from sscc.load.yaml_loader import load_file, load_text

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFORMANCE = os.path.normpath(os.path.join(ROOT, "..", "shared", "conformance"))
CORPUS = os.path.join(CONFORMANCE, "corpus")
MANIFEST = os.path.join(CONFORMANCE, "manifest.json")
LEGACY = ("0.1.0", "0.2.0", "0.3.0", "0.4.0")
CHECK_CODE = re.compile(r"^(E0[4-9]\d|W0[4-7]\d)$")


def upgrader():
    """The legacy front end (sscc.load.upgrade) when it exists, else None."""
    try:
        from sscc.load import upgrade
    except ImportError:
        return None
    return upgrade if hasattr(upgrade, "upgrade") else None


def build(path: str, diags: Diagnostics, text: str | None = None):
    """(kind, Pipeline) of one file: load -> (upgrade) -> build_ast. None when it cannot be built."""
    doc = load_text(text, path, diags) if text is not None else load_file(path, diags)
    if doc is None:
        return None, None
    kind = detect_kind(doc)
    if kind == "hub-meta":
        return kind, None
    version = detect_version(doc, kind, diags) if kind != "types" else None
    upgraded_from = None
    if version in LEGACY:
        up = upgrader()
        if up is None:
            return kind, None
        if getattr(up, "needs_upgrade", lambda k, v: True)(kind, version):
            doc = up.upgrade(doc, kind, version, diags)
            upgraded_from = version
    return kind, build_ast(doc, kind, diags, upgraded_from=upgraded_from)


def run_check(kind: str, pipe, packages: dict, diags: Diagnostics):
    return (check if kind == "dataflow" else check_package)(pipe, packages, diags)


def check_case(path: str):
    """Check one case file (its `# package: id = file` lines name the packages it imports)."""
    diags = Diagnostics()
    kind, pipe = build(path, diags)
    with open(path) as fh:
        text = fh.read()
    packages = {}
    for pkg_id, rel in re.findall(r"^# package: (\S+) = (\S+)$", text, re.M):
        pkg_diags = Diagnostics()
        _k, pkg = build(os.path.join(CASES, rel), pkg_diags)
        assert not pkg_diags.items, [str(d) for d in pkg_diags.items]
        packages[pkg_id] = pkg
    checked = run_check(kind, pipe, packages, diags)
    return checked, diags, text


def check_text(text: str, packages: dict | None = None, path: str = "dataflow.yaml", upgraded_from: str | None = None):
    """Check YAML text; `packages` maps a pkg id to package YAML text. -> (Checked, Diagnostics)."""
    diags = Diagnostics()
    kind, pipe = build(path, diags, text=text)
    assert pipe is not None, [str(d) for d in diags.items]
    if upgraded_from:
        pipe.upgraded_from = upgraded_from
    pkgs = {}
    for pkg_id, pkg_text in (packages or {}).items():
        pkg_diags = Diagnostics()
        _k, pkgs[pkg_id] = build("sdf-package.yaml", pkg_diags, text=pkg_text)
        assert not pkg_diags.items, [str(d) for d in pkg_diags.items]
    return run_check(kind, pipe, pkgs, diags), diags


UNUSED = ("W043", "W044", "W045")  # declared-but-unused warnings: the rule tests' snippets are minimal


def codes(diags: Diagnostics, unused: bool = False) -> list[str]:
    """The codes reported, sorted; W043-W045 only with `unused` (cases and test_check_unused test them)."""
    return sorted(d.code for d in diags.items if unused or d.code not in UNUSED)

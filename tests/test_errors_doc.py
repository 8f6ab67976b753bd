"""docs/errors.md documents every diagnostic code the compiler can emit, and is up to date."""

import glob
import os
import re
import subprocess
import sys

from conftest import ROOT

CODE = re.compile(r"""["'](E\d{3}|W\d{3})["']""")


def codes_in_source():
    codes = set()
    for path in glob.glob(os.path.join(ROOT, "compiler", "sscc", "**", "*.py"), recursive=True):
        with open(path) as fh:
            codes |= set(CODE.findall(fh.read()))
    return codes


def test_every_code_is_documented():
    with open(os.path.join(ROOT, "docs", "errors.md")) as fh:
        doc = fh.read()
    headings = {c for line in doc.splitlines() if line.startswith("#") for c in re.findall(r"\b[EW]\d{3}\b", line)}
    missing = sorted(codes_in_source() - headings)
    assert not missing, f"codes without an entry in docs/errors.md: {missing}"


def test_errors_md_is_generated_from_fragments():
    script = os.path.join(ROOT, "scripts", "errors_doc.py")
    sys.path.insert(0, os.path.dirname(script))
    try:
        import errors_doc
    finally:
        sys.path.pop(0)
    with open(os.path.join(ROOT, "docs", "errors.md")) as fh:
        assert fh.read() == errors_doc.build(), "run `python3 scripts/errors_doc.py`"
